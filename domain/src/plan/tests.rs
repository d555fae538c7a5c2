use super::*;
use cqrs_es::test::TestFramework;
use std::str::FromStr;

fn terms(bonus: &str) -> PlanTerms {
    PlanTerms {
        name: "Advertising bonus 2026".into(),
        period: PlanPeriod::Month,
        participants: vec![Participant {
            member_id: MemberId(Uuid::from_u128(2)),
            target_bonus: Decimal::from_str(bonus).unwrap(),
            cap: None,
        }],
        curve: PayoutCurve::default(),
        team_weight: Decimal::ZERO,
    }
}

fn drafted() -> PlanEvent {
    PlanEvent::PlanDrafted {
        plan_id: Uuid::from_u128(1),
        engagement_id: EngagementId(Uuid::from_u128(9)),
        version: 1,
        terms: terms("200000"),
    }
}

#[test]
fn a_drafted_plan_is_approved_by_version() {
    TestFramework::<Plan>::with(())
        .given(vec![drafted()])
        .when(PlanCommand::Approve {
            version: 1,
            by: UserId(Uuid::from_u128(5)),
        })
        .then_expect_events(vec![PlanEvent::PlanApproved {
            version: 1,
            by: UserId(Uuid::from_u128(5)),
        }]);
}

#[test]
fn a_change_after_approval_is_a_new_version_needing_approval() {
    let approved = vec![
        drafted(),
        PlanEvent::PlanApproved {
            version: 1,
            by: UserId(Uuid::from_u128(5)),
        },
    ];
    TestFramework::<Plan>::with(())
        .given(approved.clone())
        .when(PlanCommand::Revise {
            terms: terms("250000"),
        })
        .then_expect_events(vec![PlanEvent::PlanRevised {
            version: 2,
            terms: terms("250000"),
        }]);
    let mut revised = approved;
    revised.push(PlanEvent::PlanRevised {
        version: 2,
        terms: terms("250000"),
    });
    TestFramework::<Plan>::with(())
        .given(revised)
        .when(PlanCommand::Approve {
            version: 1,
            by: UserId(Uuid::from_u128(5)),
        })
        .then_expect_error(PlanError::StaleVersion {
            asked: 1,
            current: 2,
        });
}

fn draft(terms: PlanTerms) -> PlanCommand {
    PlanCommand::Draft {
        plan_id: Uuid::from_u128(1),
        engagement_id: EngagementId(Uuid::from_u128(9)),
        terms,
    }
}

#[test]
fn invalid_terms_are_refused() {
    TestFramework::<Plan>::with(())
        .given_no_previous_events()
        .when(draft(terms("200000.5")))
        .then_expect_error(PlanError::TargetBonusNotAWholeAmount(
            Decimal::from_str("200000.5").unwrap(),
        ));
    let mut bad = terms("1");
    bad.team_weight = Decimal::TWO;
    TestFramework::<Plan>::with(())
        .given_no_previous_events()
        .when(draft(bad))
        .then_expect_error(PlanError::TeamWeightOutOfRange(Decimal::TWO));
}

#[test]
fn a_plan_has_a_name_and_each_participant_once() {
    let mut unnamed = terms("1");
    unnamed.name = " ".into();
    TestFramework::<Plan>::with(())
        .given_no_previous_events()
        .when(draft(unnamed))
        .then_expect_error(PlanError::EmptyName);
    let mut empty = terms("1");
    empty.participants.clear();
    TestFramework::<Plan>::with(())
        .given_no_previous_events()
        .when(draft(empty))
        .then_expect_error(PlanError::NoParticipants);
    let mut twice = terms("1");
    twice.participants.push(twice.participants[0].clone());
    TestFramework::<Plan>::with(())
        .given_no_previous_events()
        .when(draft(twice))
        .then_expect_error(PlanError::ParticipantListedTwice(MemberId(
            Uuid::from_u128(2),
        )));
}

#[test]
fn a_cap_is_a_whole_amount_and_the_curve_must_be_valid() {
    let mut capped = terms("1");
    capped.participants[0].cap = Some(Decimal::NEGATIVE_ONE);
    TestFramework::<Plan>::with(())
        .given(vec![drafted()])
        .when(PlanCommand::Revise { terms: capped })
        .then_expect_error(PlanError::CapNotAWholeAmount(Decimal::NEGATIVE_ONE));
    let mut flat = terms("1");
    flat.curve.points.clear();
    TestFramework::<Plan>::with(())
        .given(vec![drafted()])
        .when(PlanCommand::Revise { terms: flat })
        .then_expect_error(PlanError::PayoutCurve(
            "payoutCurve: needs at least one point".into(),
        ));
}

#[test]
fn approving_twice_is_refused() {
    TestFramework::<Plan>::with(())
        .given(vec![
            drafted(),
            PlanEvent::PlanApproved {
                version: 1,
                by: UserId(Uuid::from_u128(5)),
            },
        ])
        .when(PlanCommand::Approve {
            version: 1,
            by: UserId(Uuid::from_u128(6)),
        })
        .then_expect_error(PlanError::AlreadyApproved(1));
}
