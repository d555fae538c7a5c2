//! Incentive plans.

use super::support::{owned_by, Recorder};
use crate::read_models::plans;
use crate::store::events::Cqrs;
use crate::store::Db;
use async_trait::async_trait;
use kpi_ledger_domain::metadata::CommandMetadata;
use kpi_ledger_domain::plan::{Plan, PlanCommand};
use kpi_ledger_graphql::access::{CommandPermit, EngagementScope};
use kpi_ledger_graphql::ports::{PlanPort, PlanView, PortError};

pub struct PlanService {
    db: Db,
    cqrs: Cqrs<Plan>,
    recorder: Recorder,
}

impl PlanService {
    pub fn new(db: Db, recorder: Recorder) -> Self {
        Self {
            cqrs: Cqrs::new(&db),
            db,
            recorder,
        }
    }
}

#[async_trait]
impl PlanPort for PlanService {
    async fn plans(&self, scope: &EngagementScope) -> Result<Vec<PlanView>, PortError> {
        Ok(plans::plans(&self.db, scope.engagement_id()).await?)
    }

    async fn execute_plan(
        &self,
        permit: &CommandPermit,
        plan_id: uuid::Uuid,
        command: PlanCommand,
        metadata: &CommandMetadata,
    ) -> Result<(), PortError> {
        let owner = match &command {
            PlanCommand::Draft { engagement_id, .. } => Some(*engagement_id),
            _ => plans::owner(&self.db, plan_id).await?,
        };
        owned_by(owner, permit.engagement_id(), "incentive plan")?;
        self.recorder
            .record(&self.cqrs, permit, &plan_id.to_string(), command, metadata)
            .await
    }
}
