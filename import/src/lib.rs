//! Readers for marketplace exports (SPEC §5): each turns one file into rows of
//! observations, streaming, in bounded memory. Pure: bytes in, rows out; recording them is
//! the server's job (all-or-nothing, idempotent, duplicate keys found there).
//!
//! Usage: [`open`] a reader with [`ImportOptions`], then iterate. Each item is a parsed
//! row, a row-level error (the caller collects every one and records nothing), or a
//! fatal file error that ends the iteration.
//!
//! Code map:
//! - `decode`: the progress counter, encoding detection (UTF-8 with or without BOM,
//!   CP932), binary and mojibake checks — bytes are decoded before lines are split.
//! - `records`: decoded text into records (CSV/TSV quoting, line numbers, the 1 MiB
//!   record limit).
//! - `table`: what the delimited formats share: the header found among preamble lines,
//!   columns found by exact name, blank and totals rows skipped, short and shifted rows.
//! - `formats::*`: one module per [`Format`], each documenting its column → metric table
//!   and its row key; `json`: the streaming JSON reader behind the SP-API format.
//! - [`values`]: the money, number, percent and date spellings.

use kpi_ledger_domain::period::DateRange;
use rust_decimal::Decimal;
use std::fmt;
use std::io::Read;
use std::str::FromStr;

/// The file formats of SPEC §5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    GenericCsv,
    AmazonBusinessReport,
    AmazonSalesTrafficJson,
    AmazonAdsSp,
    AmazonFbaInventory,
    RakutenRms,
    YahooShopping,
}

impl Format {
    pub const ALL: [Format; 7] = [
        Format::GenericCsv,
        Format::AmazonBusinessReport,
        Format::AmazonSalesTrafficJson,
        Format::AmazonAdsSp,
        Format::AmazonFbaInventory,
        Format::RakutenRms,
        Format::YahooShopping,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::GenericCsv => "generic_csv",
            Format::AmazonBusinessReport => "amazon_business_report",
            Format::AmazonSalesTrafficJson => "amazon_sales_traffic_json",
            Format::AmazonAdsSp => "amazon_ads_sp",
            Format::AmazonFbaInventory => "amazon_fba_inventory",
            Format::RakutenRms => "rakuten_rms",
            Format::YahooShopping => "yahoo_shopping",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str() == s.trim())
            .ok_or_else(|| {
                format!(
                    "unknown format `{s}`; expected one of {}",
                    Format::ALL.map(|f| f.as_str()).join(", ")
                )
            })
    }
}

/// How the file's bytes are decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EncodingChoice {
    /// UTF-8 (with or without BOM) or CP932, detected from the content.
    #[default]
    Auto,
    Utf8,
    Cp932,
}

/// What the caller knows about the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    pub format: Format,
    pub encoding: EncodingChoice,
    /// The platform the observations are for (every format but `generic_csv`, whose rows
    /// name their platform, needs it).
    pub platform: Option<String>,
    /// The range the file covers, for reports without a date column (child-ASIN business
    /// reports, FBA inventory: a single day).
    pub range: Option<DateRange>,
    /// How money is read: the engagement's reporting currency, and a stated conversion
    /// from the file's currency if any. Money in any other currency is refused.
    pub currency: Currency,
}

/// A stated exchange rate: one unit of `from` is `rate` units of the engagement's
/// currency (USD→JPY 151.20).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversion {
    /// ISO 4217 code of the file's currency.
    pub from: String,
    pub rate: Decimal,
}

/// The currency money is recorded in, and how a file's amounts reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Currency {
    /// The engagement's reporting currency (ISO 4217, `JPY`).
    pub code: String,
    /// With a conversion the file's money is in `from`: amounts without a symbol or code
    /// are taken to be in it, and every amount in it is multiplied by the rate, exactly.
    pub conversion: Option<Conversion>,
}

impl From<&str> for Currency {
    fn from(code: &str) -> Self {
        Currency::new(code)
    }
}

impl Currency {
    /// Money in `code` only.
    pub fn new(code: &str) -> Self {
        Self {
            code: code.trim().to_ascii_uppercase(),
            conversion: None,
        }
    }

    /// Whether amounts stated in `code` can be recorded.
    pub fn accepts(&self, code: &str) -> bool {
        let code = code.trim();
        code.eq_ignore_ascii_case(&self.code)
            || self
                .conversion
                .as_ref()
                .is_some_and(|c| code.eq_ignore_ascii_case(&c.from))
    }

