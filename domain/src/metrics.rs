//! The metric catalogue (SPEC §3): what can be measured, in which unit, how a period's
//! observations aggregate, and which way is better.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Which way a metric gets better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Higher,
    Lower,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Higher => "higher",
            Direction::Lower => "lower",
        }
    }
}

impl FromStr for Direction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "higher" => Ok(Direction::Higher),
            "lower" => Ok(Direction::Lower),
            other => Err(format!(
                "unknown direction `{other}`; expected higher or lower"
            )),
        }
    }
}

/// What a metric's values are measured in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Money in the engagement's reporting currency (JPY by default).
    Currency,
    /// A whole number of things.
    Count,
    /// A fraction (`0.25` is 25 %).
    Ratio,
    Hours,
    /// A review rating, 1–5.
    Stars,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Currency => "currency",
            Unit::Count => "count",
            Unit::Ratio => "ratio",
            Unit::Hours => "hours",
            Unit::Stars => "stars",
        }
    }
}

impl FromStr for Unit {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            Unit::Currency,
            Unit::Count,
            Unit::Ratio,
            Unit::Hours,
            Unit::Stars,
        ]
        .into_iter()
        .find(|u| u.as_str() == s)
        .ok_or_else(|| format!("unknown unit `{s}`"))
    }
}

/// How a period's observations of a metric become one value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Aggregation {
    /// Flows: the sum of the period's observations.
    Sum,
    /// Levels (stock): the value with the latest date in the period.
    Latest,
    /// The mean of the period's observations.
    Mean,
    /// The ratio of the period's aggregated components: Σ numerator ÷ Σ denominator, each
    /// component aggregated by its own rule first. Never an average of daily ratios.
    Ratio {
        numerator: Vec<String>,
        denominator: Vec<String>,
    },
}

impl Aggregation {
    pub fn is_ratio(&self) -> bool {
        matches!(self, Aggregation::Ratio { .. })
    }

    pub fn describe(&self) -> String {
        match self {
            Aggregation::Sum => "sum".into(),
            Aggregation::Latest => "latest".into(),
            Aggregation::Mean => "mean".into(),
            Aggregation::Ratio {
                numerator,
                denominator,
            } => {
                let side = |parts: &[String]| {
                    if parts.len() == 1 {
                        parts[0].clone()
                    } else {
                        format!("({})", parts.join(" + "))
                    }
                };
                format!("{} ÷ {}", side(numerator), side(denominator))
            }
        }
    }
}

/// One metric of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricDefinition {
    pub key: String,
    pub label: String,
    pub unit: Unit,
    pub aggregation: Aggregation,
    /// `None` for metrics that are neither better high nor low (stock levels, the
    /// components of ratios).
    pub direction: Option<Direction>,
    /// Whether observations may be negative (gross profit can be).
    #[serde(default)]
    pub allows_negative: bool,
}

impl MetricDefinition {
    /// Checks a value recorded for this metric and says why it does not fit.
    pub fn check_value(&self, value: Decimal) -> Result<(), String> {
        if self.aggregation.is_ratio() {
            return Err(format!(
                "{} is a ratio; record its components ({}) instead",
                self.key,
                self.aggregation.describe()
            ));
        }
        if value.is_sign_negative() && !value.is_zero() && !self.allows_negative {
            return Err(format!("{} cannot be negative (got {value})", self.key));
        }
        if self.unit == Unit::Count && !value.fract().is_zero() {
            return Err(format!("{} counts whole things (got {value})", self.key));
        }
        Ok(())
    }

    /// The base metrics whose observations this metric reads.
    pub fn components(&self) -> Vec<String> {
        match &self.aggregation {
            Aggregation::Ratio {
                numerator,
                denominator,
            } => {
                let mut all: Vec<String> = numerator.iter().chain(denominator).cloned().collect();
                all.sort();
                all.dedup();
                all
            }
            _ => vec![self.key.clone()],
        }
    }
}

impl fmt::Display for MetricDefinition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key)
    }
}

