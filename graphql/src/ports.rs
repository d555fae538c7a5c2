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
use kpi_ledger_domain::ids::{EngagementId, KpiId, MemberId, UserId};
use kpi_ledger_domain::kpi::{KpiCommand, KpiDefinition};
use kpi_ledger_domain::metadata::CommandMetadata;
use kpi_ledger_domain::metrics::MetricDefinition;
use kpi_ledger_domain::period::DateRange;
use kpi_ledger_domain::scoring::Levels;
use kpi_ledger_domain::series::{SeriesCommand, SeriesKey};
use kpi_ledger_domain::user::Grants;
use kpi_ledger_domain::ErrorKind;
use rust_decimal::Decimal;
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

/// A KPI as the read model holds it (the definition carries the current weight).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KpiView {
    pub kpi_id: KpiId,
    pub definition: KpiDefinition,
    pub retired_from: Option<NaiveDate>,
    pub defined_at: DateTime<Utc>,
}

/// The current levels of one KPI for one period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetView {
    pub kpi_id: KpiId,
    /// The period as written (`2026-06`).
    pub period: String,
    pub levels: Levels,
}

/// One version in a KPI's target history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetChangeView {
    pub kpi_id: KpiId,
    pub position: i64,
    pub period: String,
    pub before: Option<Levels>,
    pub after: Levels,
    pub reason: String,
    /// The user id of whoever changed it, or `system`.
    pub actor: String,
    pub recorded_at: DateTime<Utc>,
}

/// The current value of one observation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservationView {
    pub metric: String,
    pub platform: String,
    pub scope: Option<String>,
    pub range: DateRange,
    pub value: Decimal,
    pub source: String,
    pub recorded_at: DateTime<Utc>,
    pub recorded_position: i64,
}

/// How far one source has delivered data for one platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatermarkView {
    pub platform: String,
    pub source: String,
    pub through: NaiveDate,
}

/// What to import, as the caller asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRequest {
    pub format: kpi_ledger_import::Format,
    pub platform: Option<String>,
    pub range: Option<DateRange>,
    pub encoding: kpi_ledger_import::EncodingChoice,
    pub file_name: Option<String>,
    /// A checked exchange rate for the file's money, if stated.
    pub conversion: Option<kpi_ledger_domain::import::CurrencyConversion>,
}

/// One problem of a refused file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportProblemView {
    pub line: u64,
    pub column: Option<String>,
    pub value: Option<String>,
    pub reason: String,
}

/// An import job and, once it ended, its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportJobView {
    pub id: uuid::Uuid,
    /// queued, reading, checking, recording, succeeded, failed.
    pub status: String,
    pub format: String,
    pub platform: Option<String>,
    pub range: Option<DateRange>,
    pub file_name: Option<String>,
    pub bytes_total: u64,
    pub bytes_read: u64,
    pub rows_read: u64,
    pub rows_invalid: u64,
    pub message: Option<String>,
    pub problems: Vec<ImportProblemView>,
    pub total_problems: u64,
    /// The import that recorded the data (the first one, for a repeated file).
    pub import_id: Option<uuid::Uuid>,
    pub already_imported: bool,
    pub observations_recorded: u64,
    pub observations_restated: u64,
    pub series: u64,
    /// (platform, complete through) moved by the import.
    pub watermarks: Vec<(String, NaiveDate)>,
    pub conversion: Option<kpi_ledger_domain::import::CurrencyConversion>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A scorecard replayed from the event log as of a position.
#[derive(Debug, Clone)]
pub struct AsOfScorecard {
    /// The last event position at or before the instant asked for.
    pub position: i64,
    pub card: kpi_ledger_domain::scorecard::Scorecard,
    pub kpis: Vec<kpi_ledger_domain::scorecard::CardKpi>,
    /// The sources' watermarks as they stood then.
    pub watermarks: Vec<WatermarkView>,
    /// The engagement's platforms then.
    pub platforms: Vec<String>,
}

/// One finding, decision or sign-off of a review.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewEntryView {
    pub position: i64,
    /// finding, decision or sign_off.
    pub kind: String,
    pub detail: serde_json::Value,
    pub actor: String,
    pub recorded_at: DateTime<Utc>,
}

/// A review as the read model holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewView {
    pub id: uuid::Uuid,
    pub period: String,
    /// open or locked.
    pub status: String,
    /// The version of the period's last lock (0 before the first).
    pub version: u32,
    pub snapshot_position: i64,
    pub opened_at: DateTime<Utc>,
    pub entries: Vec<ReviewEntryView>,
    /// Every lock of the review, oldest first.
    pub locks: Vec<LockView>,
}

