//! `payouts`: approvals, payments and adjustments.

use super::{by, int, openings, stored, text, RECORDED_AT};
use crate::read_models::payouts::READ_MODEL;
use cqrs_es::Aggregate;
use kpi_ledger_domain::ids::UserId;
use kpi_ledger_domain::settlement::{PayoutEvent, PayoutRecord};

const PAYOUT: &str = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d";
const OWNER: &str = "6d5c4b3a-2f1e-4a9b-8c7d-6e5f4a3b2c1d";

#[test]
fn an_approved_payout_records_who_approved_it_and_when() {
    let owner: UserId = OWNER.parse().unwrap();
    let event = by(
        OWNER,
        stored(
            PayoutRecord::TYPE,
            PAYOUT,
            1_200,
            &PayoutEvent::PayoutApproved { by: owner },
        ),
    );

    let statements = (READ_MODEL.project)(&event).unwrap();

    assert_eq!(openings(&statements), ["UPDATE payouts SET"]);
    assert!(statements[0].sql.contains("status = 'approved'"));
    assert!(statements[0].sql.contains("approved_at = $2"));
    assert_eq!(
        statements[0].params,
        vec![text(OWNER), text(RECORDED_AT), text(PAYOUT)]
    );
}

#[test]
fn a_paid_payout_records_the_day_it_was_paid() {
    let event = stored(
        PayoutRecord::TYPE,
        PAYOUT,
        1_201,
        &PayoutEvent::PayoutPaid {
            by: OWNER.parse().unwrap(),
            paid_on: "2026-07-25".parse().unwrap(),
        },
    );

    let statements = (READ_MODEL.project)(&event).unwrap();

    assert!(statements[0].sql.contains("status = 'paid'"));
    assert_eq!(statements[0].params, vec![text("2026-07-25"), text(PAYOUT)]);
}

#[test]
fn an_adjustment_is_recorded_with_its_amount_reason_and_carry_period() {
    let event = by(
        OWNER,
        stored(
            PayoutRecord::TYPE,
            PAYOUT,
            1_202,
            &PayoutEvent::PayoutAdjusted {
                by: OWNER.parse().unwrap(),
                amount: "-1500".parse().unwrap(),
                reason: "a returned order after payment".into(),
                carry_into: "2026-08".parse().unwrap(),
            },
        ),
    );

    let statements = (READ_MODEL.project)(&event).unwrap();

    assert_eq!(openings(&statements), ["INSERT INTO payout_adjustments"]);
    assert_eq!(
        statements[0].params,
        vec![
            text(PAYOUT),
            int(1_202),
            text("-1500"),
            text(r#"{"inline":"a returned order after payment"}"#),
            text("2026-08"),
            text(OWNER),
            text(RECORDED_AT),
        ]
    );
}
