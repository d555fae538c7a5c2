//! Reviews and the locks they put on periods.

use super::support::{owned_by, Recorder};
use crate::read_models::reviews;
use crate::store::events::Cqrs;
use crate::store::Db;
use async_trait::async_trait;
use kpi_ledger_domain::metadata::CommandMetadata;
use kpi_ledger_domain::review::{Review, ReviewCommand};
use kpi_ledger_graphql::access::{CommandPermit, EngagementScope};
use kpi_ledger_graphql::ports::{LockedPeriods, PortError, ReviewPort, ReviewView};

pub struct ReviewService {
    db: Db,
    cqrs: Cqrs<Review>,
    recorder: Recorder,
}

impl ReviewService {
    pub fn new(db: Db, recorder: Recorder) -> Self {
        Self {
            cqrs: Cqrs::new(&db),
            db,
            recorder,
        }
    }
}

#[async_trait]
impl ReviewPort for ReviewService {
    async fn reviews(&self, scope: &EngagementScope) -> Result<Vec<ReviewView>, PortError> {
        Ok(reviews::reviews(&self.db, scope.engagement_id()).await?)
    }

    async fn locked_periods(&self, scope: &EngagementScope) -> Result<LockedPeriods, PortError> {
        Ok(reviews::locked_periods(&self.db, scope.engagement_id()).await?)
    }

    async fn head_position(&self) -> Result<i64, PortError> {
        Ok(crate::store::events::head_position(&self.db).await?)
    }

    async fn execute_review(
        &self,
        permit: &CommandPermit,
        review_id: uuid::Uuid,
        command: ReviewCommand,
        metadata: &CommandMetadata,
    ) -> Result<(), PortError> {
        let owner = match &command {
            ReviewCommand::Open {
                engagement_id,
                period,
                ..
            } => {
                // One review per period, also beside reviews opened before their ids were
                // derived from the period.
                let period = period.to_string();
                let existing = reviews::reviews(&self.db, *engagement_id)
                    .await?
                    .into_iter()
                    .find(|r| r.period == period);
                if let Some(existing) = existing {
                    return Err(PortError::refused(
                        kpi_ledger_domain::ErrorKind::Conflict,
                        format!(
                            "{period} already has review {} ({}); record decisions there, or a reopen decision if it is locked",
                            existing.id, existing.status
                        ),
                    ));
                }
                Some(*engagement_id)
            }
            _ => reviews::owner(&self.db, review_id).await?,
        };
        owned_by(owner, permit.engagement_id(), "review")?;
        self.recorder
            .record(
                &self.cqrs,
                permit,
                &review_id.to_string(),
                command,
                metadata,
            )
            .await
    }
}
