//! Observations and the freshness of their sources.

use super::PortError;
use crate::access::{CommandPermit, EngagementScope};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use kpi_ledger_domain::metadata::CommandMetadata;
use kpi_ledger_domain::period::DateRange;
use kpi_ledger_domain::series::{SeriesCommand, SeriesKey};
use rust_decimal::Decimal;

/// The current value of one observation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservationView {
    pub metric: String,
    pub platform: String,
    pub scope: Option<String>,
    pub range: DateRange,
    pub value: Decimal,
    pub source: String,
    pub recorded_at: DateTime<Utc>,
    pub recorded_position: i64,
}

/// How far one source has delivered data for one platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatermarkView {
    pub platform: String,
    pub source: String,
    pub through: NaiveDate,
}

#[async_trait]
pub trait ObservationPort: Send + Sync + 'static {
    /// Current observations of the given metrics whose dates touch `range`; with
    /// `series_scopes`, only those series scopes (`None` in it: the store level).
    async fn observations(
        &self,
        scope: &EngagementScope,
        metrics: &[String],
        range: DateRange,
        series_scopes: Option<&[Option<String>]>,
    ) -> Result<Vec<ObservationView>, PortError>;

    /// One page of the current observations of `metric` whose dates touch `range`
    /// (optionally of one platform), ordered by platform, scope and dates, and how many
    /// there are in all.
    async fn observation_page(
        &self,
        scope: &EngagementScope,
        metric: &str,
        range: DateRange,
        platform: Option<&str>,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<ObservationView>, u64), PortError>;

    async fn watermarks(&self, scope: &EngagementScope) -> Result<Vec<WatermarkView>, PortError>;

    /// Decides and records an observation command on the series of `key`, which must
    /// belong to the permit's engagement.
    async fn execute_series(
        &self,
        permit: &CommandPermit,
        key: &SeriesKey,
        command: SeriesCommand,
        metadata: &CommandMetadata,
    ) -> Result<(), PortError>;
}
