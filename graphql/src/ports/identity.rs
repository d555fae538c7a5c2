//! Identity and accounts: who a user is and which engagements they belong to.

use super::PortError;
use async_trait::async_trait;
use chrono::NaiveDate;
use kpi_ledger_domain::access::EngagementRole;
use kpi_ledger_domain::ids::{EngagementId, MemberId, UserId};
use kpi_ledger_domain::user::Grants;

/// One engagement a user belongs to, with what the access check needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipView {
    pub engagement_id: EngagementId,
    pub member_id: MemberId,
    pub role: EngagementRole,
    pub time_zone: String,
    pub active_until: Option<NaiveDate>,
    pub opened_position: i64,
}

/// A login account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountView {
    pub user_id: UserId,
    pub email: String,
    pub display_name: String,
    pub grants: Grants,
}

#[async_trait]
pub trait IdentityPort: Send + Sync + 'static {
    /// The login account of a user, if it exists.
    async fn account(&self, user_id: UserId) -> Result<Option<AccountView>, PortError>;

    /// Every engagement the user holds (or held) a membership of. Used only by the access
    /// checks, which decide which memberships still count.
    async fn memberships(&self, user_id: UserId) -> Result<Vec<MembershipView>, PortError>;
}
