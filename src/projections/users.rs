use super::{decode, timestamp};
use crate::store::events::StoredEvent;
use crate::store::params::Statement;
use crate::store::StoreError;
use kpi_ledger_domain::user::UserEvent;

pub fn statements(event: &StoredEvent) -> Result<Vec<Statement>, StoreError> {
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
