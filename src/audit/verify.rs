//! Verifying a chain: recompute every link from the stored bytes and compare, follow the
//! links for gaps, find events no chain holds, and hold the chain against the newest
//! signed checkpoint, which catches the deletion of the newest events.

use super::checkpoint;
use crate::on_db;
use crate::store::events::{chained_through, StoredEvent};
use crate::store::{Db, StoreError};
use kpi_ledger_domain::audit::GENESIS;
use serde::Serialize;

/// What is wrong with a chain, at the first place it goes wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Problem {
    /// The event's stored bytes no longer give the hash linked for it: edited.
    Altered {
        position: i64,
        expected: String,
        found: String,
    },
    /// The chain links an event that is no longer stored: deleted.
    Missing { position: i64 },
    /// The link at `position` names another previous event than the one before it in
    /// the chain: a link was removed or the order changed.
    Gap {
        position: i64,
        expected_previous: Option<i64>,
        found_previous: Option<i64>,
    },
    /// An event stored at or before the chained position that no chain links: inserted
    /// behind the log's back.
    Unlinked { position: i64 },
    /// The newest checkpoint saw the chain reach `checkpoint_position` with
    /// `checkpoint_hash`; the chain now ends at `found_position`: its newest events were
    /// deleted (or its head rewritten).
    Truncated {
        checkpoint_id: String,
        checkpoint_position: i64,
        checkpoint_hash: String,
        found_position: Option<i64>,
    },
}

impl Problem {
    /// A sentence naming the position and what was found.
    pub fn describe(&self) -> String {
        match self {
            Problem::Altered {
                position,
                expected,
                found,
            } => format!(
                "the event at position {position} was altered: its bytes hash to {expected}, the chain holds {found}"
            ),
            Problem::Missing { position } => {
                format!("the event at position {position} was deleted; the chain still links it")
            }
            Problem::Gap {
                position,
                expected_previous,
                found_previous,
            } => format!(
                "the link at position {position} follows {} but the chain before it ends at {}: an event was removed or moved",
                found_previous.map_or("nothing".into(), |p| p.to_string()),
                expected_previous.map_or("nothing".into(), |p| p.to_string()),
            ),
            Problem::Unlinked { position } => format!(
                "the event at position {position} is in no chain: it was inserted behind the log's back"
            ),
            Problem::Truncated {
                checkpoint_id,
                checkpoint_position,
                found_position,
                ..
            } => format!(
                "checkpoint {checkpoint_id} saw this chain reach position {checkpoint_position}; it now ends at {}: newer events were deleted",
                found_position.map_or("nothing".into(), |p| p.to_string()),
            ),
        }
    }
}

/// The outcome of verifying one chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// An engagement id, or `installation`.
    pub chain: String,
    pub events: u64,
    pub head_position: Option<i64>,
    pub head_hash: Option<String>,
    /// The first problem found; `None` when the chain verifies.
    pub problem: Option<Problem>,
    /// The newest checkpoint the chain was held against.
    pub checkpoint_id: Option<String>,
}

impl Verification {
    pub fn verified(&self) -> bool {
        self.problem.is_none()
    }
}

#[derive(sqlx::FromRow)]
struct LinkRow {
    position: i64,
    previous_position: Option<i64>,
    hash: String,
    stored: i64,
}

