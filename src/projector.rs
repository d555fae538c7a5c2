//! Keeps the read models ([`crate::read_models`]) current from the global event order.
//!
//! Each read model has its own checkpoint. The projector reads events after the lowest of
//! them, in position order, hands each event to every read model that has not seen it, and
//! writes the statements and the new checkpoints in one transaction. It first touches the
//! checkpoint rows, which takes their row locks on PostgreSQL and the write lock on SQLite,
//! so two servers never project the same events at once. A read model is rebuilt by
//! emptying its tables and setting its checkpoint to 0 ([`Projector::rebuild`]); a read
//! model new to the code gets a checkpoint at 0 and is backfilled the same way.
//!
//! The chainer ([`crate::audit::chain`]) rides along with its own checkpoint: it links each
//! event into its hash chain once, in global order, and no rebuild ever resets it.

use crate::audit::chain::{link_events, CHECKPOINT as CHAIN};
use crate::on_db;
use crate::read_models::{ReadModel, ALL};
use crate::store::events::{read_events_after, StoredEvent};
use crate::store::params::{bind, Statement};
use crate::store::{Db, StoreError};
use std::collections::HashMap;
use tokio::sync::Mutex;

/// Events per projector transaction. An import event carries up to 1,000 observations,
/// so this also bounds the projector's memory.
const BATCH: i64 = 50;

/// Keeps the read models current.
pub struct Projector {
    db: Db,
    /// One catch-up at a time within this process; the database lock covers other servers.
    running: Mutex<()>,
}

/// The statements one event causes in every read model that has not seen it yet.
pub fn statements_for(
    event: &StoredEvent,
    checkpoints: &HashMap<&str, i64>,
) -> Result<Vec<Statement>, StoreError> {
    let mut statements = Vec::new();
    for model in ALL {
        if event.position > checkpoints.get(model.name).copied().unwrap_or(0) {
            statements.extend((model.project)(event)?);
        }
    }
    Ok(statements)
}

impl Projector {
    pub fn new(db: Db) -> Self {
        Self {
            db,
            running: Mutex::new(()),
        }
    }

    /// Projects every event committed so far and returns the position every read model
    /// has reached.
    pub async fn catch_up(&self) -> Result<i64, StoreError> {
        let _running = self.running.lock().await;
        self.ensure_checkpoints().await?;
        loop {
            let (checkpoint, applied) = self.project_batch().await?;
            if applied < BATCH as usize {
                return Ok(checkpoint);
            }
        }
    }

    /// Empties one read model (`only`), or every one, and projects the log into it again.
    /// Other read models are not touched.
    pub async fn rebuild(&self, only: Option<&str>) -> Result<i64, StoreError> {
        let models: Vec<&ReadModel> = ALL
            .iter()
            .filter(|m| only.is_none_or(|name| m.name == name))
            .collect();
        if models.is_empty() {
            return Err(StoreError::Corrupt(format!(
                "no read model is called {}; there are {}",
                only.unwrap_or_default(),
                names().join(", ")
            )));
        }
        {
            let _running = self.running.lock().await;
            self.ensure_checkpoints().await?;
            on_db!(&self.db, pool => {
                let mut tx = pool.begin().await?;
                for model in &models {
                    sqlx::query("UPDATE projection_checkpoints SET position = 0 WHERE name = $1")
                        .bind(model.name)
                        .execute(&mut *tx)
                        .await?;
                    for table in model.tables {
                        sqlx::query(&format!("DELETE FROM {table}")).execute(&mut *tx).await?;
                    }
                }
                tx.commit().await?;
            });
        }
        self.catch_up().await
    }

    /// Creates the checkpoint (at 0) of a read model that has none yet.
    async fn ensure_checkpoints(&self) -> Result<(), StoreError> {
        on_db!(&self.db, pool => {
            for name in names().into_iter().chain([CHAIN]) {
                sqlx::query(
                    "INSERT INTO projection_checkpoints (name, position) VALUES ($1, 0)
                     ON CONFLICT (name) DO NOTHING",
                )
                .bind(name)
                .execute(pool)
                .await?;
            }
        });
        Ok(())
    }

    async fn project_batch(&self) -> Result<(i64, usize), StoreError> {
        let backend = self.db.backend();
        // The read models and the chainer, each with its checkpoint.
        let mut names = names();
        names.push(CHAIN);
        let placeholders = (1..=names.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let lock = format!(
            "UPDATE projection_checkpoints SET position = position WHERE name IN ({placeholders})"
        );
        let read = format!(
            "SELECT name, position FROM projection_checkpoints WHERE name IN ({placeholders})"
        );
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            // Take the projector lock before reading the checkpoints.
            let mut query = sqlx::query(&lock);
            for name in &names {
                query = query.bind(*name);
            }
            query.execute(&mut *tx).await?;
            let mut query = sqlx::query_as::<_, (String, i64)>(&read);
            for name in &names {
                query = query.bind(*name);
            }
            let rows = query.fetch_all(&mut *tx).await?;
            let checkpoints: HashMap<&str, i64> = names
                .iter()
                .map(|name| {
                    let at = rows.iter().find(|(n, _)| n == name).map_or(0, |(_, p)| *p);
                    (*name, at)
                })
                .collect();
            let lowest = checkpoints.values().copied().min().unwrap_or(0);
            let events = read_events_after!(backend, &mut *tx, lowest, BATCH)?;
            let Some(last) = events.last().map(|e| e.position) else {
                tx.rollback().await?;
                return Ok((lowest, 0));
            };
            for event in &events {
                for statement in statements_for(event, &checkpoints)? {
                    bind(&statement).execute(&mut *tx).await?;
                }
            }
            let chained = checkpoints.get(CHAIN).copied().unwrap_or(0);
            link_events!(tx, events, chained);
            for (name, at) in &checkpoints {
                if *at < last {
                    sqlx::query("UPDATE projection_checkpoints SET position = $1 WHERE name = $2")
                        .bind(last)
                        .bind(*name)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            tx.commit().await?;
            tracing::debug!(from = lowest, to = last, "projected events");
            Ok((last, events.len()))
        })
    }
}

/// The names of every read model.
pub fn names() -> Vec<&'static str> {
    ALL.iter().map(|m| m.name).collect()
}
