//! Incentive plans.

use super::PortError;
use crate::access::{CommandPermit, EngagementScope};
use async_trait::async_trait;
use kpi_ledger_domain::metadata::CommandMetadata;

/// An incentive plan's current version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanView {
    pub id: uuid::Uuid,
    pub version: u32,
    pub terms: kpi_ledger_domain::plan::PlanTerms,
    pub approved: bool,
    pub approved_by: Option<String>,
}

#[async_trait]
pub trait PlanPort: Send + Sync + 'static {
    async fn plans(&self, scope: &EngagementScope) -> Result<Vec<PlanView>, PortError>;

    async fn execute_plan(
        &self,
        permit: &CommandPermit,
        plan_id: uuid::Uuid,
        command: kpi_ledger_domain::plan::PlanCommand,
        metadata: &CommandMetadata,
    ) -> Result<(), PortError>;
}
