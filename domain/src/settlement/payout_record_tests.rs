//! Given/when/then tests of the payout record: calculated once, approved by a client
//! owner, marked paid, and after payment only adjusted. One rule each, named as the rule.

use super::*;
use cqrs_es::test::TestFramework;
use std::str::FromStr;

type PayoutTest = TestFramework<PayoutRecord>;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn engagement() -> EngagementId {
    EngagementId(id(1))
}

fn owner() -> UserId {
    UserId(id(71))
}

fn consultant() -> UserId {
    UserId(id(70))
}

fn july() -> Period {
    "2026-07".parse().unwrap()
}

/// Li Wei's June payout: a ¥200,000 target bonus at score 99, active 20 of 30 days.
fn calculation() -> Box<Calculation> {
    let curve = PayoutCurve::default();
    let figures = payout(d("200000"), d("99"), &curve, true, 20, 30, None);
    Box::new(Calculation {
        member_id: MemberId(id(11)),
        period: "2026-06".parse().unwrap(),
        review_id: id(60),
        lock_version: 1,
        snapshot_position: 40,
        plan_id: id(50),
        plan_version: 1,
        individual_score: d("99"),
        team_score: None,
        team_weight: Decimal::ZERO,
        curve,
        score: d("99"),
        gates_passed: true,
        figures,
        formula: FORMULA.to_string(),
    })
}

fn record() -> PayoutCommand {
    PayoutCommand::Record {
        payout_id: payout_id(engagement(), &calculation()),
        engagement_id: engagement(),
        calculation: calculation(),
        replayed_to: 45,
    }
}

fn calculated() -> PayoutEvent {
    PayoutEvent::PayoutCalculated {
        payout_id: payout_id(engagement(), &calculation()),
        engagement_id: engagement(),
        calculation: calculation(),
        replayed_to: 45,
    }
}

fn approve() -> PayoutCommand {
    PayoutCommand::Approve { by: owner() }
}

fn approved() -> PayoutEvent {
    PayoutEvent::PayoutApproved { by: owner() }
}

fn mark_paid() -> PayoutCommand {
    PayoutCommand::MarkPaid {
        by: consultant(),
        paid_on: date("2026-07-25"),
    }
}

fn paid() -> PayoutEvent {
    PayoutEvent::PayoutPaid {
        by: consultant(),
        paid_on: date("2026-07-25"),
    }
}

fn adjust(amount: &str, reason: &str) -> PayoutCommand {
    PayoutCommand::Adjust {
        by: consultant(),
        amount: d(amount),
        reason: reason.into(),
        carry_into: july(),
    }
}

fn adjusted(amount: &str, reason: &str) -> PayoutEvent {
    PayoutEvent::PayoutAdjusted {
        by: consultant(),
        amount: d(amount),
        reason: reason.into(),
        carry_into: july(),
    }
}

#[test]
fn recording_a_calculation_records_it_with_every_input() {
    PayoutTest::with(())
        .given_no_previous_events()
        .when(record())
        .then_expect_events(vec![calculated()]);
}

#[test]
fn the_same_calculation_is_recorded_once() {
    PayoutTest::with(())
        .given(vec![calculated()])
        .when(record())
        .then_expect_error(PayoutError::AlreadyCalculated);
    PayoutTest::with(())
        .given(vec![calculated(), approved(), paid()])
        .when(record())
        .then_expect_error(PayoutError::AlreadyCalculated);
}

#[test]
fn commands_on_a_payout_that_was_never_calculated_are_not_found() {
    for command in [approve(), mark_paid(), adjust("5000", "late refunds")] {
        PayoutTest::with(())
            .given_no_previous_events()
            .when(command)
            .then_expect_error(PayoutError::NotFound);
    }
}

#[test]
fn a_calculated_payout_is_approved() {
    PayoutTest::with(())
        .given(vec![calculated()])
        .when(approve())
        .then_expect_events(vec![approved()]);
}

