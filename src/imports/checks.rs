//! Checks on staged rows, done by the database and one ordered pass: memory stays flat
//! however large the file (the lines with problems are kept as one bit each).

use super::{ImportError, Importer, Problem, Problems};
use crate::on_db;
use futures::TryStreamExt;
use uuid::Uuid;

#[derive(sqlx::FromRow)]
struct DuplicateKey {
    row_key: String,
    first_line: i64,
    second_line: i64,
}

#[derive(sqlx::FromRow, Clone)]
struct Bounds {
    series_id: String,
    metric: String,
    platform: String,
    scope: String,
    start_date: String,
    end_date: String,
    line: i64,
    existing: i64,
}

impl Bounds {
    fn same_bounds(&self, other: &Bounds) -> bool {
        self.start_date == other.start_date && self.end_date == other.end_date
    }

    fn range(&self) -> String {
        if self.start_date == self.end_date {
            self.start_date.clone()
        } else {
            format!("{}..{}", self.start_date, self.end_date)
        }
    }

    fn series(&self) -> String {
        let scope = if self.scope.is_empty() {
            String::new()
        } else {
            format!(" [{}]", self.scope)
        };
        format!("{} on {}{scope}", self.metric, self.platform)
    }
}

fn line(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Every row of the file and every recorded observation of the series it touches, in
/// series and date order.
const ORDERED_BOUNDS: &str = "
SELECT series_id, metric, platform, scope, start_date, end_date, line, CAST(0 AS BIGINT) AS existing
  FROM import_staging s
 WHERE job_id = $1 {rows}
UNION ALL
SELECT o.series_id, o.metric, o.platform, o.scope, o.start_date, o.end_date,
       CAST(0 AS BIGINT) AS line, CAST(1 AS BIGINT) AS existing
  FROM observations o
 WHERE o.series_id IN (SELECT DISTINCT series_id FROM import_staging WHERE job_id = $1)
ORDER BY series_id, start_date, end_date, existing";

/// With duplicate keys in the file, the rows that repeat an earlier row's key are left
/// out of the bounds check: they are reported as duplicates, not again as observations
/// with the same bounds.
const WITHOUT_REPEATED_KEYS: &str = "
   AND NOT EXISTS (SELECT 1 FROM import_staging_keys a JOIN import_staging_keys b
                      ON b.job_id = a.job_id AND b.row_key = a.row_key AND +b.line > +a.line
                    WHERE a.job_id = $1 AND b.line = s.line)";

// `+b.line > +a.line`: the unary plus keeps SQLite from planning the join by the line
// index (a scan per row, quadratic) instead of by the key.

/// Notes every problem of the staged rows: two rows that share a key, two observations of
/// one series that share or overlap their bounds, and observations that overlap recorded
/// ones with other bounds. The caller refuses the file if any problem was noted.
pub async fn check(
    importer: &Importer,
    job_id: Uuid,
    problems: &mut Problems,
) -> Result<(), ImportError> {
    let job = job_id.to_string();
    let before = problems.total();
    on_db!(importer.db(), pool => {
        let mut duplicates = sqlx::query_as::<_, DuplicateKey>(
            "SELECT a.row_key, a.line AS first_line, b.line AS second_line
               FROM import_staging_keys a
               JOIN import_staging_keys b
                 ON b.job_id = a.job_id AND b.row_key = a.row_key AND +b.line > +a.line
              WHERE a.job_id = $1
              ORDER BY b.line, a.line",
        )
        .bind(&job)
        .fetch(pool);
        let mut last_line = None;
        while let Some(d) = duplicates.try_next().await? {
            // A key three times is two problems: each later line against the first.
            if last_line == Some(d.second_line) {
                continue;
            }
            last_line = Some(d.second_line);
            problems.note(Problem {
                line: line(d.second_line),
                column: None,
                value: Some(d.row_key),
                reason: format!(
                    "duplicate row: line {} and line {} have the same key",
                    d.first_line, d.second_line
                ),
            });
        }
    });

    let bounds = ORDERED_BOUNDS.replace(
        "{rows}",
        if problems.total() > before {
            WITHOUT_REPEATED_KEYS
        } else {
            ""
        },
    );
    let mut note = |problem: Problem| problems.note(problem);
    on_db!(importer.db(), pool => {
        let mut rows = sqlx::query_as::<_, Bounds>(&bounds).bind(&job).fetch(pool);
        let mut series = String::new();
        let mut last_file: Option<Bounds> = None;
        let mut last_existing: Option<Bounds> = None;
        while let Some(row) = rows.try_next().await? {
            if row.series_id != series {
                series = row.series_id.clone();
                last_file = None;
                last_existing = None;
            }
            if row.existing == 0 {
                if let Some(previous) = &last_file {
                    if previous.same_bounds(&row) {
                        note(Problem {
                            line: line(row.line),
                            column: None,
                            value: Some(row.range()),
                            reason: format!(
                                "lines {} and {} both give {} for {}",
                                previous.line, row.line, row.series(), row.range()
                            ),
                        });
                    } else if previous.end_date >= row.start_date {
                        note(Problem {
                            line: line(row.line),
                            column: None,
                            value: Some(row.range()),
                            reason: format!(
                                "{} for {} (line {}) overlaps {} (line {})",
                                row.series(), row.range(), row.line, previous.range(), previous.line
                            ),
                        });
                    }
                }
                if let Some(existing) = &last_existing {
                    if existing.end_date >= row.start_date && !existing.same_bounds(&row) {
                        note(Problem {
                            line: line(row.line),
                            column: None,
                            value: Some(row.range()),
                            reason: format!(
                                "{} for {} overlaps the recorded {} with other bounds",
                                row.series(), row.range(), existing.range()
                            ),
                        });
                    }
                }
                if last_file.as_ref().is_none_or(|p| row.end_date > p.end_date) {
                    last_file = Some(row);
                }
            } else {
                if let Some(file_row) = &last_file {
                    if file_row.end_date >= row.start_date && !file_row.same_bounds(&row) {
                        note(Problem {
                            line: line(file_row.line),
                            column: None,
                            value: Some(file_row.range()),
                            reason: format!(
                                "{} for {} overlaps the recorded {} with other bounds",
                                file_row.series(), file_row.range(), row.range()
                            ),
                        });
                    }
                }
                last_existing = Some(row);
            }
        }
    });
    Ok(())
}
