//! Given/when/then tests: one rule each, named as the rule.

use super::*;
use crate::access::EngagementRole;
use crate::ids::{EngagementId, MemberId, UserId};
use chrono::NaiveDate;
use cqrs_es::test::TestFramework;
use uuid::Uuid;

type EngagementTest = TestFramework<Engagement>;

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn engagement_id() -> EngagementId {
    EngagementId(id(1))
}

fn settings() -> EngagementSettings {
    let mut s = EngagementSettings::with_defaults("Acme Home JP", "Acme Home K.K.");
    s.platforms = vec!["amazon_jp".into(), "rakuten".into()];
    s
}

fn founder() -> NewMember {
    NewMember {
        member_id: MemberId(id(10)),
        user_id: UserId(id(100)),
        role: EngagementRole::Consultant,
        position: None,
        active_from: date("2026-04-01"),
    }
}

fn li_wei() -> NewMember {
    NewMember {
        member_id: MemberId(id(11)),
        user_id: UserId(id(101)),
        role: EngagementRole::Member,
        position: Some("advertising".into()),
        active_from: date("2026-06-11"),
    }
}

fn added(m: &NewMember) -> EngagementEvent {
    EngagementEvent::MemberAdded {
        member_id: m.member_id,
        user_id: m.user_id,
        role: m.role,
        position: m.position.clone(),
        active_from: m.active_from,
    }
}

fn opened() -> Vec<EngagementEvent> {
    vec![
        EngagementEvent::EngagementOpened {
            engagement_id: engagement_id(),
            settings: settings(),
        },
        added(&founder()),
    ]
}

fn with_status(path: &[EngagementStatus]) -> Vec<EngagementEvent> {
    let mut events = opened();
    let mut from = EngagementStatus::Diagnosing;
    for to in path {
        events.push(EngagementEvent::EngagementStatusChanged { from, to: *to });
        from = *to;
    }
    events
}

fn open_command() -> EngagementCommand {
    EngagementCommand::Open {
        engagement_id: engagement_id(),
        settings: settings(),
        founder: founder(),
    }
}

#[test]
fn opening_records_the_settings_and_the_founder_as_first_consultant() {
    EngagementTest::with(())
        .given_no_previous_events()
        .when(open_command())
        .then_expect_events(opened());
}

#[test]
fn the_founder_is_a_consultant_whatever_role_was_asked() {
    let command = EngagementCommand::Open {
        engagement_id: engagement_id(),
        settings: settings(),
        founder: NewMember {
            role: EngagementRole::Member,
            ..founder()
        },
    };
    EngagementTest::with(())
        .given_no_previous_events()
        .when(command)
        .then_expect_events(opened());
}

#[test]
fn opening_an_engagement_twice_is_a_conflict() {
    EngagementTest::with(())
        .given(opened())
        .when(open_command())
        .then_expect_error(EngagementError::AlreadyOpened);
}

fn open_with(tweak: impl FnOnce(&mut EngagementSettings)) -> EngagementCommand {
    let mut s = settings();
    tweak(&mut s);
    EngagementCommand::Open {
        engagement_id: engagement_id(),
        settings: s,
        founder: founder(),
    }
}

#[test]
fn opening_with_an_empty_name_is_refused() {
    EngagementTest::with(())
        .given_no_previous_events()
        .when(open_with(|s| s.name = "   ".into()))
        .then_expect_error(EngagementError::EmptyField { field: "name" });
    EngagementTest::with(())
        .given_no_previous_events()
        .when(open_with(|s| s.client_name = "".into()))
        .then_expect_error(EngagementError::EmptyField {
            field: "clientName",
        });
}

#[test]
fn names_are_at_most_200_characters() {
    EngagementTest::with(())
        .given_no_previous_events()
        .when(open_with(|s| s.client_name = "x".repeat(201)))
        .then_expect_error(EngagementError::TooLong {
            field: "clientName",
            max: 200,
        });
}

