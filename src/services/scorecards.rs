//! Scorecards replayed from the event log: as of an instant, or as a review locked them.
//! They never read stored results.

use crate::read_models::reviews;
use crate::store::events::replay;
use crate::store::Db;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kpi_ledger_domain::ids::MemberId;
use kpi_ledger_domain::period::Period;
use kpi_ledger_domain::replay::Model;
use kpi_ledger_domain::scorecard::{CardKpi, Scorecard};
use kpi_ledger_graphql::access::EngagementScope;
use kpi_ledger_graphql::ports::{AsOfScorecard, PortError, ScorecardPort, WatermarkView};

pub struct ScorecardService {
    db: Db,
}

impl ScorecardService {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

/// A replayed card with the watermarks and platforms of the same position.
fn as_of_card(position: i64, card: Scorecard, kpis: Vec<CardKpi>, model: &Model) -> AsOfScorecard {
    AsOfScorecard {
        position,
        card,
        kpis,
        watermarks: model
            .watermarks()
            .map(|(platform, source, through)| WatermarkView {
                platform: platform.to_string(),
                source: source.to_string(),
                through,
            })
            .collect(),
        platforms: model
            .settings()
            .map(|s| s.platforms.clone())
            .unwrap_or_default(),
    }
}

#[async_trait]
impl ScorecardPort for ScorecardService {
    async fn scorecard_as_of(
        &self,
        scope: &EngagementScope,
        period: &Period,
        member: Option<MemberId>,
        as_of: DateTime<Utc>,
    ) -> Result<AsOfScorecard, PortError> {
        let position = crate::store::events::position_at(&self.db, as_of).await?;
        let model = replay(&self.db, scope.engagement_id(), position).await?;
        let (card, kpis) = model.scorecard(period, member).map_err(|message| {
            PortError::refused(kpi_ledger_domain::ErrorKind::NotFound, message)
        })?;
        Ok(as_of_card(position, card, kpis, &model))
    }

    async fn cached_summary(
        &self,
        scope: &EngagementScope,
        period: &str,
    ) -> Result<(i64, Option<String>), PortError> {
        // The engagement's newest event (its chain's head) says whether the stored summary
        // is current: any event of the engagement moves the head.
        let engagement = scope.engagement_id().to_string();
        let row: (Option<i64>, Option<i64>, Option<String>) = crate::on_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT (SELECT MAX(position) FROM event_chain WHERE chain = $1),
                        s.position, s.summary
                   FROM (SELECT 1 AS one) x
                   LEFT JOIN engagement_summaries s ON s.engagement_id = $1 AND s.period = $2",
            )
            .bind(&engagement)
            .bind(period)
            .fetch_one(pool)
            .await
            .map_err(crate::store::StoreError::from)?
        });
        let head = row.0.unwrap_or(0);
        let current = row.1 == Some(head);
        Ok((head, row.2.filter(|_| current)))
    }

    async fn store_summary(
        &self,
        scope: &EngagementScope,
        period: &str,
        position: i64,
        summary: &str,
    ) -> Result<(), PortError> {
        crate::on_db!(&self.db, pool => {
            sqlx::query(
                "INSERT INTO engagement_summaries (engagement_id, period, position, summary)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (engagement_id, period) DO UPDATE SET position = $3, summary = $4",
            )
            .bind(scope.engagement_id().to_string())
            .bind(period)
            .bind(position)
            .bind(summary)
            .execute(pool)
            .await
            .map_err(crate::store::StoreError::from)?;
        });
        Ok(())
    }

    async fn locked_scorecard(
        &self,
        scope: &EngagementScope,
        review_id: uuid::Uuid,
        member: Option<MemberId>,
        version: Option<u32>,
    ) -> Result<AsOfScorecard, PortError> {
        super::support::owned_by(
            reviews::owner(&self.db, review_id).await?,
            scope.engagement_id(),
            "review",
        )?;
        let head = crate::store::events::head_position(&self.db).await?;
        let state = replay(&self.db, scope.engagement_id(), head).await?;
        let not_found =
            |message: String| PortError::refused(kpi_ledger_domain::ErrorKind::NotFound, message);
        let review = state
            .reviews()
            .find(|r| r.review_id == review_id)
            .cloned()
            .ok_or_else(|| PortError::not_found("review"))?;
        // A lock version reads with its own snapshot and the decisions made before it.
        let (snapshot, decisions) = match version {
            Some(v) => {
                let lock = review
                    .lock(Some(v))
                    .ok_or_else(|| not_found(format!("the review has no lock version {v}")))?;
                (lock.snapshot_position, review.decisions_of(lock))
            }
            None => (review.snapshot_position, review.decisions.as_slice()),
        };
        let frozen = replay(&self.db, scope.engagement_id(), snapshot).await?;
        let (card, kpis) = frozen
            .decided_scorecard(&review.period, member, decisions)
            .map_err(not_found)?;
        Ok(as_of_card(snapshot, card, kpis, &frozen))
    }
}
