//! Scorecards replayed from the event log: as of an instant, or as a review locked them.

use super::{PortError, WatermarkView};
use crate::access::EngagementScope;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kpi_ledger_domain::ids::MemberId;

/// A scorecard replayed from the event log as of a position.
#[derive(Debug, Clone)]
pub struct AsOfScorecard {
    /// The last event position at or before the instant asked for.
    pub position: i64,
    pub card: kpi_ledger_domain::scorecard::Scorecard,
    pub kpis: Vec<kpi_ledger_domain::scorecard::CardKpi>,
    /// The sources' watermarks as they stood then.
    pub watermarks: Vec<WatermarkView>,
    /// The engagement's platforms then.
    pub platforms: Vec<String>,
}

/// A stored portfolio summary and whether it is still current.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedSummary {
    /// The engagement's newest event (0 if none).
    pub head: i64,
    /// The stored summary (JSON), if it was computed at `head`.
    pub current: Option<String>,
}

#[async_trait]
pub trait ScorecardPort: Send + Sync + 'static {
    /// The scorecard as it stood at `as_of`: the log replayed up to the last position
    /// recorded at or before that instant (SPEC §10). Never reads stored results.
    async fn scorecard_as_of(
        &self,
        scope: &EngagementScope,
        period: &kpi_ledger_domain::period::Period,
        member: Option<MemberId>,
        as_of: DateTime<Utc>,
    ) -> Result<AsOfScorecard, PortError>;

    /// A review's locked result for the team (no member) or one member: the log replayed
    /// to the lock's snapshot, with the decisions recorded before that lock applied. With
    /// `version`, that lock version (NOT_FOUND if the review has none such); without, the
    /// newest lock, or for a review never locked its opening snapshot.
    async fn locked_scorecard(
        &self,
        scope: &EngagementScope,
        review_id: uuid::Uuid,
        member: Option<MemberId>,
        version: Option<u32>,
    ) -> Result<AsOfScorecard, PortError>;

    /// For each engagement and period asked for: its portfolio summary for that period as
    /// stored, if it was computed at the engagement's newest event; and that newest event's
    /// position. One statement for all, in the order asked.
    async fn cached_summaries(
        &self,
        wanted: &[(EngagementScope, String)],
    ) -> Result<Vec<CachedSummary>, PortError>;

    /// Stores the portfolio summary for `period` computed at event `position`.
    async fn store_summary(
        &self,
        scope: &EngagementScope,
        period: &str,
        position: i64,
        summary: &str,
    ) -> Result<(), PortError>;
}
