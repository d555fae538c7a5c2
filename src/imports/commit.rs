//! Recording a checked import: every event in one transaction, appended in the global
//! order like any other event.

use super::{ImportError, ImportSpec, Importer, Summary};
use crate::store::{Db, StoreError};
use cqrs_es::DomainEvent;
use kpi_ledger_domain::import::{ImportEvent, Watermark, IMPORT_AGGREGATE};
use kpi_ledger_domain::metadata::CommandMetadata;
use kpi_ledger_domain::period::DateRange;
use kpi_ledger_domain::series::{ImportedObservation, SeriesEvent, SeriesKey, IMPORT_BATCH};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use uuid::Uuid;

/// Staged rows read per query while recording.
const CHUNK: i64 = 2_000;

pub struct FileFacts {
    pub sha256: String,
    pub bytes: u64,
    pub dedup_key: String,
    pub rows_read: u64,
    /// Observations staged: all of them must be recorded, or none.
    pub staged: u64,
    /// The log position the overlap checks saw.
    pub checked_through: i64,
}

#[derive(sqlx::FromRow)]
struct StagedRow {
    series_id: String,
    metric: String,
    platform: String,
    scope: String,
    start_date: String,
    end_date: String,
    value: String,
    restates: Option<String>,
}

const NEXT_STAGED: &str = "
SELECT s.series_id, s.metric, s.platform, s.scope, s.start_date, s.end_date, s.value,
       o.value AS restates
  FROM import_staging s
  LEFT JOIN observations o
    ON o.series_id = s.series_id AND o.start_date = s.start_date AND o.end_date = s.end_date
 WHERE s.job_id = $1 AND (s.series_id, s.start_date, s.end_date) > ($2, $3, $4)
 ORDER BY s.series_id, s.start_date, s.end_date
 LIMIT $5";

const APPEND: &str = "
INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                    payload, metadata)
VALUES ($1, $2, $3, $4, $5, $6, $7)";

fn corrupt(what: &str, e: impl std::fmt::Display) -> ImportError {
    ImportError::Store(StoreError::Corrupt(format!("{what}: {e}")))
}

/// One pending series batch.
struct Batch {
    series_id: String,
    key: SeriesKey,
    next_sequence: i64,
    observations: Vec<ImportedObservation>,
}

/// Appends one event; the database assigns its position and recorded-at.
macro_rules! append {
    ($tx:expr, $aggregate_type:expr, $aggregate_id:expr, $sequence:expr, $event:expr, $metadata:expr) => {{
        let event = $event;
        let payload = serde_json::to_value(&event).map_err(|e| corrupt("event", e))?;
        sqlx::query(APPEND)
            .bind($aggregate_type)
            .bind($aggregate_id)
            .bind($sequence)
            .bind(event.event_type())
            .bind(event.event_version())
            .bind(payload)
            .bind($metadata)
            .execute(&mut *$tx)
            .await?;
    }};
}

/// The next sequence of a series aggregate, read inside the recording transaction.
macro_rules! next_sequence {
    ($tx:expr, $series_id:expr) => {{
        let last: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(sequence) FROM events WHERE aggregate_type = 'series' AND aggregate_id = $1",
        )
        .bind($series_id)
        .fetch_one(&mut *$tx)
        .await?;
        last.unwrap_or(0) + 1
    }};
}

