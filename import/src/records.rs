//! Splits decoded text into records of fields, keeping the line each record starts on and
//! refusing a record longer than [`MAX_LINE_BYTES`] before it is buffered whole.
//!
//! The `csv` crate is not used because its record positions miscount lines after CRLF
//! line ends and blank lines, and the line numbers are what a user fixes a file by. The
//! quoting follows RFC 4180 the way spreadsheet programs write it: a `"` opens a quoted
//! field only at the field's start, `""` inside it is a quote, a quoted field may hold
//! delimiters and line breaks. `\n`, `\r\n` and a lone `\r` end a record. The end of the
//! file ends an open quoted field (a cut file then shows as a row with too few columns).

use crate::decode::{file_error, MAX_LINE_BYTES};
use crate::{FileError, Format};
use std::io::{BufRead, BufReader, Read};

/// One record: its fields (untrimmed) and the line it starts on.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    pub(crate) line: u64,
    pub(crate) fields: Vec<String>,
}

impl Record {
    pub(crate) fn get(&self, index: usize) -> Option<&str> {
        self.fields.get(index).map(String::as_str)
    }

    pub(crate) fn len(&self) -> usize {
        self.fields.len()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(String::as_str)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    FieldStart,
    Unquoted,
    Quoted,
    QuoteInQuoted,
}

pub(crate) struct Records<R> {
    input: BufReader<R>,
    format: Format,
    delimiter: u8,
    quoting: bool,
    limit: u64,
    /// The line of the next byte.
    line: u64,
    /// The previous record ended with `\r`: a `\n` right after belongs to it.
    after_cr: bool,
    field: Vec<u8>,
}

enum Step {
    /// Keep reading.
    More,
    /// The record ended at this byte (consumed).
    End,
}

impl<R: Read> Records<R> {
    pub(crate) fn new(input: R, format: Format, delimiter: u8, quoting: bool) -> Self {
        Self::with_limit(input, format, delimiter, quoting, MAX_LINE_BYTES)
    }

    pub(crate) fn with_limit(
        input: R,
        format: Format,
        delimiter: u8,
        quoting: bool,
        limit: u64,
    ) -> Self {
        Self {
            input: BufReader::with_capacity(64 * 1024, input),
            format,
            delimiter,
            quoting,
            limit,
            line: 1,
            after_cr: false,
            field: Vec::new(),
        }
    }

    fn push_field(&mut self, record: &mut Record) -> Result<(), FileError> {
        let bytes = std::mem::take(&mut self.field);
        // Splitting UTF-8 at ASCII bytes keeps it valid; the check is for safety only.
        let text = String::from_utf8(bytes).map_err(|_| FileError::Malformed {
            format: self.format,
            detail: format!("line {}: a field is not valid text", record.line),
        })?;
        record.fields.push(text);
        Ok(())
    }

