//! The chainer: links every event to the previous event of its chain, in global order,
//! inside the projector's transaction and with its own checkpoint (`chain`), which no
//! rebuild resets (ADR 0004).

use crate::store::events::StoredEvent;
use kpi_ledger_domain::audit::{canonical_instant, engagement_of, engagement_scoped, INSTALLATION};
use kpi_ledger_domain::metadata::ENGAGEMENT_ID;

/// The name of the chainer's checkpoint.
pub const CHECKPOINT: &str = "chain";

/// The chain an event joins, when the event says; `None` when only its aggregate's first
/// event tells (look it up in `aggregate_chains`).
pub fn chain_of(event: &StoredEvent) -> Option<String> {
    if !engagement_scoped(&event.aggregate_type) {
        return Some(INSTALLATION.to_string());
    }
    engagement_of(
        &event.aggregate_type,
        &event.aggregate_id,
        &event.payload,
        event.metadata.get(ENGAGEMENT_ID).map(String::as_str),
    )
    .map(|e| e.to_string())
}

/// The hash of `event` after `previous`.
pub fn hash(previous: &str, event: &StoredEvent) -> String {
    let recorded_at = canonical_instant(event.recorded_at);
    kpi_ledger_domain::audit::link_hash(previous, &event.link(&recorded_at))
}

/// Links `$events` (after position `$after`) inside transaction `$tx` of either database.
macro_rules! link_events {
    ($tx:expr, $events:expr, $after:expr) => {{
        let mut heads: std::collections::HashMap<String, (i64, String)> =
            std::collections::HashMap::new();
        for event in $events.iter().filter(|e| e.position > $after) {
            let chain = match $crate::audit::chain::chain_of(event) {
                Some(chain) => chain,
                None => {
                    let known: Option<String> = sqlx::query_scalar(
                        "SELECT chain FROM aggregate_chains
                          WHERE aggregate_type = $1 AND aggregate_id = $2",
                    )
                    .bind(&event.aggregate_type)
                    .bind(&event.aggregate_id)
                    .fetch_optional(&mut *$tx)
                    .await?;
                    known.unwrap_or_else(|| {
                        tracing::warn!(
                            position = event.position,
                            "an event of no known engagement joins the installation chain"
                        );
                        kpi_ledger_domain::audit::INSTALLATION.to_string()
                    })
                }
            };
            if event.sequence == 1 {
                sqlx::query(
                    "INSERT INTO aggregate_chains (aggregate_type, aggregate_id, chain)
                     VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                )
                .bind(&event.aggregate_type)
                .bind(&event.aggregate_id)
                .bind(&chain)
                .execute(&mut *$tx)
                .await?;
            }
            let previous = match heads.get(&chain) {
                Some(head) => Some(head.clone()),
                None => {
                    sqlx::query_as::<_, (i64, String)>(
                        "SELECT position, hash FROM event_chain WHERE chain = $1
                      ORDER BY position DESC LIMIT 1",
                    )
                    .bind(&chain)
                    .fetch_optional(&mut *$tx)
                    .await?
                }
            };
            let hash = $crate::audit::chain::hash(
                previous
                    .as_ref()
                    .map_or(kpi_ledger_domain::audit::GENESIS, |(_, h)| h.as_str()),
                event,
            );
            sqlx::query(
                "INSERT INTO event_chain (position, chain, previous_position, hash)
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(event.position)
            .bind(&chain)
            .bind(previous.as_ref().map(|(p, _)| *p))
            .bind(&hash)
            .execute(&mut *$tx)
            .await?;
            heads.insert(chain, (event.position, hash));
        }
    }};
}
pub(crate) use link_events;
