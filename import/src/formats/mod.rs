//! One module per format of SPEC §5; each module's doc says which column becomes which
//! metric and what the row key is. This module holds what they share: metric columns, the
//! catalogue check of each value, and the dispatch from [`Format`] to a reader.

mod amazon_ads_sp;
mod amazon_business_report;
mod amazon_fba_inventory;
mod amazon_sales_traffic_json;
mod generic_csv;
mod rakuten_rms;
mod yahoo_shopping;

use crate::table::{self, Col, Dialect, Header, Layout, Row};
use crate::{values, FileError, Format, ImportOptions, ParsedObservation, RowError};
use kpi_ledger_domain::metrics::{builtin_catalogue, MetricDefinition, Unit};
use kpi_ledger_domain::period::DateRange;
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::io::Read;
use std::sync::OnceLock;

pub(crate) type RowIter<'a> = Box<dyn Iterator<Item = Result<crate::Item, FileError>> + Send + 'a>;

/// Opens the reader for `options.format`.
pub(crate) fn open<'a, R: Read + Send + 'a>(
    reader: R,
    options: &ImportOptions,
) -> Result<RowIter<'a>, FileError> {
    let encoding = options.encoding;
    fn boxed<'a, R: Read + Send + 'a, L: Layout + 'a>(
        reader: R,
        encoding: crate::EncodingChoice,
        dialect: Dialect,
        layout: L,
    ) -> Result<RowIter<'a>, FileError> {
        Ok(Box::new(table::open(reader, encoding, dialect, layout)?))
    }
    match options.format {
        Format::GenericCsv => boxed(
            reader,
            encoding,
            Dialect::CSV,
            generic_csv::GenericCsv::new(options),
        ),
        Format::AmazonBusinessReport => boxed(
            reader,
            encoding,
            Dialect::CSV,
            amazon_business_report::BusinessReport::new(options)?,
        ),
        Format::AmazonAdsSp => boxed(
            reader,
            encoding,
            Dialect::CSV,
            amazon_ads_sp::AdsReport::new(options)?,
        ),
        Format::AmazonFbaInventory => boxed(
            reader,
            encoding,
            Dialect::TSV,
            amazon_fba_inventory::Inventory::new(options)?,
        ),
        Format::RakutenRms => boxed(
            reader,
            encoding,
            Dialect::CSV,
            rakuten_rms::Rakuten::new(options)?,
        ),
        Format::YahooShopping => boxed(
            reader,
            encoding,
            Dialect::CSV,
            yahoo_shopping::Yahoo::new(options)?,
        ),
        Format::AmazonSalesTrafficJson => {
            Ok(Box::new(amazon_sales_traffic_json::open(reader, options)?))
        }
    }
}

/// The platform every format but `generic_csv` needs from the options.
pub(crate) fn platform(options: &ImportOptions) -> Result<String, FileError> {
    match options.platform.as_deref().map(str::trim) {
        Some(p) if !p.is_empty() => Ok(p.to_string()),
        _ => Err(FileError::MissingOption {
            format: options.format,
            what: "the platform the file is for (`platform`)".into(),
        }),
    }
}

/// The stated range, for reports without a date column.
pub(crate) fn stated_range(options: &ImportOptions, why: &str) -> Result<DateRange, FileError> {
    options.range.ok_or_else(|| FileError::MissingOption {
        format: options.format,
        what: format!("the range the report covers (`from` and `to`): {why}"),
    })
}

fn catalogue() -> &'static HashMap<String, MetricDefinition> {
    static CATALOGUE: OnceLock<HashMap<String, MetricDefinition>> = OnceLock::new();
    CATALOGUE.get_or_init(|| {
        builtin_catalogue()
            .into_iter()
            .map(|m| (m.key.clone(), m))
            .collect()
    })
}

/// Whether a metric of the catalogue is money (custom metrics are not).
pub(crate) fn is_money(metric: &str) -> bool {
    catalogue()
        .get(metric)
        .is_some_and(|m| m.unit == Unit::Currency)
}

