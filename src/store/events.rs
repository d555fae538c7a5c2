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

/// Every event of the log after `position`, in global order (for rebuilds and audits).
pub async fn events_after(
    db: &Db,
    position: i64,
    limit: i64,
) -> Result<Vec<StoredEvent>, StoreError> {
    on_db!(db, pool => read_events_after!(db.backend(), pool, position, limit))
}

/// Replays the log up to `position` into a model of one engagement (in batches).
pub async fn replay(
    db: &Db,
    engagement_id: kpi_ledger_domain::ids::EngagementId,
    position: i64,
) -> Result<kpi_ledger_domain::replay::Model, StoreError> {
    // Few events per read: one import event carries up to 1,000 observations.
    const BATCH: i64 = 100;
    let mut model = kpi_ledger_domain::replay::Model::new(engagement_id);
    let mut after = 0;
    while after < position {
        let events = events_after(db, after, BATCH).await?;
        if events.is_empty() {
            break;
        }
        for event in &events {
            if event.position > position {
                return Ok(model);
            }
            model.apply(event.logged()).map_err(StoreError::Corrupt)?;
            after = event.position;
        }
    }
    Ok(model)
}
