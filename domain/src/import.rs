//! The record of one import (SPEC §5): what file, for which engagement, format, platform
//! and range, and what it recorded. The observations themselves are `series` events
//! (`ObservationsImported`), batched per series; these events bracket them.

use crate::ids::EngagementId;
use crate::period::DateRange;
use chrono::NaiveDate;
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// How far an import brought one platform's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watermark {
    pub platform: String,
    pub through: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImportEvent {
    ImportStarted {
        engagement_id: EngagementId,
        format: String,
        platform: Option<String>,
        range: Option<DateRange>,
        file_name: Option<String>,
        /// SHA-256 of the file's bytes, hex.
        sha256: String,
        bytes: u64,
    },
    ImportCompleted {
        engagement_id: EngagementId,
        format: String,
        rows_read: u64,
        observations_recorded: u64,
        observations_restated: u64,
        series: u64,
        watermarks: Vec<Watermark>,
    },
}

impl DomainEvent for ImportEvent {
    fn event_type(&self) -> String {
        match self {
            ImportEvent::ImportStarted { .. } => "ImportStarted",
            ImportEvent::ImportCompleted { .. } => "ImportCompleted",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        "1.0".to_string()
    }
}

/// The aggregate type the import events are stored under.
pub const IMPORT_AGGREGATE: &str = "import";

/// The id under which a file's import is remembered, so that the same bytes imported
/// again for the same engagement, format, platform and range are recognised.
pub fn dedup_key(
    engagement_id: EngagementId,
    format: &str,
    platform: Option<&str>,
    range: Option<DateRange>,
    sha256: &str,
) -> String {
    format!(
        "{engagement_id}|{format}|{}|{}|{sha256}",
        platform.unwrap_or(""),
        range
            .map(|r| format!("{}..{}", r.start, r.end))
            .unwrap_or_default()
    )
}

/// Marker so the id type reads well at call sites.
pub type ImportId = Uuid;
