//! Helpers shared by the integration tests.
#![allow(dead_code)]

use chrono::NaiveDate;
use kpi_ledger_domain::period::DateRange;
use kpi_ledger_import::{
    open, EncodingChoice, FileError, Format, ImportOptions, Item, ParsedRow, RowError,
};
use rust_decimal::Decimal;
use std::str::FromStr;

pub const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/fixtures/marketplace/"
);

pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{FIXTURES}{name}");
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// The CP932 twin of a UTF-8 file: the BOM stripped, every character encoded.
pub fn to_cp932(utf8: &[u8]) -> Vec<u8> {
    let text = std::str::from_utf8(utf8).expect("fixture is UTF-8");
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(text);
    assert!(!unmappable, "the text has characters CP932 cannot hold");
    bytes.into_owned()
}

/// The UTF-8 bytes and their CP932 twin, each read with detection and with the encoding
/// stated: four ways to read the same file.
pub fn variants(utf8: &[u8]) -> Vec<(&'static str, Vec<u8>, EncodingChoice)> {
    let cp932 = to_cp932(utf8);
    vec![
        ("utf-8, auto", utf8.to_vec(), EncodingChoice::Auto),
        ("utf-8, stated", utf8.to_vec(), EncodingChoice::Utf8),
        ("cp932, auto", cp932.clone(), EncodingChoice::Auto),
        ("cp932, stated", cp932, EncodingChoice::Cp932),
    ]
}

pub fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

pub fn range(start: &str, end: &str) -> DateRange {
    DateRange::new(date(start), date(end)).unwrap()
}

pub fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

pub fn options(format: Format, platform: &str) -> ImportOptions {
    ImportOptions {
        format,
        encoding: EncodingChoice::Auto,
        platform: Some(platform.to_string()),
        range: None,
        currency: "JPY".into(),
    }
}

/// Reads a whole file: every item, or the first file error (from `open` or the iteration).
pub fn read(bytes: &[u8], options: &ImportOptions) -> Result<Vec<Item>, FileError> {
    open(bytes, options)?.collect()
}

/// Reads a file that must have no bad rows.
pub fn read_ok(bytes: &[u8], options: &ImportOptions) -> Vec<ParsedRow> {
    let items = read(bytes, options).unwrap_or_else(|e| panic!("file error: {e}"));
    let (rows, errors) = split(items);
    assert!(errors.is_empty(), "unexpected row errors: {errors:#?}");
    rows
}

pub fn split(items: Vec<Item>) -> (Vec<ParsedRow>, Vec<RowError>) {
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for item in items {
        match item {
            Item::Row(row) => rows.push(row),
            Item::Invalid(error) => errors.push(error),
        }
    }
    (rows, errors)
}

/// The sum of a metric at the store level (no scope).
pub fn store_sum(rows: &[ParsedRow], metric: &str) -> Decimal {
    rows.iter()
        .flat_map(|r| &r.observations)
        .filter(|o| o.metric == metric && o.scope.is_none())
        .map(|o| o.value)
        .sum()
}

/// The sum of a metric over every scoped series.
pub fn scoped_sum(rows: &[ParsedRow], metric: &str) -> Decimal {
    rows.iter()
        .flat_map(|r| &r.observations)
        .filter(|o| o.metric == metric && o.scope.is_some())
        .map(|o| o.value)
        .sum()
}

/// The distinct ranges of a metric's store-level observations, sorted.
pub fn store_ranges(rows: &[ParsedRow], metric: &str) -> Vec<DateRange> {
    let mut ranges: Vec<DateRange> = rows
        .iter()
        .flat_map(|r| &r.observations)
        .filter(|o| o.metric == metric && o.scope.is_none())
        .map(|o| o.range)
        .collect();
    ranges.sort();
    ranges.dedup();
    ranges
}

/// Every key is different (no duplicate rows in a clean file).
pub fn assert_unique_keys(rows: &[ParsedRow]) {
    let mut keys: Vec<&str> = rows.iter().map(|r| r.key.as_str()).collect();
    keys.sort();
    let before = keys.len();
    keys.dedup();
    assert_eq!(before, keys.len(), "duplicate keys in a clean file");
}

/// Every observation is for `platform`.
pub fn assert_platform(rows: &[ParsedRow], platform: &str) {
    for o in rows.iter().flat_map(|r| &r.observations) {
        assert_eq!(o.platform, platform);
    }
}
