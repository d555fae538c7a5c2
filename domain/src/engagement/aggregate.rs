use super::{
    validate_position, EngagementCommand, EngagementError, EngagementEvent, EngagementSettings,
    EngagementStatus, NewMember,
};
use crate::access::EngagementRole;
use crate::ids::{EngagementId, MemberId, UserId};
use crate::metrics::{builtin_catalogue, validate_custom_metric, MetricDefinition};
use chrono::NaiveDate;
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the engagement remembers of one membership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberState {
    pub user_id: UserId,
    pub role: EngagementRole,
    pub position: Option<String>,
    pub active_from: NaiveDate,
    pub active_until: Option<NaiveDate>,
    /// Their name and email were erased.
    #[serde(default)]
    pub erased: bool,
}

impl MemberState {
    fn is_current(&self) -> bool {
        self.active_until.is_none()
    }
}

/// The engagement aggregate. `Default` is the state before `EngagementOpened`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Engagement {
    id: Option<EngagementId>,
    settings: Option<EngagementSettings>,
    status: EngagementStatus,
    members: BTreeMap<MemberId, MemberState>,
    #[serde(default)]
    custom_metrics: Vec<MetricDefinition>,
}

impl Engagement {
    pub fn id(&self) -> Option<EngagementId> {
        self.id
    }

    pub fn status(&self) -> EngagementStatus {
        self.status
    }

    pub fn settings(&self) -> Option<&EngagementSettings> {
        self.settings.as_ref()
    }

    pub fn members(&self) -> &BTreeMap<MemberId, MemberState> {
        &self.members
    }

    /// The built-in catalogue plus this engagement's custom metrics.
    pub fn catalogue(&self) -> Vec<MetricDefinition> {
        let mut all = builtin_catalogue();
        all.extend(self.custom_metrics.iter().cloned());
        all
    }

    /// Refuses every change to an engagement that does not exist or is closed.
    fn ensure_open(&self) -> Result<(), EngagementError> {
        if self.id.is_none() {
            return Err(EngagementError::NotFound);
        }
        if self.status == EngagementStatus::Closed {
            return Err(EngagementError::Closed);
        }
        Ok(())
    }

    fn current_member(&self, member_id: MemberId) -> Result<&MemberState, EngagementError> {
        self.members
            .get(&member_id)
            .filter(|m| m.is_current())
            .ok_or(EngagementError::MemberNotFound(member_id))
    }

    fn current_consultants(&self) -> usize {
        self.members
            .values()
            .filter(|m| m.is_current() && m.role == EngagementRole::Consultant)
            .count()
    }

    fn member_added(&self, member: NewMember) -> Result<EngagementEvent, EngagementError> {
        if let Some(existing) = self
            .members
            .values()
            .find(|m| m.is_current() && m.user_id == member.user_id)
        {
            return Err(EngagementError::AlreadyMember(existing.role));
        }
        if self.members.contains_key(&member.member_id) {
            return Err(EngagementError::MemberIdInUse(member.member_id));
        }
        let position = member
            .position
            .as_deref()
            .map(validate_position)
            .transpose()?;
        Ok(EngagementEvent::MemberAdded {
            member_id: member.member_id,
            user_id: member.user_id,
            role: member.role,
            position,
            active_from: member.active_from,
        })
    }

