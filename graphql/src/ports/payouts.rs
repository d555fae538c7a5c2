//! Payouts, their verification and statements.

use super::PortError;
use crate::access::{CommandPermit, EngagementScope};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use kpi_ledger_domain::metadata::CommandMetadata;
use rust_decimal::Decimal;

/// An adjustment or clawback after payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdjustmentView {
    pub amount: Decimal,
    /// Why: a note (sealed in the vault, or inline in older events).
    pub reason: kpi_ledger_domain::text::Note,
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

#[async_trait]
pub trait PayoutPort: Send + Sync + 'static {
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
}
