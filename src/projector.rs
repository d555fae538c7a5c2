//! Keeps the read models ([`crate::read_models`]) current from the global event order.
//!
//! Each read model has its own checkpoint. The projector reads events after the lowest of
//! them, in position order, hands each event to every read model that has not seen it, and
//! writes the statements and the new checkpoints in one transaction. It first touches the
//! checkpoint rows, which takes their row locks on PostgreSQL and the write lock on SQLite,
//! so two servers never project the same events at once. A read model is rebuilt into
//! shadow tables and swapped in with its checkpoint in one transaction
//! ([`Projector::rebuild`]); a read model new to the code gets a checkpoint at 0 and is
//! backfilled by the ordinary catch-up.
//!
//! The chainer ([`crate::audit::chain`]) rides along with its own checkpoint: it links each
//! event into its hash chain once, in global order, and no rebuild ever resets it.

use crate::audit::chain::{link_events, CHECKPOINT as CHAIN};
use crate::on_db;
use crate::read_models::{ReadModel, ALL};
use crate::store::events::{read_events_after, StoredEvent};
use crate::store::params::{bind, Statement};
use crate::store::{Backend, Db, StoreError};
use std::collections::HashMap;
use tokio::sync::Mutex;

/// Events per projector transaction. An import event carries up to 1,000 observations,
/// so this also bounds the projector's memory.
const BATCH: i64 = 50;

/// Events a rebuild writes into its shadow tables per transaction.
const REBUILD_COMMIT: usize = 1_000;

