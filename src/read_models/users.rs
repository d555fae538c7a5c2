//! `users`: installation grants of every registered user (the personal part of an account
//! lives in `user_accounts`, outside the event log; `crate::accounts` joins the two).

use super::{decode, timestamp, ReadModel};
use crate::store::events::StoredEvent;
use crate::store::params::Statement;
use crate::store::StoreError;
use cqrs_es::Aggregate;
use kpi_ledger_domain::user::{User, UserEvent};

pub const READ_MODEL: ReadModel = ReadModel {
    name: "users",
    tables: &["users"],
    project,
};

fn project(event: &StoredEvent) -> Result<Vec<Statement>, StoreError> {
    if event.aggregate_type != User::TYPE {
        return Ok(Vec::new());
    }
    let flag = |b: bool| i64::from(b);
    Ok(match decode::<UserEvent>(event)? {
        UserEvent::UserRegistered { user_id, grants } => vec![Statement::new(
            "INSERT INTO users (user_id, consultant, admin, registered_at) VALUES ($1, $2, $3, $4)",
            vec![
                user_id.to_string().into(),
                flag(grants.consultant).into(),
                flag(grants.admin).into(),
                timestamp(event).into(),
            ],
        )],
        UserEvent::UserGrantsChanged { to, .. } => vec![Statement::new(
            "UPDATE users SET consultant = $1, admin = $2 WHERE user_id = $3",
            vec![
                flag(to.consultant).into(),
                flag(to.admin).into(),
                event.aggregate_id.clone().into(),
            ],
        )],
    })
}
