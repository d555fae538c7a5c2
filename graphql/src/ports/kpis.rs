//! KPIs and their targets.

use super::PortError;
use crate::access::{CommandPermit, EngagementScope};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use kpi_ledger_domain::ids::KpiId;
use kpi_ledger_domain::kpi::{KpiCommand, KpiDefinition};
use kpi_ledger_domain::metadata::CommandMetadata;
use kpi_ledger_domain::scoring::Levels;

/// A KPI as the read model holds it (the definition carries the current weight).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KpiView {
    pub kpi_id: KpiId,
    pub definition: KpiDefinition,
    pub retired_from: Option<NaiveDate>,
    pub defined_at: DateTime<Utc>,
}

/// The current levels of one KPI for one period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetView {
    pub kpi_id: KpiId,
    /// The period as written (`2026-06`).
    pub period: String,
    pub levels: Levels,
}

/// One version in a KPI's target history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetChangeView {
    pub kpi_id: KpiId,
    pub position: i64,
    pub period: String,
    pub before: Option<Levels>,
    pub after: Levels,
    /// Why: a note (sealed in the vault, or inline in older events).
    pub reason: kpi_ledger_domain::text::Note,
    /// The user id of whoever changed it, or `system`.
    pub actor: String,
    pub recorded_at: DateTime<Utc>,
}

#[async_trait]
pub trait KpiPort: Send + Sync + 'static {
    /// Every KPI of the engagement, retired ones included, in definition order.
    async fn kpis(&self, scope: &EngagementScope) -> Result<Vec<KpiView>, PortError>;

    /// The current targets of the given KPIs, every period.
    async fn targets(
        &self,
        scope: &EngagementScope,
        kpis: &[KpiId],
    ) -> Result<Vec<TargetView>, PortError>;

    /// Every target change of one KPI, oldest first.
    async fn target_history(
        &self,
        scope: &EngagementScope,
        kpi: KpiId,
    ) -> Result<Vec<TargetChangeView>, PortError>;

    /// Decides and records a KPI command. The KPI must belong to the permit's engagement.
    async fn execute_kpi(
        &self,
        permit: &CommandPermit,
        kpi: KpiId,
        command: KpiCommand,
        metadata: &CommandMetadata,
    ) -> Result<(), PortError>;
}
