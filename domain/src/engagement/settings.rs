//! Validated settings of an engagement: platforms, currency, time zone, positions.

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
    pub fn validated(mut self) -> Result<Self, String> {
        self.name = self.name.trim().to_string();
        self.client_name = self.client_name.trim().to_string();
        if self.name.is_empty() {
            return Err("name: must not be empty".into());
        }
        if self.name.chars().count() > 200 {
            return Err("name: at most 200 characters".into());
        }
        if self.client_name.is_empty() {
            return Err("clientName: must not be empty".into());
        }
        if self.client_name.chars().count() > 200 {
            return Err("clientName: at most 200 characters".into());
        }
        self.market = self.market.trim().to_ascii_uppercase();
        if self.market.len() != 2 || !self.market.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(format!(
                "market: `{}` is not a two-letter ISO 3166 code",
                self.market
            ));
        }
        self.currency = self.currency.trim().to_ascii_uppercase();
        if self.currency.len() != 3 || !self.currency.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(format!(
                "currency: `{}` is not a three-letter ISO 4217 code",
                self.currency
            ));
        }
        if self.time_zone.trim().parse::<chrono_tz::Tz>().is_err() {
            return Err(format!(
                "timeZone: `{}` is not an IANA time zone such as Asia/Tokyo",
                self.time_zone
            ));
        }
        self.time_zone = self.time_zone.trim().to_string();
        if !(1..=12).contains(&self.fiscal_year_start_month) {
            return Err(format!(
                "fiscalYearStartMonth: {} is not a month (1-12)",
                self.fiscal_year_start_month
            ));
        }
        let mut platforms: Vec<String> = Vec::new();
        for platform in &self.platforms {
            let platform = platform.trim().to_string();
            if !PLATFORM_CATALOGUE.contains(&platform.as_str()) {
                return Err(format!(
                    "platforms: `{platform}` is not in the catalogue ({})",
                    PLATFORM_CATALOGUE.join(", ")
                ));
            }
            if !platforms.contains(&platform) {
                platforms.push(platform);
            }
        }
        self.platforms = platforms;
        Ok(self)
    }
}

/// A position key such as `advertising` or `supply_chain`: lower-case ASCII letters,
/// digits and underscores, starting with a letter.
pub fn validate_position(position: &str) -> Result<String, String> {
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
        Err(format!(
            "position: `{position}` must be a key such as advertising or supply_chain \
             (lower-case letters, digits, underscores)"
        ))
    }
}
