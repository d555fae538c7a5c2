use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{
    SqliteAutoVacuum, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{PgPool, SqlitePool};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

/// How long an SQLite statement waits for the write lock: long enough for a large import
/// to record its events while others wait.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Bytes the SQLite write-ahead log keeps after a checkpoint.
const WAL_SIZE_LIMIT: u64 = 64 * 1024 * 1024;

/// Tables that hold names, emails, keys or credentials of people: rewritten after an
/// erasure so no deleted row lingers in their files.
const PERSONAL_TABLES: &[&str] = &[
    "user_accounts",
    "member_keys",
    "member_personal_data",
    "sealed_texts",
    "user_passwords",
    "sign_in_links",
    "web_sessions",
    "user_preferences",
];

/// SQLite gives its free pages back to the disk and truncates its write-ahead log,
/// waiting at most `busy_wait` for readers of the log. Returns whether the log was
/// truncated (false when a reader held on).
async fn give_back_sqlite_space(
    pool: &SqlitePool,
    busy_wait: Duration,
) -> Result<bool, StoreError> {
    let mut connection = pool.acquire().await?;
    sqlx::query("PRAGMA incremental_vacuum")
        .execute(&mut *connection)
        .await?;
    sqlx::query(&format!("PRAGMA busy_timeout = {}", busy_wait.as_millis()))
        .execute(&mut *connection)
        .await?;
    // (busy, log frames, checkpointed frames): busy = 1 when a reader held on.
    let checkpoint: Result<(i64, i64, i64), sqlx::Error> =
        sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_one(&mut *connection)
            .await;
    sqlx::query(&format!(
        "PRAGMA busy_timeout = {}",
        SQLITE_BUSY_TIMEOUT.as_millis()
    ))
    .execute(&mut *connection)
    .await?;
    Ok(matches!(checkpoint, Ok((0, _, _))))
}

/// Which database an installation runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A connection pool to the installation's database.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the concrete pool. The body is compiled once per
/// backend, so the same SQL and the same decoding serve both.
#[macro_export]
macro_rules! on_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::store::Db::Sqlite($pool) => $body,
            $crate::store::Db::Postgres($pool) => $body,
        }
    };
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL `{0}`: use sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    #[error("cannot create the database folder {path}: {source}")]
    CreateFolder {
        path: String,
        source: std::io::Error,
    },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
}

