//! The command side: cqrs-es aggregates persisted through sqlite-es or postgres-es into
//! the `events` table, and reading that table back in global order.

use super::repository::EventRepository;
use super::{Db, StoreError};
use crate::on_db;
use chrono::{DateTime, Utc};
use cqrs_es::persist::{EventUpcaster, PersistedEventStore, SerializedEvent};
use cqrs_es::CqrsFramework;
use cqrs_es::{Aggregate, AggregateError};
use std::collections::HashMap;

/// How often a command is re-run after losing an optimistic-concurrency race. The retry
/// re-reads the aggregate, so the command is decided again on the state that won.
const CONFLICT_RETRIES: usize = 3;

/// Commands decided again after losing a race, since the process started.
static RETRIED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many commands this process decided again after losing a race (`/metrics`).
pub fn conflict_retries() -> u64 {
    RETRIED.load(std::sync::atomic::Ordering::Relaxed)
}

/// A cqrs-es framework for aggregate `A` over our event repository. It uses the plain
/// event store (no snapshots): the snapshot path of cqrs-es 0.5.0 applies events twice.
pub struct Cqrs<A: Aggregate>(CqrsFramework<A, PersistedEventStore<EventRepository, A>>);

impl<A> Cqrs<A>
where
    A: Aggregate<Services = ()>,
    A::Command: Clone,
{
    /// The framework for `A`, reading stored events through the domain's upcasters.
    pub fn new(db: &Db) -> Self {
        let store = PersistedEventStore::new_event_store(EventRepository::new(db.clone()))
            .with_upcasters(upcasters::<A>());
        Cqrs(CqrsFramework::new(store, Vec::new(), ()))
    }

    /// Decides and appends `command` on aggregate `id`; on a concurrency conflict the
    /// command is decided again on the fresh state, a few times, before giving up.
    pub async fn execute(
        &self,
        id: &str,
        command: A::Command,
        metadata: HashMap<String, String>,
    ) -> Result<(), AggregateError<A::Error>> {
        let mut attempt = 0;
        loop {
            let result = self
                .0
                .execute_with_metadata(id, command.clone(), metadata.clone())
                .await;
            match result {
                Err(AggregateError::AggregateConflict) if attempt < CONFLICT_RETRIES => {
                    attempt += 1;
                    RETRIED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tracing::debug!(
                        aggregate = A::TYPE,
                        id,
                        attempt,
                        "retrying after a conflict"
                    );
                }
                other => return other,
            }
        }
    }
}

/// The domain's upcasters of `A`'s events, as cqrs-es runs them when it loads an aggregate.
fn upcasters<A: Aggregate>() -> Vec<Box<dyn EventUpcaster>> {
    kpi_ledger_domain::upcast::UPCASTERS
        .iter()
        .filter(|u| u.aggregate_type == A::TYPE)
        .map(|u| Box::new(DomainUpcaster(u)) as Box<dyn EventUpcaster>)
        .collect()
}

struct DomainUpcaster(&'static kpi_ledger_domain::upcast::Upcaster);

impl EventUpcaster for DomainUpcaster {
    fn can_upcast(&self, event_type: &str, event_version: &str) -> bool {
        event_type == self.0.event_type && event_version == self.0.from
    }

    fn upcast(&self, mut event: SerializedEvent) -> SerializedEvent {
        event.payload = (self.0.rewrite)(event.payload);
        event.event_version = self.0.to.to_string();
        event
    }
}

/// One event as stored, with its place in the global order.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub position: i64,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    pub payload: serde_json::Value,
    pub metadata: HashMap<String, String>,
    pub recorded_at: DateTime<Utc>,
    /// The payload and metadata exactly as stored, for the hash chain.
    pub stored_payload: String,
    pub stored_metadata: String,
}

