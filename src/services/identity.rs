//! Login accounts and memberships: who a user is, and where they belong.

use crate::accounts::Accounts;
use crate::read_models::engagements;
use crate::store::Db;
use async_trait::async_trait;
use kpi_ledger_domain::ids::UserId;
use kpi_ledger_graphql::ports::{AccountView, IdentityPort, MembershipView, PortError};

pub struct IdentityService {
    db: Db,
    accounts: Accounts,
}

impl IdentityService {
    pub fn new(db: Db, accounts: Accounts) -> Self {
        Self { db, accounts }
    }
}

#[async_trait]
impl IdentityPort for IdentityService {
    async fn account(&self, user_id: UserId) -> Result<Option<AccountView>, PortError> {
        Ok(self.accounts.by_id(user_id).await?.map(|a| AccountView {
            user_id: a.user_id,
            email: a.email,
            display_name: a.display_name,
            grants: a.grants,
        }))
    }

    async fn memberships(&self, user_id: UserId) -> Result<Vec<MembershipView>, PortError> {
        Ok(engagements::memberships(&self.db, user_id).await?)
    }
}
