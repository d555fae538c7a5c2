//! Observations and the freshness of their sources.

use super::support::Recorder;
use crate::read_models::observations;
use crate::store::events::Cqrs;
use crate::store::Db;
use async_trait::async_trait;
use kpi_ledger_domain::metadata::CommandMetadata;
use kpi_ledger_domain::period::DateRange;
use kpi_ledger_domain::series::{Series, SeriesCommand, SeriesKey};
use kpi_ledger_graphql::access::{CommandPermit, EngagementScope};
use kpi_ledger_graphql::ports::{ObservationPort, ObservationView, PortError, WatermarkView};

pub struct ObservationService {
    db: Db,
    cqrs: Cqrs<Series>,
    recorder: Recorder,
}

impl ObservationService {
    pub fn new(db: Db, recorder: Recorder) -> Self {
        Self {
            cqrs: Cqrs::new(&db),
            db,
            recorder,
        }
    }
}

#[async_trait]
impl ObservationPort for ObservationService {
    async fn observations(
        &self,
        scope: &EngagementScope,
        metrics: &[String],
        range: DateRange,
        series_scopes: Option<&[Option<String>]>,
    ) -> Result<Vec<ObservationView>, PortError> {
        Ok(observations::touching(
            &self.db,
            scope.engagement_id(),
            metrics,
            range,
            series_scopes,
        )
        .await?)
    }

    async fn observation_page(
        &self,
        scope: &EngagementScope,
        metric: &str,
        range: DateRange,
        platform: Option<&str>,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<ObservationView>, u64), PortError> {
        Ok(observations::page(
            &self.db,
            scope.engagement_id(),
            metric,
            range,
            platform,
            offset,
            limit,
        )
        .await?)
    }

    async fn watermarks(&self, scope: &EngagementScope) -> Result<Vec<WatermarkView>, PortError> {
        Ok(observations::watermarks(&self.db, scope.engagement_id()).await?)
    }

    async fn execute_series(
        &self,
        permit: &CommandPermit,
        key: &SeriesKey,
        command: SeriesCommand,
        metadata: &CommandMetadata,
    ) -> Result<(), PortError> {
        let addressed = match &command {
            SeriesCommand::Record { key, .. } | SeriesCommand::Correct { key, .. } => key,
        };
        if key.engagement_id != permit.engagement_id() || addressed != key {
            return Err(PortError::not_found("series"));
        }
        self.recorder
            .record(
                &self.cqrs,
                permit,
                &key.series_id().to_string(),
                command,
                metadata,
            )
            .await
    }
}