#[test]
fn opening_with_an_unknown_platform_time_zone_or_month_is_refused() {
    EngagementTest::with(())
        .given_no_previous_events()
        .when(open_with(|s| s.platforms = vec!["ebay_us".into()]))
        .then_expect_error(EngagementError::UnknownPlatform("ebay_us".into()));
    EngagementTest::with(())
        .given_no_previous_events()
        .when(open_with(|s| s.time_zone = "Mars/Olympus".into()))
        .then_expect_error(EngagementError::UnknownTimeZone("Mars/Olympus".into()));
    EngagementTest::with(())
        .given_no_previous_events()
        .when(open_with(|s| s.fiscal_year_start_month = 13))
        .then_expect_error(EngagementError::NotAMonth(13));
    EngagementTest::with(())
        .given_no_previous_events()
        .when(open_with(|s| s.currency = "yen!".into()))
        .then_expect_error(EngagementError::NotACurrencyCode("YEN!".into()));
    EngagementTest::with(())
        .given_no_previous_events()
        .when(open_with(|s| s.market = "JPN".into()))
        .then_expect_error(EngagementError::NotAMarketCode("JPN".into()));
}

#[test]
fn commands_on_an_engagement_that_was_never_opened_are_not_found() {
    EngagementTest::with(())
        .given_no_previous_events()
        .when(EngagementCommand::AddMember(li_wei()))
        .then_expect_error(EngagementError::NotFound);
}

#[test]
fn adding_a_member_records_ids_role_position_and_active_from() {
    EngagementTest::with(())
        .given(opened())
        .when(EngagementCommand::AddMember(li_wei()))
        .then_expect_events(vec![added(&li_wei())]);
}

#[test]
fn a_person_holds_one_role_per_engagement() {
    let mut events = opened();
    events.push(added(&li_wei()));
    EngagementTest::with(())
        .given(events)
        .when(EngagementCommand::AddMember(NewMember {
            member_id: MemberId(id(12)),
            role: EngagementRole::ClientViewer,
            ..li_wei()
        }))
        .then_expect_error(EngagementError::AlreadyMember(EngagementRole::Member));
}

#[test]
fn a_removed_person_can_join_again_as_a_new_membership() {
    let mut events = opened();
    events.push(added(&li_wei()));
    events.push(EngagementEvent::MemberRemoved {
        member_id: li_wei().member_id,
        active_until: date("2026-06-30"),
    });
    let rejoin = NewMember {
        member_id: MemberId(id(13)),
        active_from: date("2026-09-01"),
        ..li_wei()
    };
    EngagementTest::with(())
        .given(events)
        .when(EngagementCommand::AddMember(rejoin.clone()))
        .then_expect_events(vec![added(&rejoin)]);
}

#[test]
fn a_new_membership_needs_a_member_id_not_used_before() {
    let mut events = opened();
    events.push(added(&li_wei()));
    events.push(EngagementEvent::MemberRemoved {
        member_id: li_wei().member_id,
        active_until: date("2026-06-30"),
    });
    EngagementTest::with(())
        .given(events)
        .when(EngagementCommand::AddMember(li_wei()))
        .then_expect_error(EngagementError::MemberIdInUse(li_wei().member_id));
}

#[test]
fn a_malformed_position_is_refused() {
    EngagementTest::with(())
        .given(opened())
        .when(EngagementCommand::AddMember(NewMember {
            position: Some("Ad Ops!".into()),
            ..li_wei()
        }))
        .then_expect_error(EngagementError::MalformedPosition(MalformedPosition(
            "Ad Ops!".into(),
        )));
}

#[test]
fn changing_a_role_records_before_and_after() {
    let mut events = opened();
    events.push(added(&li_wei()));
    EngagementTest::with(())
        .given(events)
        .when(EngagementCommand::ChangeMemberRole {
            member_id: li_wei().member_id,
            role: EngagementRole::ClientViewer,
        })
        .then_expect_events(vec![EngagementEvent::MemberRoleChanged {
            member_id: li_wei().member_id,
            from: EngagementRole::Member,
            to: EngagementRole::ClientViewer,
        }]);
}

#[test]
fn changing_to_the_same_role_is_refused() {
    let mut events = opened();
    events.push(added(&li_wei()));
    EngagementTest::with(())
        .given(events)
        .when(EngagementCommand::ChangeMemberRole {
            member_id: li_wei().member_id,
            role: EngagementRole::Member,
        })
        .then_expect_error(EngagementError::SameRole(EngagementRole::Member));
}

