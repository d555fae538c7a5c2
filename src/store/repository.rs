//! The event repository cqrs-es persists through: our own, over the `events` table on
//! either database, so that an append can check, in its own transaction, facts that span
//! aggregates (ADR 0003).
//!
//! Appends are serialised (PostgreSQL: the advisory lock the insert trigger takes; SQLite:
//! its single writer), so a check made after this append's insert sees every event
//! appended before it and none can slip in before the commit. The one check today: a
//! target change decided while its period was unlocked is refused if a review locked that
//! period after the decision's reading (`decided_at` in the metadata).

use super::{Db, StoreError};
use crate::on_db;
use cqrs_es::persist::{
    PersistedEventRepository, PersistenceError, ReplayStream, SerializedEvent, SerializedSnapshot,
};
use cqrs_es::Aggregate;
use kpi_ledger_domain::metadata::{DECIDED_AT, ENGAGEMENT_ID};
use kpi_ledger_domain::ErrorKind;
use serde_json::Value;
use sqlx::types::Json;

/// An append refused because of an event appended after the command was decided.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct AppendRefused {
    pub kind: ErrorKind,
    pub message: String,
}

/// The `events` table as cqrs-es needs it.
#[derive(Clone)]
pub struct EventRepository {
    db: Db,
}

impl EventRepository {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

type EventRow = (
    String,
    String,
    i64,
    String,
    String,
    Json<Value>,
    Json<Value>,
);

const SELECT: &str = "
SELECT aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata
  FROM events WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence > $3
 ORDER BY sequence";

const INSERT: &str = "
INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                    payload, metadata)
VALUES ($1, $2, $3, $4, $5, $6, $7)";

/// The newest `PeriodLocked` after a position, of a review of one engagement and period.
const LOCKED_AFTER_POSTGRES: &str = "
SELECT l.position FROM events l
 WHERE l.position > $1 AND l.aggregate_type = 'review' AND l.event_type = 'PeriodLocked'
   AND EXISTS (SELECT 1 FROM events o
                WHERE o.aggregate_type = 'review' AND o.aggregate_id = l.aggregate_id
                  AND o.event_type = 'ReviewOpened'
                  AND o.payload -> 'ReviewOpened' ->> 'engagement_id' = $2
                  AND o.payload -> 'ReviewOpened' ->> 'period' = $3)
 ORDER BY l.position DESC LIMIT 1";

const LOCKED_AFTER_SQLITE: &str = "
SELECT l.position FROM events l
 WHERE l.position > $1 AND l.aggregate_type = 'review' AND l.event_type = 'PeriodLocked'
   AND EXISTS (SELECT 1 FROM events o
                WHERE o.aggregate_type = 'review' AND o.aggregate_id = l.aggregate_id
                  AND o.event_type = 'ReviewOpened'
                  AND json_extract(o.payload, '$.ReviewOpened.engagement_id') = $2
                  AND json_extract(o.payload, '$.ReviewOpened.period') = $3)
 ORDER BY l.position DESC LIMIT 1";

fn serialized(row: EventRow) -> SerializedEvent {
    let (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) =
        row;
    SerializedEvent::new(
        aggregate_id,
        usize::try_from(sequence).unwrap_or(0),
        aggregate_type,
        event_type,
        event_version,
        payload.0,
        metadata.0,
    )
}

/// How long an append waits for the append lock (PostgreSQL) before it gives up with
/// CONFLICT "busy, retry" — a transaction holding the lock must not stall every command
/// and, through them, the connection pool.
pub const APPEND_LOCK_TIMEOUT: &str = "5s";
/// The longest any statement of an append may run.
pub const APPEND_STATEMENT_TIMEOUT: &str = "30s";

fn persistence(error: sqlx::Error) -> PersistenceError {
    match &error {
        // lock_not_available, query_canceled (statement_timeout): the ledger is busy.
        sqlx::Error::Database(db)
            if matches!(db.code().as_deref(), Some("55P03") | Some("57014")) =>
        {
            PersistenceError::UnknownError(Box::new(AppendRefused {
                kind: ErrorKind::Conflict,
                message: "the ledger is busy: another change holds the append lock; nothing was recorded, retry"
                    .to_string(),
            }))
        }
        sqlx::Error::Database(db)
            if matches!(
                db.code().as_deref(),
                Some("23505") | Some("1555") | Some("2067")
            ) =>
        {
            PersistenceError::OptimisticLockError
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) => {
            PersistenceError::ConnectionError(Box::new(error))
        }
        _ => PersistenceError::UnknownError(Box::new(error)),
    }
}

/// A metadata entry of an event about to be appended.
fn meta<'e>(event: &'e SerializedEvent, key: &str) -> Option<&'e str> {
    event.metadata.get(key).and_then(Value::as_str)
}

/// What the guard must check for one event, if anything: a target change of
/// (engagement, period) decided at a position.
fn target_change(event: &SerializedEvent) -> Option<(i64, String, String)> {
    if event.aggregate_type != "kpi" || event.event_type != "TargetSet" {
        return None;
    }
    let decided_at = meta(event, DECIDED_AT)?.parse().ok()?;
    let engagement = meta(event, ENGAGEMENT_ID)?.to_string();
    let period = event.payload["TargetSet"]["period"].as_str()?.to_string();
    Some((decided_at, engagement, period))
}