/// One version of a review's lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockView {
    pub version: u32,
    /// The position this version froze the period's scoring inputs at.
    pub snapshot_position: i64,
    pub locked_at: DateTime<Utc>,
    /// When a reopen decision unlocked this version.
    pub reopened_at: Option<DateTime<Utc>>,
}

/// An incentive plan's current version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanView {
    pub id: uuid::Uuid,
    pub version: u32,
    pub terms: kpi_ledger_domain::plan::PlanTerms,
    pub approved: bool,
    pub approved_by: Option<String>,
}

/// An adjustment or clawback after payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdjustmentView {
    pub amount: Decimal,
    pub reason: String,
    pub carry_into: String,
    pub recorded_at: DateTime<Utc>,
}

/// A calculated payout with every input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutView {
    pub id: uuid::Uuid,
    pub calculation: kpi_ledger_domain::settlement::Calculation,
    pub replayed_to: i64,
    /// calculated, approved or paid.
    pub status: String,
    pub approved_at: Option<DateTime<Utc>>,
    pub paid_on: Option<NaiveDate>,
    pub calculated_at: DateTime<Utc>,
    pub adjustments: Vec<AdjustmentView>,
}

/// A payout recomputed from the event log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationView {
    pub payout_id: uuid::Uuid,
    pub recorded_amount: Decimal,
    pub recomputed_amount: Option<Decimal>,
    /// Every recomputed input and figure equals the recorded one.
    pub identical: bool,
    pub replayed_to: i64,
    pub snapshot_position: i64,
    pub detail: Option<String>,
}

/// File formats of a payout statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
pub enum StatementFormat {
    Csv,
    Xlsx,
}

/// Languages of a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
pub enum StatementLanguage {
    /// 日本語
    Ja,
    /// 简体中文
    Zh,
    /// English
    En,
}

impl From<StatementLanguage> for kpi_ledger_domain::language::Language {
    fn from(value: StatementLanguage) -> Self {
        match value {
            StatementLanguage::Ja => Self::Ja,
            StatementLanguage::Zh => Self::Zh,
            StatementLanguage::En => Self::En,
        }
    }
}

