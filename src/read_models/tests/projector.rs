//! What [`statements_for`] collects from every read model, by their checkpoints.

use super::{by, int, openings, stored, text, RECORDED_AT};
use crate::projector::statements_for;
use crate::store::events::StoredEvent;
use kpi_ledger_domain::import::{ImportEvent, Watermark, IMPORT_AGGREGATE};
use std::collections::HashMap;

const ENGAGEMENT: &str = "5f0c6a4e-0d1b-4c39-9f0e-2d8e6c1a7b01";
const IMPORT: &str = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b";
const CONSULTANT: &str = "0b7e9c1d-3f2a-4e5b-8c6d-7e8f9a0b1c2d";
const FORMAT: &str = "amazon_business_report";

fn completed(position: i64) -> StoredEvent {
    stored(
        IMPORT_AGGREGATE,
        IMPORT,
        position,
        &ImportEvent::ImportCompleted {
            engagement_id: ENGAGEMENT.parse().unwrap(),
            format: FORMAT.into(),
            rows_read: 460,
            observations_recorded: 450,
            observations_restated: 12,
            series: 3,
            watermarks: vec![
                Watermark {
                    platform: "amazon_jp".into(),
                    through: "2026-04-30".parse().unwrap(),
                },
                Watermark {
                    platform: "rakuten".into(),
                    through: "2026-04-28".parse().unwrap(),
                },
            ],
        },
    )
}

fn none_seen() -> HashMap<&'static str, i64> {
    HashMap::new()
}

#[test]
fn a_completed_import_advances_watermarks_and_completes_its_imports_row() {
    let statements = statements_for(&completed(700), &none_seen()).unwrap();

    assert_eq!(
        openings(&statements),
        [
            "INSERT INTO source_watermarks",
            "INSERT INTO source_watermarks",
            "UPDATE imports SET"
        ]
    );
    assert_eq!(
        statements[0].params,
        vec![
            text(ENGAGEMENT),
            text("amazon_jp"),
            text(FORMAT),
            text("2026-04-30")
        ]
    );
    assert_eq!(
        statements[1].params,
        vec![
            text(ENGAGEMENT),
            text("rakuten"),
            text(FORMAT),
            text("2026-04-28")
        ]
    );
    let update = &statements[2];
    assert!(update.sql.contains("status = 'completed'"));
    assert_eq!(update.params[..4], [int(460), int(450), int(12), int(3)]);
    assert_eq!(
        super::json_param::<Vec<Watermark>>(&update.params[4]).len(),
        2
    );
    assert_eq!(update.params[5], text(IMPORT));
}

#[test]
fn a_read_model_whose_checkpoint_has_reached_the_event_contributes_nothing() {
    let event = completed(700);

    let imports_seen = HashMap::from([("imports", 700)]);
    assert_eq!(
        openings(&statements_for(&event, &imports_seen).unwrap()),
        [
            "INSERT INTO source_watermarks",
            "INSERT INTO source_watermarks"
        ]
    );

    let observations_past = HashMap::from([("observations", 705)]);
    assert_eq!(
        openings(&statements_for(&event, &observations_past).unwrap()),
        ["UPDATE imports SET"]
    );

    let one_behind = HashMap::from([("observations", 699), ("imports", 699)]);
    assert_eq!(statements_for(&event, &one_behind).unwrap().len(), 3);

    let both_seen = HashMap::from([("observations", 700), ("imports", 800)]);
    assert!(statements_for(&event, &both_seen).unwrap().is_empty());
}

#[test]
fn a_started_import_inserts_its_imports_row_and_moves_no_watermark() {
    let event = by(
        CONSULTANT,
        stored(
            IMPORT_AGGREGATE,
            IMPORT,
            650,
            &ImportEvent::ImportStarted {
                engagement_id: ENGAGEMENT.parse().unwrap(),
                format: FORMAT.into(),
                platform: Some("amazon_jp".into()),
                range: None,
                file_name: Some("BusinessReport-2026-04.csv".into()),
                sha256: "ab".repeat(32),
                bytes: 48_213,
                conversion: None,
            },
        ),
    );

    let statements = statements_for(&event, &none_seen()).unwrap();

    assert_eq!(openings(&statements), ["INSERT INTO imports"]);
    assert!(statements[0].sql.contains("'started'"));
    assert_eq!(
        statements[0].params,
        vec![
            text(IMPORT),
            text(ENGAGEMENT),
            text(FORMAT),
            text("amazon_jp"),
            crate::store::params::SqlValue::Text(None),
            crate::store::params::SqlValue::Text(None),
            text("BusinessReport-2026-04.csv"),
            text("ab".repeat(32)),
            int(48_213),
            text(CONSULTANT),
            int(650),
            text(RECORDED_AT),
            crate::store::params::SqlValue::Text(None),
        ]
    );
}

#[test]
fn an_event_of_an_aggregate_no_read_model_reads_yields_nothing() {
    let event = StoredEvent {
        position: 10,
        aggregate_type: "newsletter".into(),
        aggregate_id: "weekly".into(),
        sequence: 1,
        event_type: "NewsletterSent".into(),
        event_version: "1.0".into(),
        payload: serde_json::json!({ "NewsletterSent": { "to": 3 } }),
        metadata: HashMap::new(),
        recorded_at: chrono::Utc::now(),
        stored_payload: r#"{"NewsletterSent":{"to":3}}"#.into(),
        stored_metadata: "{}".into(),
    };

    assert!(statements_for(&event, &none_seen()).unwrap().is_empty());
}

#[test]
fn an_engagement_event_reaches_only_the_engagements_read_model() {
    let event = by(
        CONSULTANT,
        stored(
            "engagement",
            ENGAGEMENT,
            5,
            &kpi_ledger_domain::engagement::EngagementEvent::EngagementStatusChanged {
                from: kpi_ledger_domain::engagement::EngagementStatus::Diagnosing,
                to: kpi_ledger_domain::engagement::EngagementStatus::Trial,
            },
        ),
    );

    let statements = statements_for(&event, &none_seen()).unwrap();

    assert_eq!(
        openings(&statements),
        ["UPDATE engagements SET", "UPDATE engagements SET"]
    );
    assert_eq!(statements[1].params[1], text(RECORDED_AT));
}

#[test]
fn every_read_model_has_its_own_checkpoint_name() {
    let mut names = crate::projector::names();
    let count = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), count, "two read models share a checkpoint");
}
