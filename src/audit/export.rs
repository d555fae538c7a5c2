//! An engagement's chain as an auditor takes it away: one JSON line per event with the
//! stored bytes and the link, and the inclusion proof of the newest checkpoint
//! (`scripts/verify_audit.py` checks both without the database).

use crate::on_db;
use crate::store::{Db, StoreError};
use kpi_ledger_domain::audit::canonical_instant;
use serde::Serialize;
use std::io::Write;

/// One event as exported.
#[derive(Debug, Serialize)]
pub struct ExportedEvent {
    pub position: i64,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    pub recorded_at: String,
    /// The payload exactly as stored.
    pub payload: String,
    /// The metadata exactly as stored.
    pub metadata: String,
    pub previous_position: Option<i64>,
    pub hash: String,
}

/// Writes `chain`'s events as JSON lines to `out`; returns how many.
pub async fn write_events(db: &Db, chain: &str, out: &mut impl Write) -> Result<u64, StoreError> {
    let mut after = 0i64;
    let mut written = 0u64;
    loop {
        let links: Vec<(i64, Option<i64>, String)> = on_db!(db, pool => {
            sqlx::query_as(
                "SELECT position, previous_position, hash FROM event_chain
                  WHERE chain = $1 AND position > $2 ORDER BY position LIMIT 500",
            )
            .bind(chain)
            .bind(after)
            .fetch_all(pool)
            .await?
        });
        let Some(last) = links.last().map(|l| l.0) else {
            break;
        };
        let events = crate::store::events::chained_events(db, chain, after, last, 500).await?;
        for (position, previous_position, hash) in links {
            let Some(event) = events.iter().find(|e| e.position == position) else {
                continue;
            };
            let line = ExportedEvent {
                position,
                aggregate_type: event.aggregate_type.clone(),
                aggregate_id: event.aggregate_id.clone(),
                sequence: event.sequence,
                event_type: event.event_type.clone(),
                event_version: event.event_version.clone(),
                recorded_at: canonical_instant(event.recorded_at),
                payload: event.stored_payload.clone(),
                metadata: event.stored_metadata.clone(),
                previous_position,
                hash,
            };
            let text =
                serde_json::to_string(&line).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            writeln!(out, "{text}").map_err(|e| StoreError::Corrupt(e.to_string()))?;
            written += 1;
        }
        after = last;
    }
    Ok(written)
}
