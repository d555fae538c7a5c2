use super::{decode, timestamp};
use crate::store::events::StoredEvent;
use crate::store::params::Statement;
use crate::store::StoreError;
use kpi_ledger_domain::engagement::{EngagementEvent, EngagementStatus};

pub fn statements(event: &StoredEvent) -> Result<Vec<Statement>, StoreError> {
    let engagement_id = event.aggregate_id.clone();
    let mut statements = match decode::<EngagementEvent>(event)? {
        EngagementEvent::EngagementOpened { settings, .. } => vec![Statement::new(
            "INSERT INTO engagements (engagement_id, name, client_name, market, time_zone,
                 fiscal_year_start_month, currency, platforms, status, opened_position,
                 opened_at, opened_by, last_position, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $10, $11)",
            vec![
                engagement_id.clone().into(),
                settings.name.into(),
                settings.client_name.into(),
                settings.market.into(),
                settings.time_zone.into(),
                i64::from(settings.fiscal_year_start_month).into(),
                settings.currency.into(),
                serde_json::to_string(&settings.platforms)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?
                    .into(),
                EngagementStatus::Diagnosing.as_str().into(),
                event.position.into(),
                timestamp(event).into(),
                event.actor().into(),
            ],
        )],
        EngagementEvent::MemberAdded {
            member_id,
            user_id,
            role,
            position,
            active_from,
        } => vec![Statement::new(
            "INSERT INTO engagement_members (engagement_id, member_id, user_id, role, position,
                 active_from, active_until, added_position)
             VALUES ($1, $2, $3, $4, $5, $6, NULL, $7)",
            vec![
                engagement_id.clone().into(),
                member_id.to_string().into(),
                user_id.to_string().into(),
                role.as_str().into(),
                position.into(),
                active_from.to_string().into(),
                event.position.into(),
            ],
        )],
        EngagementEvent::MemberRoleChanged { member_id, to, .. } => vec![Statement::new(
            "UPDATE engagement_members SET role = $1 WHERE engagement_id = $2 AND member_id = $3",
            vec![
                to.as_str().into(),
                engagement_id.clone().into(),
                member_id.to_string().into(),
            ],
        )],
        EngagementEvent::MemberRemoved {
            member_id,
            active_until,
        } => vec![Statement::new(
            "UPDATE engagement_members SET active_until = $1
             WHERE engagement_id = $2 AND member_id = $3",
            vec![
                active_until.to_string().into(),
                engagement_id.clone().into(),
                member_id.to_string().into(),
            ],
        )],
        EngagementEvent::EngagementStatusChanged { to, .. } => vec![Statement::new(
            "UPDATE engagements SET status = $1 WHERE engagement_id = $2",
            vec![to.as_str().into(), engagement_id.clone().into()],
        )],
        EngagementEvent::MetricDefined { metric } => vec![Statement::new(
            "INSERT INTO engagement_metrics (engagement_id, metric_key, definition, defined_position)
             VALUES ($1, $2, $3, $4)",
            vec![
                engagement_id.clone().into(),
                metric.key.clone().into(),
                super::json(&metric)?.into(),
                event.position.into(),
            ],
        )],
    };
    statements.push(Statement::new(
        "UPDATE engagements SET last_position = $1, updated_at = $2 WHERE engagement_id = $3",
        vec![
            event.position.into(),
            timestamp(event).into(),
            engagement_id.into(),
        ],
    ));
    Ok(statements)
}
