//! Validated settings of an engagement: platforms, currency, time zone, positions.

use super::EngagementError;
use serde::{Deserialize, Serialize};

/// Marketplaces and channels an engagement can sell on (SPEC §2).
pub const PLATFORM_CATALOGUE: [&str; 6] = [
    "amazon_jp",
    "rakuten",
    "yahoo_shopping",
    "qoo10",
    "shopee_jp",
    "own_store",
];

/// The settings an engagement is opened with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngagementSettings {
    pub name: String,
    pub client_name: String,
    /// ISO 3166 market code, `JP` by default.
    pub market: String,
    /// IANA time zone the engagement's calendar dates are in, `Asia/Tokyo` by default.
    pub time_zone: String,
    /// Month (1–12) the fiscal year starts in, 4 (April) by default.
    pub fiscal_year_start_month: u32,
    /// ISO 4217 reporting currency, `JPY` by default.
    pub currency: String,
    pub platforms: Vec<String>,
}

impl EngagementSettings {
    /// Settings with the SPEC defaults for everything but the names.
    pub fn with_defaults(name: impl Into<String>, client_name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            client_name: client_name.into(),
            market: "JP".to_string(),
            time_zone: "Asia/Tokyo".to_string(),
            fiscal_year_start_month: 4,
            currency: "JPY".to_string(),
            platforms: Vec::new(),
        }
    }

    /// Trims names, normalises codes, and says which field is wrong if any is.
    pub fn validated(mut self) -> Result<Self, EngagementError> {
        self.name = self.name.trim().to_string();
        self.client_name = self.client_name.trim().to_string();
        for (field, text) in [("name", &self.name), ("clientName", &self.client_name)] {
            if text.is_empty() {
                return Err(EngagementError::EmptyField { field });
            }
            if text.chars().count() > MAX_NAME_CHARS {
                return Err(EngagementError::TooLong {
                    field,
                    max: MAX_NAME_CHARS,
                });
            }
        }
        self.market = self.market.trim().to_ascii_uppercase();
        if self.market.len() != 2 || !self.market.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(EngagementError::NotAMarketCode(self.market));
        }
        self.currency = self.currency.trim().to_ascii_uppercase();
        if self.currency.len() != 3 || !self.currency.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(EngagementError::NotACurrencyCode(self.currency));
        }
        if crate::period::time_zone(&self.time_zone).is_err() {
            return Err(EngagementError::UnknownTimeZone(self.time_zone));
        }
        self.time_zone = self.time_zone.trim().to_string();
        if !(1..=12).contains(&self.fiscal_year_start_month) {
            return Err(EngagementError::NotAMonth(self.fiscal_year_start_month));
        }
        let mut platforms: Vec<String> = Vec::new();
        for platform in &self.platforms {
            let platform = platform.trim().to_string();
            if !PLATFORM_CATALOGUE.contains(&platform.as_str()) {
                return Err(EngagementError::UnknownPlatform(platform));
            }
            if !platforms.contains(&platform) {
                platforms.push(platform);
            }
        }
        self.platforms = platforms;
        Ok(self)
    }
}

/// The longest engagement or client name, in characters.
const MAX_NAME_CHARS: usize = 200;

/// A position that is not a key such as `advertising`; holds the position as given
/// (trimmed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "position: `{0}` must be a key such as advertising or supply_chain \
     (lower-case letters, digits, underscores)"
)]
pub struct MalformedPosition(pub String);

/// A position key such as `advertising` or `supply_chain`: lower-case ASCII letters,
/// digits and underscores, starting with a letter.
pub fn validate_position(position: &str) -> Result<String, MalformedPosition> {
    let position = position.trim();
    let ok = !position.is_empty()
        && position.len() <= 64
        && position.starts_with(|c: char| c.is_ascii_lowercase())
        && position
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(position.to_string())
    } else {
        Err(MalformedPosition(position.to_string()))
    }
}