impl StoredEvent {
    /// The event as the replay model reads it.
    pub fn logged(&self) -> kpi_ledger_domain::replay::LoggedEvent<'_> {
        kpi_ledger_domain::replay::LoggedEvent {
            position: self.position,
            aggregate_type: &self.aggregate_type,
            aggregate_id: &self.aggregate_id,
            event_type: &self.event_type,
            event_version: &self.event_version,
            payload: &self.payload,
        }
    }

    /// The payload decoded as `T`, brought to the current shape by the upcasters.
    pub fn decode<T: serde::de::DeserializeOwned>(&self) -> Result<T, StoreError> {
        kpi_ledger_domain::upcast::decode(
            &self.aggregate_type,
            &self.event_type,
            &self.event_version,
            &self.payload,
        )
        .map_err(|e| StoreError::Corrupt(format!("at position {}: {e}", self.position)))
    }

    /// The event as its chain link covers it.
    pub fn link<'a>(&'a self, recorded_at: &'a str) -> kpi_ledger_domain::audit::Link<'a> {
        kpi_ledger_domain::audit::Link {
            position: self.position,
            aggregate_type: &self.aggregate_type,
            aggregate_id: &self.aggregate_id,
            sequence: self.sequence,
            event_type: &self.event_type,
            event_version: &self.event_version,
            recorded_at,
            payload: &self.stored_payload,
            metadata: &self.stored_metadata,
        }
    }

    pub fn actor(&self) -> &str {
        self.metadata
            .get(kpi_ledger_domain::metadata::ACTOR)
            .map(String::as_str)
            .unwrap_or("system")
    }
}

/// An `events` row as selected by [`read_events_after!`]; decode it with [`decode_rows`].
#[derive(sqlx::FromRow)]
pub struct EventRow {
    position: i64,
    aggregate_type: String,
    aggregate_id: String,
    sequence: i64,
    event_type: String,
    event_version: String,
    payload: String,
    metadata: String,
    recorded_at: String,
}

impl TryFrom<EventRow> for StoredEvent {
    type Error = StoreError;
    fn try_from(row: EventRow) -> Result<Self, StoreError> {
        let corrupt = |what: &str, e: &dyn std::fmt::Display| {
            StoreError::Corrupt(format!("event at position {}: {what}: {e}", row.position))
        };
        Ok(StoredEvent {
            position: row.position,
            payload: serde_json::from_str(&row.payload).map_err(|e| corrupt("payload", &e))?,
            metadata: serde_json::from_str(&row.metadata).map_err(|e| corrupt("metadata", &e))?,
            stored_payload: row.payload,
            stored_metadata: row.metadata,
            recorded_at: DateTime::parse_from_rfc3339(&row.recorded_at)
                .map_err(|e| corrupt("recorded_at", &e))?
                .with_timezone(&Utc),
            aggregate_type: row.aggregate_type,
            aggregate_id: row.aggregate_id,
            sequence: row.sequence,
            event_type: row.event_type,
            event_version: row.event_version,
        })
    }
}

/// Selects events after a position, in global order. `recorded_at` comes back as RFC 3339
/// text on both databases.
pub const SELECT_EVENTS_AFTER_SQLITE: &str = "
SELECT position, aggregate_type, aggregate_id, sequence, event_type, event_version,
       payload, metadata, recorded_at
  FROM events WHERE position > $1 ORDER BY position LIMIT $2";

pub const SELECT_EVENTS_AFTER_POSTGRES: &str = "
SELECT position, aggregate_type, aggregate_id, sequence, event_type, event_version,
       payload::text AS payload, metadata::text AS metadata,
       to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS recorded_at
  FROM events WHERE position > $1 ORDER BY position LIMIT $2";

/// Reads up to `limit` events after `position` within an open transaction or on a pool.
macro_rules! read_events_after {
    ($backend:expr, $executor:expr, $position:expr, $limit:expr) => {{
        let sql = match $backend {
            $crate::store::Backend::Sqlite => $crate::store::events::SELECT_EVENTS_AFTER_SQLITE,
            $crate::store::Backend::Postgres => $crate::store::events::SELECT_EVENTS_AFTER_POSTGRES,
        };
        $crate::store::events::decode_rows(
            sqlx::query_as(sql)
                .bind($position)
                .bind($limit)
                .fetch_all($executor)
                .await?,
        )
    }};
}
pub(crate) use read_events_after;

pub fn decode_rows(rows: Vec<EventRow>) -> Result<Vec<StoredEvent>, StoreError> {
    rows.into_iter().map(StoredEvent::try_from).collect()
}

