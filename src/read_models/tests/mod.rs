//! The statements each read model makes of one event. The events are the domain's own,
//! serialised as the event store keeps them, so a payload shape or an event type that
//! drifts from what a projection decodes fails here, without a database.

mod engagements;
mod kpis;
mod observations;
mod payouts;
mod projector;
mod reviews;

use crate::store::events::StoredEvent;
use crate::store::params::{SqlValue, Statement};
use chrono::{TimeZone, Utc};
use cqrs_es::DomainEvent;
use std::collections::HashMap;

/// When every test event was recorded, and how read models write that instant.
pub(super) const RECORDED_AT: &str = "2026-05-01T09:00:00.000000Z";

/// `event` as the store hands it to the projector: at `position`, of the aggregate
/// `aggregate_type`/`aggregate_id`, recorded at [`RECORDED_AT`], without metadata.
pub(super) fn stored<E: DomainEvent>(
    aggregate_type: &str,
    aggregate_id: &str,
    position: i64,
    event: &E,
) -> StoredEvent {
    StoredEvent {
        position,
        aggregate_type: aggregate_type.to_string(),
        aggregate_id: aggregate_id.to_string(),
        sequence: 1,
        event_type: event.event_type(),
        event_version: event.event_version(),
        payload: serde_json::to_value(event).expect("a domain event serialises"),
        metadata: HashMap::new(),
        recorded_at: Utc.with_ymd_and_hms(2026, 5, 1, 9, 0, 0).unwrap(),
        stored_payload: serde_json::to_string(event).expect("a domain event serialises"),
        stored_metadata: "{}".into(),
    }
}

/// The event with `actor` in its metadata, as commands run by a user record it.
pub(super) fn by(actor: &str, mut event: StoredEvent) -> StoredEvent {
    event.metadata.insert(
        kpi_ledger_domain::metadata::ACTOR.to_string(),
        actor.to_string(),
    );
    event
}

pub(super) fn text(value: impl Into<String>) -> SqlValue {
    SqlValue::Text(Some(value.into()))
}

pub(super) fn int(value: i64) -> SqlValue {
    SqlValue::Int(Some(value))
}

pub(super) const NULL_TEXT: SqlValue = SqlValue::Text(None);

/// A statement's SQL with its whitespace collapsed, for comparing its opening words.
pub(super) fn sql(statement: &Statement) -> String {
    statement
        .sql
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether the statement begins with `start` (whitespace collapsed on both sides).
pub(super) fn starts(statement: &Statement, start: &str) -> bool {
    sql(statement).starts_with(&start.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// A text parameter read back as the JSON it holds.
pub(super) fn json_param<T: serde::de::DeserializeOwned>(value: &SqlValue) -> T {
    match value {
        SqlValue::Text(Some(text)) => {
            serde_json::from_str(text).unwrap_or_else(|e| panic!("`{text}` is not JSON: {e}"))
        }
        other => panic!("expected a JSON text parameter, got {other:?}"),
    }
}

/// The first three words of every statement (`INSERT INTO imports`, `UPDATE reviews SET`).
pub(super) fn openings(statements: &[Statement]) -> Vec<String> {
    statements
        .iter()
        .map(|s| {
            s.sql
                .split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}
