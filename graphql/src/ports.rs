//! What the schema needs from the rest of the system. The server implements these traits
//! over its database; the schema never names a store or writes SQL.
//!
//! Every method that reads or changes one engagement takes an [`EngagementScope`] or a
//! [`CommandPermit`]. Those can only be made by the access checks in [`crate::access`],
//! so a resolver cannot reach engagement data without having passed them.

use crate::access::{CommandPermit, EngagementScope};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use kpi_ledger_domain::access::EngagementRole;
use kpi_ledger_domain::engagement::{EngagementCommand, EngagementStatus};
use kpi_ledger_domain::ids::{EngagementId, MemberId, UserId};
use kpi_ledger_domain::metadata::CommandMetadata;
use kpi_ledger_domain::user::Grants;
use kpi_ledger_domain::ErrorKind;
use std::collections::HashMap;

/// An engagement as the read model holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngagementView {
    pub id: EngagementId,
    pub name: String,
    pub client_name: String,
    pub market: String,
    pub time_zone: String,
    pub fiscal_year_start_month: u32,
    pub currency: String,
    pub platforms: Vec<String>,
    pub status: EngagementStatus,
    pub opened_at: DateTime<Utc>,
    /// Global event position of the opening; orders engagements stably.
    pub opened_position: i64,
}

/// One membership of an engagement as the read model holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberView {
    pub member_id: MemberId,
    pub user_id: UserId,
    pub role: EngagementRole,
    pub position: Option<String>,
    pub active_from: NaiveDate,
    pub active_until: Option<NaiveDate>,
}

/// One engagement a user belongs to, with what the access check needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipView {
    pub engagement_id: EngagementId,
    pub member_id: MemberId,
    pub role: EngagementRole,
    pub time_zone: String,
    pub active_until: Option<NaiveDate>,
    pub opened_position: i64,
}

/// A member's personal fields (SPEC §11): stored encrypted, never in events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonalFields {
    pub display_name: String,
    pub email: String,
}

/// A member's personal fields, or the fact that they were erased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PersonalData {
    Present(PersonalFields),
    Erased,
}

/// A login account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountView {
    pub user_id: UserId,
    pub email: String,
    pub display_name: String,
    pub grants: Grants,
}

/// The account an email belongs to, and whether this call created it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnsuredAccount {
    pub user_id: UserId,
    pub created: bool,
}

/// Why a port call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PortError {
    /// The domain refused the command.
    #[error("{message}")]
    Domain { kind: ErrorKind, message: String },
    /// Another change to the same thing won a race and retries did not help.
    #[error("{0}")]
    Conflict(String),
    /// Something went wrong that the caller cannot fix (database down, corrupt data).
    #[error("{0}")]
    Internal(String),
}

#[async_trait]
pub trait Ports: Send + Sync + 'static {
    /// The login account of a user, if it exists.
    async fn account(&self, user_id: UserId) -> Result<Option<AccountView>, PortError>;

    /// Every engagement the user holds (or held) a membership of. Used only by the access
    /// checks, which decide which memberships still count.
    async fn memberships(&self, user_id: UserId) -> Result<Vec<MembershipView>, PortError>;

    async fn engagement(&self, scope: &EngagementScope) -> Result<EngagementView, PortError>;

    async fn members(&self, scope: &EngagementScope) -> Result<Vec<MemberView>, PortError>;

    /// Decrypted personal fields of the given members of the scope's engagement.
    async fn member_personal_data(
        &self,
        scope: &EngagementScope,
        members: &[MemberId],
    ) -> Result<HashMap<MemberId, PersonalData>, PortError>;

    /// Finds the account of `email`, or creates it (without any grant) when none exists.
    async fn ensure_account(
        &self,
        permit: &CommandPermit,
        email: &str,
        display_name: &str,
    ) -> Result<EnsuredAccount, PortError>;

    /// Records the registration of an account created by [`Ports::ensure_account`] once
    /// the change that needed it has succeeded.
    async fn register_account(
        &self,
        permit: &CommandPermit,
        user_id: UserId,
        metadata: &CommandMetadata,
    ) -> Result<(), PortError>;

    /// Removes an account [`Ports::ensure_account`] created for a change that then failed.
    async fn discard_account(
        &self,
        permit: &CommandPermit,
        user_id: UserId,
    ) -> Result<(), PortError>;

    /// Encrypts and stores a member's personal fields under a fresh key of their own.
    async fn store_member_personal_data(
        &self,
        permit: &CommandPermit,
        member_id: MemberId,
        fields: &PersonalFields,
    ) -> Result<(), PortError>;

    /// Removes personal fields stored for a membership whose command then failed.
    async fn discard_member_personal_data(
        &self,
        permit: &CommandPermit,
        member_id: MemberId,
    ) -> Result<(), PortError>;

    /// Decides and records an engagement command, then brings the read models up to date.
    async fn execute_engagement(
        &self,
        permit: &CommandPermit,
        command: EngagementCommand,
        metadata: &CommandMetadata,
    ) -> Result<(), PortError>;
}
