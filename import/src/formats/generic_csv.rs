//! `generic_csv`: the long format `date,platform,metric,value[,scope]`, one observation
//! per row, for anything no other format covers. The header row is required (names
//! compared without regard to ASCII case).
//!
//! | column | meaning |
//! | --- | --- |
//! | date | the day (any date spelling of [`crate::values::date`]), or a range `2026-05-01..2026-05-31` |
//! | platform | the platform key (`amazon_jp`, `rakuten`…); when empty, `options.platform` |
//! | metric | a lower-case metric key of SPEC §3 or a custom one (`gmv`, `sessions`…) |
//! | value | money (`￥1,234`…) for money metrics of the catalogue, else a number; `12.5%` is read as `0.125` |
//! | scope (optional) | ASIN, SKU or campaign; empty for the store level |
//!
//! Row key: date (ISO) + platform + metric + scope. Values are checked against the
//! catalogue (counts whole and not negative, ratios refused in favour of their
//! components).

use super::{check_value, is_money};
use crate::table::{self, Col, Fit, Header, Layout, Row};
use crate::text::key;
use crate::{
    values, FileError, Format, ImportOptions, Item, ParsedObservation, ParsedRow, RowError,
};
use kpi_ledger_domain::metrics::validate_metric_key;
use kpi_ledger_domain::period::DateRange;
use std::collections::VecDeque;

const DATE: &[&str] = &["date"];
const PLATFORM: &[&str] = &["platform"];
const METRIC: &[&str] = &["metric"];
const VALUE: &[&str] = &["value"];
const SCOPE: &[&str] = &["scope"];

struct Columns {
    date: Col,
    platform: Col,
    metric: Col,
    value: Col,
    scope: Option<Col>,
}

pub(crate) struct GenericCsv {
    default_platform: Option<String>,
    currency: crate::Currency,
    columns: Option<Columns>,
}

impl GenericCsv {
    pub(crate) fn new(options: &ImportOptions) -> Self {
        Self {
            default_platform: options
                .platform
                .as_deref()
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_string),
            currency: options.currency.clone(),
            columns: None,
        }
    }
}

/// A date or a `start..end` range.
fn parse_range(text: &str) -> Result<DateRange, String> {
    match text.split_once("..") {
        Some((start, end)) => DateRange::new(values::date(start)?, values::date(end)?),
        None => values::date(text).map(DateRange::day),
    }
}

fn parse_platform(text: &str) -> Result<(), String> {
    let ok = text.starts_with(|c: char| c.is_ascii_lowercase())
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "platform `{text}` must be a lower-case key such as amazon_jp or rakuten"
        ))
    }
}

impl Layout for GenericCsv {
    fn format(&self) -> Format {
        Format::GenericCsv
    }

    fn bind(&mut self, header: &Header) -> Result<Fit, FileError> {
        let format = self.format();
        let mut missing = Vec::new();
        let date = table::require(header, format, DATE, &mut missing)?;
        let platform = table::require(header, format, PLATFORM, &mut missing)?;
        let metric = table::require(header, format, METRIC, &mut missing)?;
        let value = table::require(header, format, VALUE, &mut missing)?;
        let (Some(date), Some(platform), Some(metric), Some(value)) =
            (date, platform, metric, value)
        else {
            return Ok(Fit::Missing(missing));
        };
        self.columns = Some(Columns {
            date,
            platform,
            metric,
            value,
            scope: header.find_unique(format, SCOPE)?,
        });
        Ok(Fit::Bound)
    }

    fn row(&mut self, row: &Row<'_>, out: &mut VecDeque<Item>) -> Result<(), FileError> {
        let Some(cols) = &self.columns else {
            return Ok(());
        };
        let mut errors: Vec<RowError> = Vec::new();
        let mut cell = |col: &Col| match row.cell(col) {
            Ok(text) => Some(text),
            Err(e) => {
                errors.push(e);
                None
            }
        };
        let (date_text, platform_text, metric_text, value_text) = (
            cell(&cols.date),
            cell(&cols.platform),
            cell(&cols.metric),
            cell(&cols.value),
        );
        let scope = row.opt(cols.scope.as_ref());
        let range = date_text.and_then(|t| match parse_range(t) {
            Ok(range) => Some(range),
            Err(why) => {
                errors.push(row.error(&cols.date, t, why));
                None
            }
        });
        let platform = platform_text.and_then(|t| {
            let platform = if t.is_empty() {
                self.default_platform.as_deref().unwrap_or("")
            } else {
                t
            };
            if platform.is_empty() {
                errors.push(row.error(
                    &cols.platform,
                    t,
                    "the platform is empty and the import states none",
                ));
                return None;
            }
            match parse_platform(platform) {
                Ok(()) => Some(platform),
                Err(why) => {
                    errors.push(row.error(&cols.platform, t, why));
                    None
                }
            }
        });
        let metric = metric_text.and_then(|t| match validate_metric_key(t) {
            Ok(()) => Some(t),
            Err(why) => {
                errors.push(row.error(&cols.metric, t, why));
                None
            }
        });
        let value = match (metric, value_text) {
            (Some(metric), Some(text)) => {
                let parsed = if is_money(metric) {
                    values::money(text, &self.currency)
                } else if text.trim_end().ends_with(['%', '％']) {
                    values::percent(text)
                } else {
                    values::number(text)
                };
                match parsed.and_then(|v| check_value(metric, v).map(|()| v)) {
                    Ok(v) => Some(v),
                    Err(why) => {
                        errors.push(row.error(&cols.value, text, why));
                        None
                    }
                }
            }
            _ => None,
        };
        match (range, platform, metric, value, errors.is_empty()) {
            (Some(range), Some(platform), Some(metric), Some(value), true) => {
                let range_text = if range.start == range.end {
                    range.start.to_string()
                } else {
                    format!("{}..{}", range.start, range.end)
                };
                out.push_back(Item::Row(ParsedRow {
                    line: row.line,
                    key: key(&[&range_text, platform, metric, scope]),
                    observations: vec![ParsedObservation {
                        metric: metric.to_string(),
                        platform: platform.to_string(),
                        scope: (!scope.is_empty()).then(|| scope.to_string()),
                        range,
                        value,
                    }],
                }));
            }
            _ => out.extend(errors.into_iter().map(Item::Invalid)),
        }
        Ok(())
    }

    fn finish(&mut self, _out: &mut VecDeque<Item>) {}
}
