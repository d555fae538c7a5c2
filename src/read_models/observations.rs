//! `observations` and `source_watermarks`: the current value of every observation (a
//! restatement replaces its predecessor's row) and how far each source's data is complete.

use super::{decode, parse, timestamp, ReadModel};
use crate::on_db;
use crate::store::events::StoredEvent;
use crate::store::params::{values_sql, Statement};
use crate::store::{Db, StoreError};
use cqrs_es::Aggregate;
use kpi_ledger_domain::ids::EngagementId;
use kpi_ledger_domain::import::{ImportEvent, IMPORT_AGGREGATE};
use kpi_ledger_domain::period::DateRange;
use kpi_ledger_domain::series::{Series, SeriesEvent};
use kpi_ledger_graphql::ports::{ObservationView, WatermarkView};

pub const READ_MODEL: ReadModel = ReadModel {
    name: "observations",
    tables: &["observations", "source_watermarks"],
    project,
};

fn project(event: &StoredEvent) -> Result<Vec<Statement>, StoreError> {
    match event.aggregate_type.as_str() {
        Series::TYPE => series(event),
        // An import's watermarks move with its ImportCompleted event.
        IMPORT_AGGREGATE => match decode::<ImportEvent>(event)? {
            ImportEvent::ImportCompleted {
                engagement_id,
                format,
                watermarks,
                ..
            } => Ok(watermarks
                .into_iter()
                .map(|w| {
                    Statement::new(
                        ADVANCE_WATERMARK,
                        vec![
                            engagement_id.to_string().into(),
                            w.platform.into(),
                            format.clone().into(),
                            w.through.to_string().into(),
                        ],
                    )
                })
                .collect()),
            ImportEvent::ImportStarted { .. } => Ok(Vec::new()),
        },
        _ => Ok(Vec::new()),
    }
}

