//! `engagements`: settings, status and memberships.

use super::{by, int, openings, starts, stored, text, NULL_TEXT, RECORDED_AT};
use crate::read_models::engagements::READ_MODEL;
use cqrs_es::Aggregate;
use kpi_ledger_domain::access::EngagementRole;
use kpi_ledger_domain::engagement::{
    Engagement, EngagementEvent, EngagementSettings, EngagementStatus,
};
use kpi_ledger_domain::ids::{EngagementId, MemberId, UserId};

const ENGAGEMENT: &str = "5f0c6a4e-0d1b-4c39-9f0e-2d8e6c1a7b01";
const CONSULTANT: &str = "0b7e9c1d-3f2a-4e5b-8c6d-7e8f9a0b1c2d";

fn engagement_event(position: i64, event: EngagementEvent) -> crate::store::events::StoredEvent {
    by(
        CONSULTANT,
        stored(Engagement::TYPE, ENGAGEMENT, position, &event),
    )
}

#[test]
fn an_opened_engagement_is_inserted_with_its_settings() {
    let mut settings = EngagementSettings::with_defaults("Spring push", "Sakura Foods");
    settings.platforms = vec!["amazon_jp".into(), "rakuten".into()];
    settings.fiscal_year_start_month = 7;
    let event = engagement_event(
        41,
        EngagementEvent::EngagementOpened {
            engagement_id: ENGAGEMENT.parse::<EngagementId>().unwrap(),
            settings,
        },
    );

    let statements = (READ_MODEL.project)(&event).unwrap();

    assert_eq!(
        openings(&statements),
        ["INSERT INTO engagements", "UPDATE engagements SET"]
    );
    assert_eq!(
        statements[0].params,
        vec![
            text(ENGAGEMENT),
            text("Spring push"),
            text("Sakura Foods"),
            text("JP"),
            text("Asia/Tokyo"),
            int(7),
            text("JPY"),
            text(r#"["amazon_jp","rakuten"]"#),
            text("diagnosing"),
            int(41),
            text(RECORDED_AT),
            text(CONSULTANT),
        ]
    );
    // Every engagement event moves the engagement's last position.
    assert_eq!(
        statements[1].params,
        vec![int(41), text(RECORDED_AT), text(ENGAGEMENT)]
    );
}

#[test]
fn an_added_member_is_inserted_with_role_position_and_first_day() {
    let member = MemberId::new_random();
    let user = UserId::new_random();
    let event = engagement_event(
        42,
        EngagementEvent::MemberAdded {
            member_id: member,
            user_id: user,
            role: EngagementRole::Member,
            position: Some("advertising".into()),
            active_from: "2026-05-01".parse().unwrap(),
        },
    );

    let statements = (READ_MODEL.project)(&event).unwrap();

    assert_eq!(
        openings(&statements),
        ["INSERT INTO engagement_members", "UPDATE engagements SET"]
    );
    assert_eq!(
        statements[0].params,
        vec![
            text(ENGAGEMENT),
            text(member.to_string()),
            text(user.to_string()),
            text("member"),
            text("advertising"),
            text("2026-05-01"),
            int(42),
        ]
    );
}

#[test]
fn a_member_without_a_position_is_inserted_with_a_null_position() {
    let event = engagement_event(
        43,
        EngagementEvent::MemberAdded {
            member_id: MemberId::new_random(),
            user_id: UserId::new_random(),
            role: EngagementRole::ClientViewer,
            position: None,
            active_from: "2026-05-01".parse().unwrap(),
        },
    );

    let statements = (READ_MODEL.project)(&event).unwrap();

    assert_eq!(statements[0].params[3], text("client_viewer"));
    assert_eq!(statements[0].params[4], NULL_TEXT);
}

#[test]
fn a_removed_member_keeps_the_row_with_a_last_active_day() {
    let member = MemberId::new_random();
    let event = engagement_event(
        44,
        EngagementEvent::MemberRemoved {
            member_id: member,
            active_until: "2026-06-30".parse().unwrap(),
        },
    );

    let statements = (READ_MODEL.project)(&event).unwrap();

    assert!(starts(
        &statements[0],
        "UPDATE engagement_members SET active_until = $1"
    ));
    assert_eq!(
        statements[0].params,
        vec![
            text("2026-06-30"),
            text(ENGAGEMENT),
            text(member.to_string())
        ]
    );
    assert_eq!(statements.len(), 2);
}

#[test]
fn a_status_change_sets_the_new_status() {
    let event = engagement_event(
        45,
        EngagementEvent::EngagementStatusChanged {
            from: EngagementStatus::Active,
            to: EngagementStatus::Closed,
        },
    );

    let statements = (READ_MODEL.project)(&event).unwrap();

    assert!(starts(&statements[0], "UPDATE engagements SET status = $1"));
    assert_eq!(statements[0].params, vec![text("closed"), text(ENGAGEMENT)]);
    assert_eq!(
        statements[1].params,
        vec![int(45), text(RECORDED_AT), text(ENGAGEMENT)]
    );
}

#[test]
fn the_engagements_read_model_ignores_other_aggregates() {
    let event = stored(
        "kpi",
        ENGAGEMENT,
        46,
        &EngagementEvent::EngagementStatusChanged {
            from: EngagementStatus::Trial,
            to: EngagementStatus::Active,
        },
    );

    assert!((READ_MODEL.project)(&event).unwrap().is_empty());
}
