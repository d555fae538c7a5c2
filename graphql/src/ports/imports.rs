//! Imports of marketplace files, run as jobs.

use super::PortError;
use crate::access::{CommandPermit, EngagementScope};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use kpi_ledger_domain::metadata::CommandMetadata;
use kpi_ledger_domain::period::DateRange;

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

#[async_trait]
pub trait ImportPort: Send + Sync + 'static {
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
}
