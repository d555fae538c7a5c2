use super::{EngagementSettings, EngagementStatus};
use crate::access::EngagementRole;
use crate::ids::{EngagementId, MemberId, UserId};
use crate::metrics::MetricDefinition;
use chrono::NaiveDate;

/// A person joining an engagement. Their name and email are stored elsewhere, encrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMember {
    pub member_id: MemberId,
    pub user_id: UserId,
    pub role: EngagementRole,
    /// A position key such as `advertising`; scored members usually have one.
    pub position: Option<String>,
    pub active_from: NaiveDate,
}

/// What can be asked of an engagement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngagementCommand {
    /// Open a new engagement; `founder` becomes its first consultant.
    Open {
        engagement_id: EngagementId,
        settings: EngagementSettings,
        founder: NewMember,
    },
    AddMember(NewMember),
    ChangeMemberRole {
        member_id: MemberId,
        role: EngagementRole,
    },
    /// End a membership. The member stays in the history with both dates, since bonus
    /// proration depends on them.
    RemoveMember {
        member_id: MemberId,
        active_until: NaiveDate,
    },
    ChangeStatus {
        to: EngagementStatus,
    },
    /// Add a custom metric to this engagement's catalogue.
    DefineMetric {
        metric: MetricDefinition,
    },
    /// Erase a member's personal data (APPI): their key in the vault is destroyed, so name
    /// and email read as erased; ids, roles, dates, scores and payouts stay. Allowed on a
    /// closed engagement, and for former members.
    ErasePersonalData {
        member_id: MemberId,
    },
}
