//! A small pull reader for JSON, enough to stream the elements of a report's arrays one at
//! a time without holding the file.
//!
//! Why not serde_json: its numbers become `f64` unless the `arbitrary_precision` feature is
//! on, and turning that on would change `serde_json` for the whole workspace. Money must
//! never touch floating point, so numbers here stay the text they were written as.
//!
//! Each value parsed into memory is subject to a byte budget (an element of a report is a
//! few hundred bytes; anything past the budget is refused), values skipped are not stored,
//! and nesting is limited to 128 levels.

use crate::decode::file_error;
use crate::{FileError, Format};
use std::io::{BufRead, BufReader, Read};

const MAX_DEPTH: usize = 128;

/// A parsed JSON value; numbers keep their text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Value>),
    Object(Vec<(String, Value)>),
}

impl Value {
    /// The member `key` of an object (the last one, if written twice).
    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(members) => members.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }
}

/// Reads JSON from a UTF-8 byte stream.
pub(crate) struct JsonReader<R> {
    inner: BufReader<R>,
    format: Format,
    /// The current line, 1-based.
    pub(crate) line: u64,
    budget: Option<u64>,
    used: u64,
}

impl<R: Read> JsonReader<R> {
    pub(crate) fn new(inner: R, format: Format) -> Self {
        Self {
            inner: BufReader::with_capacity(64 * 1024, inner),
            format,
            line: 1,
            budget: None,
            used: 0,
        }
    }

    pub(crate) fn malformed(&self, detail: impl std::fmt::Display) -> FileError {
        FileError::Malformed {
            format: self.format,
            detail: format!("line {}: {detail}", self.line),
        }
    }

    /// Limits the bytes read until [`JsonReader::unlimited`] to `bytes`.
    pub(crate) fn limit(&mut self, bytes: u64) {
        self.budget = Some(bytes);
        self.used = 0;
    }

    pub(crate) fn unlimited(&mut self) {
        self.budget = None;
    }

    pub(crate) fn peek(&mut self) -> Result<Option<u8>, FileError> {
        loop {
            match self.inner.fill_buf() {
                Ok(buf) => return Ok(buf.first().copied()),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(file_error(&e)),
            }
        }
    }

    pub(crate) fn bump(&mut self) -> Result<Option<u8>, FileError> {
        let byte = self.peek()?;
        if let Some(b) = byte {
            self.inner.consume(1);
            if b == b'\n' {
                self.line += 1;
            }
            if let Some(budget) = self.budget {
                self.used += 1;
                if self.used > budget {
                    return Err(self.malformed(format!(
                        "a value is larger than {budget} bytes; is this really a report?"
                    )));
                }
            }
        }
        Ok(byte)
    }

    /// Skips whitespace and returns the next byte without consuming it.
    pub(crate) fn skip_ws(&mut self) -> Result<Option<u8>, FileError> {
        loop {
            match self.peek()? {
                Some(b' ' | b'\t' | b'\n' | b'\r') => {
                    self.bump()?;
                }
                other => return Ok(other),
            }
        }
    }

    pub(crate) fn expect(&mut self, wanted: u8) -> Result<(), FileError> {
        match self.skip_ws()? {
            Some(b) if b == wanted => {
                self.bump()?;
                Ok(())
            }
            Some(b) => Err(self.malformed(format!(
                "expected `{}`, found `{}`",
                wanted as char,
                (b as char).escape_default()
            ))),
            None => Err(self.malformed(format!(
                "expected `{}`, found the end of the file (is it cut short?)",
                wanted as char
            ))),
        }
    }

    /// Parses one value into memory.
    pub(crate) fn value(&mut self) -> Result<Value, FileError> {
        self.parse(0, true).map(|v| v.unwrap_or(Value::Null))
    }

    /// Skips one value without storing it.
    pub(crate) fn skip(&mut self) -> Result<(), FileError> {
        self.parse(0, false).map(|_| ())
    }

    /// Parses a string (the opening quote next) into memory.
    pub(crate) fn string(&mut self) -> Result<String, FileError> {
        match self.skip_ws()? {
            Some(b'"') => self.string_body(true),
            _ => Err(self.malformed("expected a string")),
        }
    }

