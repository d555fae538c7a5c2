//! Incentive plans (SPEC §9): drafted by a consultant, approved by a client owner before
//! use. A change after approval is a new version that needs approval again.

use crate::error::{DomainError, ErrorKind};
use crate::ids::{EngagementId, MemberId, UserId};
use crate::payout::PayoutCurve;
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[cfg(test)]
mod tests;

/// The period a plan pays for: a monthly plan pays a monthly bonus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanPeriod {
    Month,
    Quarter,
    FiscalQuarter,
    FiscalYear,
}

impl PlanPeriod {
    /// Whether a period is of this kind.
    pub fn matches(self, period: &crate::period::Period) -> bool {
        use crate::period::Period;
        matches!(
            (self, period),
            (PlanPeriod::Month, Period::Month { .. })
                | (PlanPeriod::Quarter, Period::Quarter { .. })
                | (PlanPeriod::FiscalQuarter, Period::FiscalQuarter { .. })
                | (PlanPeriod::FiscalYear, Period::FiscalYear { .. })
        )
    }
}

/// One participant: their target bonus per plan period, in the reporting currency's
/// whole units, and an optional cap on one payout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    pub member_id: MemberId,
    pub target_bonus: Decimal,
    pub cap: Option<Decimal>,
}

/// Everything a plan says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanTerms {
    pub name: String,
    pub period: PlanPeriod,
    pub participants: Vec<Participant>,
    pub curve: PayoutCurve,
    /// Share of the team scorecard in each member's score (0 to 1).
    pub team_weight: Decimal,
}

impl PlanTerms {
    pub fn check(&self) -> Result<(), PlanError> {
        if self.name.trim().is_empty() {
            return Err(PlanError::EmptyName);
        }
        if self.participants.is_empty() {
            return Err(PlanError::NoParticipants);
        }
        let whole = |amount: Decimal| amount >= Decimal::ZERO && amount.fract().is_zero();
        let mut seen = std::collections::BTreeSet::new();
        for p in &self.participants {
            if !seen.insert(p.member_id) {
                return Err(PlanError::ParticipantListedTwice(p.member_id));
            }
            if !whole(p.target_bonus) {
                return Err(PlanError::TargetBonusNotAWholeAmount(p.target_bonus));
            }
            if let Some(cap) = p.cap.filter(|c| !whole(*c)) {
                return Err(PlanError::CapNotAWholeAmount(cap));
            }
        }
        if self.team_weight < Decimal::ZERO || self.team_weight > Decimal::ONE {
            return Err(PlanError::TeamWeightOutOfRange(self.team_weight));
        }
        self.curve.check().map_err(PlanError::PayoutCurve)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanCommand {
    Draft {
        plan_id: Uuid,
        engagement_id: EngagementId,
        terms: PlanTerms,
    },
    /// New terms: a new version (the approval, if any, does not carry over).
    Revise {
        terms: PlanTerms,
    },
    Approve {
        version: u32,
        by: UserId,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlanEvent {
    PlanDrafted {
        plan_id: Uuid,
        engagement_id: EngagementId,
        version: u32,
        terms: PlanTerms,
    },
    PlanRevised {
        version: u32,
        terms: PlanTerms,
    },
    PlanApproved {
        version: u32,
        by: UserId,
    },
}

impl DomainEvent for PlanEvent {
    fn event_type(&self) -> String {
        match self {
            PlanEvent::PlanDrafted { .. } => "PlanDrafted",
            PlanEvent::PlanRevised { .. } => "PlanRevised",
            PlanEvent::PlanApproved { .. } => "PlanApproved",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        "1.0".to_string()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("incentive plan not found")]
    NotFound,
    #[error("a plan with this id already exists")]
    AlreadyDrafted,
    #[error("invalid plan: name: must not be empty")]
    EmptyName,
    #[error("invalid plan: participants: a plan needs at least one participant")]
    NoParticipants,
    #[error("invalid plan: participants: member {0} is listed twice")]
    ParticipantListedTwice(MemberId),
    /// A target bonus must be a whole amount of 0 or more.
    #[error("invalid plan: participants: target bonus {0} must be a whole amount of 0 or more")]
    TargetBonusNotAWholeAmount(Decimal),
    /// A cap must be a whole amount of 0 or more.
    #[error("invalid plan: participants: a cap must be a whole amount of 0 or more")]
    CapNotAWholeAmount(Decimal),
    #[error("invalid plan: teamWeight {0} must be between 0 and 1")]
    TeamWeightOutOfRange(Decimal),
    /// The payout curve breaks its rules; the reason is [`PayoutCurve::check`]'s.
    #[error("invalid plan: {0}")]
    PayoutCurve(String),
    #[error("version {asked} is not the plan's current version {current}")]
    StaleVersion { asked: u32, current: u32 },
    #[error("version {0} is already approved")]
    AlreadyApproved(u32),
}

impl DomainError for PlanError {
    fn kind(&self) -> ErrorKind {
        match self {
            PlanError::NotFound => ErrorKind::NotFound,
            PlanError::AlreadyDrafted | PlanError::StaleVersion { .. } => ErrorKind::Conflict,
            PlanError::AlreadyApproved(_) => ErrorKind::InvalidTransition,
            PlanError::EmptyName
            | PlanError::NoParticipants
            | PlanError::ParticipantListedTwice(_)
            | PlanError::TargetBonusNotAWholeAmount(_)
            | PlanError::CapNotAWholeAmount(_)
            | PlanError::TeamWeightOutOfRange(_)
            | PlanError::PayoutCurve(_) => ErrorKind::Validation,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    drafted: bool,
    version: u32,
    approved: bool,
}

impl Plan {
    fn decide(&self, command: PlanCommand) -> Result<PlanEvent, PlanError> {
        match command {
            PlanCommand::Draft {
                plan_id,
                engagement_id,
                terms,
            } => {
                if self.drafted {
                    return Err(PlanError::AlreadyDrafted);
                }
                terms.check()?;
                Ok(PlanEvent::PlanDrafted {
                    plan_id,
                    engagement_id,
                    version: 1,
                    terms,
                })
            }
            PlanCommand::Revise { terms } => {
                if !self.drafted {
                    return Err(PlanError::NotFound);
                }
                terms.check()?;
                Ok(PlanEvent::PlanRevised {
                    version: self.version + 1,
                    terms,
                })
            }
            PlanCommand::Approve { version, by } => {
                if !self.drafted {
                    return Err(PlanError::NotFound);
                }
                if version != self.version {
                    return Err(PlanError::StaleVersion {
                        asked: version,
                        current: self.version,
                    });
                }
                if self.approved {
                    return Err(PlanError::AlreadyApproved(version));
                }
                Ok(PlanEvent::PlanApproved { version, by })
            }
        }
    }
}

impl Aggregate for Plan {
    const TYPE: &'static str = "plan";
    type Command = PlanCommand;
    type Event = PlanEvent;
    type Error = PlanError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let event = self.decide(command)?;
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            PlanEvent::PlanDrafted { version, .. } | PlanEvent::PlanRevised { version, .. } => {
                self.drafted = true;
                self.version = version;
                self.approved = false;
            }
            PlanEvent::PlanApproved { .. } => self.approved = true,
        }
    }
}
