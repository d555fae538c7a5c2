//! The machinery every delimited format shares: finding the header among preamble lines,
//! finding columns by name, reading records one at a time, skipping blank and totals rows,
//! and handing each remaining row to the format's [`Layout`].

use crate::decode::Decoded;
use crate::records::{Record, Records};
use crate::text::{header_name, is_totals, looks_garbled, looks_garbled_header, sample};
use crate::{EncodingChoice, FileError, Format, Item, RowError};
use std::collections::VecDeque;
use std::io::Read;

/// How many non-blank records before the header may be preamble.
const MAX_PREAMBLE: usize = 20;

/// A header row: the names as written and as compared.
pub(crate) struct Header {
    raw: Vec<String>,
    names: Vec<String>,
}

/// A column found in the header.
#[derive(Debug, Clone)]
pub(crate) struct Col {
    pub(crate) index: usize,
    /// The name as written in the file (trimmed), for messages.
    pub(crate) name: String,
}

impl Header {
    fn new(record: &Record) -> Self {
        let raw: Vec<String> = record.iter().map(|f| f.trim().to_string()).collect();
        let names = raw.iter().map(|f| header_name(f)).collect();
        Self { raw, names }
    }

    /// The first of `names` (in order of preference) the header has, by exact name.
    pub(crate) fn find(&self, names: &[&str]) -> Option<Col> {
        names.iter().find_map(|wanted| {
            let wanted = header_name(wanted);
            self.names
                .iter()
                .position(|n| *n == wanted)
                .map(|index| Col {
                    index,
                    name: self.raw[index].clone(),
                })
        })
    }

    /// Like [`Header::find`], but a column written twice is an error, since either could
    /// be meant.
    pub(crate) fn find_unique(
        &self,
        format: Format,
        names: &[&str],
    ) -> Result<Option<Col>, FileError> {
        let Some(col) = self.find(names) else {
            return Ok(None);
        };
        let name = &self.names[col.index];
        if self.names.iter().filter(|n| *n == name).count() > 1 {
            return Err(FileError::Malformed {
                format,
                detail: format!(
                    "the column `{}` appears more than once in the header",
                    col.name
                ),
            });
        }
        Ok(Some(col))
    }

    pub(crate) fn len(&self) -> usize {
        self.raw.len()
    }
}

/// How a required column is named in messages: its alternatives joined by ` / `.
pub(crate) fn describe(names: &[&str]) -> String {
    names.join(" / ")
}

/// One data row.
pub(crate) struct Row<'r> {
    pub(crate) line: u64,
    record: &'r Record,
    header_len: usize,
}

impl<'r> Row<'r> {
    /// The trimmed cell of `col`, or an error when the row ends before it (a cut file).
    pub(crate) fn cell(&self, col: &Col) -> Result<&'r str, RowError> {
        match self.record.get(col.index) {
            Some(cell) => Ok(cell.trim()),
            None => Err(RowError {
                line: self.line,
                column: Some(col.name.clone()),
                value: None,
                reason: format!(
                    "the row has only {} of the header's {} columns; is the file cut short?",
                    self.record.len(),
                    self.header_len
                ),
            }),
        }
    }

    /// The trimmed cell of an optional column; empty when absent or past the row's end.
    pub(crate) fn opt(&self, col: Option<&Col>) -> &'r str {
        col.and_then(|c| self.record.get(c.index))
            .map(str::trim)
            .unwrap_or("")
    }

    /// A row error about one cell.
    pub(crate) fn error(&self, col: &Col, value: &str, reason: impl Into<String>) -> RowError {
        RowError {
            line: self.line,
            column: Some(col.name.clone()),
            value: Some(value.to_string()),
            reason: reason.into(),
        }
    }
}

/// What a header candidate is to a layout.
pub(crate) enum Fit {
    /// This is the header; the layout bound itself to it.
    Bound,
    /// Not this layout's header; these required columns are missing.
    Missing(Vec<String>),
}

/// One delimited format: which header it expects and what each row yields.
pub(crate) trait Layout: Send {
    fn format(&self) -> Format;

    /// Checks a header candidate and, if it fits, binds the columns. A file-level problem
    /// found on binding (a missing option for this kind of report, a doubled column) is
    /// an `Err`.
    fn bind(&mut self, header: &Header) -> Result<Fit, FileError>;

