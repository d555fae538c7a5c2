//! Import jobs: an import runs in the background; its status and progress are kept in
//! `import_jobs` so that any server of the installation can answer for it.

use super::{now_text, ImportError, ImportSpec, Importer, Phase, Progress, Refusal, Summary};
use crate::on_db;
use crate::store::StoreError;
use chrono::{DateTime, Duration, Utc};
use kpi_ledger_domain::ids::{EngagementId, UserId};
use kpi_ledger_domain::metadata::CommandMetadata;
use kpi_ledger_domain::period::DateRange;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use uuid::Uuid;

/// A job whose progress has not moved for this long was interrupted (its server stopped).
/// Generous, so that clocks of several servers a little apart never call a running job
/// interrupted.
const STALE_AFTER_SECONDS: i64 = 600;
/// How often a running job writes its progress.
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub job_id: Uuid,
    pub engagement_id: EngagementId,
    pub requested_by: String,
    pub format: String,
    pub platform: Option<String>,
    pub range: Option<DateRange>,
    pub file_name: Option<String>,
    pub status: Phase,
    pub bytes_total: u64,
    pub bytes_read: u64,
    pub rows_read: u64,
    pub rows_invalid: u64,
    pub message: Option<String>,
    pub refusal: Option<Refusal>,
    pub summary: Option<Summary>,
    pub conversion: Option<kpi_ledger_domain::import::CurrencyConversion>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct JobRow {
    job_id: String,
    engagement_id: String,
    requested_by: String,
    format: String,
    platform: Option<String>,
    range_start: Option<String>,
    range_end: Option<String>,
    file_name: Option<String>,
    status: String,
    bytes_total: i64,
    bytes_read: i64,
    rows_read: i64,
    rows_invalid: i64,
    message: Option<String>,
    errors: Option<String>,
    result: Option<String>,
    conversion: Option<String>,
    created_at: String,
    updated_at: String,
}

