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

#[test]
fn invalid_terms_are_refused() {
    let mut bad = terms("200000.5");
    let result = TestFramework::<Plan>::with(())
        .given_no_previous_events()
        .when(PlanCommand::Draft {
            plan_id: Uuid::from_u128(1),
            engagement_id: EngagementId(Uuid::from_u128(9)),
            terms: bad.clone(),
        })
        .inspect_result();
    assert!(matches!(result, Err(PlanError::Invalid(m)) if m.contains("whole")));
    bad = terms("1");
    bad.team_weight = Decimal::TWO;
    let result = TestFramework::<Plan>::with(())
        .given_no_previous_events()
        .when(PlanCommand::Draft {
            plan_id: Uuid::from_u128(1),
            engagement_id: EngagementId(Uuid::from_u128(9)),
            terms: bad,
        })
        .inspect_result();
    assert!(matches!(result, Err(PlanError::Invalid(m)) if m.contains("teamWeight")));
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