    fn decide(&self, command: EngagementCommand) -> Result<Vec<EngagementEvent>, EngagementError> {
        match command {
            EngagementCommand::Open {
                engagement_id,
                settings,
                founder,
            } => {
                if self.id.is_some() {
                    return Err(EngagementError::AlreadyOpened);
                }
                let settings = settings.validated()?;
                let founder = NewMember {
                    role: EngagementRole::Consultant,
                    ..founder
                };
                Ok(vec![
                    EngagementEvent::EngagementOpened {
                        engagement_id,
                        settings,
                    },
                    self.member_added(founder)?,
                ])
            }
            EngagementCommand::AddMember(member) => {
                self.ensure_open()?;
                Ok(vec![self.member_added(member)?])
            }
            EngagementCommand::ChangeMemberRole { member_id, role } => {
                self.ensure_open()?;
                let member = self.current_member(member_id)?;
                if member.role == role {
                    return Err(EngagementError::SameRole(role));
                }
                if member.role == EngagementRole::Consultant && self.current_consultants() == 1 {
                    return Err(EngagementError::LastConsultant);
                }
                Ok(vec![EngagementEvent::MemberRoleChanged {
                    member_id,
                    from: member.role,
                    to: role,
                }])
            }
            EngagementCommand::RemoveMember {
                member_id,
                active_until,
            } => {
                self.ensure_open()?;
                let member = self.current_member(member_id)?;
                if active_until < member.active_from {
                    return Err(EngagementError::ActiveUntilBeforeActiveFrom {
                        from: member.active_from,
                        until: active_until,
                    });
                }
                if member.role == EngagementRole::Consultant && self.current_consultants() == 1 {
                    return Err(EngagementError::LastConsultant);
                }
                Ok(vec![EngagementEvent::MemberRemoved {
                    member_id,
                    active_until,
                }])
            }
            EngagementCommand::ChangeStatus { to } => {
                self.ensure_open()?;
                if !self.status.can_move_to(to) {
                    let allowed = self
                        .status
                        .next_allowed()
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(" or ");
                    return Err(EngagementError::InvalidTransition {
                        from: self.status,
                        to,
                        allowed,
                    });
                }
                Ok(vec![EngagementEvent::EngagementStatusChanged {
                    from: self.status,
                    to,
                }])
            }
            EngagementCommand::ErasePersonalData { member_id } => {
                if self.id.is_none() {
                    return Err(EngagementError::NotFound);
                }
                let member = self
                    .members
                    .get(&member_id)
                    .ok_or(EngagementError::MemberNotFound(member_id))?;
                if member.erased {
                    return Err(EngagementError::AlreadyErased(member_id));
                }
                Ok(vec![EngagementEvent::MemberPersonalDataErased {
                    member_id,
                }])
            }
            EngagementCommand::DefineMetric { metric } => {
                self.ensure_open()?;
                validate_custom_metric(&metric, &self.catalogue())
                    .map_err(EngagementError::CustomMetric)?;
                Ok(vec![EngagementEvent::MetricDefined { metric }])
            }
        }
    }
}

impl Aggregate for Engagement {
    const TYPE: &'static str = "engagement";
    type Command = EngagementCommand;
    type Event = EngagementEvent;
    type Error = EngagementError;
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
            EngagementEvent::EngagementOpened {
                engagement_id,
                settings,
            } => {
                self.id = Some(engagement_id);
                self.settings = Some(settings);
                self.status = EngagementStatus::Diagnosing;
            }
            EngagementEvent::MemberAdded {
                member_id,
                user_id,
                role,
                position,
                active_from,
            } => {
                self.members.insert(
                    member_id,
                    MemberState {
                        user_id,
                        role,
                        position,
                        active_from,
                        active_until: None,
                        erased: false,
                    },
                );
            }
            EngagementEvent::MemberRoleChanged { member_id, to, .. } => {
                if let Some(member) = self.members.get_mut(&member_id) {
                    member.role = to;
                }
            }
            EngagementEvent::MemberRemoved {
                member_id,
                active_until,
            } => {
                if let Some(member) = self.members.get_mut(&member_id) {
                    member.active_until = Some(active_until);
                }
            }
            EngagementEvent::EngagementStatusChanged { to, .. } => self.status = to,
            EngagementEvent::MetricDefined { metric } => self.custom_metrics.push(metric),
            EngagementEvent::MemberPersonalDataErased { member_id } => {
                if let Some(member) = self.members.get_mut(&member_id) {
                    member.erased = true;
                }
            }
        }
    }
}
