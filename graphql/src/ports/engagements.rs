//! Engagements and their members, with members' personal data from the vault.

use super::PortError;
use crate::access::{CommandPermit, EngagementScope};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use kpi_ledger_domain::access::EngagementRole;
use kpi_ledger_domain::engagement::{EngagementCommand, EngagementSettings, EngagementStatus};
use kpi_ledger_domain::ids::{EngagementId, MemberId, UserId};
use kpi_ledger_domain::metadata::CommandMetadata;
use kpi_ledger_domain::metrics::MetricDefinition;
use kpi_ledger_domain::values::{DisplayName, Email};
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
    /// The engagement's chain head (its newest event every read model holds) when this
    /// row was read; None where the store cannot tell. Live cards are kept by it.
    pub head: Option<i64>,
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

/// Reads of one member's personal data by one reader on one day (SPEC §11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonalDataReadView {
    /// In the engagement's time zone.
    pub day: NaiveDate,
    /// `name_and_email` or `payout_statement`.
    pub kind: String,
    pub reader_user_id: UserId,
    pub reader_member_id: MemberId,
    pub reads: i64,
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

/// A person to add to an engagement, as the caller gave them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMemberRequest {
    pub display_name: DisplayName,
    pub email: Email,
    pub role: EngagementRole,
    pub position: Option<String>,
    pub active_from: NaiveDate,
}

#[async_trait]
pub trait EngagementPort: Send + Sync + 'static {
    async fn engagement(&self, scope: &EngagementScope) -> Result<EngagementView, PortError>;

    /// The engagements of `scopes`, in their order, read together (a portfolio page).
    async fn engagements(
        &self,
        scopes: &[EngagementScope],
    ) -> Result<Vec<EngagementView>, PortError>;

    async fn members(&self, scope: &EngagementScope) -> Result<Vec<MemberView>, PortError>;

    /// Decrypted personal fields of the given members of the scope's engagement.
    async fn member_personal_data(
        &self,
        scope: &EngagementScope,
        members: &[MemberId],
    ) -> Result<HashMap<MemberId, PersonalData>, PortError>;

    /// The built-in catalogue plus the engagement's custom metrics.
    async fn metric_catalogue(
        &self,
        scope: &EngagementScope,
    ) -> Result<Vec<MetricDefinition>, PortError>;

    /// Opens the permit's engagement with the permit's actor as its first consultant,
    /// active from `founded_on`: their name and email go to the vault, the command to the
    /// log; if the command is refused nothing remains.
    async fn open_engagement(
        &self,
        permit: &CommandPermit,
        settings: EngagementSettings,
        founded_on: NaiveDate,
        metadata: &CommandMetadata,
    ) -> Result<(), PortError>;

    /// Adds a person: finds or creates their login account, seals their name and email
    /// under a key of their own, records the membership, and registers a new account only
    /// once the membership is recorded. A refused command leaves nothing behind.
    async fn add_member(
        &self,
        permit: &CommandPermit,
        member: NewMemberRequest,
        metadata: &CommandMetadata,
    ) -> Result<MemberId, PortError>;

    /// Who read `member`'s personal data, and how often, per day (the caller is the
    /// member or may read personal data).
    async fn personal_data_reads(
        &self,
        scope: &EngagementScope,
        member: MemberId,
    ) -> Result<Vec<PersonalDataReadView>, PortError>;

    /// Erases a member's name and email (SPEC §11): records the erasure, whose projection
    /// destroys the member's key; erases their login account when nothing else needs it;
    /// compacts the database files. Asked again after a partial failure, it finishes the
    /// work and answers that the data is already erased.
    async fn erase_personal_data(
        &self,
        permit: &CommandPermit,
        member_id: MemberId,
        metadata: &CommandMetadata,
    ) -> Result<(), PortError>;

    /// Decides and records an engagement command, then brings the read models up to date.
    async fn execute_engagement(
        &self,
        permit: &CommandPermit,
        command: EngagementCommand,
        metadata: &CommandMetadata,
    ) -> Result<(), PortError>;
}
