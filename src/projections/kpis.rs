use super::{decode, json, timestamp};
use crate::store::events::StoredEvent;
use crate::store::params::Statement;
use crate::store::StoreError;
use kpi_ledger_domain::kpi::KpiEvent;

pub fn statements(event: &StoredEvent) -> Result<Vec<Statement>, StoreError> {
    let kpi_id = event.aggregate_id.clone();
    Ok(match decode::<KpiEvent>(event)? {
        KpiEvent::KpiDefined { definition, .. } => vec![Statement::new(
            "INSERT INTO kpis (kpi_id, engagement_id, definition, weight, retired_from,
                 defined_position, defined_at)
             VALUES ($1, $2, $3, $4, NULL, $5, $6)",
            vec![
                kpi_id.into(),
                definition.engagement_id.to_string().into(),
                json(&definition)?.into(),
                definition.weight.to_string().into(),
                event.position.into(),
                timestamp(event).into(),
            ],
        )],
        KpiEvent::KpiWeightChanged { to, .. } => vec![Statement::new(
            "UPDATE kpis SET weight = $1 WHERE kpi_id = $2",
            vec![to.to_string().into(), kpi_id.into()],
        )],
        KpiEvent::KpiRetired { from } => vec![Statement::new(
            "UPDATE kpis SET retired_from = $1 WHERE kpi_id = $2",
            vec![from.to_string().into(), kpi_id.into()],
        )],
        KpiEvent::TargetSet {
            period,
            levels,
            previous,
            reason,
        } => vec![
            Statement::new(
                "INSERT INTO kpi_targets (kpi_id, period, levels, set_position)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (kpi_id, period)
                 DO UPDATE SET levels = excluded.levels, set_position = excluded.set_position",
                vec![
                    kpi_id.clone().into(),
                    period.to_string().into(),
                    json(&levels)?.into(),
                    event.position.into(),
                ],
            ),
            Statement::new(
                "INSERT INTO target_history (kpi_id, position, period, before, after, reason,
                     actor, recorded_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                vec![
                    kpi_id.into(),
                    event.position.into(),
                    period.to_string().into(),
                    previous.map(|p| json(&p)).transpose()?.into(),
                    json(&levels)?.into(),
                    reason.into(),
                    event.actor().into(),
                    timestamp(event).into(),
                ],
            ),
        ],
    })
}