/// Keeps the read models current.
pub struct Projector {
    db: Db,
    /// One catch-up at a time within this process; the database lock covers other servers.
    running: Mutex<()>,
    /// Every checkpoint row exists (rows are never deleted): checked once per process.
    checkpoints_exist: std::sync::atomic::AtomicBool,
    /// Catch-ups begun in this process, numbered from 1.
    drains_started: std::sync::atomic::AtomicU64,
    /// The number of the last catch-up that reached the end of the log, and where.
    drained: std::sync::Mutex<(u64, i64)>,
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
            checkpoints_exist: std::sync::atomic::AtomicBool::new(false),
            drains_started: std::sync::atomic::AtomicU64::new(0),
            drained: std::sync::Mutex::new((0, 0)),
        }
    }

    /// Projects every event committed so far and returns the position every read model
    /// has reached.
    ///
    /// Commands of this process that wait here together are served by one pass: a
    /// catch-up that began after this call and reached the end of the log read every
    /// event committed before the call, so a caller that finds one finished when its turn
    /// comes returns without touching the database.
    pub async fn catch_up(&self) -> Result<i64, StoreError> {
        use std::sync::atomic::Ordering;
        let called_after = self.drains_started.load(Ordering::SeqCst);
        let _running = self.running.lock().await;
        let (last_drain, reached) = *self.drained.lock().unwrap_or_else(|e| e.into_inner());
        if last_drain > called_after {
            return Ok(reached);
        }
        self.ensure_checkpoints().await?;
        let drain = self.drains_started.fetch_add(1, Ordering::SeqCst) + 1;
        loop {
            let (checkpoint, applied) = self.project_batch().await?;
            if applied < BATCH as usize {
                *self.drained.lock().unwrap_or_else(|e| e.into_inner()) = (drain, checkpoint);
                return Ok(checkpoint);
            }
        }
    }

    /// Rebuilds one read model (`only`), or every one, from the whole log without ever
    /// showing a reader a half-built table: each model is projected into shadow tables
    /// while the live ones keep serving and keep being projected, then the shadow
    /// contents replace the live ones and the model's checkpoint moves in one
    /// transaction. Returns the position the rebuilt models reached.
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
        self.ensure_checkpoints().await?;
        let mut reached = 0;
        for model in models {
            reached = self.rebuild_model(model).await?;
            tracing::info!(read_model = model.name, position = reached, "rebuilt");
        }
        Ok(reached)
    }

    async fn rebuild_model(&self, model: &ReadModel) -> Result<i64, StoreError> {
        let backend = self.db.backend();
        create_shadows(&self.db, model).await?;
        // Fill the shadow tables without any lock: readers and the live projector go on.
        // Events are read BATCH at a time (memory), committed REBUILD_COMMIT at a time
        // (a durable commit per 50 events made the commits most of a rebuild's time).
        let mut at = 0;
        let mut done = false;
        while !done {
            on_db!(&self.db, pool => {
                let mut tx = pool.begin().await?;
                let mut in_transaction = 0;
                while in_transaction < REBUILD_COMMIT {
                    // Read outside the transaction: on SQLite a transaction that read
                    // first could not write once another connection had committed.
                    let events = crate::store::events::events_after(&self.db, at, BATCH).await?;
                    let Some(last) = events.last().map(|e| e.position) else {
                        done = true;
                        break;
                    };
                    for event in &events {
                        for statement in (model.project)(event)? {
                            let statement = shadowed(statement, model.tables);
                            bind(&for_backend(statement, backend)).execute(&mut *tx).await?;
                        }
                    }
                    in_transaction += events.len();
                    at = last;
                }
                tx.commit().await?;
            });
        }
        // Swap under the model's checkpoint lock (and this process's projector lock):
        // project what arrived meanwhile, replace the live rows, move the checkpoint.
        let _running = self.running.lock().await;
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE projection_checkpoints SET position = position WHERE name = $1")
                .bind(model.name)
                .execute(&mut *tx)
                .await?;
            loop {
                let events = read_events_after!(backend, &mut *tx, at, BATCH)?;
                let Some(last) = events.last().map(|e| e.position) else {
                    break;
                };
                for event in &events {
                    for statement in (model.project)(event)? {
                        let statement = shadowed(statement, model.tables);
                        bind(&for_backend(statement, backend)).execute(&mut *tx).await?;
                    }
                }
                at = last;
            }
            for table in model.tables {
                sqlx::query(&format!("DELETE FROM {table}")).execute(&mut *tx).await?;
                sqlx::query(&format!("INSERT INTO {table} SELECT * FROM {table}{SHADOW}"))
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(&format!("DROP TABLE {table}{SHADOW}")).execute(&mut *tx).await?;
            }
            sqlx::query("UPDATE projection_checkpoints SET position = $1 WHERE name = $2")
                .bind(at)
                .bind(model.name)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(at)
    }

    /// Every read model with the position it has reached, in projection order.
    pub async fn checkpoints(&self) -> Result<Vec<(&'static str, i64)>, StoreError> {
        self.ensure_checkpoints().await?;
        let rows: Vec<(String, i64)> = on_db!(&self.db, pool => {
            sqlx::query_as("SELECT name, position FROM projection_checkpoints")
                .fetch_all(pool)
                .await?
        });
        Ok(names()
            .into_iter()
            .map(|name| {
                let at = rows.iter().find(|(n, _)| n == name).map_or(0, |(_, p)| *p);
                (name, at)
            })
            .collect())
    }

    /// Creates the checkpoint (at 0) of a read model that has none yet.
    async fn ensure_checkpoints(&self) -> Result<(), StoreError> {
        use std::sync::atomic::Ordering;
        if self.checkpoints_exist.load(Ordering::Acquire) {
            return Ok(());
        }
        let names: Vec<&str> = names().into_iter().chain([CHAIN]).collect();
        let rows = (1..=names.len())
            .map(|i| format!("(${i}, 0)"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO projection_checkpoints (name, position) VALUES {rows}
             ON CONFLICT (name) DO NOTHING"
        );
        on_db!(&self.db, pool => {
            let mut query = sqlx::query(&sql);
            for name in &names {
                query = query.bind(*name);
            }
            query.execute(pool).await?;
        });
        self.checkpoints_exist.store(true, Ordering::Release);
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
        // Takes the projector lock (the rows' write lock) and reads the checkpoints under it.
        let lock = format!(
            "UPDATE projection_checkpoints SET position = position WHERE name IN ({placeholders})
             RETURNING name, position"
        );
        // Every checkpoint behind `last` moves to it, in one statement.
        let advance = format!(
            "UPDATE projection_checkpoints SET position = ${}
              WHERE position < ${} AND name IN ({placeholders})",
            names.len() + 1,
            names.len() + 1
        );
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let mut query = sqlx::query_as::<_, (String, i64)>(&lock);
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
                    bind(&for_backend(statement, backend)).execute(&mut *tx).await?;
                }
            }
            let chained = checkpoints.get(CHAIN).copied().unwrap_or(0);
            link_events!(tx, events, chained);
            let mut query = sqlx::query(&advance);
            for name in &names {
                query = query.bind(*name);
            }
            query.bind(last).execute(&mut *tx).await?;
            tx.commit().await?;
            tracing::debug!(from = lowest, to = last, "projected events");
            Ok((last, events.len()))
        })
    }
}

/// The suffix of a read model's shadow tables during a rebuild.
const SHADOW: &str = "__shadow";