    /// `value`, stated in `code` (`None`: no symbol or code, so the file's currency), in
    /// the engagement's currency.
    pub fn convert(&self, value: Decimal, code: Option<&str>) -> Result<Decimal, String> {
        match (code.map(str::trim), &self.conversion) {
            (Some(c), _) if c.eq_ignore_ascii_case(&self.code) => Ok(value),
            (None, None) => Ok(value),
            (None, Some(conversion)) => Ok(value * conversion.rate),
            (Some(c), Some(conversion)) if c.eq_ignore_ascii_case(&conversion.from) => {
                Ok(value * conversion.rate)
            }
            (Some(c), Some(conversion)) => Err(format!(
                "the amount is in {c}, neither the engagement's currency {} nor {} of the stated conversion",
                self.code, conversion.from
            )),
            (Some(c), None) => Err(format!(
                "the amount is in {c}, not in the engagement's currency {}; state a conversion rate to import it",
                self.code
            )),
        }
    }
}

/// One observation read from a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedObservation {
    pub metric: String,
    pub platform: String,
    /// ASIN, SKU or campaign; `None` for the store level.
    pub scope: Option<String>,
    pub range: DateRange,
    pub value: Decimal,
}

/// One row of a file and the observations it yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedRow {
    /// 1-based line number in the file (0 for totals the reader forms at the end, such
    /// as the store-level sum of a per-SKU report).
    pub line: u64,
    /// The row's key for duplicate detection (HEADERS.md says which columns per format),
    /// normalised so that the same day written in two date formats gives the same key.
    pub key: String,
    pub observations: Vec<ParsedObservation>,
}

/// A row that cannot be read; the file is then refused as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub column: Option<String>,
    pub value: Option<String>,
    pub reason: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}", self.line)?;
        if let Some(column) = &self.column {
            write!(f, ", column `{column}`")?;
        }
        if let Some(value) = &self.value {
            write!(f, ", value `{value}`")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// A problem with the file as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is not text (binary data near byte {offset})")]
    Binary { offset: u64 },
    #[error("the file is neither UTF-8 nor CP932 (Shift_JIS): {detail}")]
    Encoding { detail: String },
    #[error("the text looks garbled (mojibake) on line {line}: `{sample}`; was it saved in another encoding?")]
    Mojibake { line: u64, sample: String },
    #[error("line {line} is longer than {limit} bytes; is this really a {format} file?")]
    LineTooLong {
        line: u64,
        limit: u64,
        format: Format,
    },
    #[error("missing column(s) {missing:?} for {format}; the header has {found:?}")]
    MissingColumns {
        format: Format,
        missing: Vec<String>,
        found: Vec<String>,
    },
    #[error("{format} needs {what}")]
    MissingOption { format: Format, what: String },
    #[error("the file is not a valid {format} file: {detail}")]
    Malformed { format: Format, detail: String },
    #[error("reading the file failed: {0}")]
    Io(String),
}

impl FileError {
    /// The line the error is on, when it is on one.
    pub fn line(&self) -> Option<u64> {
        match self {
            FileError::Mojibake { line, .. } | FileError::LineTooLong { line, .. } => Some(*line),
            _ => None,
        }
    }
}

/// One step of reading a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Row(ParsedRow),
    Invalid(RowError),
}

/// Parses the money, number, percent and date spellings of SPEC §5.
pub mod values;

mod decode;
mod formats;
mod json;
mod records;
mod table;
mod text;

pub use decode::MAX_LINE_BYTES;

/// Opens a reader over `reader` for the given options.
///
/// File-level problems found while reading the start of the file (the encoding, binary
/// data, an empty file, the header and its columns, a missing option) are returned here;
/// those found later end the iteration with an `Err`. No data row is parsed before the
/// first call to `next` (the input is read ahead in chunks of 64 KiB, though).
///
/// A file with a header and no data rows gives no rows and no error; whether that is
/// acceptable is the caller's decision.
pub fn open<'a, R: Read + Send + 'a>(
    reader: R,
    options: &ImportOptions,
) -> Result<Rows<'a>, FileError> {
    let bytes_read = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counted = decode::Counting::new(reader, bytes_read.clone());
    let inner = formats::open(counted, options)?;
    Ok(Rows { inner, bytes_read })
}

/// The rows of one file, read lazily. `Send`, so a server can read on a blocking thread.
pub struct Rows<'a> {
    inner: Box<dyn Iterator<Item = Result<Item, FileError>> + Send + 'a>,
    bytes_read: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Rows<'_> {
    /// Bytes of the file consumed so far (for progress).
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A handle other threads can poll for the bytes consumed so far.
    pub fn progress(&self) -> std::sync::Arc<std::sync::atomic::AtomicU64> {
        self.bytes_read.clone()
    }
}

impl Iterator for Rows<'_> {
    type Item = Result<Item, FileError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next()
    }
}
