//! Read models kept current from the global event order.
//!
//! The projector reads events after its checkpoint, in position order, turns each into
//! SQL statements ([`engagements`], [`users`]) and writes them together with the new
//! checkpoint in one transaction. It first touches its checkpoint row, which takes the
//! row lock on PostgreSQL and the write lock on SQLite, so two servers never project the
//! same events at once. A read model can be rebuilt by emptying its tables and setting the
//! checkpoint to 0 ([`Projector::rebuild`]).

mod engagements;
mod imports;
mod kpis;
mod series;
mod settlement;
mod users;

use crate::on_db;
use crate::store::events::{read_events_after, StoredEvent};
use crate::store::params::{bind, Statement};
use crate::store::{Db, StoreError};
use tokio::sync::Mutex;

const CHECKPOINT: &str = "read_models";
/// Events per projector transaction. An import event carries up to 1,000 observations,
/// so this also bounds the projector's memory.
const BATCH: i64 = 50;

/// Tables the projector owns, emptied by a rebuild (children first).
const TABLES: &[&str] = &[
    "reviews",
    "review_entries",
    "period_locks",
    "incentive_plans",
    "payouts",
    "payout_adjustments",
    "imports",
    "engagement_members",
    "engagements",
    "users",
    "engagement_metrics",
    "kpis",
    "kpi_targets",
    "target_history",
    "observations",
    "source_watermarks",
];

/// Keeps the read models current.
pub struct Projector {
    db: Db,
    /// One catch-up at a time within this process; the database lock covers other servers.
    running: Mutex<()>,
}

impl Projector {
    pub fn new(db: Db) -> Self {
        Self {
            db,
            running: Mutex::new(()),
        }
    }

    /// Projects every event committed so far and returns the checkpoint reached.
    pub async fn catch_up(&self) -> Result<i64, StoreError> {
        let _running = self.running.lock().await;
        loop {
            let (checkpoint, applied) = self.project_batch().await?;
            if applied < BATCH as usize {
                return Ok(checkpoint);
            }
        }
    }

    /// Empties every read model and projects the whole log again.
    pub async fn rebuild(&self) -> Result<i64, StoreError> {
        {
            let _running = self.running.lock().await;
            on_db!(&self.db, pool => {
                let mut tx = pool.begin().await?;
                sqlx::query("UPDATE projection_checkpoints SET position = 0 WHERE name = $1")
                    .bind(CHECKPOINT)
                    .execute(&mut *tx)
                    .await?;
                for table in TABLES {
                    sqlx::query(&format!("DELETE FROM {table}")).execute(&mut *tx).await?;
                }
                tx.commit().await?;
            });
        }
        self.catch_up().await
    }

    async fn project_batch(&self) -> Result<(i64, usize), StoreError> {
        let backend = self.db.backend();
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            // Take the projector lock before reading the checkpoint.
            sqlx::query("UPDATE projection_checkpoints SET position = position WHERE name = $1")
                .bind(CHECKPOINT)
                .execute(&mut *tx)
                .await?;
            let checkpoint: i64 =
                sqlx::query_scalar("SELECT position FROM projection_checkpoints WHERE name = $1")
                    .bind(CHECKPOINT)
                    .fetch_one(&mut *tx)
                    .await?;
            let events = read_events_after!(backend, &mut *tx, checkpoint, BATCH)?;
            let Some(last) = events.last().map(|e| e.position) else {
                tx.rollback().await?;
                return Ok((checkpoint, 0));
            };
            for event in &events {
                for statement in statements_for(event)? {
                    bind(&statement).execute(&mut *tx).await?;
                }
            }
            sqlx::query("UPDATE projection_checkpoints SET position = $1 WHERE name = $2")
                .bind(last)
                .bind(CHECKPOINT)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            tracing::debug!(from = checkpoint, to = last, "projected events");
            Ok((last, events.len()))
        })
    }
}

/// The read-model writes one event causes.
fn statements_for(event: &StoredEvent) -> Result<Vec<Statement>, StoreError> {
    match event.aggregate_type.as_str() {
        "engagement" => engagements::statements(event),
        "user" => users::statements(event),
        "kpi" => kpis::statements(event),
        "series" => series::statements(event),
        kpi_ledger_domain::import::IMPORT_AGGREGATE => imports::statements(event),
        "review" => settlement::review(event),
        "plan" => settlement::plan(event),
        "payout" => settlement::payout(event),
        _ => Ok(Vec::new()),
    }
}

/// Decodes an event payload, naming the event if it does not fit the type.
fn decode<T: serde::de::DeserializeOwned>(event: &StoredEvent) -> Result<T, StoreError> {
    serde_json::from_value(event.payload.clone()).map_err(|e| {
        StoreError::Corrupt(format!(
            "event {} v{} at position {} does not decode: {e}",
            event.event_type, event.event_version, event.position
        ))
    })
}

fn timestamp(event: &StoredEvent) -> String {
    event
        .recorded_at
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}