#[test]
fn changing_the_role_of_an_unknown_member_is_not_found() {
    EngagementTest::with(())
        .given(opened())
        .when(EngagementCommand::ChangeMemberRole {
            member_id: MemberId(id(99)),
            role: EngagementRole::Member,
        })
        .then_expect_error(EngagementError::MemberNotFound(MemberId(id(99))));
}

#[test]
fn the_last_consultant_can_neither_be_demoted_nor_removed() {
    EngagementTest::with(())
        .given(opened())
        .when(EngagementCommand::ChangeMemberRole {
            member_id: founder().member_id,
            role: EngagementRole::ClientOwner,
        })
        .then_expect_error(EngagementError::LastConsultant);
    EngagementTest::with(())
        .given(opened())
        .when(EngagementCommand::RemoveMember {
            member_id: founder().member_id,
            active_until: date("2026-12-31"),
        })
        .then_expect_error(EngagementError::LastConsultant);
}

#[test]
fn removing_a_member_records_the_active_until_date() {
    let mut events = opened();
    events.push(added(&li_wei()));
    EngagementTest::with(())
        .given(events)
        .when(EngagementCommand::RemoveMember {
            member_id: li_wei().member_id,
            active_until: date("2026-06-30"),
        })
        .then_expect_events(vec![EngagementEvent::MemberRemoved {
            member_id: li_wei().member_id,
            active_until: date("2026-06-30"),
        }]);
}

#[test]
fn active_until_before_active_from_is_refused() {
    let mut events = opened();
    events.push(added(&li_wei()));
    EngagementTest::with(())
        .given(events)
        .when(EngagementCommand::RemoveMember {
            member_id: li_wei().member_id,
            active_until: date("2026-06-10"),
        })
        .then_expect_error(EngagementError::ActiveUntilBeforeActiveFrom {
            from: date("2026-06-11"),
            until: date("2026-06-10"),
        });
}

#[test]
fn a_removed_member_cannot_be_removed_again() {
    let mut events = opened();
    events.push(added(&li_wei()));
    events.push(EngagementEvent::MemberRemoved {
        member_id: li_wei().member_id,
        active_until: date("2026-06-30"),
    });
    EngagementTest::with(())
        .given(events)
        .when(EngagementCommand::RemoveMember {
            member_id: li_wei().member_id,
            active_until: date("2026-07-31"),
        })
        .then_expect_error(EngagementError::MemberNotFound(li_wei().member_id));
}

#[test]
fn every_transition_in_the_spec_table_is_recorded() {
    use EngagementStatus::*;
    for (path, to) in [
        (vec![], Trial),
        (vec![], Closed),
        (vec![Trial], Active),
        (vec![Trial], Closed),
        (vec![Trial, Active], Paused),
        (vec![Trial, Active], Closed),
        (vec![Trial, Active, Paused], Active),
        (vec![Trial, Active, Paused], Closed),
    ] {
        let from = path.last().copied().unwrap_or(Diagnosing);
        EngagementTest::with(())
            .given(with_status(&path))
            .when(EngagementCommand::ChangeStatus { to })
            .then_expect_events(vec![EngagementEvent::EngagementStatusChanged { from, to }]);
    }
}

#[test]
fn active_back_to_diagnosing_is_an_invalid_transition() {
    use EngagementStatus::*;
    EngagementTest::with(())
        .given(with_status(&[Trial, Active]))
        .when(EngagementCommand::ChangeStatus { to: Diagnosing })
        .then_expect_error(EngagementError::InvalidTransition {
            from: Active,
            to: Diagnosing,
            allowed: "paused or closed".into(),
        });
}

#[test]
fn every_transition_outside_the_table_is_refused() {
    use EngagementStatus::*;
    let paths: [&[EngagementStatus]; 4] =
        [&[], &[Trial], &[Trial, Active], &[Trial, Active, Paused]];
    for path in paths {
        let current = path.last().copied().unwrap_or(Diagnosing);
        for to in EngagementStatus::ALL {
            if current.can_move_to(to) {
                continue;
            }
            let result = EngagementTest::with(())
                .given(with_status(path))
                .when(EngagementCommand::ChangeStatus { to })
                .inspect_result();
            assert!(
                matches!(result, Err(EngagementError::InvalidTransition { .. })),
                "{current} -> {to}: {result:?}"
            );
        }
    }
}