pub async fn commit(
    importer: &Importer,
    job_id: Uuid,
    spec: &ImportSpec,
    facts: &FileFacts,
    metadata: &CommandMetadata,
) -> Result<Summary, ImportError> {
    let import_id = job_id;
    let job = job_id.to_string();
    let format = spec.format.as_str().to_string();
    let metadata = metadata.clone().for_engagement(spec.engagement_id);
    let meta = serde_json::to_value(metadata.to_map()).map_err(|e| corrupt("metadata", e))?;
    let mut recorded = 0u64;
    let mut restated = 0u64;
    let mut series = 0u64;
    let mut watermarks: BTreeMap<String, chrono::NaiveDate> = BTreeMap::new();

    macro_rules! body {
        ($pool:expr, $lock:expr) => {{
            let mut tx = $pool.begin().await?;
            if let Some(lock) = $lock {
                sqlx::query(lock).execute(&mut *tx).await?;
            }
            sqlx::query("INSERT INTO import_dedup (dedup_key, import_id) VALUES ($1, $2)")
                .bind(&facts.dedup_key)
                .bind(import_id.to_string())
                .execute(&mut *tx)
                .await?;
            // Appends are now held off (the lock, or SQLite's write lock): if any series of
            // this file gained observations since the checks ran, they may overlap; refuse.
            let raced: Option<String> = sqlx::query_scalar(
                "SELECT aggregate_id FROM events
                  WHERE position > $1 AND aggregate_type = 'series'
                    AND aggregate_id IN (SELECT DISTINCT series_id FROM import_staging WHERE job_id = $2)
                  LIMIT 1",
            )
            .bind(facts.checked_through)
            .bind(&job)
            .fetch_optional(&mut *tx)
            .await?;
            if raced.is_some() {
                return Err(ImportError::refused(
                    "observations of the same series were recorded while the file was being checked; nothing was recorded — import it again",
                    Vec::new(),
                    0,
                ));
            }
            append!(
                tx,
                IMPORT_AGGREGATE,
                import_id.to_string(),
                1i64,
                ImportEvent::ImportStarted {
                    engagement_id: spec.engagement_id,
                    format: format.clone(),
                    platform: spec.platform.clone(),
                    range: spec.range,
                    file_name: spec.file_name.clone(),
                    sha256: facts.sha256.clone(),
                    bytes: facts.bytes,
                    conversion: spec.conversion.clone(),
                },
                meta.clone()
            );

            let mut after = (String::new(), String::new(), String::new());
            let mut batch: Option<Batch> = None;
            loop {
                let rows: Vec<StagedRow> = sqlx::query_as(NEXT_STAGED)
                    .bind(&job)
                    .bind(&after.0)
                    .bind(&after.1)
                    .bind(&after.2)
                    .bind(CHUNK)
                    .fetch_all(&mut *tx)
                    .await?;
                let Some(last) = rows.last() else { break };
                after = (
                    last.series_id.clone(),
                    last.start_date.clone(),
                    last.end_date.clone(),
                );
                for row in rows {
                    let start = row
                        .start_date
                        .parse()
                        .map_err(|e| corrupt("staged date", e))?;
                    let end = row
                        .end_date
                        .parse()
                        .map_err(|e| corrupt("staged date", e))?;
                    let range =
                        DateRange::new(start, end).map_err(|e| corrupt("staged range", e))?;
                    let value: Decimal =
                        row.value.parse().map_err(|e| corrupt("staged value", e))?;
                    let restates: Option<Decimal> = row
                        .restates
                        .map(|v| v.parse())
                        .transpose()
                        .map_err(|e| corrupt("recorded value", e))?;
                    let full = batch.as_ref().is_some_and(|b| {
                        b.series_id != row.series_id || b.observations.len() >= IMPORT_BATCH
                    });
                    if full {
                        let done = batch.take().expect("checked");
                        let continues = done.series_id == row.series_id;
                        let next = done.next_sequence + 1;
                        let (series_id, key) = (done.series_id.clone(), done.key.clone());
                        append!(
                            tx,
                            "series",
                            done.series_id,
                            done.next_sequence,
                            SeriesEvent::ObservationsImported {
                                key: done.key,
                                import_id,
                                format: format.clone(),
                                observations: done.observations,
                            },
                            meta.clone()
                        );
                        if continues {
                            batch = Some(Batch {
                                series_id,
                                key,
                                next_sequence: next,
                                observations: Vec::with_capacity(IMPORT_BATCH),
                            });
                        }
                    }
                    if batch.is_none() {
                        series += 1;
                        let next_sequence = next_sequence!(tx, &row.series_id);
                        batch = Some(Batch {
                            series_id: row.series_id.clone(),
                            key: SeriesKey {
                                engagement_id: spec.engagement_id,
                                metric: row.metric.clone(),
                                platform: row.platform.clone(),
                                scope: Some(row.scope.clone()).filter(|s| !s.is_empty()),
                            },
                            next_sequence,
                            observations: Vec::with_capacity(IMPORT_BATCH),
                        });
                    }
                    recorded += 1;
                    if restates.is_some() {
                        restated += 1;
                    }
                    let through = watermarks.entry(row.platform.clone()).or_insert(end);
                    if end > *through {
                        *through = end;
                    }
                    batch
                        .as_mut()
                        .expect("set above")
                        .observations
                        .push(ImportedObservation {
                            range,
                            value,
                            restates,
                        });
                }
            }
            if let Some(done) = batch.take() {
                append!(
                    tx,
                    "series",
                    done.series_id,
                    done.next_sequence,
                    SeriesEvent::ObservationsImported {
                        key: done.key,
                        import_id,
                        format: format.clone(),
                        observations: done.observations,
                    },
                    meta.clone()
                );
            }
            if recorded != facts.staged {
                return Err(ImportError::refused(
                    format!(
                        "{} of {} staged observations could be read back while recording; nothing was recorded — import the file again",
                        recorded, facts.staged
                    ),
                    Vec::new(),
                    0,
                ));
            }
            let watermarks: Vec<Watermark> = watermarks
                .iter()
                .map(|(platform, through)| Watermark {
                    platform: platform.clone(),
                    through: *through,
                })
                .collect();
            append!(
                tx,
                IMPORT_AGGREGATE,
                import_id.to_string(),
                2i64,
                ImportEvent::ImportCompleted {
                    engagement_id: spec.engagement_id,
                    format: format.clone(),
                    rows_read: facts.rows_read,
                    observations_recorded: recorded,
                    observations_restated: restated,
                    series,
                    watermarks: watermarks.clone(),
                },
                meta.clone()
            );
            tx.commit().await?;
            watermarks
        }};
    }

    // On PostgreSQL, take the append lock first: no other event can be appended while the
    // import records, so its checks and its events see one consistent log.
    let watermarks = match importer.db() {
        Db::Sqlite(pool) => body!(pool, None::<&str>),
        Db::Postgres(pool) => body!(pool, Some("SELECT pg_advisory_xact_lock(7305810240)")),
    };
    Ok(Summary {
        import_id,
        already_imported: false,
        rows_read: facts.rows_read,
        observations_recorded: recorded,
        observations_restated: restated,
        series,
        watermarks,
    })
}
