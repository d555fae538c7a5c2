use super::{EngagementSettings, EngagementStatus};
use crate::access::EngagementRole;
use crate::ids::{EngagementId, MemberId, UserId};
use crate::metrics::MetricDefinition;
use chrono::NaiveDate;
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

/// What happened to an engagement. Names and versions are stored with every event and
/// never change; a new shape gets a new version and an upcaster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EngagementEvent {
    EngagementOpened {
        engagement_id: EngagementId,
        settings: EngagementSettings,
    },
    MemberAdded {
        member_id: MemberId,
        user_id: UserId,
        role: EngagementRole,
        position: Option<String>,
        active_from: NaiveDate,
    },
    MemberRoleChanged {
        member_id: MemberId,
        from: EngagementRole,
        to: EngagementRole,
    },
    MemberRemoved {
        member_id: MemberId,
        active_until: NaiveDate,
    },
    EngagementStatusChanged {
        from: EngagementStatus,
        to: EngagementStatus,
    },
    MetricDefined {
        metric: MetricDefinition,
    },
    /// The member's name and email were erased: their vault key is destroyed.
    MemberPersonalDataErased {
        member_id: MemberId,
    },
}

impl DomainEvent for EngagementEvent {
    fn event_type(&self) -> String {
        match self {
            EngagementEvent::EngagementOpened { .. } => "EngagementOpened",
            EngagementEvent::MemberAdded { .. } => "MemberAdded",
            EngagementEvent::MemberRoleChanged { .. } => "MemberRoleChanged",
            EngagementEvent::MemberRemoved { .. } => "MemberRemoved",
            EngagementEvent::EngagementStatusChanged { .. } => "EngagementStatusChanged",
            EngagementEvent::MetricDefined { .. } => "MetricDefined",
            EngagementEvent::MemberPersonalDataErased { .. } => "MemberPersonalDataErased",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        "1.0".to_string()
    }
}