impl Db {
    /// Connects to the database the URL names, creating an SQLite file and its folder on
    /// first use.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                // Free pages (an import's staging rows) can be given back to the disk.
                .auto_vacuum(SqliteAutoVacuum::Incremental)
                .journal_mode(SqliteJournalMode::Wal)
                // The write-ahead log shrinks back to this size after a large import.
                .pragma("journal_size_limit", WAL_SIZE_LIMIT.to_string())
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
                .foreign_keys(true)
                .pragma("secure_delete", "ON");
            let path = options.get_filename();
            if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                create_folder(folder)?;
            }
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .connect_with(options)
                .await?;
            Ok(Db::Sqlite(pool))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let options = PgConnectOptions::from_str(url)?;
            // One connection first, so that an unreachable server fails at once with its
            // reason ("connection refused") rather than as a pool timeout.
            let probe =
                <sqlx::postgres::PgConnection as sqlx::Connection>::connect_with(&options).await?;
            sqlx::Connection::close(probe).await?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?;
            Ok(Db::Postgres(pool))
        } else {
            Err(StoreError::UnsupportedUrl(redact(url)))
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies every migration not yet applied and names those it applied
    /// (`0006 lock versions`). Safe to run on every start and from several servers at once
    /// (sqlx takes a lock on PostgreSQL).
    pub async fn migrate(&self) -> Result<Vec<String>, StoreError> {
        let migrator = match self {
            Db::Sqlite(_) => sqlx::migrate!("./migrations/sqlite"),
            Db::Postgres(_) => sqlx::migrate!("./migrations/postgres"),
        };
        let before = self.applied_migrations().await?;
        // Nothing pending: nothing to run, so a role that may not create tables (the
        // least-privilege application role of docs/OPERATIONS.md) starts too.
        let pending = migrator.iter().any(|m| !before.contains(&m.version));
        if pending {
            on_db!(self, pool => migrator.run(pool).await?);
        } else {
            // What the migrator would have checked: each applied migration is still the
            // one shipped (migrations are never edited once shipped).
            let applied: Vec<(i64, Vec<u8>)> = on_db!(self, pool => {
                sqlx::query_as("SELECT version, checksum FROM _sqlx_migrations WHERE success")
                    .fetch_all(pool)
                    .await?
            });
            for (version, checksum) in applied {
                if let Some(shipped) = migrator.iter().find(|m| m.version == version) {
                    if shipped.checksum.as_ref() != checksum.as_slice() {
                        return Err(StoreError::Migration(
                            sqlx::migrate::MigrateError::VersionMismatch(version),
                        ));
                    }
                }
            }
        }
        self.enable_incremental_vacuum().await?;
        let after = self.applied_migrations().await?;
        Ok(migrator
            .iter()
            .filter(|m| after.contains(&m.version) && !before.contains(&m.version))
            .map(|m| format!("{:04} {}", m.version, m.description))
            .collect())
    }

    /// SQLite files created before free pages could be given back are converted once
    /// (a full VACUUM); new files have it from their first page.
    async fn enable_incremental_vacuum(&self) -> Result<(), StoreError> {
        let Db::Sqlite(pool) = self else {
            return Ok(());
        };
        let mut connection = pool.acquire().await?;
        let mode: i64 = sqlx::query_scalar("PRAGMA auto_vacuum")
            .fetch_one(&mut *connection)
            .await?;
        if mode == 0 {
            tracing::info!("converting the database file so that space freed by imports returns to the disk (one VACUUM)");
            sqlx::query("PRAGMA auto_vacuum = INCREMENTAL")
                .execute(&mut *connection)
                .await?;
            sqlx::query("VACUUM").execute(&mut *connection).await?;
        }
        Ok(())
    }

    /// Gives space freed by deleted rows (an import's staging rows) back to the disk:
    /// SQLite returns free pages and checkpoints the write-ahead log, truncating it when no
    /// reader holds it; PostgreSQL's autovacuum needs no help.
    pub async fn reclaim_space(&self) -> Result<(), StoreError> {
        let Db::Sqlite(pool) = self else {
            return Ok(());
        };
        // Wait only briefly for readers: a busy log is truncated after a later import.
        if !give_back_sqlite_space(pool, Duration::from_millis(200)).await? {
            tracing::debug!("the write-ahead log is busy; it shrinks later");
        }
        Ok(())
    }

    /// Removes what erased personal data left in the database files (SPEC §11): SQLite
    /// (which zeroes deleted content, `secure_delete`) gives free pages back and truncates
    /// its write-ahead log; PostgreSQL rewrites the tables that held names, emails and keys
    /// (`VACUUM FULL`, brief exclusive locks on small tables), which only their owner may
    /// do. Returns false when that could not be done now: `kpi-ledger compact`, run as the
    /// owner, does it.
    pub async fn compact_personal_data(&self) -> Result<bool, StoreError> {
        match self {
            Db::Sqlite(pool) => give_back_sqlite_space(pool, SQLITE_BUSY_TIMEOUT).await,
            Db::Postgres(pool) => {
                let allowed: bool = sqlx::query_scalar(
                    "SELECT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
                         OR bool_and(pg_has_role(current_user, c.relowner, 'USAGE'))
                       FROM pg_class c
                      WHERE c.relname = ANY($1) AND c.relkind = 'r'
                        AND c.relnamespace = to_regnamespace(current_schema())",
                )
                .bind(PERSONAL_TABLES.to_vec())
                .fetch_one(pool)
                .await?;
                if !allowed {
                    return Ok(false);
                }
                sqlx::query(&format!("VACUUM FULL {}", PERSONAL_TABLES.join(", ")))
                    .execute(pool)
                    .await?;
                Ok(true)
            }
        }
    }

    /// Versions of the migrations applied so far (none before the first start).
    async fn applied_migrations(&self) -> Result<Vec<i64>, StoreError> {
        let exists: bool = match self {
            Db::Sqlite(pool) => sqlx::query_scalar(
                "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
            )
            .fetch_one(pool)
            .await?,
            Db::Postgres(pool) => {
                sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
                    .fetch_one(pool)
                    .await?
            }
        };
        if !exists {
            return Ok(Vec::new());
        }
        Ok(on_db!(self, pool => {
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                .fetch_all(pool)
                .await?
        }))
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_db!(self, pool => {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }

    pub async fn close(&self) {
        on_db!(self, pool => pool.close().await)
    }
}

fn create_folder(folder: &Path) -> Result<(), StoreError> {
    std::fs::create_dir_all(folder).map_err(|source| StoreError::CreateFolder {
        path: folder.display().to_string(),
        source,
    })
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    let url = match url.split_once('?') {
        Some((base, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                    _ => pair.to_string(),
                })
                .collect();
            format!("{}?{}", redact_userinfo(base), query.join("&"))
        }
        None => redact_userinfo(url),
    };
    url
}

fn redact_userinfo(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &credentials[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(
            redact("postgres://kpi:secret@db:5432/kpi"),
            "postgres://kpi:***@db:5432/kpi"
        );
        assert_eq!(redact("sqlite://data/x.db"), "sqlite://data/x.db");
        assert_eq!(
            redact("postgres://db/kpi?user=kpi&password=secret"),
            "postgres://db/kpi?user=kpi&password=***"
        );
    }
}
