//! `reviews`: reviews, their entries and the period locks.

use super::{by, int, openings, stored, text, RECORDED_AT};
use crate::read_models::reviews::READ_MODEL;
use cqrs_es::Aggregate;
use kpi_ledger_domain::access::EngagementRole;
use kpi_ledger_domain::ids::UserId;
use kpi_ledger_domain::review::{Review, ReviewEvent};

const REVIEW: &str = "3c2b1a09-8f7e-4d6c-9b5a-4f3e2d1c0b9a";
const OWNER: &str = "6d5c4b3a-2f1e-4a9b-8c7d-6e5f4a3b2c1d";

#[test]
fn a_locked_period_records_its_snapshot_on_the_review_and_a_lock_version() {
    let event = by(
        OWNER,
        stored(
            Review::TYPE,
            REVIEW,
            912,
            &ReviewEvent::PeriodLocked {
                version: 2,
                snapshot_position: 900,
            },
        ),
    );

    let statements = (READ_MODEL.project)(&event).unwrap();

    assert_eq!(
        openings(&statements),
        [
            "UPDATE reviews SET",
            "INSERT INTO period_locks",
            "UPDATE reviews SET"
        ]
    );
    assert!(statements[0].sql.contains("status = 'locked'"));
    assert!(statements[0].sql.contains("snapshot_position = $2"));
    assert_eq!(statements[0].params, vec![int(2), int(900), text(REVIEW)]);
    // The lock takes the review's engagement and period from its row.
    assert!(statements[1].sql.contains("FROM reviews"));
    assert_eq!(
        statements[1].params,
        vec![int(2), int(900), text(RECORDED_AT), text(REVIEW)]
    );
    assert!(statements[2].sql.contains("updated_at = $1"));
    assert_eq!(statements[2].params, vec![text(RECORDED_AT), text(REVIEW)]);
}

#[test]
fn a_reopened_period_reopens_the_review_and_marks_the_lock_version_reopened() {
    let event = stored(
        Review::TYPE,
        REVIEW,
        950,
        &ReviewEvent::PeriodReopened {
            version: 2,
            snapshot_position: 940,
            reason: "a restated refund".into(),
        },
    );

    let statements = (READ_MODEL.project)(&event).unwrap();

    assert_eq!(
        openings(&statements),
        [
            "UPDATE reviews SET",
            "UPDATE period_locks SET",
            "UPDATE reviews SET"
        ]
    );
    assert!(statements[0].sql.contains("status = 'open'"));
    assert_eq!(statements[0].params, vec![int(940), text(REVIEW)]);
    assert_eq!(
        statements[1].params,
        vec![text(RECORDED_AT), text(REVIEW), int(2)]
    );
}

#[test]
fn a_sign_off_is_an_entry_with_its_actor() {
    let signer: UserId = OWNER.parse().unwrap();
    let event = by(
        OWNER,
        stored(
            Review::TYPE,
            REVIEW,
            911,
            &ReviewEvent::SignedOff {
                user_id: signer,
                role: EngagementRole::ClientOwner,
            },
        ),
    );

    let statements = (READ_MODEL.project)(&event).unwrap();

    assert_eq!(
        openings(&statements),
        ["INSERT INTO review_entries", "UPDATE reviews SET"]
    );
    let params = &statements[0].params;
    assert_eq!(params[..3], [text(REVIEW), int(911), text("sign_off")]);
    assert_eq!(params[4..], [text(OWNER), text(RECORDED_AT)]);
}
