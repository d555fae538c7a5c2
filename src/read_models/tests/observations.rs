//! `observations`: current values and the sources' watermarks.

use super::{int, openings, stored, text, RECORDED_AT};
use crate::read_models::observations::READ_MODEL;
use crate::store::events::StoredEvent;
use crate::store::params::SqlValue;
use chrono::{Duration, NaiveDate};
use cqrs_es::Aggregate;
use kpi_ledger_domain::ids::EngagementId;
use kpi_ledger_domain::period::DateRange;
use kpi_ledger_domain::series::{ImportedObservation, Series, SeriesEvent, SeriesKey, Source};
use rust_decimal::Decimal;
use uuid::Uuid;

const ENGAGEMENT: &str = "5f0c6a4e-0d1b-4c39-9f0e-2d8e6c1a7b01";
const FORMAT: &str = "amazon_business_report";

fn key(scope: Option<&str>) -> SeriesKey {
    SeriesKey {
        engagement_id: ENGAGEMENT.parse::<EngagementId>().unwrap(),
        metric: "gmv".into(),
        platform: "amazon_jp".into(),
        scope: scope.map(str::to_string),
    }
}

fn day(n: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 1, 1).unwrap() + Duration::days(n)
}

fn series_event(position: i64, key: &SeriesKey, event: &SeriesEvent) -> StoredEvent {
    stored(Series::TYPE, &key.series_id().to_string(), position, event)
}

/// `count` daily observations of the store-level series from 2025-01-01, valued 1000 + day.
fn import_batch(count: i64) -> SeriesEvent {
    SeriesEvent::ObservationsImported {
        key: key(None),
        import_id: Uuid::from_u128(7),
        format: FORMAT.into(),
        observations: (0..count)
            .map(|n| ImportedObservation {
                range: DateRange::new(day(n), day(n)).unwrap(),
                value: Decimal::from(1_000 + n),
                restates: None,
            })
            .collect(),
    }
}

/// The `$n` placeholders of a statement, in order of appearance.
fn placeholders(sql: &str) -> Vec<usize> {
    sql.split('$')
        .skip(1)
        .map(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().expect("a number after $")
        })
        .collect()
}

#[test]
fn an_import_batch_of_450_observations_is_upserted_in_three_statements_of_at_most_200_rows() {
    let key = key(None);
    let event = series_event(500, &key, &import_batch(450));

    let statements = (READ_MODEL.project)(&event).unwrap();

    assert_eq!(statements.len(), 3);
    let rows: Vec<usize> = statements.iter().map(|s| s.params.len() / 11).collect();
    assert_eq!(rows, [200, 200, 50]);
    for (statement, rows) in statements.iter().zip([200, 200, 50]) {
        assert_eq!(statement.params.len(), rows * 11);
        assert!(statement.sql.contains("INSERT INTO observations"));
        assert!(statement
            .sql
            .contains("ON CONFLICT (series_id, start_date, end_date)"));
        // Every parameter has its placeholder, numbered from 1 within its statement.
        assert_eq!(
            placeholders(&statement.sql),
            (1..=rows * 11).collect::<Vec<_>>()
        );
    }
    // The first row of the second statement is the 201st observation.
    assert_eq!(
        statements[1].params[..11],
        [
            text(key.series_id().to_string()),
            text(ENGAGEMENT),
            text("gmv"),
            text("amazon_jp"),
            text(""),
            text(day(200).to_string()),
            text(day(200).to_string()),
            text("1200"),
            text(FORMAT),
            int(500),
            text(RECORDED_AT),
        ]
    );
    // The last parameter of the last statement is the 450th observation's instant.
    let last = &statements[2].params[49 * 11..];
    assert_eq!(last[5], text(day(449).to_string()));
    assert_eq!(last[7], text("1449"));
}

#[test]
fn an_import_batch_of_exactly_200_observations_is_one_statement() {
    let event = series_event(501, &key(None), &import_batch(200));

    let statements = (READ_MODEL.project)(&event).unwrap();

    assert_eq!(statements.len(), 1);
    assert_eq!(statements[0].params.len(), 2_200);
}

