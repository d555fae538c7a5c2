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

/// An exchange rate an import stated for the money in its file (SPEC §5: foreign money
/// is refused "unless told how to convert"): one unit of `from` is `rate` units of `to`,
/// the engagement's currency, as published on `date` by `source`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrencyConversion {
    pub from: String,
    pub to: String,
    pub rate: rust_decimal::Decimal,
    pub date: chrono::NaiveDate,
    pub source: String,
}

impl CurrencyConversion {
    /// Checks a stated conversion into `to`, the engagement's currency.
    pub fn new(
        from: &str,
        to: &str,
        rate: rust_decimal::Decimal,
        date: chrono::NaiveDate,
        source: &str,
    ) -> Result<Self, String> {
        let from = from.trim().to_ascii_uppercase();
        if from.len() != 3 || !from.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(format!(
                "conversion: `{from}` is not an ISO 4217 currency code such as USD"
            ));
        }
        if from == to {
            return Err(format!(
                "conversion: the file's currency {from} is the engagement's own"
            ));
        }
        if rate <= rust_decimal::Decimal::ZERO {
            return Err(format!(
                "conversion: the rate must be more than 0 (got {rate})"
            ));
        }
        let source = source.trim();
        if source.is_empty() {
            return Err("conversion: name the rate's source (a bank's TTM rate, say)".into());
        }
        Ok(Self {
            from,
            to: to.to_string(),
            rate: rate.normalize(),
            date,
            source: source.to_string(),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImportEvent {
    /// Version 1.1 added `conversion`; a 1.0 event reads as one without it.
    ImportStarted {
        engagement_id: EngagementId,
        format: String,
        platform: Option<String>,
        range: Option<DateRange>,
        file_name: Option<String>,
        /// SHA-256 of the file's bytes, hex.
        sha256: String,
        bytes: u64,
        /// The exchange rate applied to the file's money, if it stated one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        conversion: Option<CurrencyConversion>,
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
        match self {
            ImportEvent::ImportStarted { .. } => "1.1",
            ImportEvent::ImportCompleted { .. } => "1.0",
        }
        .to_string()
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
    conversion: Option<&CurrencyConversion>,
    sha256: &str,
) -> String {
    let mut key = format!(
        "{engagement_id}|{format}|{}|{}|{sha256}",
        platform.unwrap_or(""),
        range
            .map(|r| format!("{}..{}", r.start, r.end))
            .unwrap_or_default()
    );
    // The same bytes at another rate record other amounts.
    if let Some(c) = conversion {
        key.push_str(&format!("|{}:{}@{}", c.from, c.to, c.rate));
    }
    key
}

/// Marker so the id type reads well at call sites.
pub type ImportId = Uuid;

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    fn convert(from: &str, rate: &str, source: &str) -> Result<CurrencyConversion, String> {
        CurrencyConversion::new(
            from,
            "JPY",
            rate.parse().unwrap(),
            chrono::NaiveDate::from_ymd_opt(2026, 5, 31).unwrap(),
            source,
        )
    }

    #[test]
    fn a_stated_rate_is_a_positive_rate_from_another_currency_with_its_source() {
        let usd = convert("usd", "151.20", "MUFG TTM").unwrap();
        assert_eq!((usd.from.as_str(), usd.to.as_str()), ("USD", "JPY"));
        assert_eq!(usd.rate, Decimal::new(1512, 1));
        assert!(convert("JPY", "1", "x")
            .unwrap_err()
            .contains("engagement's own"));
        assert!(convert("USD", "0", "x")
            .unwrap_err()
            .contains("more than 0"));
        assert!(convert("US$", "150", "x").unwrap_err().contains("ISO 4217"));
        assert!(convert("USD", "150", " ").unwrap_err().contains("source"));
    }

    #[test]
    fn the_same_bytes_at_another_rate_are_another_import() {
        let key = |c: Option<&CurrencyConversion>| {
            dedup_key(
                EngagementId(Uuid::nil()),
                "amazon_ads_sp",
                Some("amazon_jp"),
                None,
                c,
                "ab",
            )
        };
        let a = convert("USD", "151.20", "MUFG TTM").unwrap();
        let b = convert("USD", "150", "MUFG TTM").unwrap();
        assert_ne!(key(Some(&a)), key(Some(&b)));
        assert_ne!(key(None), key(Some(&a)));
    }
}