/// Checks a value against the catalogue's rule for its metric (counts are whole and not
/// negative, ratios are recorded through their components…). Custom metrics pass.
pub(crate) fn check_value(metric: &str, value: Decimal) -> Result<(), String> {
    match catalogue().get(metric) {
        Some(definition) => definition.check_value(value),
        None => Ok(()),
    }
}

/// How a metric column's cells are spelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Money,
    Count,
}

/// A metric and the header names (in order of preference) its column goes by.
pub(crate) struct MetricColumn {
    pub(crate) metric: &'static str,
    pub(crate) kind: Kind,
    pub(crate) names: &'static [&'static str],
}

/// A metric column found in the header.
#[derive(Debug, Clone)]
pub(crate) struct Bound {
    pub(crate) metric: &'static str,
    pub(crate) kind: Kind,
    pub(crate) col: Col,
}

/// Binds every metric column, collecting the missing ones.
pub(crate) fn bind_metrics(
    header: &Header,
    format: Format,
    columns: &[MetricColumn],
    missing: &mut Vec<String>,
) -> Result<Vec<Bound>, FileError> {
    let mut bound = Vec::new();
    for column in columns {
        if let Some(col) = table::require(header, format, column.names, missing)? {
            bound.push(Bound {
                metric: column.metric,
                kind: column.kind,
                col,
            });
        }
    }
    Ok(bound)
}

/// Where the observations of a row go.
pub(crate) struct Target<'t> {
    pub(crate) platform: &'t str,
    pub(crate) scope: Option<&'t str>,
    pub(crate) range: DateRange,
    pub(crate) currency: &'t crate::Currency,
}

/// Parses one cell of a metric column.
pub(crate) fn parse_cell(
    row: &Row<'_>,
    bound: &Bound,
    currency: &crate::Currency,
    stated: Option<&str>,
) -> Result<Decimal, RowError> {
    let cell = row.cell(&bound.col)?;
    let parsed = match bound.kind {
        Kind::Money => values::money_stated(cell, currency, stated),
        Kind::Count => values::number(cell),
    };
    let value = parsed.map_err(|why| row.error(&bound.col, cell, why))?;
    check_value(bound.metric, value).map_err(|why| row.error(&bound.col, cell, why))?;
    Ok(value)
}

/// Reads every metric column of a row: the observations, or one error per bad cell.
pub(crate) fn observations(
    row: &Row<'_>,
    columns: &[Bound],
    target: &Target<'_>,
) -> Result<Vec<ParsedObservation>, Vec<RowError>> {
    let mut observations = Vec::with_capacity(columns.len());
    let mut errors = Vec::new();
    for bound in columns {
        match parse_cell(row, bound, target.currency, None) {
            Ok(value) => observations.push(ParsedObservation {
                metric: bound.metric.to_string(),
                platform: target.platform.to_string(),
                scope: target.scope.map(str::to_string),
                range: target.range,
                value,
            }),
            Err(error) => errors.push(error),
        }
    }
    if errors.is_empty() {
        Ok(observations)
    } else {
        Err(errors)
    }
}

/// Reads the date cell of a row.
pub(crate) fn parse_date(row: &Row<'_>, col: &Col) -> Result<chrono::NaiveDate, RowError> {
    let cell = row.cell(col)?;
    values::date(cell).map_err(|why| row.error(col, cell, why))
}

/// The usual shape of a row's outcome: a row, or its errors.
pub(crate) fn push_outcome(
    out: &mut std::collections::VecDeque<crate::Item>,
    line: u64,
    key: String,
    result: Result<Vec<ParsedObservation>, Vec<RowError>>,
) {
    match result {
        Ok(observations) => out.push_back(crate::Item::Row(crate::ParsedRow {
            line,
            key,
            observations,
        })),
        Err(errors) => out.extend(errors.into_iter().map(crate::Item::Invalid)),
    }
}
