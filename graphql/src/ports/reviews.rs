//! Reviews, their entries and the locks they put on periods.

use super::PortError;
use crate::access::{CommandPermit, EngagementScope};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kpi_ledger_domain::metadata::CommandMetadata;

/// One finding, decision or sign-off of a review.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewEntryView {
    pub position: i64,
    /// finding, decision or sign_off.
    pub kind: String,
    pub detail: serde_json::Value,
    pub actor: String,
    pub recorded_at: DateTime<Utc>,
}

/// A review as the read model holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewView {
    pub id: uuid::Uuid,
    pub period: String,
    /// open or locked.
    pub status: String,
    /// The version of the period's last lock (0 before the first).
    pub version: u32,
    pub snapshot_position: i64,
    pub opened_at: DateTime<Utc>,
    pub entries: Vec<ReviewEntryView>,
    /// Every lock of the review, oldest first.
    pub locks: Vec<LockView>,
}

/// One version of a review's lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockView {
    pub version: u32,
    /// The position this version froze the period's scoring inputs at.
    pub snapshot_position: i64,
    pub locked_at: DateTime<Utc>,
    /// When a reopen decision unlocked this version.
    pub reopened_at: Option<DateTime<Utc>>,
}

/// The periods a review has locked, as of a log position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedPeriods {
    /// Periods as written (`2026-06`).
    pub periods: Vec<String>,
    /// The read model reflects the log up to here.
    pub as_of: i64,
}

#[async_trait]
pub trait ReviewPort: Send + Sync + 'static {
    async fn reviews(&self, scope: &EngagementScope) -> Result<Vec<ReviewView>, PortError>;

    /// The periods locked now (by a review whose lock was not reopened), and the log
    /// position that answer is true at.
    async fn locked_periods(&self, scope: &EngagementScope) -> Result<LockedPeriods, PortError>;

    /// The newest position of the event log.
    async fn head_position(&self) -> Result<i64, PortError>;

    async fn execute_review(
        &self,
        permit: &CommandPermit,
        review_id: uuid::Uuid,
        command: kpi_ledger_domain::review::ReviewCommand,
        metadata: &CommandMetadata,
    ) -> Result<(), PortError>;
}