fn metric(
    key: &str,
    label: &str,
    unit: Unit,
    aggregation: Aggregation,
    direction: Option<Direction>,
) -> MetricDefinition {
    MetricDefinition {
        key: key.into(),
        label: label.into(),
        unit,
        aggregation,
        direction,
        allows_negative: false,
    }
}

fn ratio(num: &[&str], den: &[&str]) -> Aggregation {
    Aggregation::Ratio {
        numerator: num.iter().map(|s| s.to_string()).collect(),
        denominator: den.iter().map(|s| s.to_string()).collect(),
    }
}

/// The built-in catalogue of SPEC §3, including the components its ratios are made of.
pub fn builtin_catalogue() -> Vec<MetricDefinition> {
    use Aggregation::{Latest, Mean, Sum};
    use Direction::{Higher, Lower};
    use Unit::*;
    let mut gross_profit = metric("gross_profit", "Gross profit", Currency, Sum, None);
    gross_profit.allows_negative = true;
    vec![
        metric(
            "gmv",
            "GMV (gross merchandise value)",
            Currency,
            Sum,
            Some(Higher),
        ),
        metric("orders", "Orders", Count, Sum, Some(Higher)),
        metric("units_ordered", "Units ordered", Count, Sum, Some(Higher)),
        metric("sessions", "Sessions", Count, Sum, Some(Higher)),
        metric("page_views", "Page views", Count, Sum, Some(Higher)),
        metric(
            "conversion_rate",
            "Conversion rate",
            Ratio,
            ratio(&["orders"], &["sessions"]),
            Some(Higher),
        ),
        metric("ad_spend", "Advertising spend", Currency, Sum, Some(Lower)),
        metric("ad_sales", "Advertising sales", Currency, Sum, Some(Higher)),
        metric(
            "acos",
            "ACoS (ad spend ÷ ad sales)",
            Ratio,
            ratio(&["ad_spend"], &["ad_sales"]),
            Some(Lower),
        ),
        metric(
            "roas",
            "ROAS (ad sales ÷ ad spend)",
            Ratio,
            ratio(&["ad_sales"], &["ad_spend"]),
            Some(Higher),
        ),
        metric(
            "tacos",
            "TACoS (ad spend ÷ GMV)",
            Ratio,
            ratio(&["ad_spend"], &["gmv"]),
            Some(Lower),
        ),
        metric("impressions", "Impressions", Count, Sum, Some(Higher)),
        metric("clicks", "Clicks", Count, Sum, Some(Higher)),
        metric(
            "ctr",
            "Click-through rate",
            Ratio,
            ratio(&["clicks"], &["impressions"]),
            Some(Higher),
        ),
        metric(
            "cpc",
            "Cost per click",
            Currency,
            ratio(&["ad_spend"], &["clicks"]),
            Some(Lower),
        ),
        metric("units_returned", "Units returned", Count, Sum, None),
        metric("units_shipped", "Units shipped", Count, Sum, None),
        metric(
            "return_rate",
            "Return rate",
            Ratio,
            ratio(&["units_returned"], &["units_shipped"]),
            Some(Lower),
        ),
        metric(
            "inquiries_answered_24h",
            "Inquiries answered within 24 h",
            Count,
            Sum,
            None,
        ),
        metric("inquiries", "Inquiries", Count, Sum, None),
        metric(
            "cs_response_rate",
            "Customer-service response rate",
            Ratio,
            ratio(&["inquiries_answered_24h"], &["inquiries"]),
            Some(Higher),
        ),
        metric(
            "orders_shipped_48h",
            "Orders shipped within 48 h",
            Count,
            Sum,
            None,
        ),
        metric("orders_to_ship", "Orders to ship", Count, Sum, None),
        metric(
            "on_time_ship_rate",
            "On-time shipping rate",
            Ratio,
            ratio(&["orders_shipped_48h"], &["orders_to_ship"]),
            Some(Higher),
        ),
        metric("units_on_hand", "Units on hand", Count, Latest, None),
        metric(
            "sell_through_rate",
            "Sell-through rate (動銷率/売上消化率)",
            Ratio,
            ratio(&["units_ordered"], &["units_ordered", "units_on_hand"]),
            Some(Higher),
        ),
        metric("in_stock_sku_days", "In-stock SKU-days", Count, Sum, None),
        metric("sku_days", "SKU-days", Count, Sum, None),
        metric(
            "in_stock_rate",
            "In-stock rate",
            Ratio,
            ratio(&["in_stock_sku_days"], &["sku_days"]),
            Some(Higher),
        ),
        gross_profit,
        metric(
            "gross_margin",
            "Gross margin",
            Ratio,
            ratio(&["gross_profit"], &["gmv"]),
            Some(Higher),
        ),
        metric(
            "reply_hours_total",
            "Review reply hours, total",
            Hours,
            Sum,
            None,
        ),
        metric("replies", "Review replies", Count, Sum, None),
        metric(
            "review_reply_hours",
            "Review reply time (hours)",
            Hours,
            ratio(&["reply_hours_total"], &["replies"]),
            Some(Lower),
        ),
        metric("defective_orders", "Defective orders", Count, Sum, None),
        metric(
            "order_defect_rate",
            "Order defect rate",
            Ratio,
            ratio(&["defective_orders"], &["orders"]),
            Some(Lower),
        ),
        metric("new_listings", "New listings", Count, Sum, Some(Higher)),
        metric("store_rating", "Store rating", Stars, Mean, Some(Higher)),
    ]
}

