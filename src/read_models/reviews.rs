//! `reviews`, `review_entries` and `period_locks`: each review of a period, its findings,
//! decisions and sign-offs in order, and every lock version of the period.

use super::{decode, from_json, json, parse, timestamp, ReadModel};
use crate::on_db;
use crate::store::events::StoredEvent;
use crate::store::params::Statement;
use crate::store::{Db, StoreError};
use cqrs_es::Aggregate;
use kpi_ledger_domain::ids::EngagementId;
use kpi_ledger_domain::review::{Review, ReviewEvent};
use kpi_ledger_graphql::ports::{LockView, LockedPeriods, ReviewEntryView, ReviewView};

pub const READ_MODEL: ReadModel = ReadModel {
    name: "reviews",
    tables: &["review_entries", "period_locks", "reviews"],
    project,
};

fn project(event: &StoredEvent) -> Result<Vec<Statement>, StoreError> {
    if event.aggregate_type != Review::TYPE {
        return Ok(Vec::new());
    }
    project_review(event)
}

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

fn project_review(event: &StoredEvent) -> Result<Vec<Statement>, StoreError> {
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

#[derive(sqlx::FromRow)]
struct ReviewRow {
    review_id: String,
    period: String,
    status: String,
    version: i64,
    snapshot_position: i64,
    opened_at: String,
}

#[derive(sqlx::FromRow)]
struct ReviewEntryRow {
    review_id: String,
    position: i64,
    kind: String,
    detail: String,
    actor: String,
    recorded_at: String,
}

#[derive(sqlx::FromRow)]
struct LockRow {
    review_id: String,
    version: i64,
    snapshot_position: i64,
    locked_at: String,
    reopened_at: Option<String>,
}

/// Every review of an engagement with its entries and locks, in the order opened.
pub async fn reviews(db: &Db, engagement: EngagementId) -> Result<Vec<ReviewView>, StoreError> {
    let engagement = engagement.to_string();
    let (rows, entries, locks): (Vec<ReviewRow>, Vec<ReviewEntryRow>, Vec<LockRow>) = on_db!(db, pool => {
        let rows = sqlx::query_as(
            "SELECT review_id, period, status, version, snapshot_position, opened_at
               FROM reviews WHERE engagement_id = $1 ORDER BY opened_at, review_id",
        )
        .bind(&engagement)
        .fetch_all(pool)
        .await?;
        let entries = sqlx::query_as(
            "SELECT e.review_id, e.position, e.kind, e.detail, e.actor, e.recorded_at
                   FROM review_entries e JOIN reviews r ON r.review_id = e.review_id
                  WHERE r.engagement_id = $1 ORDER BY e.position",
        )
        .bind(&engagement)
        .fetch_all(pool)
        .await?;
        let locks = sqlx::query_as(
            "SELECT review_id, version, snapshot_position, locked_at, reopened_at
               FROM period_locks WHERE engagement_id = $1 ORDER BY review_id, version",
        )
        .bind(&engagement)
        .fetch_all(pool)
        .await?;
        (rows, entries, locks)
    });
    rows.into_iter()
        .map(|row| {
            Ok(ReviewView {
                id: parse("review id", &row.review_id)?,
                locks: locks
                    .iter()
                    .filter(|l| l.review_id == row.review_id)
                    .map(|l| {
                        Ok(LockView {
                            version: u32::try_from(l.version).unwrap_or(0),
                            snapshot_position: l.snapshot_position,
                            locked_at: parse("instant", &l.locked_at)?,
                            reopened_at: l
                                .reopened_at
                                .as_deref()
                                .map(|t| parse("instant", t))
                                .transpose()?,
                        })
                    })
                    .collect::<Result<_, StoreError>>()?,
                entries: entries
                    .iter()
                    .filter(|e| e.review_id == row.review_id)
                    .map(|e| {
                        Ok(ReviewEntryView {
                            position: e.position,
                            kind: e.kind.clone(),
                            detail: from_json("review entry", &e.detail)?,
                            actor: e.actor.clone(),
                            recorded_at: parse("instant", &e.recorded_at)?,
                        })
                    })
                    .collect::<Result<_, StoreError>>()?,
                period: row.period,
                status: row.status,
                version: u32::try_from(row.version).unwrap_or(0),
                snapshot_position: row.snapshot_position,
                opened_at: parse("instant", &row.opened_at)?,
            })
        })
        .collect()
}

/// The periods of an engagement locked now (by a lock no reopen undid), and the log
/// position this read model had reached: one statement, so the two agree.
pub async fn locked_periods(
    db: &Db,
    engagement: EngagementId,
) -> Result<LockedPeriods, StoreError> {
    let rows: Vec<(i64, Option<String>)> = on_db!(db, pool => {
        sqlx::query_as(
            "SELECT c.position, l.period FROM projection_checkpoints c
               LEFT JOIN period_locks l ON l.engagement_id = $1 AND l.reopened_at IS NULL
              WHERE c.name = $2 ORDER BY l.period",
        )
        .bind(engagement.to_string())
        .bind(READ_MODEL.name)
        .fetch_all(pool)
        .await?
    });
    let mut periods: Vec<String> = rows.iter().filter_map(|(_, p)| p.clone()).collect();
    periods.dedup();
    Ok(LockedPeriods {
        as_of: rows.first().map_or(0, |(position, _)| *position),
        periods,
    })
}

/// The engagement a review belongs to, if the review exists.
pub async fn owner(db: &Db, review: uuid::Uuid) -> Result<Option<EngagementId>, StoreError> {
    let owner: Option<String> = on_db!(db, pool => {
        sqlx::query_scalar("SELECT engagement_id FROM reviews WHERE review_id = $1")
            .bind(review.to_string())
            .fetch_optional(pool)
            .await?
    });
    owner.map(|o| parse("engagement id", &o)).transpose()
}