    fn parse(&mut self, depth: usize, keep: bool) -> Result<Option<Value>, FileError> {
        if depth > MAX_DEPTH {
            return Err(self.malformed("the JSON is nested too deeply"));
        }
        let Some(first) = self.skip_ws()? else {
            return Err(self.malformed("unexpected end of the file (is it cut short?)"));
        };
        let value = match first {
            b'{' => {
                self.bump()?;
                let mut members = Vec::new();
                if self.skip_ws()? == Some(b'}') {
                    self.bump()?;
                } else {
                    loop {
                        let key = match self.skip_ws()? {
                            Some(b'"') => self.string_body(keep)?,
                            _ => return Err(self.malformed("expected a member name")),
                        };
                        self.expect(b':')?;
                        let value = self.parse(depth + 1, keep)?;
                        if let Some(value) = value {
                            members.push((key, value));
                        }
                        match self.skip_ws()? {
                            Some(b',') => {
                                self.bump()?;
                            }
                            Some(b'}') => {
                                self.bump()?;
                                break;
                            }
                            _ => return Err(self.malformed("expected `,` or `}` in an object")),
                        }
                    }
                }
                Value::Object(members)
            }
            b'[' => {
                self.bump()?;
                let mut items = Vec::new();
                if self.skip_ws()? == Some(b']') {
                    self.bump()?;
                } else {
                    loop {
                        if let Some(item) = self.parse(depth + 1, keep)? {
                            items.push(item);
                        }
                        match self.skip_ws()? {
                            Some(b',') => {
                                self.bump()?;
                            }
                            Some(b']') => {
                                self.bump()?;
                                break;
                            }
                            _ => return Err(self.malformed("expected `,` or `]` in an array")),
                        }
                    }
                }
                Value::Array(items)
            }
            b'"' => Value::String(self.string_body(keep)?),
            b't' => {
                self.literal(b"true")?;
                Value::Bool(true)
            }
            b'f' => {
                self.literal(b"false")?;
                Value::Bool(false)
            }
            b'n' => {
                self.literal(b"null")?;
                Value::Null
            }
            b'-' | b'0'..=b'9' => Value::Number(self.number()?),
            other => {
                return Err(
                    self.malformed(format!("unexpected `{}`", (other as char).escape_default()))
                )
            }
        };
        Ok(keep.then_some(value))
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), FileError> {
        for expected in word {
            if self.bump()? != Some(*expected) {
                return Err(self.malformed(format!("expected `{}`", String::from_utf8_lossy(word))));
            }
        }
        Ok(())
    }

    fn number(&mut self) -> Result<String, FileError> {
        let mut text = String::new();
        while let Some(b) = self.peek()? {
            if b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E') {
                self.bump()?;
                text.push(b as char);
            } else {
                break;
            }
        }
        if valid_number(&text) {
            Ok(text)
        } else {
            Err(self.malformed(format!("`{text}` is not a JSON number")))
        }
    }

    /// The rest of a string after its opening quote (which is next in the input).
    fn string_body(&mut self, keep: bool) -> Result<String, FileError> {
        self.bump()?;
        let mut bytes = Vec::new();
        loop {
            let Some(b) = self.bump()? else {
                return Err(self.malformed("a string is not closed (is the file cut short?)"));
            };
            match b {
                b'"' => break,
                b'\\' => {
                    let escaped = match self.bump()? {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            let high = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&high) {
                                if self.bump()? != Some(b'\\') || self.bump()? != Some(b'u') {
                                    return Err(self.malformed("a lone surrogate in a string"));
                                }
                                let low = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&low) {
                                    return Err(self.malformed("a lone surrogate in a string"));
                                }
                                0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
                            } else {
                                high
                            };
                            char::from_u32(code)
                                .ok_or_else(|| self.malformed("a lone surrogate in a string"))?
                        }
                        _ => return Err(self.malformed("a bad escape in a string")),
                    };
                    if keep {
                        let mut buf = [0u8; 4];
                        bytes.extend_from_slice(escaped.encode_utf8(&mut buf).as_bytes());
                    }
                }
                0x00..=0x1F => return Err(self.malformed("a control character in a string")),
                other => {
                    if keep {
                        bytes.push(other);
                    }
                }
            }
        }
        String::from_utf8(bytes).map_err(|_| self.malformed("a string is not valid UTF-8"))
    }

    fn hex4(&mut self) -> Result<u32, FileError> {
        let mut code = 0;
        for _ in 0..4 {
            let digit = self
                .bump()?
                .and_then(|b| (b as char).to_digit(16))
                .ok_or_else(|| self.malformed("a bad \\u escape in a string"))?;
            code = code * 16 + digit;
        }
        Ok(code)
    }
}

/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
fn valid_number(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = 0;
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    let int_start = i;
    let int_len = digits(&mut i);
    if int_len == 0 || (int_len > 1 && b[int_start] == b'0') {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Value, FileError> {
        JsonReader::new(text.as_bytes(), Format::AmazonSalesTrafficJson).value()
    }

    #[test]
    fn values_parse_with_numbers_kept_as_written() {
        let v =
            parse(r#" {"a": [1, -2.50, 3e2, true, false, null], "b": "x\"\u00e9\ud83d\ude00\n"} "#)
                .unwrap();
        assert_eq!(
            v.get("a"),
            Some(&Value::Array(vec![
                Value::Number("1".into()),
                Value::Number("-2.50".into()),
                Value::Number("3e2".into()),
                Value::Bool(true),
                Value::Bool(false),
                Value::Null,
            ]))
        );
        assert_eq!(v.get("b"), Some(&Value::String("x\"é😀\n".into())));
    }

    #[test]
    fn bad_json_is_malformed() {
        for bad in [
            "{",
            "[1,]",
            "{\"a\" 1}",
            "01",
            "1.",
            "-",
            "tru",
            "\"abc",
            "\"\\x\"",
            "{\"a\":1,}",
            "\"\\ud800\"",
            "\"a\nb\"",
        ] {
            assert!(
                matches!(parse(bad), Err(FileError::Malformed { .. })),
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn nesting_and_size_are_bounded() {
        let deep = "[".repeat(1000);
        assert!(parse(&deep).is_err());
        let mut reader = JsonReader::new(
            br#"{"a": "0123456789012345678901234567890123456789"}"#.as_slice(),
            Format::AmazonSalesTrafficJson,
        );
        reader.limit(20);
        assert!(reader.value().is_err());
    }
}
