//! `imports`: every recorded import with its file, rate and outcome. (The running jobs and
//! the staging rows are operational tables of `crate::imports`, not read models.)

use super::{decode, json, timestamp, ReadModel};
use crate::store::events::StoredEvent;
use crate::store::params::Statement;
use crate::store::StoreError;
use kpi_ledger_domain::import::{ImportEvent, IMPORT_AGGREGATE};

pub const READ_MODEL: ReadModel = ReadModel {
    name: "imports",
    tables: &["imports"],
    project,
};

fn project(event: &StoredEvent) -> Result<Vec<Statement>, StoreError> {
    if event.aggregate_type != IMPORT_AGGREGATE {
        return Ok(Vec::new());
    }
    let import_id = event.aggregate_id.clone();
    Ok(match decode::<ImportEvent>(event)? {
        ImportEvent::ImportStarted {
            engagement_id,
            format,
            platform,
            range,
            file_name,
            sha256,
            bytes,
            conversion,
        } => vec![Statement::new(
            "INSERT INTO imports (import_id, engagement_id, format, platform, range_start,
                 range_end, file_name, sha256, bytes, status, actor, started_position, recorded_at,
                 conversion)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'started', $10, $11, $12, $13)",
            vec![
                import_id.into(),
                engagement_id.to_string().into(),
                format.into(),
                platform.into(),
                range.map(|r| r.start.to_string()).into(),
                range.map(|r| r.end.to_string()).into(),
                file_name.into(),
                sha256.into(),
                i64::try_from(bytes).unwrap_or(i64::MAX).into(),
                event.actor().into(),
                event.position.into(),
                timestamp(event).into(),
                conversion.as_ref().map(json).transpose()?.into(),
            ],
        )],
        ImportEvent::ImportCompleted {
            rows_read,
            observations_recorded,
            observations_restated,
            series,
            watermarks,
            ..
        } => {
            let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
            vec![Statement::new(
                "UPDATE imports SET status = 'completed', rows_read = $1,
                     observations_recorded = $2, observations_restated = $3, series = $4,
                     watermarks = $5
                 WHERE import_id = $6",
                vec![
                    count(rows_read).into(),
                    count(observations_recorded).into(),
                    count(observations_restated).into(),
                    count(series).into(),
                    json(&watermarks)?.into(),
                    import_id.into(),
                ],
            )]
        }
    })
}