impl EventRepository {
    async fn select<A: Aggregate>(
        &self,
        aggregate_id: &str,
        after: i64,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        let rows: Vec<EventRow> = on_db!(&self.db, pool => {
            sqlx::query_as(SELECT)
                .bind(A::TYPE)
                .bind(aggregate_id)
                .bind(after)
                .fetch_all(pool)
                .await
                .map_err(persistence)?
        });
        Ok(rows.into_iter().map(serialized).collect())
    }

    async fn append(&self, events: &[SerializedEvent]) -> Result<(), PersistenceError> {
        macro_rules! append {
            ($pool:expr, $locked_after:expr, $setup:expr) => {{
                let mut tx = $pool.begin().await.map_err(persistence)?;
                for statement in $setup {
                    sqlx::query(statement)
                        .execute(&mut *tx)
                        .await
                        .map_err(persistence)?;
                }
                for event in events {
                    sqlx::query(INSERT)
                        .bind(&event.aggregate_type)
                        .bind(&event.aggregate_id)
                        .bind(i64::try_from(event.sequence).unwrap_or(i64::MAX))
                        .bind(&event.event_type)
                        .bind(&event.event_version)
                        .bind(Json(&event.payload))
                        .bind(Json(&event.metadata))
                        .execute(&mut *tx)
                        .await
                        .map_err(persistence)?;
                }
                // Appends are serialised from the first insert on: what is read now is
                // everything appended before this change.
                for (decided_at, engagement, period) in events.iter().filter_map(target_change) {
                    let locked: Option<i64> = sqlx::query_scalar($locked_after)
                        .bind(decided_at)
                        .bind(&engagement)
                        .bind(&period)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(persistence)?;
                    if locked.is_some() {
                        return Err(PersistenceError::UnknownError(Box::new(AppendRefused {
                            kind: ErrorKind::Locked,
                            message: format!(
                                "{period} was locked by a review while this change was being decided; nothing was recorded"
                            ),
                        })));
                    }
                }
                tx.commit().await.map_err(persistence)?;
            }};
        }
        match &self.db {
            Db::Sqlite(pool) => append!(
                pool,
                LOCKED_AFTER_SQLITE,
                Vec::<String>::new().iter().map(String::as_str)
            ),
            Db::Postgres(pool) => {
                let setup = [
                    format!("SET LOCAL lock_timeout = '{APPEND_LOCK_TIMEOUT}'"),
                    format!("SET LOCAL statement_timeout = '{APPEND_STATEMENT_TIMEOUT}'"),
                ];
                append!(
                    pool,
                    LOCKED_AFTER_POSTGRES,
                    setup.iter().map(String::as_str)
                )
            }
        }
        Ok(())
    }

    /// Every event of one aggregate, fed to a replay stream.
    fn stream(&self, aggregate_type: &'static str, aggregate_id: String) -> ReplayStream {
        let (mut feed, stream) = ReplayStream::new(100);
        let db = self.db.clone();
        tokio::spawn(async move {
            let rows: Result<Vec<EventRow>, sqlx::Error> = on_db!(&db, pool => {
                sqlx::query_as(SELECT)
                    .bind(aggregate_type)
                    .bind(&aggregate_id)
                    .bind(0i64)
                    .fetch_all(pool)
                    .await
            });
            match rows {
                Ok(rows) => {
                    for row in rows {
                        if feed.push(Ok(serialized(row))).await.is_err() {
                            return;
                        }
                    }
                }
                Err(error) => {
                    let _ = feed.push(Err(persistence(error))).await;
                }
            }
        });
        stream
    }
}

impl PersistedEventRepository for EventRepository {
    async fn get_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        self.select::<A>(aggregate_id, 0).await
    }

    async fn get_last_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
        last_sequence: usize,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        self.select::<A>(
            aggregate_id,
            i64::try_from(last_sequence).unwrap_or(i64::MAX),
        )
        .await
    }

    /// Aggregates are not snapshotted (see `Cqrs`).
    async fn get_snapshot<A: Aggregate>(
        &self,
        _aggregate_id: &str,
    ) -> Result<Option<SerializedSnapshot>, PersistenceError> {
        Ok(None)
    }

    async fn persist<A: Aggregate>(
        &self,
        events: &[SerializedEvent],
        _snapshot_update: Option<(String, Value, usize)>,
    ) -> Result<(), PersistenceError> {
        self.append(events).await
    }

    async fn stream_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<ReplayStream, PersistenceError> {
        Ok(self.stream(A::TYPE, aggregate_id.to_string()))
    }

    /// Not offered: the projector reads the whole log in global order instead
    /// (`read_events_after!`), which cqrs-es's per-type stream cannot give.
    async fn stream_all_events<A: Aggregate>(&self) -> Result<ReplayStream, PersistenceError> {
        Err(PersistenceError::UnknownError(Box::new(
            StoreError::Corrupt(
                "events are read in global order by the projector, not per aggregate type".into(),
            ),
        )))
    }
}
