//! The import pipeline (SPEC §5): one exported file becomes observations, all or nothing.
//!
//! 1. Hash the file; the same bytes for the same engagement, format, platform and range
//!    answer with the first import's id.
//! 2. Read it with `kpi-ledger-import` on a blocking thread and stream the rows into
//!    staging tables in batches; every bad row is counted (the first 100 are kept).
//! 3. Check the staged rows in the database, in bounded memory: duplicate row keys (both
//!    lines named), two observations of one series with the same or overlapping bounds,
//!    and overlaps with observations already recorded with other bounds.
//! 4. In one transaction: `ImportStarted`, then per series `ObservationsImported` events
//!    of at most 1,000 observations (each noting the value it restates), then
//!    `ImportCompleted` with the watermarks, and the dedup entry. Staging is emptied.
//!
//! Memory is bounded by the batch sizes, not by the file: rows go to the database as they
//! are read, and every check and the commit read the staging tables in order, in chunks.

mod checks;
mod commit;
pub mod jobs;
mod stage;

use crate::on_db;
use crate::projector::Projector;
use crate::store::{Db, StoreError};
use chrono::Utc;
use kpi_ledger_domain::ids::EngagementId;
use kpi_ledger_domain::import::{dedup_key, CurrencyConversion, Watermark};
use kpi_ledger_domain::metadata::CommandMetadata;
use kpi_ledger_domain::period::DateRange;
use kpi_ledger_import::{EncodingChoice, Format};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use uuid::Uuid;

/// How many problems an error lists; the total is always given.
pub const MAX_LISTED: usize = 100;

/// What to import.
#[derive(Debug, Clone)]
pub struct ImportSpec {
    pub engagement_id: EngagementId,
    pub format: Format,
    pub platform: Option<String>,
    pub range: Option<DateRange>,
    pub encoding: EncodingChoice,
    pub file_name: Option<String>,
    /// The exchange rate for money in another currency than the engagement's, if the
    /// import states one; recorded with the import.
    pub conversion: Option<CurrencyConversion>,
}

/// What the import needs to know of the engagement: rows for other platforms, unknown
/// metrics or money in another currency are refused.
#[derive(Debug, Clone)]
pub struct EngagementFacts {
    pub currency: String,
    pub platforms: Vec<String>,
    pub catalogue: Vec<kpi_ledger_domain::metrics::MetricDefinition>,
}

/// One thing wrong with a file, where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// 1-based line of the file (0 for the file as a whole or totals it forms).
    pub line: u64,
    pub column: Option<String>,
    pub value: Option<String>,
    pub reason: String,
}

/// The problems of one file as they are found: every one counted, the first
/// [`MAX_LISTED`] kept, and the lines they are on (one bit per line, so a file of a million
/// bad lines costs 125 KiB).
#[derive(Debug, Default)]
pub struct Problems {
    listed: Vec<Problem>,
    total: u64,
    lines: Vec<u64>,
    rows: u64,
}

impl Problems {
    pub fn note(&mut self, problem: Problem) {
        self.total += 1;
        if problem.line > 0 {
            let (word, bit) = ((problem.line / 64) as usize, problem.line % 64);
            if self.lines.len() <= word {
                self.lines.resize(word + 1, 0);
            }
            if self.lines[word] & (1 << bit) == 0 {
                self.lines[word] |= 1 << bit;
                self.rows += 1;
            }
        }
        if self.listed.len() < MAX_LISTED {
            self.listed.push(problem);
        }
    }

    /// How many problems there are.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// How many lines have at least one problem.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The refusal these problems make, listed in line order.
    fn refusal(mut self, message: String) -> Refusal {
        self.listed.sort_by_key(|p| p.line);
        Refusal {
            message,
            problems: self.listed,
            total: self.total,
        }
    }
}

/// Why a file was refused. Nothing of it was recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub message: String,
    /// The first problems found (at most [`MAX_LISTED`]), in line order.
    pub problems: Vec<Problem>,
    /// How many problems there are in all.
    pub total: u64,
}