/// Checks a metric key: lower-case letters, digits and underscores, starting with a letter.
pub fn validate_metric_key(key: &str) -> Result<(), String> {
    let ok = !key.is_empty()
        && key.len() <= 64
        && key.starts_with(|c: char| c.is_ascii_lowercase())
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "metric key `{key}` must be lower-case letters, digits and underscores"
        ))
    }
}

/// Checks a custom metric against the metrics already known to its engagement.
pub fn validate_custom_metric(
    metric: &MetricDefinition,
    known: &[MetricDefinition],
) -> Result<(), String> {
    validate_metric_key(&metric.key)?;
    if known.iter().any(|m| m.key == metric.key) {
        return Err(format!("metric `{}` already exists", metric.key));
    }
    if metric.label.trim().is_empty() {
        return Err("label: must not be empty".into());
    }
    if let Aggregation::Ratio {
        numerator,
        denominator,
    } = &metric.aggregation
    {
        if numerator.is_empty() || denominator.is_empty() {
            return Err("a ratio needs at least one numerator and one denominator metric".into());
        }
        for component in numerator.iter().chain(denominator) {
            match known.iter().find(|m| &m.key == component) {
                None => {
                    return Err(format!(
                        "ratio component `{component}` is not a known metric"
                    ))
                }
                Some(m) if m.aggregation.is_ratio() => {
                    return Err(format!(
                        "ratio component `{component}` is itself a ratio; use its components"
                    ))
                }
                Some(_) => {}
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_ratio_in_the_catalogue_is_made_of_recordable_metrics() {
        let catalogue = builtin_catalogue();
        for metric in &catalogue {
            for component in metric.components() {
                let base = catalogue
                    .iter()
                    .find(|m| m.key == component)
                    .unwrap_or_else(|| panic!("{} needs {component}", metric.key));
                assert!(!base.aggregation.is_ratio(), "{component}");
            }
        }
        let keys: std::collections::BTreeSet<_> = catalogue.iter().map(|m| &m.key).collect();
        assert_eq!(keys.len(), catalogue.len(), "keys are unique");
    }

    #[test]
    fn ratios_counts_and_signs_are_checked_on_record() {
        let catalogue = builtin_catalogue();
        let get = |k: &str| catalogue.iter().find(|m| m.key == k).unwrap().clone();
        assert!(get("acos")
            .check_value(Decimal::ONE)
            .unwrap_err()
            .contains("ad_spend"));
        assert!(get("orders").check_value(Decimal::new(15, 1)).is_err());
        assert!(get("gmv").check_value(Decimal::NEGATIVE_ONE).is_err());
        assert!(get("gross_profit")
            .check_value(Decimal::NEGATIVE_ONE)
            .is_ok());
        assert!(get("gmv").check_value(Decimal::new(123_456, 1)).is_ok());
    }
}
