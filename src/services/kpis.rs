//! KPIs and their targets.

use super::support::{owned_by, Recorder};
use crate::read_models::kpis;
use crate::store::events::Cqrs;
use crate::store::Db;
use async_trait::async_trait;
use kpi_ledger_domain::ids::KpiId;
use kpi_ledger_domain::kpi::{Kpi, KpiCommand};
use kpi_ledger_domain::metadata::CommandMetadata;
use kpi_ledger_graphql::access::{CommandPermit, EngagementScope};
use kpi_ledger_graphql::ports::{KpiPort, KpiView, PortError, TargetChangeView, TargetView};

pub struct KpiService {
    db: Db,
    cqrs: Cqrs<Kpi>,
    recorder: Recorder,
}

impl KpiService {
    pub fn new(db: Db, recorder: Recorder) -> Self {
        Self {
            cqrs: Cqrs::new(&db),
            db,
            recorder,
        }
    }
}

#[async_trait]
impl KpiPort for KpiService {
    async fn kpis(&self, scope: &EngagementScope) -> Result<Vec<KpiView>, PortError> {
        Ok(kpis::kpis(&self.db, scope.engagement_id()).await?)
    }

    async fn targets(
        &self,
        scope: &EngagementScope,
        kpis: &[KpiId],
    ) -> Result<Vec<TargetView>, PortError> {
        Ok(kpis::targets(&self.db, scope.engagement_id(), kpis).await?)
    }

    async fn target_history(
        &self,
        scope: &EngagementScope,
        kpi: KpiId,
    ) -> Result<Vec<TargetChangeView>, PortError> {
        Ok(kpis::target_history(&self.db, scope.engagement_id(), kpi).await?)
    }

    async fn execute_kpi(
        &self,
        permit: &CommandPermit,
        kpi: KpiId,
        command: KpiCommand,
        metadata: &CommandMetadata,
    ) -> Result<(), PortError> {
        // A KPI command may only address a KPI of the permit's engagement.
        match &command {
            KpiCommand::Define { engagement_id, .. } => {
                owned_by(Some(*engagement_id), permit.engagement_id(), "KPI")?
            }
            _ => owned_by(
                kpis::owner(&self.db, kpi).await?,
                permit.engagement_id(),
                "KPI",
            )?,
        }
        self.recorder
            .record(&self.cqrs, permit, &kpi.to_string(), command, metadata)
            .await
    }
}
