//! Reviews (SPEC §8): one engagement and period; opened on a snapshot (the event position
//! the period's scorecards are computed at), then findings and decisions, then sign-off by
//! a consultant and a client owner — two different people — which locks the period.
//! Reopening is a decision; re-locking makes a new version of the period's result on a new
//! snapshot, and earlier versions stay readable (replay at their positions).

use crate::access::EngagementRole;
use crate::error::{DomainError, ErrorKind};
use crate::ids::{EngagementId, KpiId, MemberId, UserId};
use crate::period::Period;
use crate::text::Note;
use chrono::NaiveDate;
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[cfg(test)]
mod tests;

/// The id of the review of one engagement's period: name-based, so the period has one
/// review whoever opens it, and two openings at once meet on one aggregate.
pub fn review_id(engagement_id: EngagementId, period: &Period) -> Uuid {
    const NAMESPACE: Uuid = Uuid::from_u128(0x6b70_695f_7265_7669_6577_5f69_6473_0001);
    Uuid::new_v5(&NAMESPACE, format!("{engagement_id}|{period}").as_bytes())
}

/// Every field of a review event or decision that holds free text (a [`Note`]).
pub const TEXT_FIELDS: [&str; 6] = [
    "reason",
    "note",
    "owner",
    "description",
    "deviation",
    "cause",
];