    /// Reads the next record into `record`; `false` at the end of the file.
    pub(crate) fn read(&mut self, record: &mut Record) -> Result<bool, FileError> {
        record.fields.clear();
        self.field.clear();
        let mut state = State::FieldStart;
        let mut bytes: u64 = 0;
        let mut started = false;
        loop {
            let buf = loop {
                match self.input.fill_buf() {
                    Ok(buf) => break buf,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(file_error(&e)),
                }
            };
            if buf.is_empty() {
                if !started {
                    return Ok(false);
                }
                self.push_field(record)?;
                return Ok(true);
            }
            let mut used = 0;
            let mut ended = false;
            for &b in buf {
                used += 1;
                if self.after_cr {
                    self.after_cr = false;
                    if b == b'\n' {
                        continue;
                    }
                }
                if !started {
                    started = true;
                    record.line = self.line;
                }
                bytes += 1;
                if bytes > self.limit {
                    return Err(FileError::LineTooLong {
                        line: record.line,
                        limit: self.limit,
                        format: self.format,
                    });
                }
                let step = match state {
                    State::FieldStart | State::Unquoted | State::QuoteInQuoted
                        if b == b'\n' || b == b'\r' =>
                    {
                        self.line += 1;
                        self.after_cr = b == b'\r';
                        Step::End
                    }
                    State::FieldStart | State::Unquoted | State::QuoteInQuoted
                        if b == self.delimiter =>
                    {
                        state = State::FieldStart;
                        let bytes = std::mem::take(&mut self.field);
                        record.fields.push(String::from_utf8(bytes).map_err(|_| {
                            FileError::Malformed {
                                format: self.format,
                                detail: format!("line {}: a field is not valid text", record.line),
                            }
                        })?);
                        Step::More
                    }
                    State::FieldStart if b == b'"' && self.quoting => {
                        state = State::Quoted;
                        Step::More
                    }
                    State::QuoteInQuoted if b == b'"' => {
                        self.field.push(b'"');
                        state = State::Quoted;
                        Step::More
                    }
                    State::FieldStart | State::Unquoted | State::QuoteInQuoted => {
                        self.field.push(b);
                        state = State::Unquoted;
                        Step::More
                    }
                    State::Quoted if b == b'"' => {
                        state = State::QuoteInQuoted;
                        Step::More
                    }
                    State::Quoted => {
                        if b == b'\n' {
                            self.line += 1;
                        }
                        self.field.push(b);
                        Step::More
                    }
                };
                if let Step::End = step {
                    ended = true;
                    break;
                }
            }
            self.input.consume(used);
            if ended {
                self.push_field(record)?;
                return Ok(true);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &str, delimiter: u8, quoting: bool) -> Vec<(u64, Vec<String>)> {
        let mut records = Records::new(text.as_bytes(), Format::GenericCsv, delimiter, quoting);
        let mut record = Record::default();
        let mut out = Vec::new();
        while records.read(&mut record).unwrap() {
            out.push((record.line, record.fields.clone()));
        }
        out
    }

    fn f(fields: &[&str]) -> Vec<String> {
        fields.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn lines_are_counted_across_crlf_blank_lines_and_quoted_breaks() {
        let text = "\"a\"\r\n\"b,c\"\r\n\r\n\"h1\",\"h\n2\"\r\n1,2\r3,4\n\n5,\"6\"\"x\"\"\",7";
        assert_eq!(
            all(text, b',', true),
            vec![
                (1, f(&["a"])),
                (2, f(&["b,c"])),
                (3, f(&[""])),
                (4, f(&["h1", "h\n2"])),
                (6, f(&["1", "2"])),
                (7, f(&["3", "4"])),
                (8, f(&[""])),
                (9, f(&["5", "6\"x\"", "7"])),
            ]
        );
    }

    #[test]
    fn quotes_inside_unquoted_fields_are_text_and_tsv_has_no_quoting() {
        assert_eq!(all("a\"b,c\n", b',', true), vec![(1, f(&["a\"b", "c"]))]);
        assert_eq!(all("\"a\"b,c\n", b',', true), vec![(1, f(&["ab", "c"]))]);
        assert_eq!(
            all("27\" monitor\t5\t\n", b'\t', false),
            vec![(1, f(&["27\" monitor", "5", ""]))]
        );
    }

    #[test]
    fn the_end_of_the_file_closes_an_open_quote() {
        assert_eq!(all("a,\"b,c", b',', true), vec![(1, f(&["a", "b,c"]))]);
        assert_eq!(all("", b',', true), vec![]);
    }

    #[test]
    fn a_long_record_fails_with_its_line_even_when_quoted_line_breaks_reset_nothing() {
        let text = format!("a,b\nc,\"{}\"\n", "x\n".repeat(20));
        let mut records = Records::with_limit(text.as_bytes(), Format::GenericCsv, b',', true, 12);
        let mut record = Record::default();
        assert!(records.read(&mut record).unwrap());
        assert_eq!(
            records.read(&mut record),
            Err(FileError::LineTooLong {
                line: 2,
                limit: 12,
                format: Format::GenericCsv
            })
        );
    }
}