#[test]
fn erasing_a_former_member_of_a_closed_engagement_is_allowed_once() {
    let mut events = opened();
    events.push(added(&li_wei()));
    events.push(EngagementEvent::MemberRemoved {
        member_id: li_wei().member_id,
        active_until: date("2026-06-30"),
    });
    events.push(EngagementEvent::EngagementStatusChanged {
        from: EngagementStatus::Diagnosing,
        to: EngagementStatus::Closed,
    });
    let erase = EngagementCommand::ErasePersonalData {
        member_id: li_wei().member_id,
    };
    EngagementTest::with(())
        .given(events.clone())
        .when(erase.clone())
        .then_expect_events(vec![EngagementEvent::MemberPersonalDataErased {
            member_id: li_wei().member_id,
        }]);
    events.push(EngagementEvent::MemberPersonalDataErased {
        member_id: li_wei().member_id,
    });
    EngagementTest::with(())
        .given(events)
        .when(erase)
        .then_expect_error(EngagementError::AlreadyErased(li_wei().member_id));
}

#[test]
fn erasing_an_unknown_member_or_in_an_unopened_engagement_is_not_found() {
    EngagementTest::with(())
        .given(opened())
        .when(EngagementCommand::ErasePersonalData {
            member_id: MemberId(id(99)),
        })
        .then_expect_error(EngagementError::MemberNotFound(MemberId(id(99))));
    EngagementTest::with(())
        .given_no_previous_events()
        .when(EngagementCommand::ErasePersonalData {
            member_id: li_wei().member_id,
        })
        .then_expect_error(EngagementError::NotFound);
}

#[test]
fn a_closed_engagement_refuses_every_command() {
    use EngagementStatus::*;
    let closed = with_status(&[Closed]);
    for command in [
        EngagementCommand::AddMember(li_wei()),
        EngagementCommand::ChangeMemberRole {
            member_id: founder().member_id,
            role: EngagementRole::ClientOwner,
        },
        EngagementCommand::RemoveMember {
            member_id: founder().member_id,
            active_until: date("2026-12-31"),
        },
        EngagementCommand::ChangeStatus { to: Active },
        EngagementCommand::ChangeStatus { to: Closed },
    ] {
        EngagementTest::with(())
            .given(closed.clone())
            .when(command)
            .then_expect_error(EngagementError::Closed);
    }
}

#[tokio::test]
async fn the_aggregate_works_inside_an_async_runtime() {
    EngagementTest::with(())
        .given(opened())
        .when_async(EngagementCommand::AddMember(li_wei()))
        .await
        .then_expect_events(vec![added(&li_wei())]);
}

#[test]
fn a_custom_metric_joins_the_engagements_catalogue() {
    use crate::metrics::{Aggregation, MetricDefinition, Unit};
    let metric = MetricDefinition {
        key: "coupon_redemptions".into(),
        label: "Coupon redemptions".into(),
        unit: Unit::Count,
        aggregation: Aggregation::Sum,
        direction: Some(crate::metrics::Direction::Higher),
        allows_negative: false,
    };
    EngagementTest::with(())
        .given(opened())
        .when(EngagementCommand::DefineMetric {
            metric: metric.clone(),
        })
        .then_expect_events(vec![EngagementEvent::MetricDefined {
            metric: metric.clone(),
        }]);
    let mut clash = metric.clone();
    clash.key = "gmv".into();
    EngagementTest::with(())
        .given(opened())
        .when(EngagementCommand::DefineMetric { metric: clash })
        .then_expect_error(EngagementError::CustomMetric(
            "metric `gmv` already exists".into(),
        ));
    let mut bad_ratio = metric;
    bad_ratio.aggregation = Aggregation::Ratio {
        numerator: vec!["orders".into()],
        denominator: vec!["acos".into()],
    };
    EngagementTest::with(())
        .given(opened())
        .when(EngagementCommand::DefineMetric { metric: bad_ratio })
        .then_expect_error(EngagementError::CustomMetric(
            "ratio component `acos` is itself a ratio; use its components".into(),
        ));
}