/// What a review decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Decision {
    /// The period's result stands as computed.
    Accept,
    /// A KPI without data drops out (its weight with it) — for one member, or everyone.
    ExcuseKpi {
        kpi_id: KpiId,
        member_id: Option<MemberId>,
        reason: Note,
    },
    /// One KPI's score is replaced, with a reason.
    OverrideScore {
        kpi_id: KpiId,
        member_id: Option<MemberId>,
        score: Decimal,
        reason: Note,
    },
    /// A platform's data is accepted as complete despite its watermark (payouts may run).
    AcceptDataGap {
        platform: String,
        reason: Note,
    },
    /// A future period's target is to be revised (the revision itself is a target change).
    ReviseFutureTarget {
        kpi_id: KpiId,
        period: Period,
        note: Note,
    },
    ActionItem {
        item_id: Uuid,
        owner: Note,
        due: NaiveDate,
        description: Note,
    },
    ActionItemDone {
        item_id: Uuid,
    },
    /// Unlocks the period so its result can change; re-locking makes a new version.
    Reopen {
        reason: Note,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewCommand {
    Open {
        review_id: Uuid,
        engagement_id: EngagementId,
        period: Period,
        /// The event position the period's scorecards are computed at.
        snapshot_position: i64,
    },
    RecordFinding {
        kpi_id: Option<KpiId>,
        member_id: Option<MemberId>,
        deviation: Note,
        cause: Note,
    },
    RecordDecision {
        decision: Decision,
        /// For a reopen: the position the next version's snapshot is taken at.
        snapshot_position: i64,
    },
    SignOff {
        user_id: UserId,
        role: EngagementRole,
        /// The head of the log now: a re-lock after a reopen freezes the inputs here.
        position: i64,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReviewEvent {
    ReviewOpened {
        review_id: Uuid,
        engagement_id: EngagementId,
        period: Period,
        snapshot_position: i64,
    },
    FindingRecorded {
        kpi_id: Option<KpiId>,
        member_id: Option<MemberId>,
        deviation: Note,
        cause: Note,
    },
    DecisionRecorded {
        decision: Decision,
    },
    SignedOff {
        user_id: UserId,
        role: EngagementRole,
    },
    PeriodLocked {
        version: u32,
        snapshot_position: i64,
    },
    PeriodReopened {
        version: u32,
        snapshot_position: i64,
        reason: Note,
    },
}

impl DomainEvent for ReviewEvent {
    fn event_type(&self) -> String {
        match self {
            ReviewEvent::ReviewOpened { .. } => "ReviewOpened",
            ReviewEvent::FindingRecorded { .. } => "FindingRecorded",
            ReviewEvent::DecisionRecorded { .. } => "DecisionRecorded",
            ReviewEvent::SignedOff { .. } => "SignedOff",
            ReviewEvent::PeriodLocked { .. } => "PeriodLocked",
            ReviewEvent::PeriodReopened { .. } => "PeriodReopened",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        match self {
            // 2.0: free text as notes (`upcast` reads 1.0).
            ReviewEvent::FindingRecorded { .. }
            | ReviewEvent::DecisionRecorded { .. }
            | ReviewEvent::PeriodReopened { .. } => "2.0",
            _ => "1.0",
        }
        .to_string()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReviewError {
    #[error("review not found")]
    NotFound,
    #[error("this period already has a review; record decisions there, or a reopen decision if it is locked")]
    AlreadyOpened,
    #[error("the period is locked; record a reopen decision first")]
    Locked,
    #[error("the period is not locked, so there is nothing to reopen")]
    NotLocked,
    /// A text the decision or finding needs is empty.
    #[error("invalid input: {field}: must not be empty")]
    EmptyField { field: &'static str },
    /// Closing an action item this review has not opened, or has closed already.
    #[error("invalid input: itemId: {0} is not an open action item of this review")]
    NotAnOpenActionItem(Uuid),
    /// An overridden score below 0.
    #[error("invalid input: score: must be 0 or more")]
    NegativeOverride,
    #[error("only a consultant or a client owner signs off a review, not a {0}")]
    RoleCannotSign(EngagementRole),
    #[error("you have already signed off this review")]
    AlreadySigned,
}

impl DomainError for ReviewError {
    fn kind(&self) -> ErrorKind {
        match self {
            ReviewError::NotFound => ErrorKind::NotFound,
            ReviewError::AlreadyOpened | ReviewError::AlreadySigned => ErrorKind::Conflict,
            ReviewError::Locked => ErrorKind::Locked,
            ReviewError::NotLocked => ErrorKind::InvalidTransition,
            ReviewError::EmptyField { .. }
            | ReviewError::NotAnOpenActionItem(_)
            | ReviewError::NegativeOverride
            | ReviewError::RoleCannotSign(_) => ErrorKind::Validation,
        }
    }
}

/// The review aggregate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    opened: bool,
    locked: bool,
    version: u32,
    snapshot_position: i64,
    signatures: Vec<(UserId, EngagementRole)>,
    open_items: Vec<Uuid>,
    /// Reopened since the last lock: the next lock takes a new snapshot.
    #[serde(default)]
    reopened: bool,
}

fn required(field: &'static str, text: &Note) -> Result<Note, ReviewError> {
    if text.is_blank() {
        Err(ReviewError::EmptyField { field })
    } else {
        Ok(text.clone().trimmed())
    }
}

impl Review {
    pub fn is_locked(&self) -> bool {
        self.locked
    }

    fn decide(&self, command: ReviewCommand) -> Result<Vec<ReviewEvent>, ReviewError> {
        if !self.opened && !matches!(command, ReviewCommand::Open { .. }) {
            return Err(ReviewError::NotFound);
        }
        match command {
            ReviewCommand::Open {
                review_id,
                engagement_id,
                period,
                snapshot_position,
            } => {
                if self.opened {
                    return Err(ReviewError::AlreadyOpened);
                }
                Ok(vec![ReviewEvent::ReviewOpened {
                    review_id,
                    engagement_id,
                    period,
                    snapshot_position,
                }])
            }
            ReviewCommand::RecordFinding {
                kpi_id,
                member_id,
                deviation,
                cause,
            } => {
                if self.locked {
                    return Err(ReviewError::Locked);
                }
                Ok(vec![ReviewEvent::FindingRecorded {
                    kpi_id,
                    member_id,
                    deviation: required("deviation", &deviation)?,
                    cause: required("cause", &cause)?,
                }])
            }
            ReviewCommand::RecordDecision {
                decision,
                snapshot_position,
            } => self.decision(decision, snapshot_position),
            ReviewCommand::SignOff {
                user_id,
                role,
                position,
            } => {
                if self.locked {
                    return Err(ReviewError::Locked);
                }
                if !matches!(
                    role,
                    EngagementRole::Consultant | EngagementRole::ClientOwner
                ) {
                    return Err(ReviewError::RoleCannotSign(role));
                }
                if self.signatures.iter().any(|(u, _)| *u == user_id) {
                    return Err(ReviewError::AlreadySigned);
                }
                let mut events = vec![ReviewEvent::SignedOff { user_id, role }];
                let signed =
                    |r: EngagementRole| role == r || self.signatures.iter().any(|(_, sr)| *sr == r);
                // Two different people by construction: one user signs once.
                if signed(EngagementRole::Consultant) && signed(EngagementRole::ClientOwner) {
                    // The first lock freezes the snapshot the review was opened on; a re-lock
                    // after a reopen freezes the log as it is now, corrections included.
                    let snapshot_position = if self.reopened {
                        position
                    } else {
                        self.snapshot_position
                    };
                    events.push(ReviewEvent::PeriodLocked {
                        version: self.version + 1,
                        snapshot_position,
                    });
                }
                Ok(events)
            }
        }
    }

    fn decision(
        &self,
        decision: Decision,
        snapshot_position: i64,
    ) -> Result<Vec<ReviewEvent>, ReviewError> {
        match &decision {
            Decision::Reopen { reason } => {
                if !self.locked {
                    return Err(ReviewError::NotLocked);
                }
                let reason = required("reason", reason)?;
                return Ok(vec![
                    ReviewEvent::DecisionRecorded {
                        decision: Decision::Reopen {
                            reason: reason.clone(),
                        },
                    },
                    ReviewEvent::PeriodReopened {
                        version: self.version,
                        snapshot_position,
                        reason,
                    },
                ]);
            }
            _ if self.locked => return Err(ReviewError::Locked),
            Decision::ExcuseKpi { reason, .. }
            | Decision::OverrideScore { reason, .. }
            | Decision::AcceptDataGap { reason, .. } => {
                required("reason", reason)?;
            }
            Decision::ReviseFutureTarget { note, .. } => {
                required("note", note)?;
            }
            Decision::ActionItem {
                owner, description, ..
            } => {
                required("owner", owner)?;
                required("description", description)?;
            }
            Decision::ActionItemDone { item_id } => {
                if !self.open_items.contains(item_id) {
                    return Err(ReviewError::NotAnOpenActionItem(*item_id));
                }
            }
            Decision::Accept => {}
        }
        if let Decision::OverrideScore { score, .. } = &decision {
            if *score < Decimal::ZERO {
                return Err(ReviewError::NegativeOverride);
            }
        }
        Ok(vec![ReviewEvent::DecisionRecorded { decision }])
    }
}

impl Aggregate for Review {
    const TYPE: &'static str = "review";
    type Command = ReviewCommand;
    type Event = ReviewEvent;
    type Error = ReviewError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            ReviewEvent::ReviewOpened {
                snapshot_position, ..
            } => {
                self.opened = true;
                self.snapshot_position = snapshot_position;
            }
            ReviewEvent::FindingRecorded { .. } => {}
            ReviewEvent::DecisionRecorded { decision } => match decision {
                Decision::ActionItem { item_id, .. } => self.open_items.push(item_id),
                Decision::ActionItemDone { item_id } => self.open_items.retain(|i| *i != item_id),
                _ => {}
            },
            ReviewEvent::SignedOff { user_id, role } => self.signatures.push((user_id, role)),
            ReviewEvent::PeriodLocked {
                version,
                snapshot_position,
            } => {
                self.locked = true;
                self.reopened = false;
                self.version = version;
                self.snapshot_position = snapshot_position;
            }
            ReviewEvent::PeriodReopened {
                snapshot_position, ..
            } => {
                self.locked = false;
                self.reopened = true;
                self.signatures.clear();
                self.snapshot_position = snapshot_position;
            }
        }
    }
}
