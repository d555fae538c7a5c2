use super::{decode, timestamp};
use crate::store::events::StoredEvent;
use crate::store::params::{values_sql, Statement};
use crate::store::StoreError;
use kpi_ledger_domain::series::SeriesEvent;

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
pub const ADVANCE_WATERMARK: &str = "
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

pub fn statements(event: &StoredEvent) -> Result<Vec<Statement>, StoreError> {
    let (key, range, value, source) = match decode::<SeriesEvent>(event)? {
        // An import's watermark moves with its ImportCompleted event.
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