#[test]
fn an_import_batch_moves_no_watermark_by_itself() {
    let event = series_event(502, &key(None), &import_batch(3));

    let statements = (READ_MODEL.project)(&event).unwrap();

    assert!(statements
        .iter()
        .all(|s| !s.sql.contains("source_watermarks")));
}

#[test]
fn an_import_batch_stored_in_the_old_shape_projects_like_the_current_one() {
    let key = key(None);
    let current = series_event(503, &key, &import_batch(2));
    let mut old = current.clone();
    old.event_version = "1.0".into();
    old.payload = serde_json::json!({ "ObservationsImported": {
        "key": key,
        "import_id": Uuid::from_u128(7),
        "format": FORMAT,
        "observations": [
            { "range": { "start": day(0), "end": day(0) }, "value": "1000", "restates": null },
            { "range": { "start": day(1), "end": day(1) }, "value": "1001" },
        ],
    }});

    assert_eq!(
        (READ_MODEL.project)(&old).unwrap(),
        (READ_MODEL.project)(&current).unwrap()
    );
}

#[test]
fn a_recorded_observation_is_upserted_and_advances_its_sources_watermark() {
    let key = key(Some("B0SKU1"));
    let event = series_event(
        504,
        &key,
        &SeriesEvent::ObservationRecorded {
            key: key.clone(),
            range: DateRange::new(day(0), day(6)).unwrap(),
            value: "1234.5".parse().unwrap(),
            source: Source::Import {
                format: FORMAT.into(),
                import_id: Uuid::from_u128(8),
            },
            restates: None,
        },
    );

    let statements = (READ_MODEL.project)(&event).unwrap();

    assert_eq!(
        openings(&statements),
        ["INSERT INTO observations", "INSERT INTO source_watermarks"]
    );
    assert_eq!(
        statements[0].params,
        vec![
            text(key.series_id().to_string()),
            text(ENGAGEMENT),
            text("gmv"),
            text("amazon_jp"),
            text("B0SKU1"),
            text("2025-01-01"),
            text("2025-01-07"),
            text("1234.5"),
            text(FORMAT),
            int(504),
            text(RECORDED_AT),
        ]
    );
    assert_eq!(
        statements[1].params,
        vec![
            text(ENGAGEMENT),
            text("amazon_jp"),
            text(FORMAT),
            text("2025-01-07"),
        ]
    );
    // A watermark only moves forward.
    assert!(statements[1]
        .sql
        .contains("WHEN excluded.through > source_watermarks.through"));
}

#[test]
fn a_manual_observation_advances_the_manual_watermark() {
    let key = key(None);
    let event = series_event(
        505,
        &key,
        &SeriesEvent::ObservationRecorded {
            key: key.clone(),
            range: DateRange::new(day(3), day(3)).unwrap(),
            value: Decimal::from(5),
            source: Source::Manual,
            restates: None,
        },
    );

    let statements = (READ_MODEL.project)(&event).unwrap();

    assert_eq!(statements[0].params[8], text("manual"));
    assert_eq!(statements[1].params[2], text("manual"));
}

#[test]
fn a_correction_replaces_the_value_and_moves_no_watermark() {
    let key = key(None);
    let event = series_event(
        506,
        &key,
        &SeriesEvent::ObservationCorrected {
            key: key.clone(),
            range: DateRange::new(day(3), day(3)).unwrap(),
            value: Decimal::from(6),
            previous: Decimal::from(5),
            reason: "the report double-counted a refund".into(),
        },
    );

    let statements = (READ_MODEL.project)(&event).unwrap();

    assert_eq!(openings(&statements), ["INSERT INTO observations"]);
    assert_eq!(statements[0].params[7], text("6"));
    assert_eq!(statements[0].params[8], text("correction"));
    assert!(statements[0]
        .params
        .iter()
        .all(|p| !matches!(p, SqlValue::Text(None))));
}
