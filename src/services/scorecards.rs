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
use kpi_ledger_graphql::ports::{
    AsOfScorecard, CachedSummary, PortError, ScorecardPort, WatermarkView,
};

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

    async fn cached_summaries(
        &self,
        wanted: &[(EngagementScope, String)],
    ) -> Result<Vec<CachedSummary>, PortError> {
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        // Each engagement's newest event (its chain's head) says whether its stored summary
        // is current: any event of the engagement moves the head.
        let rows_sql: Vec<String> = (0..wanted.len())
            .map(|i| format!("(${}, ${})", 2 * i + 1, 2 * i + 2))
            .collect();
        let sql = format!(
            "WITH wanted (engagement_id, period) AS (VALUES {})
             SELECT w.engagement_id, w.period,
                    (SELECT MAX(c.position) FROM event_chain c WHERE c.chain = w.engagement_id),
                    s.position, s.summary
               FROM wanted w
               LEFT JOIN engagement_summaries s
                 ON s.engagement_id = w.engagement_id AND s.period = w.period",
            rows_sql.join(", ")
        );
        type Row = (String, String, Option<i64>, Option<i64>, Option<String>);
        let rows: Vec<Row> = crate::on_db!(&self.db, pool => {
            let mut query = sqlx::query_as(&sql);
            for (scope, period) in wanted {
                query = query.bind(scope.engagement_id().to_string()).bind(period.as_str());
            }
            query
                .fetch_all(pool)
                .await
                .map_err(crate::store::StoreError::from)?
        });
        wanted
            .iter()
            .map(|(scope, period)| {
                let id = scope.engagement_id().to_string();
                let (_, _, head, stored_at, summary) = rows
                    .iter()
                    .find(|row| row.0 == id && row.1 == *period)
                    .ok_or_else(|| PortError::not_found("engagement"))?;
                let head = head.unwrap_or(0);
                Ok(CachedSummary {
                    head,
                    current: summary.clone().filter(|_| *stored_at == Some(head)),
                })
            })
            .collect()
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