const UPSERT_OBSERVATION: &str = "
INSERT INTO observations (series_id, engagement_id, metric, platform, scope, start_date,
    end_date, value, source, recorded_position, recorded_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (series_id, start_date, end_date)
DO UPDATE SET value = excluded.value, source = excluded.source,
    recorded_position = excluded.recorded_position, recorded_at = excluded.recorded_at";

const UPSERT_PREFIX: &str = "
INSERT INTO observations (series_id, engagement_id, metric, platform, scope, start_date,
    end_date, value, source, recorded_position, recorded_at) VALUES ";
const UPSERT_SUFFIX: &str = "
ON CONFLICT (series_id, start_date, end_date)
DO UPDATE SET value = excluded.value, source = excluded.source,
    recorded_position = excluded.recorded_position, recorded_at = excluded.recorded_at";

/// Observations per multi-row upsert (11 parameters each).
const ROWS_PER_UPSERT: usize = 200;

/// Moves a source's watermark forward, never back.
const ADVANCE_WATERMARK: &str = "
INSERT INTO source_watermarks (engagement_id, platform, source, through)
VALUES ($1, $2, $3, $4)
ON CONFLICT (engagement_id, platform, source)
DO UPDATE SET through = CASE WHEN excluded.through > source_watermarks.through
                             THEN excluded.through ELSE source_watermarks.through END";

fn upsert(
    event: &StoredEvent,
    key: &kpi_ledger_domain::series::SeriesKey,
    range: kpi_ledger_domain::period::DateRange,
    value: rust_decimal::Decimal,
    source: &str,
) -> Statement {
    Statement::new(
        UPSERT_OBSERVATION,
        vec![
            event.aggregate_id.clone().into(),
            key.engagement_id.to_string().into(),
            key.metric.clone().into(),
            key.platform.clone().into(),
            key.scope.clone().unwrap_or_default().into(),
            range.start.to_string().into(),
            range.end.to_string().into(),
            value.to_string().into(),
            source.into(),
            event.position.into(),
            timestamp(event).into(),
        ],
    )
}

fn series(event: &StoredEvent) -> Result<Vec<Statement>, StoreError> {
    let (key, range, value, source) = match decode::<SeriesEvent>(event)? {
        SeriesEvent::ObservationsImported {
            key,
            format,
            observations,
            ..
        } => {
            return Ok(observations
                .chunks(ROWS_PER_UPSERT)
                .map(|chunk| {
                    let params = chunk
                        .iter()
                        .flat_map(|o| upsert(event, &key, o.range, o.value, &format).params)
                        .collect();
                    Statement::owned(
                        values_sql(UPSERT_PREFIX, 11, chunk.len(), UPSERT_SUFFIX),
                        params,
                    )
                })
                .collect())
        }
        SeriesEvent::ObservationRecorded {
            key,
            range,
            value,
            source,
            ..
        } => (key, range, value, source.watermark_name()),
        SeriesEvent::ObservationCorrected {
            key, range, value, ..
        } => (key, range, value, "correction".to_string()),
    };
    let mut statements = vec![upsert(event, &key, range, value, &source)];
    if source != "correction" {
        statements.push(Statement::new(
            ADVANCE_WATERMARK,
            vec![
                key.engagement_id.to_string().into(),
                key.platform.into(),
                source.into(),
                range.end.to_string().into(),
            ],
        ));
    }
    Ok(statements)
}

#[derive(sqlx::FromRow)]
struct ObservationRow {
    metric: String,
    platform: String,
    scope: String,
    start_date: String,
    end_date: String,
    value: String,
    source: String,
    recorded_at: String,
    recorded_position: i64,
}

fn view(row: ObservationRow) -> Result<ObservationView, StoreError> {
    Ok(ObservationView {
        metric: row.metric,
        platform: row.platform,
        scope: Some(row.scope).filter(|s| !s.is_empty()),
        range: DateRange::new(
            parse("date", &row.start_date)?,
            parse("date", &row.end_date)?,
        )
        .map_err(StoreError::Corrupt)?,
        value: parse("value", &row.value)?,
        source: row.source,
        recorded_at: parse("instant", &row.recorded_at)?,
        recorded_position: row.recorded_position,
    })
}

/// Current observations of the given metrics whose dates touch `range`; with
/// `series_scopes`, only those series scopes (`None` in it: the store level).
pub async fn touching(
    db: &Db,
    engagement: EngagementId,
    metrics: &[String],
    range: DateRange,
    series_scopes: Option<&[Option<String>]>,
) -> Result<Vec<ObservationView>, StoreError> {
    if metrics.is_empty() {
        return Ok(Vec::new());
    }
    // Scopes are stored as '' for the store level.
    let scopes: Option<Vec<String>> =
        series_scopes.map(|s| s.iter().map(|s| s.clone().unwrap_or_default()).collect());
    // $1 engagement, $2 and $3 the range, then the metrics, then the scopes.
    let metric_list = (0..metrics.len())
        .map(|i| format!("${}", i + 4))
        .collect::<Vec<_>>()
        .join(", ");
    let scope_filter = match &scopes {
        Some(list) if !list.is_empty() => format!(
            " AND scope IN ({})",
            (0..list.len())
                .map(|i| format!("${}", i + 4 + metrics.len()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Some(_) => " AND 1 = 0".to_string(),
        None => String::new(),
    };
    // Every metric in one statement.
    let sql = format!(
        "SELECT metric, platform, scope, start_date, end_date, value, source,
                recorded_at, recorded_position
           FROM observations
          WHERE engagement_id = $1 AND metric IN ({metric_list})
            AND start_date <= $2 AND end_date >= $3{scope_filter}
          ORDER BY metric, platform, scope, start_date"
    );
    let rows: Vec<ObservationRow> = on_db!(db, pool => {
        let mut query = sqlx::query_as(&sql)
            .bind(engagement.to_string())
            .bind(range.end.to_string())
            .bind(range.start.to_string());
        for metric in metrics {
            query = query.bind(metric);
        }
        for s in scopes.iter().flatten() {
            query = query.bind(s);
        }
        query.fetch_all(pool).await?
    });
    let mut views = rows.into_iter().map(view).collect::<Result<Vec<_>, _>>()?;
    // In the order the metrics were asked for; within one, by platform, scope and dates.
    views.sort_by_key(|v| metrics.iter().position(|m| *m == v.metric));
    Ok(views)
}

/// One page of the current observations of `metric` whose dates touch `range`
/// (optionally of one platform), ordered by platform, scope and dates, and their total.
pub async fn page(
    db: &Db,
    engagement: EngagementId,
    metric: &str,
    range: DateRange,
    platform: Option<&str>,
    offset: usize,
    limit: usize,
) -> Result<(Vec<ObservationView>, u64), StoreError> {
    let filter = "FROM observations
          WHERE engagement_id = $1 AND metric = $2 AND start_date <= $3 AND end_date >= $4
            AND ($5 = '' OR platform = $5)";
    let select = format!(
        "SELECT metric, platform, scope, start_date, end_date, value, source,
                recorded_at, recorded_position
           {filter}
          ORDER BY platform, scope, start_date, end_date
          LIMIT $6 OFFSET $7"
    );
    let count = format!("SELECT COUNT(*) {filter}");
    let (rows, total): (Vec<ObservationRow>, i64) = on_db!(db, pool => {
        let rows = sqlx::query_as(&select)
            .bind(engagement.to_string())
            .bind(metric)
            .bind(range.end.to_string())
            .bind(range.start.to_string())
            .bind(platform.unwrap_or_default())
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .bind(i64::try_from(offset).unwrap_or(i64::MAX))
            .fetch_all(pool)
            .await?;
        let total = sqlx::query_scalar(&count)
            .bind(engagement.to_string())
            .bind(metric)
            .bind(range.end.to_string())
            .bind(range.start.to_string())
            .bind(platform.unwrap_or_default())
            .fetch_one(pool)
            .await?;
        (rows, total)
    });
    let views = rows.into_iter().map(view).collect::<Result<_, _>>()?;
    Ok((views, u64::try_from(total).unwrap_or(0)))
}

#[derive(sqlx::FromRow)]
struct WatermarkRow {
    platform: String,
    source: String,
    through: String,
}

/// Every source's watermark of an engagement.
pub async fn watermarks(
    db: &Db,
    engagement: EngagementId,
) -> Result<Vec<WatermarkView>, StoreError> {
    let rows: Vec<WatermarkRow> = on_db!(db, pool => {
        sqlx::query_as(
            "SELECT platform, source, through FROM source_watermarks
              WHERE engagement_id = $1 ORDER BY platform, source",
        )
        .bind(engagement.to_string())
        .fetch_all(pool)
        .await?
    });
    rows.into_iter()
        .map(|row| {
            Ok(WatermarkView {
                platform: row.platform,
                source: row.source,
                through: parse("date", &row.through)?,
            })
        })
        .collect()
}
