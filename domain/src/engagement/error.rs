use super::EngagementStatus;
use crate::access::EngagementRole;
use crate::error::{DomainError, ErrorKind};
use crate::ids::MemberId;
use chrono::NaiveDate;

/// Why an engagement refused a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngagementError {
    #[error("engagement not found")]
    NotFound,
    #[error("an engagement with this id already exists")]
    AlreadyOpened,
    #[error("the engagement is closed; it accepts no changes")]
    Closed,
    #[error("invalid input: {0}")]
    Invalid(String),
    #[error(
        "cannot move the engagement from {from} to {to}; from {from} it may move to {allowed}"
    )]
    InvalidTransition {
        from: EngagementStatus,
        to: EngagementStatus,
        allowed: String,
    },
    #[error("this person is already a member of the engagement, as {0}")]
    AlreadyMember(EngagementRole),
    #[error("member {0} not found in this engagement")]
    MemberNotFound(MemberId),
    #[error("the member already has the role {0}")]
    SameRole(EngagementRole),
    #[error("active-until {until} is before the member's active-from {from}")]
    ActiveUntilBeforeActiveFrom { from: NaiveDate, until: NaiveDate },
    #[error("the engagement must keep at least one consultant")]
    LastConsultant,
}

impl DomainError for EngagementError {
    fn kind(&self) -> ErrorKind {
        match self {
            EngagementError::NotFound | EngagementError::MemberNotFound(_) => ErrorKind::NotFound,
            EngagementError::AlreadyOpened | EngagementError::AlreadyMember(_) => {
                ErrorKind::Conflict
            }
            EngagementError::Closed => ErrorKind::Locked,
            EngagementError::InvalidTransition { .. } => ErrorKind::InvalidTransition,
            EngagementError::Invalid(_)
            | EngagementError::SameRole(_)
            | EngagementError::ActiveUntilBeforeActiveFrom { .. }
            | EngagementError::LastConsultant => ErrorKind::Validation,
        }
    }
}