/// Creates empty shadow tables of a read model (dropping any a crashed rebuild left),
/// with the live tables' columns, keys and indexes.
async fn create_shadows(db: &Db, model: &ReadModel) -> Result<(), StoreError> {
    match db {
        Db::Postgres(pool) => {
            for table in model.tables {
                sqlx::query(&format!("DROP TABLE IF EXISTS {table}{SHADOW}"))
                    .execute(pool)
                    .await?;
                sqlx::query(&format!(
                    "CREATE TABLE {table}{SHADOW} (LIKE {table} INCLUDING ALL)"
                ))
                .execute(pool)
                .await?;
            }
        }
        Db::Sqlite(pool) => {
            for table in model.tables {
                sqlx::query(&format!("DROP TABLE IF EXISTS {table}{SHADOW}"))
                    .execute(pool)
                    .await?;
                // The table's own DDL, and its indexes', renamed.
                let ddl: Vec<(String, String)> = sqlx::query_as(
                    "SELECT type, sql FROM sqlite_master
                      WHERE tbl_name = $1 AND sql IS NOT NULL
                      ORDER BY CASE type WHEN 'table' THEN 0 ELSE 1 END",
                )
                .bind(*table)
                .fetch_all(pool)
                .await?;
                for (kind, sql) in ddl {
                    let mut sql = replace_word(&sql, table, &format!("{table}{SHADOW}"));
                    if kind == "index" {
                        sql = shadow_index_name(&sql);
                    }
                    sqlx::query(&sql).execute(pool).await?;
                }
            }
        }
    }
    Ok(())
}

/// `CREATE [UNIQUE] INDEX [IF NOT EXISTS] name ON …` with the index renamed
/// `name__shadow`.
fn shadow_index_name(sql: &str) -> String {
    let upper = sql.to_ascii_uppercase();
    let Some(index) = upper.find("INDEX") else {
        return sql.to_string();
    };
    let mut at = index + "INDEX".len();
    let skip_space = |at: usize| {
        at + sql[at..]
            .find(|c: char| !c.is_whitespace())
            .unwrap_or(sql.len() - at)
    };
    at = skip_space(at);
    if upper[at..].starts_with("IF NOT EXISTS") {
        at = skip_space(at + "IF NOT EXISTS".len());
    }
    let end = at
        + sql[at..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(sql.len() - at);
    format!("{}{SHADOW}{}", &sql[..end], &sql[end..])
}

/// `text` with every whole-word `word` (an SQL identifier) replaced.
fn replace_word(text: &str, word: &str, replacement: &str) -> String {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(word) {
        let before = rest[..i].chars().next_back();
        let after = rest[i + word.len()..].chars().next();
        out.push_str(&rest[..i]);
        if before.is_some_and(is_ident) || after.is_some_and(is_ident) {
            out.push_str(word);
        } else {
            out.push_str(replacement);
        }
        rest = &rest[i + word.len()..];
    }
    out.push_str(rest);
    out
}

/// A read model's statement aimed at its shadow tables.
/// The statement as `backend` binds it fastest (SQLite: anonymous parameters when wide).
fn for_backend(statement: Statement, backend: Backend) -> Statement {
    match backend {
        Backend::Sqlite => statement.for_sqlite(),
        Backend::Postgres => statement,
    }
}

fn shadowed(statement: Statement, tables: &[&str]) -> Statement {
    let mut sql = statement.sql.into_owned();
    for table in tables {
        sql = replace_word(&sql, table, &format!("{table}{SHADOW}"));
    }
    Statement {
        sql: std::borrow::Cow::Owned(sql),
        params: statement.params,
    }
}

/// The names of every read model.
pub fn names() -> Vec<&'static str> {
    ALL.iter().map(|m| m.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_aimed_at_the_shadow_tables_only() {
        assert_eq!(
            replace_word(
                "INSERT INTO kpis (kpi_id) SELECT kpi_id FROM kpis_old, kpis WHERE kpis.x = 1",
                "kpis",
                "kpis__shadow"
            ),
            "INSERT INTO kpis__shadow (kpi_id) SELECT kpi_id FROM kpis_old, kpis__shadow WHERE kpis__shadow.x = 1"
        );
        assert_eq!(
            shadow_index_name("CREATE INDEX kpis_by_engagement ON kpis__shadow (engagement_id)"),
            "CREATE INDEX kpis_by_engagement__shadow ON kpis__shadow (engagement_id)"
        );
        assert_eq!(
            shadow_index_name("CREATE UNIQUE INDEX IF NOT EXISTS a ON b (c)"),
            "CREATE UNIQUE INDEX IF NOT EXISTS a__shadow ON b (c)"
        );
    }
}