    /// Reads one data row (not blank, not a totals row) into `out`.
    fn row(&mut self, row: &Row<'_>, out: &mut VecDeque<Item>) -> Result<(), FileError>;

    /// Adds what is formed at the end (sums, totals) to `out`.
    fn finish(&mut self, out: &mut VecDeque<Item>);
}

/// The delimited reader, past the header.
pub(crate) struct Table<R: Read, L: Layout> {
    records: Records<Decoded<R>>,
    layout: L,
    header_len: usize,
    record: Record,
    out: VecDeque<Item>,
    done: bool,
}

/// How a format's file is split into fields.
#[derive(Clone, Copy)]
pub(crate) struct Dialect {
    pub(crate) delimiter: u8,
    pub(crate) quoting: bool,
}

impl Dialect {
    pub(crate) const CSV: Dialect = Dialect {
        delimiter: b',',
        quoting: true,
    };
    /// Amazon's tab-separated reports: no quoting, a `"` is part of the text.
    pub(crate) const TSV: Dialect = Dialect {
        delimiter: b'\t',
        quoting: false,
    };
}

fn is_blank(record: &Record) -> bool {
    record.iter().all(|f| f.trim().is_empty())
}

fn check_garbled(record: &Record, line: u64) -> Result<(), FileError> {
    match record.iter().find(|f| looks_garbled(f)) {
        Some(field) => Err(FileError::Mojibake {
            line,
            sample: sample(field.trim()),
        }),
        None => Ok(()),
    }
}

/// Opens a delimited file: decodes it, finds the header among at most 20 preamble
/// records and binds the layout to it.
pub(crate) fn open<R: Read, L: Layout>(
    reader: R,
    encoding: EncodingChoice,
    dialect: Dialect,
    mut layout: L,
) -> Result<Table<R, L>, FileError> {
    let format = layout.format();
    let mut records = Records::new(
        Decoded::new(reader, encoding),
        format,
        dialect.delimiter,
        dialect.quoting,
    );
    let mut record = Record::default();
    // The best candidate so far: fewest missing columns, for the error message.
    let mut best: Option<(Vec<String>, Vec<String>)> = None;
    let mut seen = 0;
    loop {
        if !records.read(&mut record)? {
            break;
        }
        if is_blank(&record) {
            continue;
        }
        let line = record.line;
        check_garbled(&record, line)?;
        let header = Header::new(&record);
        match layout.bind(&header)? {
            Fit::Bound => {
                return Ok(Table {
                    records,
                    layout,
                    header_len: header.len(),
                    record,
                    out: VecDeque::new(),
                    done: false,
                })
            }
            Fit::Missing(missing) => {
                if looks_garbled_header(&header.raw) {
                    return Err(FileError::Mojibake {
                        line,
                        sample: sample(&header.raw.join(",")),
                    });
                }
                let better = match &best {
                    None => true,
                    Some((m, found)) => {
                        missing.len() < m.len()
                            || (missing.len() == m.len() && header.len() > found.len())
                    }
                };
                if better {
                    best = Some((missing, header.raw));
                }
            }
        }
        seen += 1;
        if seen >= MAX_PREAMBLE {
            break;
        }
    }
    match best {
        None => Err(FileError::Empty),
        Some((missing, found)) => Err(FileError::MissingColumns {
            format,
            missing,
            found,
        }),
    }
}

impl<R: Read, L: Layout> Table<R, L> {
    fn step(&mut self) -> Result<(), FileError> {
        if !self.records.read(&mut self.record)? {
            self.layout.finish(&mut self.out);
            self.done = true;
            return Ok(());
        }
        if is_blank(&self.record) {
            return Ok(());
        }
        let line = self.record.line;
        check_garbled(&self.record, line)?;
        let first = self.record.iter().map(str::trim).find(|f| !f.is_empty());
        if first.is_some_and(is_totals) {
            return Ok(());
        }
        // Cells past the header's end that hold something mean the columns have shifted
        // (an unquoted `1,234`, say): no cell of this row can be trusted.
        if self.record.len() > self.header_len {
            let extra = self
                .record
                .iter()
                .skip(self.header_len)
                .any(|f| !f.trim().is_empty());
            if extra {
                self.out.push_back(Item::Invalid(RowError {
                    line,
                    column: None,
                    value: None,
                    reason: format!(
                        "the row has {} columns but the header has {}; is a number with a \
                         thousands separator missing its quotes?",
                        self.record.len(),
                        self.header_len
                    ),
                }));
                return Ok(());
            }
        }
        let row = Row {
            line,
            record: &self.record,
            header_len: self.header_len,
        };
        self.layout.row(&row, &mut self.out)
    }
}

impl<R: Read, L: Layout> Iterator for Table<R, L> {
    type Item = Result<Item, FileError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.out.pop_front() {
                return Some(Ok(item));
            }
            if self.done {
                return None;
            }
            if let Err(error) = self.step() {
                self.done = true;
                self.out.clear();
                return Some(Err(error));
            }
        }
    }
}

/// Finds a required column for a layout, recording it as missing if absent.
pub(crate) fn require(
    header: &Header,
    format: Format,
    names: &[&str],
    missing: &mut Vec<String>,
) -> Result<Option<Col>, FileError> {
    let col = header.find_unique(format, names)?;
    if col.is_none() {
        missing.push(describe(names));
    }
    Ok(col)
}
