//! Who may do what inside one engagement (SPEC §1). The API asks these functions and
//! nothing else, so the rules live in one table.

use crate::ids::MemberId;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The one role a person holds in an engagement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EngagementRole {
    Consultant,
    ClientOwner,
    ClientViewer,
    Member,
}

impl EngagementRole {
    pub const ALL: [EngagementRole; 4] = [
        EngagementRole::Consultant,
        EngagementRole::ClientOwner,
        EngagementRole::ClientViewer,
        EngagementRole::Member,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EngagementRole::Consultant => "consultant",
            EngagementRole::ClientOwner => "client_owner",
            EngagementRole::ClientViewer => "client_viewer",
            EngagementRole::Member => "member",
        }
    }

    /// Whether a holder of this role may do `capability`.
    pub fn allows(self, capability: Capability) -> bool {
        use Capability::*;
        use EngagementRole::*;
        match capability {
            ReadEngagement => true,
            ManageEngagement | ManageMembers | ManageKpis | RecordObservations | RunReviews
            | ManagePlans | CalculatePayouts => self == Consultant,
            SignOffReviews | MarkPayoutsPaid => matches!(self, Consultant | ClientOwner),
            ApprovePlans | ApprovePayouts | ErasePersonalData => self == ClientOwner,
            ReadTeamScorecards => true,
            ReadMemberDirectory | ReadAuditLog => self != Member,
            ReadPersonalData | ReadAllPersonalScorecards => {
                matches!(self, Consultant | ClientOwner)
            }
        }
    }

    /// How much of other members' identities this role sees.
    pub fn member_visibility(self) -> MemberVisibility {
        match self {
            EngagementRole::Consultant | EngagementRole::ClientOwner => MemberVisibility::Full,
            EngagementRole::ClientViewer => MemberVisibility::Pseudonymous,
            EngagementRole::Member => MemberVisibility::SelfOnly,
        }
    }
}

impl fmt::Display for EngagementRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text is not one of the four roles.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role `{0}`; expected consultant, client_owner, client_viewer or member")]
pub struct UnknownRole(pub String);

impl FromStr for EngagementRole {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EngagementRole::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_string()))
    }
}

/// Something a caller may want to do within one engagement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Capability {
    /// See that the engagement exists, its name, status and settings.
    ReadEngagement,
    /// Change the engagement's status.
    ManageEngagement,
    /// Add members, change their roles, remove them.
    ManageMembers,
    /// List the other members (with names, or pseudonymised, per [`MemberVisibility`]).
    ReadMemberDirectory,
    /// Read members' names, emails, personal scorecards and payouts.
    ReadPersonalData,
    /// Read the engagement's audit log.
    ReadAuditLog,
    /// Define custom metrics and KPIs, change weights, retire KPIs, set targets.
    ManageKpis,
    /// Record and correct observations.
    RecordObservations,
    /// Read the team scorecards.
    ReadTeamScorecards,
    /// Read every member's personal scorecard and payout (members read only their own).
    ReadAllPersonalScorecards,
    /// Open reviews, record findings and decisions.
    RunReviews,
    /// Sign off a review (a consultant and a client owner lock the period).
    SignOffReviews,
    /// Draft and revise incentive plans.
    ManagePlans,
    /// Approve incentive plans.
    ApprovePlans,
    /// Calculate payouts and record adjustments.
    CalculatePayouts,
    /// Approve payouts.
    ApprovePayouts,
    /// Mark approved payouts paid.
    MarkPayoutsPaid,
    /// Erase a member's name and email (APPI, SPEC §11): the client owner, also on a
    /// closed engagement.
    ErasePersonalData,
}

/// What a role sees of the other members of an engagement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberVisibility {
    /// Names and emails.
    Full,
    /// Positions and pseudonyms, never names or emails.
    Pseudonymous,
    /// Only their own entry.
    SelfOnly,
}

impl MemberVisibility {
    /// Whether a caller with this visibility, who is `viewer`, sees `member`'s name (a
    /// pseudonym otherwise): everyone sees their own; only full visibility sees others'.
    pub fn shows_name_of(self, viewer: MemberId, member: MemberId) -> bool {
        self == MemberVisibility::Full || viewer == member
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Capability::*;
    use EngagementRole::*;

    #[test]
    fn only_consultants_change_an_engagement() {
        for role in EngagementRole::ALL {
            assert_eq!(role.allows(ManageMembers), role == Consultant, "{role}");
            assert_eq!(role.allows(ManageEngagement), role == Consultant, "{role}");
        }
    }

    #[test]
    fn client_viewers_see_no_personal_data_and_members_see_no_directory() {
        assert!(!ClientViewer.allows(ReadPersonalData));
        assert!(ClientOwner.allows(ReadPersonalData));
        assert!(!Member.allows(ReadMemberDirectory));
        assert!(!Member.allows(ReadAuditLog));
        assert!(ClientViewer.allows(ReadAuditLog));
        assert_eq!(
            ClientViewer.member_visibility(),
            MemberVisibility::Pseudonymous
        );
    }

    #[test]
    fn roles_round_trip_through_text() {
        for role in EngagementRole::ALL {
            assert_eq!(role.as_str().parse::<EngagementRole>(), Ok(role));
        }
        assert!("owner".parse::<EngagementRole>().is_err());
    }
}
