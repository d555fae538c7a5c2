//! Reading a file into the staging tables, in batches, on a blocking thread.

use super::{EngagementFacts, ImportError, ImportSpec, Importer, Problem, Problems, Progress};
use crate::on_db;
use crate::store::params::{positional, values_sql};
use crate::store::Backend;
use kpi_ledger_domain::series::SeriesKey;
use kpi_ledger_import::{FileError, ImportOptions, Item, ParsedRow, RowError};
use std::io::BufReader;
use std::path::Path;
use std::sync::atomic::Ordering;
use uuid::Uuid;

/// Rows sent from the reader thread at a time.
const READ_BATCH: usize = 500;
/// Staging rows per INSERT (10 parameters each; well under both databases' limits).
const INSERT_ROWS: usize = 250;

enum Message {
    Rows(Vec<ParsedRow>, u64),
    Invalid(RowError),
    Fatal(FileError),
}

pub struct Staged {
    pub rows_read: u64,
    /// Observations staged.
    pub observations: u64,
}

fn problem(error: RowError) -> Problem {
    Problem {
        line: error.line,
        column: error.column,
        value: error.value,
        reason: error.reason,
    }
}

/// Reads the file and stages its good rows, noting every bad row in `problems` (the
/// caller refuses the file if there are any, after the checks on the staged rows have
/// noted theirs too). A file that cannot be read at all is refused here.
#[allow(clippy::too_many_arguments)]
pub async fn stage(
    importer: &Importer,
    job_id: Uuid,
    spec: &ImportSpec,
    facts: &EngagementFacts,
    path: &Path,
    report: &mut Progress,
    problems: &mut Problems,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<Staged, ImportError> {
    let options = ImportOptions {
        format: spec.format,
        encoding: spec.encoding,
        platform: spec.platform.clone(),
        range: spec.range,
        currency: kpi_ledger_import::Currency {
            code: facts.currency.clone(),
            conversion: spec
                .conversion
                .as_ref()
                .map(|c| kpi_ledger_import::Conversion {
                    from: c.from.clone(),
                    rate: c.rate,
                }),
        },
    };
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Message>(4);
    let file = std::fs::File::open(path)?;
    let reader = tokio::task::spawn_blocking(move || {
        let rows =
            match kpi_ledger_import::open(BufReader::with_capacity(256 * 1024, file), &options) {
                Ok(rows) => rows,
                Err(error) => {
                    let _ = sender.blocking_send(Message::Fatal(error));
                    return;
                }
            };
        let counter = rows.progress();
        let mut batch = Vec::with_capacity(READ_BATCH);
        for item in rows {
            let message = match item {
                Ok(Item::Row(row)) => {
                    batch.push(row);
                    if batch.len() < READ_BATCH {
                        continue;
                    }
                    Message::Rows(std::mem::take(&mut batch), counter.load(Ordering::Relaxed))
                }
                Ok(Item::Invalid(error)) => Message::Invalid(error),
                Err(error) => Message::Fatal(error),
            };
            let fatal = matches!(message, Message::Fatal(_));
            if sender.blocking_send(message).is_err() || fatal {
                return;
            }
        }
        if !batch.is_empty() {
            let _ = sender.blocking_send(Message::Rows(batch, counter.load(Ordering::Relaxed)));
        }
    });

    let mut seq = 0i64;
    let mut fatal = None;
    while let Some(message) = receiver.recv().await {
        match message {
            Message::Rows(rows, bytes_read) => {
                report.rows_read += rows.iter().filter(|r| r.line > 0).count() as u64;
                report.bytes_read = bytes_read;
                // Rows that do not belong to the engagement are noted, not staged; the
                // good rows are staged so that their duplicates and overlaps are found in
                // the same pass.
                let mut good = Vec::with_capacity(rows.len());
                for row in rows {
                    let foreign = foreign(&row, facts);
                    if foreign.is_empty() {
                        good.push(row);
                    }
                    for problem in foreign {
                        problems.note(problem);
                    }
                }
                report.rows_invalid = problems.rows();
                insert(importer, job_id, spec, &good, &mut seq).await?;
                progress(*report);
            }
            Message::Invalid(error) => {
                report.rows_read += 1;
                problems.note(problem(error));
                report.rows_invalid = problems.rows();
            }
            Message::Fatal(error) => {
                fatal = Some(error);
                break;
            }
        }
    }
    drop(receiver);
    reader
        .await
        .map_err(|e| crate::store::StoreError::Corrupt(format!("reader task failed: {e}")))?;
    report.bytes_read = report.bytes_total;
    if let Some(error) = fatal {
        return Err(ImportError::refused(
            format!("{error}; nothing was recorded"),
            vec![Problem {
                line: error.line().unwrap_or(0),
                column: None,
                value: None,
                reason: error.to_string(),
            }],
            1,
        ));
    }
    Ok(Staged {
        rows_read: report.rows_read,
        observations: u64::try_from(seq).unwrap_or(0),
    })
}

/// What in a row does not belong to this engagement: a platform it does not sell on, a
/// metric its catalogue lacks (or a ratio, recorded through its components), a value the
/// metric does not allow.
fn foreign(row: &ParsedRow, facts: &EngagementFacts) -> Vec<Problem> {
    let problem = |column: &str, value: String, reason: String| Problem {
        line: row.line,
        column: Some(column.to_string()),
        value: Some(value),
        reason,
    };
    let mut problems = Vec::new();
    for o in &row.observations {
        if !facts.platforms.contains(&o.platform) {
            problems.push(problem(
                "platform",
                o.platform.clone(),
                format!(
                    "not one of this engagement's platforms ({})",
                    facts.platforms.join(", ")
                ),
            ));
        }
        match facts.catalogue.iter().find(|m| m.key == o.metric) {
            None => problems.push(problem(
                "metric",
                o.metric.clone(),
                "not in this engagement's metric catalogue".to_string(),
            )),
            Some(metric) => {
                if let Err(reason) = metric.check_value(o.value) {
                    problems.push(problem("value", o.value.to_string(), reason));
                }
            }
        }
    }
    problems
}

/// Writes one batch of rows (keys and observations) to the staging tables.
async fn insert(
    importer: &Importer,
    job_id: Uuid,
    spec: &ImportSpec,
    rows: &[ParsedRow],
    seq: &mut i64,
) -> Result<(), ImportError> {
    if rows.is_empty() {
        return Ok(());
    }
    let job = job_id.to_string();
    let keys: Vec<(&str, i64)> = rows
        .iter()
        .map(|r| (r.key.as_str(), i64::try_from(r.line).unwrap_or(i64::MAX)))
        .collect();
    let mut observations = Vec::new();
    for row in rows {
        for o in &row.observations {
            *seq += 1;
            let key = SeriesKey {
                engagement_id: spec.engagement_id,
                metric: o.metric.clone(),
                platform: o.platform.clone(),
                scope: o.scope.clone(),
            };
            observations.push((
                *seq,
                i64::try_from(row.line).unwrap_or(i64::MAX),
                key.series_id().to_string(),
                o,
            ));
        }
    }
    let sqlite = importer.db().backend() == Backend::Sqlite;
    // SQLite binds anonymous parameters by position; numbered ones cost a list walk each.
    let for_backend = |sql: String| match sqlite {
        true => positional(&sql).unwrap_or(sql),
        false => sql,
    };
    on_db!(importer.db(), pool => {
        let mut tx = pool.begin().await?;
        for chunk in keys.chunks(INSERT_ROWS) {
            let sql = for_backend(values_sql(
                "INSERT INTO import_staging_keys (job_id, row_key, line) VALUES ",
                3,
                chunk.len(),
                "",
            ));
            let mut query = sqlx::query(&sql);
            for (key, line) in chunk {
                query = query.bind(&job).bind(*key).bind(*line);
            }
            query.execute(&mut *tx).await?;
        }
        for chunk in observations.chunks(INSERT_ROWS) {
            let sql = for_backend(values_sql(
                "INSERT INTO import_staging (job_id, seq, line, series_id, metric, platform,
                     scope, start_date, end_date, value) VALUES ",
                10,
                chunk.len(),
                "",
            ));
            let mut query = sqlx::query(&sql);
            for (seq, line, series, o) in chunk {
                query = query
                    .bind(&job)
                    .bind(*seq)
                    .bind(*line)
                    .bind(series.as_str())
                    .bind(o.metric.as_str())
                    .bind(o.platform.as_str())
                    .bind(o.scope.as_deref().unwrap_or(""))
                    .bind(o.range.start.to_string())
                    .bind(o.range.end.to_string())
                    .bind(o.value.to_string());
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
    });
    Ok(())
}

/// Empties the staging tables of one job.
pub async fn clear(importer: &Importer, job_id: Uuid) -> Result<(), ImportError> {
    on_db!(importer.db(), pool => {
        for table in ["import_staging", "import_staging_keys"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE job_id = $1"))
                .bind(job_id.to_string())
                .execute(pool)
                .await?;
        }
    });
    Ok(())
}