/// What an import recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub import_id: Uuid,
    /// The same bytes were imported before: nothing was recorded and `import_id` is the
    /// first import's.
    pub already_imported: bool,
    pub rows_read: u64,
    pub observations_recorded: u64,
    pub observations_restated: u64,
    pub series: u64,
    pub watermarks: Vec<Watermark>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{}", .0.message)]
    Refused(Refusal),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot read the uploaded file: {0}")]
    Io(#[from] std::io::Error),
}

impl From<sqlx::Error> for ImportError {
    fn from(value: sqlx::Error) -> Self {
        ImportError::Store(value.into())
    }
}

impl ImportError {
    fn refused(message: impl Into<String>, problems: Vec<Problem>, total: u64) -> Self {
        ImportError::Refused(Refusal {
            message: message.into(),
            problems,
            total,
        })
    }
}

/// Where an import is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Queued,
    Reading,
    Checking,
    Recording,
    Succeeded,
    Failed,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Queued => "queued",
            Phase::Reading => "reading",
            Phase::Checking => "checking",
            Phase::Recording => "recording",
            Phase::Succeeded => "succeeded",
            Phase::Failed => "failed",
        }
    }
}

/// Progress of one import, reported as it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub phase: Phase,
    pub bytes_total: u64,
    pub bytes_read: u64,
    pub rows_read: u64,
    pub rows_invalid: u64,
}

/// Runs imports against the database.
#[derive(Clone)]
pub struct Importer {
    db: Db,
    projector: Arc<Projector>,
}

/// SHA-256 (hex) and size of a file, read in chunks.
fn hash_file(path: &Path) -> std::io::Result<(String, u64)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buffer[..n]);
    }
    Ok((format!("{:x}", hasher.finalize()), size))
}

impl Summary {
    /// The answer to a file imported before: the first import's id, and nothing recorded
    /// now.
    fn repeated(import_id: Uuid) -> Self {
        Summary {
            import_id,
            already_imported: true,
            rows_read: 0,
            observations_recorded: 0,
            observations_restated: 0,
            series: 0,
            watermarks: Vec::new(),
        }
    }
}

