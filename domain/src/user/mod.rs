//! Login accounts of the installation and their installation-level grants (SPEC §1:
//! `consultant` may open engagements, `admin` manages users and tokens). The email and
//! display name of an account live in the account directory, never in these events.

use crate::error::{DomainError, ErrorKind};
use crate::ids::UserId;
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

/// Installation-level grants.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grants {
    pub consultant: bool,
    pub admin: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserCommand {
    Register { user_id: UserId, grants: Grants },
    ChangeGrants { grants: Grants },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum UserEvent {
    UserRegistered { user_id: UserId, grants: Grants },
    UserGrantsChanged { from: Grants, to: Grants },
}

impl DomainEvent for UserEvent {
    fn event_type(&self) -> String {
        match self {
            UserEvent::UserRegistered { .. } => "UserRegistered",
            UserEvent::UserGrantsChanged { .. } => "UserGrantsChanged",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        "1.0".to_string()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    #[error("user not found")]
    NotFound,
    #[error("this user is already registered")]
    AlreadyRegistered,
    #[error("the user already has exactly these grants")]
    Unchanged,
}

impl DomainError for UserError {
    fn kind(&self) -> ErrorKind {
        match self {
            UserError::NotFound => ErrorKind::NotFound,
            UserError::AlreadyRegistered => ErrorKind::Conflict,
            UserError::Unchanged => ErrorKind::Validation,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    id: Option<UserId>,
    grants: Grants,
}

impl User {
    fn decide(&self, command: UserCommand) -> Result<UserEvent, UserError> {
        match command {
            UserCommand::Register { user_id, grants } => match self.id {
                Some(_) => Err(UserError::AlreadyRegistered),
                None => Ok(UserEvent::UserRegistered { user_id, grants }),
            },
            UserCommand::ChangeGrants { grants } => {
                if self.id.is_none() {
                    return Err(UserError::NotFound);
                }
                if grants == self.grants {
                    return Err(UserError::Unchanged);
                }
                Ok(UserEvent::UserGrantsChanged {
                    from: self.grants,
                    to: grants,
                })
            }
        }
    }
}

impl Aggregate for User {
    const TYPE: &'static str = "user";
    type Command = UserCommand;
    type Event = UserEvent;
    type Error = UserError;
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
            UserEvent::UserRegistered { user_id, grants } => {
                self.id = Some(user_id);
                self.grants = grants;
            }
            UserEvent::UserGrantsChanged { to, .. } => self.grants = to,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cqrs_es::test::TestFramework;
    use uuid::Uuid;

    const CONSULTANT: Grants = Grants {
        consultant: true,
        admin: false,
    };

    fn registered() -> UserEvent {
        UserEvent::UserRegistered {
            user_id: UserId(Uuid::from_u128(7)),
            grants: CONSULTANT,
        }
    }

    #[test]
    fn registering_records_the_grants() {
        TestFramework::<User>::with(())
            .given_no_previous_events()
            .when(UserCommand::Register {
                user_id: UserId(Uuid::from_u128(7)),
                grants: CONSULTANT,
            })
            .then_expect_events(vec![registered()]);
    }

    #[test]
    fn registering_twice_is_a_conflict() {
        TestFramework::<User>::with(())
            .given(vec![registered()])
            .when(UserCommand::Register {
                user_id: UserId(Uuid::from_u128(7)),
                grants: Grants::default(),
            })
            .then_expect_error(UserError::AlreadyRegistered);
    }

    #[test]
    fn changing_grants_records_before_and_after() {
        let admin = Grants {
            consultant: true,
            admin: true,
        };
        TestFramework::<User>::with(())
            .given(vec![registered()])
            .when(UserCommand::ChangeGrants { grants: admin })
            .then_expect_events(vec![UserEvent::UserGrantsChanged {
                from: CONSULTANT,
                to: admin,
            }]);
    }

    #[test]
    fn changing_grants_to_the_same_is_refused() {
        TestFramework::<User>::with(())
            .given(vec![registered()])
            .when(UserCommand::ChangeGrants { grants: CONSULTANT })
            .then_expect_error(UserError::Unchanged);
    }
}