/// Verifies `chain` against the stored events and the newest checkpoint.
pub async fn verify_chain(db: &Db, chain: &str) -> Result<Verification, StoreError> {
    const BATCH: i64 = 1_000;
    let mut verification = Verification {
        chain: chain.to_string(),
        events: 0,
        head_position: None,
        head_hash: None,
        problem: None,
        checkpoint_id: None,
    };
    let checkpoint = checkpoint::latest(db).await?;
    let signed = checkpoint
        .as_ref()
        .and_then(|c| c.heads.iter().find(|h| h.chain == chain).cloned());
    // The hash the chain holds today at the position the checkpoint signed.
    let mut at_signed: Option<String> = None;
    let mut previous: Option<(i64, String)> = None;
    let mut after = 0i64;
    'links: loop {
        let links: Vec<LinkRow> = on_db!(db, pool => {
            sqlx::query_as(
                "SELECT c.position, c.previous_position, c.hash,
                        CAST(CASE WHEN e.position IS NULL THEN 0 ELSE 1 END AS BIGINT) AS stored
                   FROM event_chain c LEFT JOIN events e ON e.position = c.position
                  WHERE c.chain = $1 AND c.position > $2
                  ORDER BY c.position LIMIT $3",
            )
            .bind(chain)
            .bind(after)
            .bind(BATCH)
            .fetch_all(pool)
            .await?
        });
        let Some(last) = links.last().map(|l| l.position) else {
            break;
        };
        let first = links[0].position;
        let events = events_between(db, first - 1, last).await?;
        for link in links {
            let expected_previous = previous.as_ref().map(|(p, _)| *p);
            if link.previous_position != expected_previous {
                verification.problem = Some(Problem::Gap {
                    position: link.position,
                    expected_previous,
                    found_previous: link.previous_position,
                });
                break 'links;
            }
            if link.stored == 0 {
                verification.problem = Some(Problem::Missing {
                    position: link.position,
                });
                break 'links;
            }
            let Some(event) = events.iter().find(|e| e.position == link.position) else {
                verification.problem = Some(Problem::Missing {
                    position: link.position,
                });
                break 'links;
            };
            let expected = super::chain::hash(
                previous.as_ref().map_or(GENESIS, |(_, h)| h.as_str()),
                event,
            );
            if expected != link.hash {
                verification.problem = Some(Problem::Altered {
                    position: link.position,
                    expected,
                    found: link.hash,
                });
                break 'links;
            }
            verification.events += 1;
            if signed.as_ref().is_some_and(|h| h.position == link.position) {
                at_signed = Some(link.hash.clone());
            }
            previous = Some((link.position, link.hash));
        }
        after = last;
    }
    verification.head_position = previous.as_ref().map(|(p, _)| *p);
    verification.head_hash = previous.map(|(_, h)| h);
    if verification.problem.is_none() {
        verification.problem = unlinked(db, chain).await?;
    }
    if let Some(checkpoint) = &checkpoint {
        verification.checkpoint_id = Some(checkpoint.id.clone());
        if let (None, Some(head)) = (&verification.problem, &signed) {
            // The signed head must still be a link of the chain, with the same hash.
            if at_signed.as_deref() != Some(head.hash.as_str()) {
                verification.problem = Some(Problem::Truncated {
                    checkpoint_id: checkpoint.id.clone(),
                    checkpoint_position: head.position,
                    checkpoint_hash: head.hash.clone(),
                    found_position: verification.head_position,
                });
            }
        }
    }
    Ok(verification)
}

/// The events in (after, upto] of every chain.
async fn events_between(db: &Db, after: i64, upto: i64) -> Result<Vec<StoredEvent>, StoreError> {
    let mut events = Vec::new();
    let mut from = after;
    while from < upto {
        let batch = crate::store::events::events_after(db, from, 500).await?;
        let Some(last) = batch.last().map(|e| e.position) else {
            break;
        };
        events.extend(batch.into_iter().filter(|e| e.position <= upto));
        from = last;
    }
    Ok(events)
}

/// An event at or before the chained position that no chain links and that belongs to
/// `chain` (or to no knowable chain).
async fn unlinked(db: &Db, chain: &str) -> Result<Option<Problem>, StoreError> {
    let through = chained_through(db).await?;
    let positions: Vec<i64> = on_db!(db, pool => {
        sqlx::query_scalar(
            "SELECT e.position FROM events e LEFT JOIN event_chain c ON c.position = e.position
              WHERE c.position IS NULL AND e.position <= $1 ORDER BY e.position LIMIT 100",
        )
        .bind(through)
        .fetch_all(pool)
        .await?
    });
    for position in positions {
        let event = crate::store::events::events_after(db, position - 1, 1)
            .await?
            .pop();
        let belongs = event
            .as_ref()
            .and_then(super::chain::chain_of)
            .is_none_or(|c| c == chain);
        if belongs {
            return Ok(Some(Problem::Unlinked { position }));
        }
    }
    Ok(None)
}

/// Every chain of the installation, each verified.
pub async fn verify_all(db: &Db) -> Result<Vec<Verification>, StoreError> {
    let chains: Vec<String> = on_db!(db, pool => {
        sqlx::query_scalar("SELECT DISTINCT chain FROM event_chain ORDER BY chain")
            .fetch_all(pool)
            .await?
    });
    let mut all = Vec::new();
    for chain in chains {
        all.push(verify_chain(db, &chain).await?);
    }
    Ok(all)
}