#[test]
fn approving_twice_is_refused() {
    PayoutTest::with(())
        .given(vec![calculated(), approved()])
        .when(PayoutCommand::Approve { by: UserId(id(72)) })
        .then_expect_error(PayoutError::AlreadyApproved);
    PayoutTest::with(())
        .given(vec![calculated(), approved(), paid()])
        .when(approve())
        .then_expect_error(PayoutError::AlreadyApproved);
}

#[test]
fn a_payout_is_paid_only_after_approval() {
    PayoutTest::with(())
        .given(vec![calculated()])
        .when(mark_paid())
        .then_expect_error(PayoutError::NotApproved);
    PayoutTest::with(())
        .given(vec![calculated(), approved()])
        .when(mark_paid())
        .then_expect_events(vec![paid()]);
}

#[test]
fn paying_twice_is_refused() {
    PayoutTest::with(())
        .given(vec![calculated(), approved(), paid()])
        .when(mark_paid())
        .then_expect_error(PayoutError::AlreadyPaid);
}

#[test]
fn a_payout_is_adjusted_only_after_payment() {
    PayoutTest::with(())
        .given(vec![calculated()])
        .when(adjust("5000", "late refunds"))
        .then_expect_error(PayoutError::NotPaid);
    PayoutTest::with(())
        .given(vec![calculated(), approved()])
        .when(adjust("5000", "late refunds"))
        .then_expect_error(PayoutError::NotPaid);
}

#[test]
fn an_adjustment_is_carried_into_a_later_period_with_its_trimmed_reason() {
    PayoutTest::with(())
        .given(vec![calculated(), approved(), paid()])
        .when(adjust("5000", "  GMV restated after the lock  "))
        .then_expect_events(vec![adjusted("5000", "GMV restated after the lock")]);
}

#[test]
fn a_negative_adjustment_is_a_clawback() {
    PayoutTest::with(())
        .given(vec![calculated(), approved(), paid()])
        .when(adjust("-12000", "returns booked late"))
        .then_expect_events(vec![adjusted("-12000", "returns booked late")]);
}

#[test]
fn a_paid_payout_may_be_adjusted_more_than_once() {
    PayoutTest::with(())
        .given(vec![
            calculated(),
            approved(),
            paid(),
            adjusted("5000", "GMV restated"),
        ])
        .when(adjust("-2000", "part of the restatement reversed"))
        .then_expect_events(vec![adjusted("-2000", "part of the restatement reversed")]);
}

#[test]
fn an_adjustment_needs_a_reason() {
    PayoutTest::with(())
        .given(vec![calculated(), approved(), paid()])
        .when(adjust("5000", "   "))
        .then_expect_error(PayoutError::ReasonRequired);
}

#[test]
fn an_adjustment_is_a_non_zero_whole_amount() {
    for amount in ["0", "0.00", "2500.5", "-0.5"] {
        PayoutTest::with(())
            .given(vec![calculated(), approved(), paid()])
            .when(adjust(amount, "late refunds"))
            .then_expect_error(PayoutError::ZeroOrFractionalAmount(d(amount)));
    }
}

#[test]
fn refusals_carry_their_kind() {
    let kinds = [
        (PayoutError::NotFound, ErrorKind::NotFound),
        (PayoutError::AlreadyCalculated, ErrorKind::Conflict),
        (PayoutError::AlreadyApproved, ErrorKind::InvalidTransition),
        (PayoutError::NotApproved, ErrorKind::InvalidTransition),
        (PayoutError::AlreadyPaid, ErrorKind::InvalidTransition),
        (PayoutError::NotPaid, ErrorKind::InvalidTransition),
        (PayoutError::ReasonRequired, ErrorKind::Validation),
        (
            PayoutError::ZeroOrFractionalAmount(Decimal::ZERO),
            ErrorKind::Validation,
        ),
    ];
    for (error, kind) in kinds {
        assert_eq!(error.kind(), kind, "{error}");
    }
}