/// A rendered statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementFile {
    pub file_name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
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

    /// The built-in catalogue plus the engagement's custom metrics.
    async fn metric_catalogue(
        &self,
        scope: &EngagementScope,
    ) -> Result<Vec<MetricDefinition>, PortError>;

    /// Every KPI of the engagement, retired ones included, in definition order.
    async fn kpis(&self, scope: &EngagementScope) -> Result<Vec<KpiView>, PortError>;

    /// The current targets of the given KPIs, every period.
    async fn targets(
        &self,
        scope: &EngagementScope,
        kpis: &[KpiId],
    ) -> Result<Vec<TargetView>, PortError>;

    /// Every target change of one KPI, oldest first.
    async fn target_history(
        &self,
        scope: &EngagementScope,
        kpi: KpiId,
    ) -> Result<Vec<TargetChangeView>, PortError>;

    /// Current observations of the given metrics whose dates touch `range`; with
    /// `series_scopes`, only those series scopes (`None` in it: the store level).
    async fn observations(
        &self,
        scope: &EngagementScope,
        metrics: &[String],
        range: DateRange,
        series_scopes: Option<&[Option<String>]>,
    ) -> Result<Vec<ObservationView>, PortError>;

    /// One page of the current observations of `metric` whose dates touch `range`
    /// (optionally of one platform), ordered by platform, scope and dates, and how many
    /// there are in all.
    async fn observation_page(
        &self,
        scope: &EngagementScope,
        metric: &str,
        range: DateRange,
        platform: Option<&str>,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<ObservationView>, u64), PortError>;

    async fn watermarks(&self, scope: &EngagementScope) -> Result<Vec<WatermarkView>, PortError>;

    /// Decides and records a KPI command. The KPI must belong to the permit's engagement.
    async fn execute_kpi(
        &self,
        permit: &CommandPermit,
        kpi: KpiId,
        command: KpiCommand,
        metadata: &CommandMetadata,
    ) -> Result<(), PortError>;

    /// Decides and records an observation command on the series of `key`, which must
    /// belong to the permit's engagement.
    async fn execute_series(
        &self,
        permit: &CommandPermit,
        key: &SeriesKey,
        command: SeriesCommand,
        metadata: &CommandMetadata,
    ) -> Result<(), PortError>;

    /// The scorecard as it stood at `as_of`: the log replayed up to the last position
    /// recorded at or before that instant (SPEC §10). Never reads stored results.
    async fn scorecard_as_of(
        &self,
        scope: &EngagementScope,
        period: &kpi_ledger_domain::period::Period,
        member: Option<MemberId>,
        as_of: DateTime<Utc>,
    ) -> Result<AsOfScorecard, PortError>;

    /// The newest position of the event log.
    async fn head_position(&self) -> Result<i64, PortError>;

    async fn reviews(&self, scope: &EngagementScope) -> Result<Vec<ReviewView>, PortError>;

    /// Whether a period is locked now (by a review whose lock was not reopened).
    async fn period_locked(&self, scope: &EngagementScope, period: &str)
        -> Result<bool, PortError>;

    async fn execute_review(
        &self,
        permit: &CommandPermit,
        review_id: uuid::Uuid,
        command: kpi_ledger_domain::review::ReviewCommand,
        metadata: &CommandMetadata,
    ) -> Result<(), PortError>;

    async fn plans(&self, scope: &EngagementScope) -> Result<Vec<PlanView>, PortError>;

    async fn execute_plan(
        &self,
        permit: &CommandPermit,
        plan_id: uuid::Uuid,
        command: kpi_ledger_domain::plan::PlanCommand,
        metadata: &CommandMetadata,
    ) -> Result<(), PortError>;

    /// Calculates every participant's payout for a locked period from the replayed log
    /// (all or none) and records them.
    async fn calculate_payouts(
        &self,
        permit: &CommandPermit,
        period: &kpi_ledger_domain::period::Period,
        plan_id: uuid::Uuid,
        metadata: &CommandMetadata,
    ) -> Result<Vec<PayoutView>, PortError>;

    async fn payouts(
        &self,
        scope: &EngagementScope,
        period: Option<String>,
    ) -> Result<Vec<PayoutView>, PortError>;

    async fn execute_payout(
        &self,
        permit: &CommandPermit,
        payout_id: uuid::Uuid,
        command: kpi_ledger_domain::settlement::PayoutCommand,
        metadata: &CommandMetadata,
    ) -> Result<(), PortError>;

    /// Recomputes a payout by replaying the log to its recorded positions.
    async fn verify_payout(
        &self,
        scope: &EngagementScope,
        payout_id: uuid::Uuid,
    ) -> Result<VerificationView, PortError>;

    /// What every participant's payout would be under a scenario; records nothing.
    async fn what_if_payouts(
        &self,
        scope: &EngagementScope,
        period: &kpi_ledger_domain::period::Period,
        plan_id: uuid::Uuid,
        scenario: &kpi_ledger_domain::settlement::Scenario,
    ) -> Result<Vec<kpi_ledger_domain::settlement::Calculation>, PortError>;

    /// A payout statement: the payout with the locked scorecard behind it, replayed from
    /// the log. The caller has already checked that the viewer may see this payout.
    async fn payout_statement(
        &self,
        scope: &EngagementScope,
        payout_id: uuid::Uuid,
        format: StatementFormat,
        language: StatementLanguage,
    ) -> Result<StatementFile, PortError>;

    /// A review's locked result for the team (no member) or one member: the log replayed
    /// to the lock's snapshot, with the decisions recorded before that lock applied. With
    /// `version`, that lock version (NOT_FOUND if the review has none such); without, the
    /// newest lock, or for a review never locked its opening snapshot.
    async fn locked_scorecard(
        &self,
        scope: &EngagementScope,
        review_id: uuid::Uuid,
        member: Option<MemberId>,
        version: Option<u32>,
    ) -> Result<AsOfScorecard, PortError>;

    /// Queues an import of `content` (an uploaded file) and starts it in the background.
    async fn start_import(
        &self,
        permit: &CommandPermit,
        request: ImportRequest,
        content: std::fs::File,
        metadata: &CommandMetadata,
    ) -> Result<ImportJobView, PortError>;

    /// The engagement's import jobs, newest first.
    async fn import_jobs(&self, scope: &EngagementScope) -> Result<Vec<ImportJobView>, PortError>;

    /// Decides and records an engagement command, then brings the read models up to date.
    async fn execute_engagement(
        &self,
        permit: &CommandPermit,
        command: EngagementCommand,
        metadata: &CommandMetadata,
    ) -> Result<(), PortError>;
}
