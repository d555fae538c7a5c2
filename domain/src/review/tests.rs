use super::*;
use cqrs_es::test::TestFramework;

type ReviewTest = TestFramework<Review>;

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn opened() -> ReviewEvent {
    ReviewEvent::ReviewOpened {
        review_id: id(1),
        engagement_id: EngagementId(id(2)),
        period: "2026-06".parse().unwrap(),
        snapshot_position: 40,
    }
}

fn consultant() -> UserId {
    UserId(id(10))
}

fn owner() -> UserId {
    UserId(id(11))
}

fn signed(user: UserId, role: EngagementRole) -> ReviewEvent {
    ReviewEvent::SignedOff {
        user_id: user,
        role,
    }
}

fn locked_review() -> Vec<ReviewEvent> {
    vec![
        opened(),
        signed(consultant(), EngagementRole::Consultant),
        signed(owner(), EngagementRole::ClientOwner),
        ReviewEvent::PeriodLocked {
            version: 1,
            snapshot_position: 40,
        },
    ]
}

#[test]
fn a_consultant_and_a_client_owner_signing_lock_the_period_at_the_snapshot() {
    ReviewTest::with(())
        .given(vec![
            opened(),
            signed(consultant(), EngagementRole::Consultant),
        ])
        .when(ReviewCommand::SignOff {
            user_id: owner(),
            role: EngagementRole::ClientOwner,
            position: 99,
        })
        .then_expect_events(vec![
            signed(owner(), EngagementRole::ClientOwner),
            ReviewEvent::PeriodLocked {
                version: 1,
                snapshot_position: 40,
            },
        ]);
}

#[test]
fn two_consultants_signing_do_not_lock() {
    ReviewTest::with(())
        .given(vec![
            opened(),
            signed(consultant(), EngagementRole::Consultant),
        ])
        .when(ReviewCommand::SignOff {
            user_id: UserId(id(12)),
            role: EngagementRole::Consultant,
            position: 99,
        })
        .then_expect_events(vec![signed(UserId(id(12)), EngagementRole::Consultant)]);
}

#[test]
fn one_person_signs_once() {
    ReviewTest::with(())
        .given(vec![
            opened(),
            signed(consultant(), EngagementRole::Consultant),
        ])
        .when(ReviewCommand::SignOff {
            user_id: consultant(),
            role: EngagementRole::ClientOwner,
            position: 99,
        })
        .then_expect_error(ReviewError::AlreadySigned);
}

#[test]
fn viewers_and_members_cannot_sign() {
    ReviewTest::with(())
        .given(vec![opened()])
        .when(ReviewCommand::SignOff {
            user_id: owner(),
            role: EngagementRole::ClientViewer,
            position: 99,
        })
        .then_expect_error(ReviewError::RoleCannotSign(EngagementRole::ClientViewer));
}

#[test]
fn a_locked_period_takes_no_findings_or_decisions_but_a_reopen() {
    ReviewTest::with(())
        .given(locked_review())
        .when(ReviewCommand::RecordDecision {
            decision: Decision::Accept,
            snapshot_position: 50,
        })
        .then_expect_error(ReviewError::Locked);
    ReviewTest::with(())
        .given(locked_review())
        .when(ReviewCommand::RecordFinding {
            kpi_id: None,
            member_id: None,
            deviation: "x".into(),
            cause: "y".into(),
        })
        .then_expect_error(ReviewError::Locked);
}

#[test]
fn reopening_unlocks_on_a_new_snapshot_and_relocking_makes_version_2() {
    ReviewTest::with(())
        .given(locked_review())
        .when(ReviewCommand::RecordDecision {
            decision: Decision::Reopen {
                reason: "late Rakuten data".into(),
            },
            snapshot_position: 55,
        })
        .then_expect_events(vec![
            ReviewEvent::DecisionRecorded {
                decision: Decision::Reopen {
                    reason: "late Rakuten data".into(),
                },
            },
            ReviewEvent::PeriodReopened {
                version: 1,
                snapshot_position: 55,
                reason: "late Rakuten data".into(),
            },
        ]);
    let mut history = locked_review();
    history.push(ReviewEvent::DecisionRecorded {
        decision: Decision::Reopen {
            reason: "late".into(),
        },
    });
    history.push(ReviewEvent::PeriodReopened {
        version: 1,
        snapshot_position: 55,
        reason: "late".into(),
    });
    history.push(signed(owner(), EngagementRole::ClientOwner));
    ReviewTest::with(())
        .given(history)
        .when(ReviewCommand::SignOff {
            user_id: consultant(),
            role: EngagementRole::Consultant,
            position: 99,
        })
        .then_expect_events(vec![
            signed(consultant(), EngagementRole::Consultant),
            // The re-lock freezes the log as it stood at the completing sign-off.
            ReviewEvent::PeriodLocked {
                version: 2,
                snapshot_position: 99,
            },
        ]);
}

