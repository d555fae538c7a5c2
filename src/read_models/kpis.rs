//! `kpis`, `kpi_targets` and `target_history`: each KPI's definition and current weight,
//! its current levels per period, and every target change with who, when and why.

use super::{date, decode, from_json, json, parse, timestamp, ReadModel};
use crate::on_db;
use crate::store::events::StoredEvent;
use crate::store::params::Statement;
use crate::store::{Db, StoreError};
use cqrs_es::Aggregate;
use kpi_ledger_domain::ids::{EngagementId, KpiId};
use kpi_ledger_domain::kpi::{Kpi, KpiDefinition, KpiEvent};
use kpi_ledger_domain::scoring::Levels;
use kpi_ledger_domain::text::Note;
use kpi_ledger_graphql::ports::{KpiView, TargetChangeView, TargetView};
use rust_decimal::Decimal;

pub const READ_MODEL: ReadModel = ReadModel {
    name: "kpis",
    tables: &["target_history", "kpi_targets", "kpis"],
    project,
};

fn project(event: &StoredEvent) -> Result<Vec<Statement>, StoreError> {
    if event.aggregate_type != Kpi::TYPE {
        return Ok(Vec::new());
    }
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
                    reason.to_stored().into(),
                    event.actor().into(),
                    timestamp(event).into(),
                ],
            ),
        ],
    })
}

#[derive(sqlx::FromRow)]
struct KpiRow {
    kpi_id: String,
    definition: String,
    weight: String,
    retired_from: Option<String>,
    defined_at: String,
}

/// Every KPI of an engagement, retired ones included, in definition order.
pub async fn kpis(db: &Db, engagement: EngagementId) -> Result<Vec<KpiView>, StoreError> {
    let rows: Vec<KpiRow> = on_db!(db, pool => {
        sqlx::query_as(
            "SELECT kpi_id, definition, weight, retired_from, defined_at FROM kpis
              WHERE engagement_id = $1 ORDER BY defined_position",
        )
        .bind(engagement.to_string())
        .fetch_all(pool)
        .await?
    });
    rows.into_iter()
        .map(|row| {
            let mut definition: KpiDefinition = from_json("KPI definition", &row.definition)?;
            definition.weight = parse::<Decimal>("weight", &row.weight)?;
            Ok(KpiView {
                kpi_id: parse("KPI id", &row.kpi_id)?,
                definition,
                retired_from: date(row.retired_from)?,
                defined_at: parse("instant", &row.defined_at)?,
            })
        })
        .collect()
}

/// The engagement a KPI belongs to, if the KPI exists.
pub async fn owner(db: &Db, kpi: KpiId) -> Result<Option<EngagementId>, StoreError> {
    let owner: Option<String> = on_db!(db, pool => {
        sqlx::query_scalar("SELECT engagement_id FROM kpis WHERE kpi_id = $1")
            .bind(kpi.to_string())
            .fetch_optional(pool)
            .await?
    });
    owner.map(|o| parse("engagement id", &o)).transpose()
}

#[derive(sqlx::FromRow)]
struct TargetRow {
    kpi_id: String,
    period: String,
    levels: String,
}

/// The current targets of the given KPIs of an engagement, every period.
pub async fn targets(
    db: &Db,
    engagement: EngagementId,
    kpis: &[KpiId],
) -> Result<Vec<TargetView>, StoreError> {
    // Join through kpis so only this engagement's targets can come back.
    let rows: Vec<TargetRow> = on_db!(db, pool => {
        sqlx::query_as(
            "SELECT t.kpi_id, t.period, t.levels FROM kpi_targets t
               JOIN kpis k ON k.kpi_id = t.kpi_id
              WHERE k.engagement_id = $1 ORDER BY t.kpi_id, t.period",
        )
        .bind(engagement.to_string())
        .fetch_all(pool)
        .await?
    });
    let wanted: Vec<String> = kpis.iter().map(|k| k.to_string()).collect();
    rows.into_iter()
        .filter(|row| wanted.contains(&row.kpi_id))
        .map(|row| {
            Ok(TargetView {
                kpi_id: parse("KPI id", &row.kpi_id)?,
                period: row.period,
                levels: from_json::<Levels>("levels", &row.levels)?,
            })
        })
        .collect()
}

#[derive(sqlx::FromRow)]
struct TargetChangeRow {
    kpi_id: String,
    position: i64,
    period: String,
    before: Option<String>,
    after: String,
    reason: String,
    actor: String,
    recorded_at: String,
}

/// Every target change of one KPI of an engagement, oldest first.
pub async fn target_history(
    db: &Db,
    engagement: EngagementId,
    kpi: KpiId,
) -> Result<Vec<TargetChangeView>, StoreError> {
    let rows: Vec<TargetChangeRow> = on_db!(db, pool => {
        sqlx::query_as(
            "SELECT h.kpi_id, h.position, h.period, h.before, h.after, h.reason, h.actor,
                    h.recorded_at
               FROM target_history h JOIN kpis k ON k.kpi_id = h.kpi_id
              WHERE k.engagement_id = $1 AND h.kpi_id = $2 ORDER BY h.position",
        )
        .bind(engagement.to_string())
        .bind(kpi.to_string())
        .fetch_all(pool)
        .await?
    });
    rows.into_iter()
        .map(|row| {
            Ok(TargetChangeView {
                kpi_id: parse("KPI id", &row.kpi_id)?,
                position: row.position,
                period: row.period,
                before: row
                    .before
                    .map(|b| from_json::<Levels>("levels", &b))
                    .transpose()?,
                after: from_json("levels", &row.after)?,
                reason: Note::from_stored(&row.reason),
                actor: row.actor,
                recorded_at: parse("instant", &row.recorded_at)?,
            })
        })
        .collect()
}
