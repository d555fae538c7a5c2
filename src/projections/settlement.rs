//! Read models of reviews, incentive plans and payouts.

use super::{decode, json, timestamp};
use crate::store::events::StoredEvent;
use crate::store::params::Statement;
use crate::store::StoreError;
use kpi_ledger_domain::plan::PlanEvent;
use kpi_ledger_domain::review::ReviewEvent;
use kpi_ledger_domain::settlement::PayoutEvent;

fn entry(event: &StoredEvent, kind: &str, detail: String) -> Statement {
    Statement::new(
        "INSERT INTO review_entries (review_id, position, kind, detail, actor, recorded_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        vec![
            event.aggregate_id.clone().into(),
            event.position.into(),
            kind.into(),
            detail.into(),
            event.actor().into(),
            timestamp(event).into(),
        ],
    )
}

fn touch(event: &StoredEvent) -> Statement {
    Statement::new(
        "UPDATE reviews SET updated_at = $1 WHERE review_id = $2",
        vec![timestamp(event).into(), event.aggregate_id.clone().into()],
    )
}

pub fn review(event: &StoredEvent) -> Result<Vec<Statement>, StoreError> {
    let id = event.aggregate_id.clone();
    let mut statements = match decode::<ReviewEvent>(event)? {
        ReviewEvent::ReviewOpened {
            engagement_id,
            period,
            snapshot_position,
            ..
        } => vec![Statement::new(
            "INSERT INTO reviews (review_id, engagement_id, period, status, version,
                 snapshot_position, opened_by, opened_at, updated_at)
             VALUES ($1, $2, $3, 'open', 0, $4, $5, $6, $6)",
            vec![
                id.into(),
                engagement_id.to_string().into(),
                period.to_string().into(),
                snapshot_position.into(),
                event.actor().into(),
                timestamp(event).into(),
            ],
        )],
        e @ ReviewEvent::FindingRecorded { .. } => vec![entry(event, "finding", json(&e)?)],
        ReviewEvent::DecisionRecorded { decision } => {
            vec![entry(event, "decision", json(&decision)?)]
        }
        e @ ReviewEvent::SignedOff { .. } => vec![entry(event, "sign_off", json(&e)?)],
        ReviewEvent::PeriodLocked {
            version,
            snapshot_position,
        } => vec![
            Statement::new(
                "UPDATE reviews SET status = 'locked', version = $1, snapshot_position = $2
                  WHERE review_id = $3",
                vec![
                    i64::from(version).into(),
                    snapshot_position.into(),
                    id.clone().into(),
                ],
            ),
            Statement::new(
                "INSERT INTO period_locks (engagement_id, period, version, review_id,
                     snapshot_position, locked_at)
                 SELECT engagement_id, period, $1, review_id, $2, $3 FROM reviews
                  WHERE review_id = $4",
                vec![
                    i64::from(version).into(),
                    snapshot_position.into(),
                    timestamp(event).into(),
                    id.into(),
                ],
            ),
        ],
        ReviewEvent::PeriodReopened {
            version,
            snapshot_position,
            ..
        } => vec![
            Statement::new(
                "UPDATE reviews SET status = 'open', snapshot_position = $1 WHERE review_id = $2",
                vec![snapshot_position.into(), id.clone().into()],
            ),
            Statement::new(
                "UPDATE period_locks SET reopened_at = $1 WHERE review_id = $2 AND version = $3",
                vec![
                    timestamp(event).into(),
                    id.into(),
                    i64::from(version).into(),
                ],
            ),
        ],
    };
    statements.push(touch(event));
    Ok(statements)
}

pub fn plan(event: &StoredEvent) -> Result<Vec<Statement>, StoreError> {
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

pub fn payout(event: &StoredEvent) -> Result<Vec<Statement>, StoreError> {
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
                reason.into(),
                carry_into.to_string().into(),
                event.actor().into(),
                timestamp(event).into(),
            ],
        )],
    })
}