#[test]
fn reopening_an_unlocked_period_is_an_invalid_transition() {
    ReviewTest::with(())
        .given(vec![opened()])
        .when(ReviewCommand::RecordDecision {
            decision: Decision::Reopen { reason: "x".into() },
            snapshot_position: 1,
        })
        .then_expect_error(ReviewError::NotLocked);
}

#[test]
fn decisions_that_change_a_result_need_a_reason() {
    ReviewTest::with(())
        .given(vec![opened()])
        .when(ReviewCommand::RecordDecision {
            decision: Decision::OverrideScore {
                kpi_id: KpiId(id(3)),
                member_id: None,
                score: Decimal::ONE_HUNDRED,
                reason: " ".into(),
            },
            snapshot_position: 1,
        })
        .then_expect_error(ReviewError::EmptyField { field: "reason" });
}

#[test]
fn an_overridden_score_is_0_or_more() {
    ReviewTest::with(())
        .given(vec![opened()])
        .when(ReviewCommand::RecordDecision {
            decision: Decision::OverrideScore {
                kpi_id: KpiId(id(3)),
                member_id: None,
                score: Decimal::NEGATIVE_ONE,
                reason: "data error".into(),
            },
            snapshot_position: 1,
        })
        .then_expect_error(ReviewError::NegativeOverride);
}

#[test]
fn a_finding_states_its_deviation_and_cause() {
    ReviewTest::with(())
        .given(vec![opened()])
        .when(ReviewCommand::RecordFinding {
            kpi_id: None,
            member_id: None,
            deviation: "ACoS 5 points over target".into(),
            cause: "  ".into(),
        })
        .then_expect_error(ReviewError::EmptyField { field: "cause" });
}

#[test]
fn action_items_are_opened_and_closed() {
    let item = Decision::ActionItem {
        item_id: id(7),
        owner: "Li Wei".into(),
        due: "2026-07-15".parse().unwrap(),
        description: "fix listing images".into(),
    };
    ReviewTest::with(())
        .given(vec![
            opened(),
            ReviewEvent::DecisionRecorded { decision: item },
        ])
        .when(ReviewCommand::RecordDecision {
            decision: Decision::ActionItemDone { item_id: id(7) },
            snapshot_position: 1,
        })
        .then_expect_events(vec![ReviewEvent::DecisionRecorded {
            decision: Decision::ActionItemDone { item_id: id(7) },
        }]);
    ReviewTest::with(())
        .given(vec![opened()])
        .when(ReviewCommand::RecordDecision {
            decision: Decision::ActionItemDone { item_id: id(8) },
            snapshot_position: 1,
        })
        .then_expect_error(ReviewError::NotAnOpenActionItem(id(8)));
}

#[test]
fn commands_on_a_review_that_was_never_opened_are_not_found() {
    ReviewTest::with(())
        .given_no_previous_events()
        .when(ReviewCommand::SignOff {
            user_id: owner(),
            role: EngagementRole::ClientOwner,
            position: 99,
        })
        .then_expect_error(ReviewError::NotFound);
}

#[test]
fn a_finding_keeps_its_sealed_notes_as_given_and_refuses_a_blank_one() {
    let sealed = |n: u128| Note::Sealed {
        id: id(n),
        digest: format!("{n:064x}"),
    };
    ReviewTest::with(())
        .given(vec![opened()])
        .when(ReviewCommand::RecordFinding {
            kpi_id: None,
            member_id: None,
            deviation: sealed(70),
            cause: sealed(71),
        })
        .then_expect_events(vec![ReviewEvent::FindingRecorded {
            kpi_id: None,
            member_id: None,
            deviation: sealed(70),
            cause: sealed(71),
        }]);
    ReviewTest::with(())
        .given(vec![opened()])
        .when(ReviewCommand::RecordFinding {
            kpi_id: None,
            member_id: None,
            deviation: sealed(70),
            cause: Note::inline("   "),
        })
        .then_expect_error(ReviewError::EmptyField { field: "cause" });
}
