//! `incentive_plans`: each plan's current version and whether a client owner approved it.

use super::{decode, from_json, json, parse, timestamp, ReadModel};
use crate::on_db;
use crate::store::events::StoredEvent;
use crate::store::params::Statement;
use crate::store::{Db, StoreError};
use cqrs_es::Aggregate;
use kpi_ledger_domain::ids::EngagementId;
use kpi_ledger_domain::plan::{Plan, PlanEvent};
use kpi_ledger_graphql::ports::PlanView;

pub const READ_MODEL: ReadModel = ReadModel {
    name: "plans",
    tables: &["incentive_plans"],
    project,
};

fn project(event: &StoredEvent) -> Result<Vec<Statement>, StoreError> {
    if event.aggregate_type != Plan::TYPE {
        return Ok(Vec::new());
    }
    project_plan(event)
}

fn project_plan(event: &StoredEvent) -> Result<Vec<Statement>, StoreError> {
    let id = event.aggregate_id.clone();
    Ok(match decode::<PlanEvent>(event)? {
        PlanEvent::PlanDrafted {
            engagement_id,
            version,
            terms,
            ..
        } => vec![Statement::new(
            "INSERT INTO incentive_plans (plan_id, engagement_id, version, terms, approved,
                 drafted_at, updated_at)
             VALUES ($1, $2, $3, $4, 0, $5, $5)",
            vec![
                id.into(),
                engagement_id.to_string().into(),
                i64::from(version).into(),
                json(&terms)?.into(),
                timestamp(event).into(),
            ],
        )],
        PlanEvent::PlanRevised { version, terms } => vec![Statement::new(
            "UPDATE incentive_plans SET version = $1, terms = $2, approved = 0, approved_by = NULL,
                 updated_at = $3
             WHERE plan_id = $4",
            vec![
                i64::from(version).into(),
                json(&terms)?.into(),
                timestamp(event).into(),
                id.into(),
            ],
        )],
        PlanEvent::PlanApproved { by, .. } => vec![Statement::new(
            "UPDATE incentive_plans SET approved = 1, approved_by = $1, updated_at = $2
             WHERE plan_id = $3",
            vec![by.to_string().into(), timestamp(event).into(), id.into()],
        )],
    })
}

#[derive(sqlx::FromRow)]
struct PlanRow {
    plan_id: String,
    version: i64,
    terms: String,
    approved: i64,
    approved_by: Option<String>,
}

/// Every plan of an engagement, in the order drafted.
pub async fn plans(db: &Db, engagement: EngagementId) -> Result<Vec<PlanView>, StoreError> {
    let rows: Vec<PlanRow> = on_db!(db, pool => {
        sqlx::query_as(
            "SELECT plan_id, version, terms, approved, approved_by FROM incentive_plans
              WHERE engagement_id = $1 ORDER BY drafted_at, plan_id",
        )
        .bind(engagement.to_string())
        .fetch_all(pool)
        .await?
    });
    rows.into_iter()
        .map(|row| {
            Ok(PlanView {
                id: parse("plan id", &row.plan_id)?,
                version: u32::try_from(row.version).unwrap_or(0),
                terms: from_json("plan terms", &row.terms)?,
                approved: row.approved != 0,
                approved_by: row.approved_by,
            })
        })
        .collect()
}

/// The engagement a plan belongs to, if the plan exists.
pub async fn owner(db: &Db, plan: uuid::Uuid) -> Result<Option<EngagementId>, StoreError> {
    let owner: Option<String> = on_db!(db, pool => {
        sqlx::query_scalar("SELECT engagement_id FROM incentive_plans WHERE plan_id = $1")
            .bind(plan.to_string())
            .fetch_optional(pool)
            .await?
    });
    owner.map(|o| parse("engagement id", &o)).transpose()
}
