use super::{EngagementStatus, MalformedPosition, PLATFORM_CATALOGUE};
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
    /// A name the settings need is empty.
    #[error("invalid input: {field}: must not be empty")]
    EmptyField { field: &'static str },
    #[error("invalid input: {field}: at most {max} characters")]
    TooLong { field: &'static str, max: usize },
    /// The market (upper-cased) is not a two-letter ISO 3166 code.
    #[error("invalid input: market: `{0}` is not a two-letter ISO 3166 code")]
    NotAMarketCode(String),
    /// The currency (upper-cased) is not a three-letter ISO 4217 code.
    #[error("invalid input: currency: `{0}` is not a three-letter ISO 4217 code")]
    NotACurrencyCode(String),
    #[error("invalid input: timeZone: `{0}` is not an IANA time zone such as Asia/Tokyo")]
    UnknownTimeZone(String),
    #[error("invalid input: fiscalYearStartMonth: {0} is not a month (1-12)")]
    NotAMonth(u32),
    #[error(
        "invalid input: platforms: `{0}` is not in the catalogue ({catalogue})",
        catalogue = PLATFORM_CATALOGUE.join(", ")
    )]
    UnknownPlatform(String),
    #[error("invalid input: {0}")]
    MalformedPosition(#[from] MalformedPosition),
    /// A new membership reuses the id of an earlier one.
    #[error("invalid input: memberId: {0} is already used in this engagement")]
    MemberIdInUse(MemberId),
    /// A custom metric breaks the catalogue's rules; the reason is
    /// [`crate::metrics::validate_custom_metric`]'s.
    #[error("invalid input: {0}")]
    CustomMetric(String),
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
    #[error("the personal data of member {0} is already erased")]
    AlreadyErased(MemberId),
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
            EngagementError::AlreadyOpened
            | EngagementError::AlreadyMember(_)
            | EngagementError::AlreadyErased(_) => ErrorKind::Conflict,
            EngagementError::Closed => ErrorKind::Locked,
            EngagementError::InvalidTransition { .. } => ErrorKind::InvalidTransition,
            EngagementError::EmptyField { .. }
            | EngagementError::TooLong { .. }
            | EngagementError::NotAMarketCode(_)
            | EngagementError::NotACurrencyCode(_)
            | EngagementError::UnknownTimeZone(_)
            | EngagementError::NotAMonth(_)
            | EngagementError::UnknownPlatform(_)
            | EngagementError::MalformedPosition(_)
            | EngagementError::MemberIdInUse(_)
            | EngagementError::CustomMetric(_)
            | EngagementError::SameRole(_)
            | EngagementError::ActiveUntilBeforeActiveFrom { .. }
            | EngagementError::LastConsultant => ErrorKind::Validation,
        }
    }
}