fn unsigned(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

impl TryFrom<JobRow> for Job {
    type Error = StoreError;
    fn try_from(row: JobRow) -> Result<Self, StoreError> {
        let status = match row.status.as_str() {
            "queued" => Phase::Queued,
            "reading" => Phase::Reading,
            "checking" => Phase::Checking,
            "recording" => Phase::Recording,
            "succeeded" => Phase::Succeeded,
            _ => Phase::Failed,
        };
        let updated_at: DateTime<Utc> = row.updated_at.parse().map_err(corrupt)?;
        let range = match (row.range_start, row.range_end) {
            (Some(s), Some(e)) => Some(
                DateRange::new(s.parse().map_err(corrupt)?, e.parse().map_err(corrupt)?)
                    .map_err(corrupt)?,
            ),
            _ => None,
        };
        let mut job = Job {
            job_id: row.job_id.parse().map_err(corrupt)?,
            engagement_id: row.engagement_id.parse().map_err(corrupt)?,
            requested_by: row.requested_by,
            format: row.format,
            platform: row.platform,
            range,
            file_name: row.file_name,
            status,
            bytes_total: unsigned(row.bytes_total),
            bytes_read: unsigned(row.bytes_read),
            rows_read: unsigned(row.rows_read),
            rows_invalid: unsigned(row.rows_invalid),
            message: row.message,
            refusal: row
                .errors
                .map(|e| serde_json::from_str(&e))
                .transpose()
                .map_err(corrupt)?,
            summary: row
                .result
                .map(|r| serde_json::from_str(&r))
                .transpose()
                .map_err(corrupt)?,
            conversion: row
                .conversion
                .map(|c| serde_json::from_str(&c))
                .transpose()
                .map_err(corrupt)?,
            created_at: row.created_at.parse().map_err(corrupt)?,
            updated_at,
        };
        let running = !matches!(job.status, Phase::Succeeded | Phase::Failed);
        if running && Utc::now() - updated_at > Duration::seconds(STALE_AFTER_SECONDS) {
            job.status = Phase::Failed;
            job.message = Some(
                "the import was interrupted (its server stopped); nothing was recorded — import the file again"
                    .into(),
            );
        }
        Ok(job)
    }
}

const SELECT_JOB: &str = "
SELECT job_id, engagement_id, requested_by, format, platform, range_start, range_end,
       file_name, status, bytes_total, bytes_read, rows_read, rows_invalid, message, errors,
       result, conversion, created_at, updated_at
  FROM import_jobs";

/// Starts and reports import jobs.
#[derive(Clone)]
pub struct Jobs {
    importer: Importer,
    meter: crate::metrics::ImportMeter,
}

impl Jobs {
    pub fn new(importer: Importer) -> Self {
        Self {
            importer,
            meter: Default::default(),
        }
    }

    pub fn importer(&self) -> &Importer {
        &self.importer
    }

    /// Rows and time of the imports that ended, for `/metrics`.
    pub fn meter(&self) -> &crate::metrics::ImportMeter {
        &self.meter
    }

    /// Records a queued job for a file already in the spool folder and starts it in the
    /// background. The file is deleted when the job ends.
    pub async fn submit(
        &self,
        spec: ImportSpec,
        requested_by: UserId,
        file: PathBuf,
        metadata: CommandMetadata,
    ) -> Result<Job, StoreError> {
        let job_id = self.create(&spec, requested_by, &file).await?;
        let runner = self.clone();
        tokio::spawn(async move {
            let _ = runner.run(job_id, &spec, &file, &metadata, &|_| {}).await;
            if let Err(error) = std::fs::remove_file(&file) {
                tracing::warn!(%error, path = %file.display(), "cannot remove an uploaded file");
            }
        });
        self.job(job_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("the job just recorded is missing".into()))
    }

    /// Records a job for `file` and runs it here, to the end, telling `observer` of its
    /// progress: how the command line imports, so that its imports are jobs like any other
    /// (listed with the engagement's imports, cleaned up if interrupted). The file is left
    /// where it is.
    pub async fn run_here(
        &self,
        spec: ImportSpec,
        requested_by: UserId,
        file: &std::path::Path,
        metadata: CommandMetadata,
        observer: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<(Uuid, Result<Summary, ImportError>), StoreError> {
        let job_id = self.create(&spec, requested_by, file).await?;
        let outcome = self.run(job_id, &spec, file, &metadata, observer).await;
        Ok((job_id, outcome))
    }

    /// Records a queued job.
    async fn create(
        &self,
        spec: &ImportSpec,
        requested_by: UserId,
        file: &std::path::Path,
    ) -> Result<Uuid, StoreError> {
        let job_id = Uuid::new_v4();
        let bytes = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
        let now = now_text();
        on_db!(self.importer.db(), pool => {
            sqlx::query(
                "INSERT INTO import_jobs (job_id, engagement_id, requested_by, format, platform,
                     range_start, range_end, file_name, status, bytes_total, bytes_read,
                     rows_read, rows_invalid, created_at, updated_at, conversion)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'queued', $9, 0, 0, 0, $10, $10, $11)",
            )
            .bind(job_id.to_string())
            .bind(spec.engagement_id.to_string())
            .bind(requested_by.to_string())
            .bind(spec.format.as_str())
            .bind(spec.platform.clone())
            .bind(spec.range.map(|r| r.start.to_string()))
            .bind(spec.range.map(|r| r.end.to_string()))
            .bind(spec.file_name.clone())
            .bind(signed(bytes))
            .bind(&now)
            .bind(
                spec.conversion
                    .as_ref()
                    .map(serde_json::to_string)
                    .transpose()
                    .map_err(corrupt)?,
            )
            .execute(pool)
            .await?;
        });
        Ok(job_id)
    }

    /// Runs a recorded job to its end and records the outcome.
    async fn run(
        &self,
        job_id: Uuid,
        spec: &ImportSpec,
        file: &std::path::Path,
        metadata: &CommandMetadata,
        observer: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<Summary, ImportError> {
        let latest: Arc<Mutex<Option<Progress>>> = Arc::new(Mutex::new(None));
        let writer = {
            let latest = latest.clone();
            let jobs = self.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(PROGRESS_EVERY);
                loop {
                    tick.tick().await;
                    let progress = latest.lock().map(|p| *p).unwrap_or(None);
                    if let Some(progress) = progress {
                        if let Err(error) = jobs.write_progress(job_id, progress).await {
                            tracing::warn!(%error, "cannot record import progress");
                        }
                    }
                }
            })
        };
        let sink = latest.clone();
        let report = move |progress: Progress| {
            if let Ok(mut slot) = sink.lock() {
                *slot = Some(progress);
            }
            observer(progress);
        };
        let started = std::time::Instant::now();
        let outcome = self
            .importer
            .import_file(job_id, spec, file, metadata, &report)
            .await;
        writer.abort();
        let last = latest.lock().map(|p| *p).unwrap_or(None);
        {
            use crate::metrics::ImportOutcome;
            let (counted, rows) = match &outcome {
                Ok(summary) if summary.already_imported => (ImportOutcome::Repeated, 0),
                Ok(summary) => (ImportOutcome::Recorded, summary.rows_read),
                Err(ImportError::Refused(_)) => {
                    (ImportOutcome::Refused, last.map_or(0, |p| p.rows_read))
                }
                Err(_) => (ImportOutcome::Failed, last.map_or(0, |p| p.rows_read)),
            };
            self.meter
                .record(counted, rows, started.elapsed().as_secs_f64());
        }
        if let Err(error) = self.finish(job_id, last, &outcome).await {
            tracing::error!(%error, %job_id, "cannot record the end of an import");
        }
        outcome
    }

    async fn write_progress(&self, job_id: Uuid, p: Progress) -> Result<(), StoreError> {
        on_db!(self.importer.db(), pool => {
            sqlx::query(
                "UPDATE import_jobs SET status = $1, bytes_total = $2, bytes_read = $3,
                     rows_read = $4, rows_invalid = $5, updated_at = $6
                 WHERE job_id = $7 AND status NOT IN ('succeeded', 'failed')",
            )
            .bind(p.phase.as_str())
            .bind(signed(p.bytes_total))
            .bind(signed(p.bytes_read))
            .bind(signed(p.rows_read))
            .bind(signed(p.rows_invalid))
            .bind(now_text())
            .bind(job_id.to_string())
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    async fn finish(
        &self,
        job_id: Uuid,
        last: Option<Progress>,
        outcome: &Result<Summary, ImportError>,
    ) -> Result<(), StoreError> {
        let (status, message, errors, result, import_id) = match outcome {
            Ok(summary) => (
                Phase::Succeeded,
                Some(if summary.already_imported {
                    "these bytes were imported before for this engagement, format, platform and range; nothing changed".to_string()
                } else {
                    format!(
                        "recorded {} observation(s) in {} series ({} restated)",
                        summary.observations_recorded,
                        summary.series,
                        summary.observations_restated
                    )
                }),
                None,
                Some(serde_json::to_string(summary).map_err(corrupt)?),
                Some(summary.import_id.to_string()),
            ),
            Err(ImportError::Refused(refusal)) => (
                Phase::Failed,
                Some(refusal.message.clone()),
                Some(serde_json::to_string(refusal).map_err(corrupt)?),
                None,
                None,
            ),
            Err(other) => {
                tracing::error!(error = %other, %job_id, "import failed");
                (
                    Phase::Failed,
                    Some("the import failed on the server; nothing was recorded (the server log has details)".to_string()),
                    None,
                    None,
                    None,
                )
            }
        };
        let last = last.unwrap_or(Progress {
            phase: status,
            bytes_total: 0,
            bytes_read: 0,
            rows_read: 0,
            rows_invalid: 0,
        });
        on_db!(self.importer.db(), pool => {
            sqlx::query(
                "UPDATE import_jobs SET status = $1, message = $2, errors = $3, result = $4,
                     import_id = $5, bytes_read = bytes_total, rows_read = $6, rows_invalid = $7,
                     updated_at = $8
                 WHERE job_id = $9",
            )
            .bind(status.as_str())
            .bind(message)
            .bind(errors)
            .bind(result)
            .bind(import_id)
            .bind(signed(last.rows_read))
            .bind(signed(last.rows_invalid))
            .bind(now_text())
            .bind(job_id.to_string())
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Marks jobs whose server or command stopped mid-import as failed and removes their
    /// staging rows, and removes staging rows no running job owns. Only jobs silent for
    /// longer than a running job ever is are touched, so this is safe while other servers
    /// and commands import.
    pub async fn clean_up_interrupted(&self) -> Result<u64, StoreError> {
        let cutoff = (Utc::now() - Duration::seconds(STALE_AFTER_SECONDS))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let stale: Vec<String> = on_db!(self.importer.db(), pool => {
            sqlx::query_scalar(
                "SELECT job_id FROM import_jobs
                  WHERE status NOT IN ('succeeded', 'failed') AND updated_at < $1",
            )
            .bind(&cutoff)
            .fetch_all(pool)
            .await?
        });
        for job in &stale {
            on_db!(self.importer.db(), pool => {
                let mut tx = pool.begin().await?;
                for table in ["import_staging", "import_staging_keys"] {
                    sqlx::query(&format!("DELETE FROM {table} WHERE job_id = $1"))
                        .bind(job)
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query(
                    "UPDATE import_jobs SET status = 'failed', message = $1, updated_at = $2
                      WHERE job_id = $3",
                )
                .bind("the import was interrupted (its server stopped); nothing was recorded — import the file again")
                .bind(now_text())
                .bind(job)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
            });
        }
        // Rows of jobs that ended, or that no job row ever described.
        on_db!(self.importer.db(), pool => {
            for table in ["import_staging", "import_staging_keys"] {
                sqlx::query(&format!(
                    "DELETE FROM {table} WHERE job_id NOT IN
                        (SELECT job_id FROM import_jobs WHERE status NOT IN ('succeeded', 'failed'))"
                ))
                .execute(pool)
                .await?;
            }
        });
        Ok(stale.len() as u64)
    }

    pub async fn job(&self, job_id: Uuid) -> Result<Option<Job>, StoreError> {
        let sql = format!("{SELECT_JOB} WHERE job_id = $1");
        let row: Option<JobRow> = on_db!(self.importer.db(), pool => {
            sqlx::query_as(&sql).bind(job_id.to_string()).fetch_optional(pool).await?
        });
        row.map(Job::try_from).transpose()
    }

    /// The engagement's import jobs, newest first.
    pub async fn jobs(&self, engagement_id: EngagementId) -> Result<Vec<Job>, StoreError> {
        let sql = format!("{SELECT_JOB} WHERE engagement_id = $1 ORDER BY created_at DESC, job_id");
        let rows: Vec<JobRow> = on_db!(self.importer.db(), pool => {
            sqlx::query_as(&sql).bind(engagement_id.to_string()).fetch_all(pool).await?
        });
        rows.into_iter().map(Job::try_from).collect()
    }
}