/// The newest position in the log (0 when it is empty).
pub async fn head_position(db: &Db) -> Result<i64, StoreError> {
    let head: Option<i64> = on_db!(db, pool => {
        sqlx::query_scalar("SELECT MAX(position) FROM events").fetch_one(pool).await?
    });
    Ok(head.unwrap_or(0))
}

/// The last position recorded at or before `instant` (0 before the first event): one
/// lookup in the `events_by_time` index, since recorded-at never goes backwards along the
/// log.
pub async fn position_at(db: &Db, instant: DateTime<Utc>) -> Result<i64, StoreError> {
    const SQL: &str = "SELECT position FROM events WHERE recorded_at <= $1
                        ORDER BY recorded_at DESC, position DESC LIMIT 1";
    let position: Option<i64> = match db {
        Db::Sqlite(pool) => {
            sqlx::query_scalar(SQL)
                .bind(instant.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                .fetch_optional(pool)
                .await?
        }
        Db::Postgres(pool) => {
            sqlx::query_scalar(SQL)
                .bind(instant)
                .fetch_optional(pool)
                .await?
        }
    };
    Ok(position.unwrap_or(0))
}

/// Every event of the log after `position`, in global order (for rebuilds and audits).
pub async fn events_after(
    db: &Db,
    position: i64,
    limit: i64,
) -> Result<Vec<StoredEvent>, StoreError> {
    on_db!(db, pool => read_events_after!(db.backend(), pool, position, limit))
}

/// One engagement's chained events in (after, upto], in global order, through the
/// engagement → events index of the hash chain.
const SELECT_CHAINED_SQLITE: &str = "
SELECT e.position, e.aggregate_type, e.aggregate_id, e.sequence, e.event_type, e.event_version,
       e.payload, e.metadata, e.recorded_at
  FROM event_chain c JOIN events e ON e.position = c.position
 WHERE c.chain = $1 AND c.position > $2 AND c.position <= $3
 ORDER BY c.position LIMIT $4";

const SELECT_CHAINED_POSTGRES: &str = "
SELECT e.position, e.aggregate_type, e.aggregate_id, e.sequence, e.event_type, e.event_version,
       e.payload::text AS payload, e.metadata::text AS metadata,
       to_char(e.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS recorded_at
  FROM event_chain c JOIN events e ON e.position = c.position
 WHERE c.chain = $1 AND c.position > $2 AND c.position <= $3
 ORDER BY c.position LIMIT $4";

/// Up to `limit` events of `chain` after `after` and at most `upto`.
pub async fn chained_events(
    db: &Db,
    chain: &str,
    after: i64,
    upto: i64,
    limit: i64,
) -> Result<Vec<StoredEvent>, StoreError> {
    let sql = match db.backend() {
        super::Backend::Sqlite => SELECT_CHAINED_SQLITE,
        super::Backend::Postgres => SELECT_CHAINED_POSTGRES,
    };
    let rows: Vec<EventRow> = on_db!(db, pool => {
        sqlx::query_as(sql)
            .bind(chain)
            .bind(after)
            .bind(upto)
            .bind(limit)
            .fetch_all(pool)
            .await?
    });
    decode_rows(rows)
}

/// How far the chainer has linked the log.
pub async fn chained_through(db: &Db) -> Result<i64, StoreError> {
    let at: Option<i64> = on_db!(db, pool => {
        sqlx::query_scalar("SELECT position FROM projection_checkpoints WHERE name = $1")
            .bind(crate::audit::chain::CHECKPOINT)
            .fetch_optional(pool)
            .await?
    });
    Ok(at.unwrap_or(0))
}

/// Replays one engagement's events into models at each of `positions`, in one pass: its
/// chained events through the engagement index, then the few events the chainer has not
/// linked yet. Other engagements' events are never read, so a replay does not slow down
/// as other engagements grow.
///
/// It starts from the newest snapshot of the engagement at or below the first position
/// (`snapshots`), and keeps new ones as it folds.
pub async fn replay_at(
    db: &Db,
    engagement_id: kpi_ledger_domain::ids::EngagementId,
    positions: &[i64],
) -> Result<Vec<kpi_ledger_domain::replay::Model>, StoreError> {
    replay_positions(db, engagement_id, positions, true).await
}

/// [`replay_at`] from the engagement's first event, without snapshots: what they must
/// always agree with.
pub async fn replay_at_from_scratch(
    db: &Db,
    engagement_id: kpi_ledger_domain::ids::EngagementId,
    positions: &[i64],
) -> Result<Vec<kpi_ledger_domain::replay::Model>, StoreError> {
    replay_positions(db, engagement_id, positions, false).await
}

async fn replay_positions(
    db: &Db,
    engagement_id: kpi_ledger_domain::ids::EngagementId,
    positions: &[i64],
    use_snapshots: bool,
) -> Result<Vec<kpi_ledger_domain::replay::Model>, StoreError> {
    // Few events per read: one import event carries up to 1,000 observations.
    const BATCH: i64 = 100;
    let mut wanted: Vec<i64> = positions.to_vec();
    wanted.sort_unstable();
    let upto = wanted.last().copied().unwrap_or(0);
    let linked = chained_through(db).await?.min(upto);
    // From the newest snapshot at or below the first position asked for (and the linked
    // part of the log): only the events after it are read and folded.
    let start = wanted.first().copied().unwrap_or(0).min(linked);
    let snapshot = use_snapshots
        .then(|| super::snapshots::nearest(engagement_id, start))
        .flatten();
    let (mut model, mut after) = match snapshot {
        Some((through, snapshot)) => ((*snapshot).clone(), through),
        None => (kpi_ledger_domain::replay::Model::new(engagement_id), 0),
    };
    let mut models: Vec<(i64, kpi_ledger_domain::replay::Model)> = Vec::new();
    let mut next = 0;
    let mut take = |model: &kpi_ledger_domain::replay::Model, before: i64, models: &mut Vec<_>| {
        // Every wanted position below `before` is what the model holds now.
        while next < wanted.len() && wanted[next] < before {
            // The model as of that position: its last event may be older.
            let mut as_of = model.clone();
            as_of.position = wanted[next];
            models.push((wanted[next], as_of));
            next += 1;
        }
    };
    let chain = engagement_id.to_string();
    let mut folded = 0;
    loop {
        let events = chained_events(db, &chain, after, linked, BATCH).await?;
        let Some(last) = events.last().map(|e| e.position) else {
            break;
        };
        for event in &events {
            take(&model, event.position, &mut models);
            model.apply(event.logged()).map_err(StoreError::Corrupt)?;
            folded += 1;
            if use_snapshots && folded % super::snapshots::EVERY == 0 {
                super::snapshots::keep(engagement_id, event.position, &model);
            }
        }
        after = last;
    }
    // Every event of the engagement up to the linked position is in the model now.
    if use_snapshots && folded > 0 {
        super::snapshots::keep(engagement_id, linked, &model);
    }
    after = after.max(linked);
    while after < upto {
        let events = events_after(db, after, BATCH).await?;
        if events.is_empty() {
            break;
        }
        for event in &events {
            if event.position > upto {
                break;
            }
            take(&model, event.position, &mut models);
            model.apply(event.logged()).map_err(StoreError::Corrupt)?;
            after = event.position;
        }
        if events.last().is_some_and(|e| e.position > upto) {
            break;
        }
    }
    take(&model, i64::MAX, &mut models);
    // In the order asked for.
    Ok(positions
        .iter()
        .map(|p| {
            models
                .iter()
                .find(|(at, _)| at == p)
                .map(|(_, m)| m.clone())
                .unwrap_or_else(|| kpi_ledger_domain::replay::Model::new(engagement_id))
        })
        .collect())
}

/// Replays one engagement's events up to `position` (see [`replay_at`]).
pub async fn replay(
    db: &Db,
    engagement_id: kpi_ledger_domain::ids::EngagementId,
    position: i64,
) -> Result<kpi_ledger_domain::replay::Model, StoreError> {
    Ok(replay_at(db, engagement_id, &[position])
        .await?
        .pop()
        .unwrap_or_else(|| kpi_ledger_domain::replay::Model::new(engagement_id)))
}