impl Importer {
    pub fn new(db: Db, projector: Arc<Projector>) -> Self {
        Self { db, projector }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The engagement's currency, platforms and metric catalogue.
    async fn facts(&self, engagement_id: EngagementId) -> Result<EngagementFacts, ImportError> {
        let engagement = engagement_id.to_string();
        let (row, custom): ((String, String), Vec<String>) = on_db!(&self.db, pool => {
            let row: (String, String) = sqlx::query_as(
                "SELECT currency, platforms FROM engagements WHERE engagement_id = $1",
            )
            .bind(&engagement)
            .fetch_one(pool)
            .await?;
            let custom = sqlx::query_scalar(
                "SELECT definition FROM engagement_metrics WHERE engagement_id = $1",
            )
            .bind(&engagement)
            .fetch_all(pool)
            .await?;
            (row, custom)
        });
        let mut catalogue = kpi_ledger_domain::metrics::builtin_catalogue();
        for definition in custom {
            catalogue.push(
                serde_json::from_str(&definition)
                    .map_err(|e| StoreError::Corrupt(format!("custom metric: {e}")))?,
            );
        }
        Ok(EngagementFacts {
            currency: row.0,
            platforms: serde_json::from_str(&row.1)
                .map_err(|e| StoreError::Corrupt(format!("platforms: {e}")))?,
            catalogue,
        })
    }

    /// The import an identical earlier file produced, if any.
    async fn already_imported(&self, key: &str) -> Result<Option<Uuid>, ImportError> {
        let found: Option<String> = on_db!(&self.db, pool => {
            sqlx::query_scalar("SELECT import_id FROM import_dedup WHERE dedup_key = $1")
                .bind(key)
                .fetch_optional(pool)
                .await?
        });
        Ok(found.and_then(|id| id.parse().ok()))
    }

    /// Imports the file at `path`. `job_id` names the staging rows and becomes the
    /// import's id. Nothing is recorded unless everything is valid.
    pub async fn import_file(
        &self,
        job_id: Uuid,
        spec: &ImportSpec,
        path: &Path,
        metadata: &CommandMetadata,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<Summary, ImportError> {
        let owned = path.to_path_buf();
        let (sha256, bytes) = tokio::task::spawn_blocking(move || hash_file(&owned))
            .await
            .map_err(|e| StoreError::Corrupt(format!("hashing task failed: {e}")))??;
        let mut report = Progress {
            phase: Phase::Reading,
            bytes_total: bytes,
            bytes_read: 0,
            rows_read: 0,
            rows_invalid: 0,
        };
        progress(report);
        let key = dedup_key(
            spec.engagement_id,
            spec.format.as_str(),
            spec.platform.as_deref(),
            spec.range,
            spec.conversion.as_ref(),
            &sha256,
        );
        if let Some(first) = self.already_imported(&key).await? {
            return Ok(Summary::repeated(first));
        }

        let started = std::time::Instant::now();
        let facts = self.facts(spec.engagement_id).await?;
        // Every outcome below ends with the staging rows cleared.
        let result = async {
            let mut problems = Problems::default();
            let staged =
                stage::stage(self, job_id, spec, &facts, path, &mut report, &mut problems, progress)
                    .await?;
            tracing::info!(%job_id, rows = report.rows_read, elapsed = ?started.elapsed(), "import read and staged");
            report.phase = Phase::Checking;
            progress(report);
            // The checks read the projected observations: bring them up to date first, and
            // remember how far, so the commit can see what arrived after.
            let checked_through = self.projector.catch_up().await?;
            let invalid = problems.total();
            checks::check(self, job_id, &mut problems).await?;
            tracing::info!(%job_id, elapsed = ?started.elapsed(), "import checked");
            if problems.total() > 0 {
                report.rows_invalid = problems.rows();
                progress(report);
                let message = format!(
                    "{} problem(s) on {} line(s): {} invalid, {} repeated or overlapping; nothing was recorded",
                    problems.total(),
                    problems.rows(),
                    invalid,
                    problems.total() - invalid,
                );
                return Err(ImportError::Refused(problems.refusal(message)));
            }
            if staged.observations == 0 {
                return Err(ImportError::refused(
                    "the file holds no data rows; nothing was recorded",
                    Vec::new(),
                    0,
                ));
            }
            report.phase = Phase::Recording;
            progress(report);
            commit::commit(
                self,
                job_id,
                spec,
                &commit::FileFacts {
                    sha256,
                    bytes,
                    dedup_key: key.clone(),
                    rows_read: staged.rows_read,
                    staged: staged.observations,
                    checked_through,
                },
                metadata,
            )
            .await
        }
        .await;
        match &result {
            Ok(_) => tracing::info!(%job_id, elapsed = ?started.elapsed(), "import recorded"),
            // The refusal goes to whoever asked; the log only notes it.
            Err(ImportError::Refused(refusal)) => {
                tracing::info!(%job_id, elapsed = ?started.elapsed(), problems = refusal.total, "import refused")
            }
            Err(error) => {
                tracing::warn!(%job_id, elapsed = ?started.elapsed(), %error, "import failed")
            }
        }
        // Staging rows are scratch: failing to clear them must not turn a recorded import
        // into a reported failure.
        if let Err(error) = stage::clear(self, job_id).await {
            tracing::warn!(%error, %job_id, "cannot clear an import's staging rows");
        }
        if let Err(error) = self.db.reclaim_space().await {
            tracing::warn!(%error, "cannot give an import's space back to the disk");
        }
        match result {
            Ok(summary) => {
                if let Err(error) = self.projector.catch_up().await {
                    tracing::error!(%error, "read models lag behind the event log");
                }
                tracing::info!(%job_id, elapsed = ?started.elapsed(), "import projected");
                Ok(summary)
            }
            // Another identical import committed first.
            Err(ImportError::Store(StoreError::Database(e))) if is_unique_violation(&e) => {
                match self.already_imported(&key).await? {
                    Some(first) => Ok(Summary::repeated(first)),
                    None => Err(ImportError::Store(StoreError::Database(e))),
                }
            }
            Err(error) => Err(error),
        }
    }
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => matches!(
            db.code().as_deref(),
            Some("23505") | Some("2067") | Some("1555")
        ),
        _ => false,
    }
}

/// Where uploaded files wait for their import job.
pub fn spool_dir() -> PathBuf {
    std::env::temp_dir().join("kpi-ledger-imports")
}

/// Now, as stored in operational tables.
pub fn now_text() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
