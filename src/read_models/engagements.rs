//! `engagements`, `engagement_members` and `engagement_metrics`: each engagement's settings
//! and status, its memberships (ids, roles, positions, dates — names live in the vault),
//! and its custom metrics.

use super::{date, decode, from_json, json, parse, timestamp, ReadModel};
use crate::on_db;
use crate::store::events::StoredEvent;
use crate::store::params::Statement;
use crate::store::{Db, StoreError};
use cqrs_es::Aggregate;
use kpi_ledger_domain::engagement::{Engagement, EngagementEvent, EngagementStatus};
use kpi_ledger_domain::ids::{EngagementId, UserId};
use kpi_ledger_domain::metrics::{builtin_catalogue, MetricDefinition};
use kpi_ledger_graphql::ports::{EngagementView, MemberView, MembershipView};

pub const READ_MODEL: ReadModel = ReadModel {
    name: "engagements",
    tables: &["engagement_members", "engagement_metrics", "engagements"],
    project,
};

fn project(event: &StoredEvent) -> Result<Vec<Statement>, StoreError> {
    if event.aggregate_type != Engagement::TYPE {
        return Ok(Vec::new());
    }
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
        // The vault follows the log: once the erasure is recorded, the member's key goes,
        // and a rebuild deletes it again (no-op). Names and emails then read as erased.
        EngagementEvent::MemberPersonalDataErased { member_id } => vec![Statement::new(
            "DELETE FROM member_keys WHERE engagement_id = $1 AND member_id = $2",
            vec![engagement_id.clone().into(), member_id.to_string().into()],
        )],
        EngagementEvent::MetricDefined { metric } => vec![Statement::new(
            "INSERT INTO engagement_metrics (engagement_id, metric_key, definition, defined_position)
             VALUES ($1, $2, $3, $4)",
            vec![
                engagement_id.clone().into(),
                metric.key.clone().into(),
                json(&metric)?.into(),
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

#[derive(sqlx::FromRow)]
struct EngagementRow {
    engagement_id: String,
    name: String,
    client_name: String,
    market: String,
    time_zone: String,
    fiscal_year_start_month: i64,
    currency: String,
    platforms: String,
    status: String,
    opened_at: String,
    opened_position: i64,
    head: Option<i64>,
}

/// One engagement, if it exists.
pub async fn engagement(db: &Db, id: EngagementId) -> Result<Option<EngagementView>, StoreError> {
    Ok(engagements(db, &[id]).await?.pop())
}

/// The engagements of `ids` that exist, in one statement, in no particular order.
pub async fn engagements(db: &Db, ids: &[EngagementId]) -> Result<Vec<EngagementView>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (1..=ids.len()).map(|n| format!("${n}")).collect();
    let sql = format!(
        "SELECT engagement_id, name, client_name, market, time_zone,
                fiscal_year_start_month, currency, platforms, status, opened_at,
                opened_position,
                (SELECT MAX(c.position) FROM event_chain c
                  WHERE c.chain = engagements.engagement_id) AS head
           FROM engagements WHERE engagement_id IN ({})",
        placeholders.join(", ")
    );
    let rows: Vec<EngagementRow> = on_db!(db, pool => {
        let mut query = sqlx::query_as(&sql);
        for id in ids {
            query = query.bind(id.to_string());
        }
        query.fetch_all(pool).await?
    });
    rows.into_iter()
        .map(|row| {
            Ok(EngagementView {
                id: parse("engagement id", &row.engagement_id)?,
                name: row.name,
                client_name: row.client_name,
                market: row.market,
                time_zone: row.time_zone,
                fiscal_year_start_month: u32::try_from(row.fiscal_year_start_month)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                currency: row.currency,
                platforms: from_json("platforms", &row.platforms)?,
                status: parse("status", &row.status)?,
                opened_at: parse("instant", &row.opened_at)?,
                opened_position: row.opened_position,
                head: Some(row.head.unwrap_or(0)),
            })
        })
        .collect()
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    member_id: String,
    user_id: String,
    role: String,
    position: Option<String>,
    active_from: String,
    active_until: Option<String>,
}

/// Every membership of an engagement, in the order added.
pub async fn members(db: &Db, id: EngagementId) -> Result<Vec<MemberView>, StoreError> {
    let rows: Vec<MemberRow> = on_db!(db, pool => {
        sqlx::query_as(
            "SELECT member_id, user_id, role, position, active_from, active_until
               FROM engagement_members WHERE engagement_id = $1 ORDER BY added_position",
        )
        .bind(id.to_string())
        .fetch_all(pool)
        .await?
    });
    rows.into_iter()
        .map(|row| {
            Ok(MemberView {
                member_id: parse("member id", &row.member_id)?,
                user_id: parse("user id", &row.user_id)?,
                role: parse("role", &row.role)?,
                position: row.position,
                active_from: parse("date", &row.active_from)?,
                active_until: date(row.active_until)?,
            })
        })
        .collect()
}

#[derive(sqlx::FromRow)]
struct MembershipRow {
    engagement_id: String,
    member_id: String,
    role: String,
    time_zone: String,
    active_until: Option<String>,
    opened_position: i64,
}

/// Every membership a user holds or held, newest first.
pub async fn memberships(db: &Db, user: UserId) -> Result<Vec<MembershipView>, StoreError> {
    let rows: Vec<MembershipRow> = on_db!(db, pool => {
        sqlx::query_as(
            "SELECT m.engagement_id, m.member_id, m.role, e.time_zone, m.active_until,
                    e.opened_position
               FROM engagement_members m
               JOIN engagements e ON e.engagement_id = m.engagement_id
              WHERE m.user_id = $1
              ORDER BY m.added_position DESC",
        )
        .bind(user.to_string())
        .fetch_all(pool)
        .await?
    });
    rows.into_iter()
        .map(|row| {
            Ok(MembershipView {
                engagement_id: parse("engagement id", &row.engagement_id)?,
                member_id: parse("member id", &row.member_id)?,
                role: parse("role", &row.role)?,
                time_zone: row.time_zone,
                active_until: date(row.active_until)?,
                opened_position: row.opened_position,
            })
        })
        .collect()
}

/// The built-in catalogue plus the engagement's custom metrics, in definition order.
pub async fn catalogue(db: &Db, id: EngagementId) -> Result<Vec<MetricDefinition>, StoreError> {
    let rows: Vec<String> = on_db!(db, pool => {
        sqlx::query_scalar(
            "SELECT definition FROM engagement_metrics WHERE engagement_id = $1
             ORDER BY defined_position",
        )
        .bind(id.to_string())
        .fetch_all(pool)
        .await?
    });
    let mut catalogue = builtin_catalogue();
    for row in rows {
        catalogue.push(from_json("custom metric", &row)?);
    }
    Ok(catalogue)
}
