//! `payouts` and `payout_adjustments`: every calculated payout with its whole calculation,
//! approval and payment, and the adjustments made after payment.

use super::{date, decode, from_json, json, parse, timestamp, ReadModel};
use crate::on_db;
use crate::store::events::StoredEvent;
use crate::store::params::Statement;
use crate::store::{Db, StoreError};
use cqrs_es::Aggregate;
use kpi_ledger_domain::ids::EngagementId;
use kpi_ledger_domain::settlement::{Calculation, PayoutEvent, PayoutRecord};
use kpi_ledger_domain::text::Note;
use kpi_ledger_graphql::ports::{AdjustmentView, PayoutView};

pub const READ_MODEL: ReadModel = ReadModel {
    name: "payouts",
    tables: &["payout_adjustments", "payouts"],
    project,
};

fn project(event: &StoredEvent) -> Result<Vec<Statement>, StoreError> {
    if event.aggregate_type != PayoutRecord::TYPE {
        return Ok(Vec::new());
    }
    project_payout(event)
}

fn project_payout(event: &StoredEvent) -> Result<Vec<Statement>, StoreError> {
    let id = event.aggregate_id.clone();
    Ok(match decode::<PayoutEvent>(event)? {
        PayoutEvent::PayoutCalculated {
            engagement_id,
            calculation,
            replayed_to,
            ..
        } => vec![Statement::new(
            "INSERT INTO payouts (payout_id, engagement_id, member_id, period, calculation,
                 replayed_to, amount, status, calculated_at, position)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'calculated', $8, $9)",
            vec![
                id.into(),
                engagement_id.to_string().into(),
                calculation.member_id.to_string().into(),
                calculation.period.to_string().into(),
                json(&calculation)?.into(),
                replayed_to.into(),
                calculation.figures.amount.to_string().into(),
                timestamp(event).into(),
                event.position.into(),
            ],
        )],
        PayoutEvent::PayoutApproved { by } => vec![Statement::new(
            "UPDATE payouts SET status = 'approved', approved_by = $1, approved_at = $2
              WHERE payout_id = $3",
            vec![by.to_string().into(), timestamp(event).into(), id.into()],
        )],
        PayoutEvent::PayoutPaid { paid_on, .. } => vec![Statement::new(
            "UPDATE payouts SET status = 'paid', paid_on = $1 WHERE payout_id = $2",
            vec![paid_on.to_string().into(), id.into()],
        )],
        PayoutEvent::PayoutAdjusted {
            amount,
            reason,
            carry_into,
            ..
        } => vec![Statement::new(
            "INSERT INTO payout_adjustments (payout_id, position, amount, reason, carry_into,
                 actor, recorded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            vec![
                id.into(),
                event.position.into(),
                amount.to_string().into(),
                reason.to_stored().into(),
                carry_into.to_string().into(),
                event.actor().into(),
                timestamp(event).into(),
            ],
        )],
    })
}

#[derive(sqlx::FromRow)]
struct PayoutRow {
    payout_id: String,
    calculation: String,
    replayed_to: i64,
    status: String,
    approved_at: Option<String>,
    paid_on: Option<String>,
    calculated_at: String,
}

#[derive(sqlx::FromRow)]
struct AdjustmentRow {
    payout_id: String,
    amount: String,
    reason: String,
    carry_into: String,
    recorded_at: String,
}

/// Payouts of an engagement in the order calculated; only those of `period`, or only
/// those of `ids`, when given.
pub async fn payouts(
    db: &Db,
    engagement: EngagementId,
    period: Option<&str>,
    ids: Option<&[uuid::Uuid]>,
) -> Result<Vec<PayoutView>, StoreError> {
    let engagement = engagement.to_string();
    let (rows, adjustments): (Vec<PayoutRow>, Vec<AdjustmentRow>) = on_db!(db, pool => {
        let rows = sqlx::query_as(
            "SELECT payout_id, calculation, replayed_to, status, approved_at, paid_on,
                    calculated_at
               FROM payouts WHERE engagement_id = $1 AND ($2 = '' OR period = $2)
              ORDER BY position",
        )
        .bind(&engagement)
        .bind(period.unwrap_or_default())
        .fetch_all(pool)
        .await?;
        let adjustments = sqlx::query_as(
            "SELECT a.payout_id, a.amount, a.reason, a.carry_into, a.recorded_at
               FROM payout_adjustments a JOIN payouts p ON p.payout_id = a.payout_id
              WHERE p.engagement_id = $1 ORDER BY a.position",
        )
        .bind(&engagement)
        .fetch_all(pool)
        .await?;
        (rows, adjustments)
    });
    let mut views = Vec::new();
    for row in rows {
        let id: uuid::Uuid = parse("payout id", &row.payout_id)?;
        if ids.is_some_and(|ids| !ids.contains(&id)) {
            continue;
        }
        let calculation: Calculation = from_json("calculation", &row.calculation)?;
        views.push(PayoutView {
            adjustments: adjustments
                .iter()
                .filter(|a| a.payout_id == row.payout_id)
                .map(|a| {
                    Ok(AdjustmentView {
                        amount: parse("amount", &a.amount)?,
                        reason: Note::from_stored(&a.reason),
                        carry_into: a.carry_into.clone(),
                        recorded_at: parse("instant", &a.recorded_at)?,
                    })
                })
                .collect::<Result<_, StoreError>>()?,
            id,
            calculation,
            replayed_to: row.replayed_to,
            status: row.status,
            approved_at: row
                .approved_at
                .as_deref()
                .map(|t| parse("instant", t))
                .transpose()?,
            paid_on: date(row.paid_on)?,
            calculated_at: parse("instant", &row.calculated_at)?,
        });
    }
    Ok(views)
}

/// The engagement a payout belongs to, if the payout exists.
pub async fn owner(db: &Db, payout: uuid::Uuid) -> Result<Option<EngagementId>, StoreError> {
    let owner: Option<String> = on_db!(db, pool => {
        sqlx::query_scalar("SELECT engagement_id FROM payouts WHERE payout_id = $1")
            .bind(payout.to_string())
            .fetch_optional(pool)
            .await?
    });
    owner.map(|o| parse("engagement id", &o)).transpose()
}

/// Every payout of an engagement by id, with its member and period (for the audit log's
/// sentences).
pub async fn labels(
    db: &Db,
    engagement: EngagementId,
) -> Result<std::collections::HashMap<String, (kpi_ledger_domain::ids::MemberId, String)>, StoreError>
{
    let rows: Vec<(String, String, String)> = on_db!(db, pool => {
        sqlx::query_as(
            "SELECT payout_id, member_id, period FROM payouts WHERE engagement_id = $1",
        )
        .bind(engagement.to_string())
        .fetch_all(pool)
        .await?
    });
    rows.into_iter()
        .map(|(id, member, period)| Ok((id, (parse("member id", &member)?, period))))
        .collect()
}
