//! From the file's bytes to text, in bounded memory: the progress counter, encoding
//! detection and decoding, binary and mojibake checks, and the guard against endless
//! lines.
//!
//! The order matters: the bytes are decoded first and split into lines afterwards, because
//! CP932 text contains the byte 0x85, which a decoder that splits first would take for a
//! line break (NEL). The layers, innermost first:
//!
//! 1. [`Counting`] adds every byte read from the caller's reader to the shared counter.
//! 2. [`Decoded`] reads 64 KiB at a time, refuses NUL bytes ([`FileError::Binary`]),
//!    settles the encoding (a UTF-8 byte-order mark, the option, or for
//!    [`EncodingChoice::Auto`] the first 4 KiB after the first non-ASCII byte: valid UTF-8
//!    means UTF-8, otherwise it must be valid CP932) and hands out UTF-8. A replacement
//!    character (U+FFFD) in the decoded text means the bytes were not in that encoding:
//!    [`FileError::Mojibake`].
//! 3. The record reader ([`crate::records`]) splits the text into records and fails with
//!    [`FileError::LineTooLong`] past [`MAX_LINE_BYTES`], so a file without line breaks
//!    never gets buffered whole.
//!
//! Errors travel through `std::io::Read` as an `io::Error` wrapping the [`FileError`];
//! [`file_error`] unwraps them again.

use crate::{EncodingChoice, FileError};
use encoding_rs::{CoderResult, Decoder, SHIFT_JIS, UTF_8};
use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The longest record (line) accepted, in bytes of decoded UTF-8 text: 1 MiB.
pub const MAX_LINE_BYTES: u64 = 1 << 20;

/// How much raw input is read and decoded at a time.
const CHUNK: usize = 64 * 1024;

/// How much text after the first non-ASCII byte decides between UTF-8 and CP932.
const SNIFF: usize = 4 * 1024;

/// Wraps a [`FileError`] so it can travel through `std::io::Read`.
pub(crate) fn io_error(error: FileError) -> io::Error {
    io::Error::other(error)
}

/// The [`FileError`] inside an `io::Error` made by [`io_error`], or an I/O failure.
pub(crate) fn file_error(error: &io::Error) -> FileError {
    error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<FileError>())
        .cloned()
        .unwrap_or_else(|| FileError::Io(error.to_string()))
}

/// Counts the bytes read from the caller's reader into the shared progress counter.
pub(crate) struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R> Counting<R> {
    pub(crate) fn new(inner: R, count: Arc<AtomicU64>) -> Self {
        Self { inner, count }
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// The file's text as UTF-8, decoded from UTF-8 or CP932 (see the module doc).
pub(crate) struct Decoded<R> {
    inner: R,
    choice: EncodingChoice,
    decoder: Option<Decoder>,
    /// Raw bytes read but not yet decoded.
    raw: Vec<u8>,
    /// The buffer raw input is read into.
    scratch: Vec<u8>,
    /// The file offset of `raw[0]`.
    raw_offset: u64,
    inner_eof: bool,
    /// Decoded text not yet handed out.
    out: Vec<u8>,
    out_pos: usize,
    /// Line breaks in the text handed out so far (for the line of a mojibake report).
    lines: u64,
    started: bool,
    finished: bool,
    error: Option<FileError>,
}

impl<R: Read> Decoded<R> {
    pub(crate) fn new(inner: R, choice: EncodingChoice) -> Self {
        Self {
            inner,
            choice,
            decoder: None,
            raw: Vec::new(),
            scratch: Vec::new(),
            raw_offset: 0,
            inner_eof: false,
            out: Vec::new(),
            out_pos: 0,
            lines: 0,
            started: false,
            finished: false,
            error: None,
        }
    }

    /// Appends up to one chunk of raw input, refusing NUL bytes.
    fn read_raw(&mut self) -> Result<(), FileError> {
        if self.scratch.is_empty() {
            self.scratch = vec![0; CHUNK];
        }
        let n = loop {
            match self.inner.read(&mut self.scratch) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(file_error(&e)),
            }
        };
        let start = self.raw.len();
        self.raw.extend_from_slice(&self.scratch[..n]);
        if n == 0 {
            self.inner_eof = true;
        }
        // UTF-16 is full of NUL bytes; say what it is rather than "binary".
        if self.raw_offset == 0
            && (self.raw.starts_with(&[0xFF, 0xFE]) || self.raw.starts_with(&[0xFE, 0xFF]))
        {
            return Err(FileError::Encoding {
                detail: "the file is UTF-16; save it as UTF-8 or CP932".into(),
            });
        }
        if let Some(i) = self.raw[start..].iter().position(|b| *b == 0) {
            return Err(FileError::Binary {
                offset: self.raw_offset + (start + i) as u64,
            });
        }
        Ok(())
    }

    /// Settles the encoding, or passes pure ASCII through while it cannot tell yet.
    fn decide(&mut self) -> Result<(), FileError> {
        if !self.started {
            while self.raw.len() < 3 && !self.inner_eof {
                self.read_raw()?;
            }
            self.started = true;
            if self.raw.starts_with(&[0xEF, 0xBB, 0xBF]) {
                if self.choice == EncodingChoice::Cp932 {
                    let end = self.raw.len().min(240);
                    let (text, _) = SHIFT_JIS.decode_without_bom_handling(&self.raw[..end]);
                    let first_line = text.lines().next().unwrap_or_default();
                    return Err(FileError::Mojibake {
                        line: 1,
                        sample: first_line.chars().take(60).collect(),
                    });
                }
                self.decoder = Some(UTF_8.new_decoder_with_bom_removal());
                return Ok(());
            }
        }
        match self.choice {
            EncodingChoice::Utf8 => {
                self.decoder = Some(UTF_8.new_decoder_without_bom_handling());
                return Ok(());
            }
            EncodingChoice::Cp932 => {
                self.decoder = Some(SHIFT_JIS.new_decoder_without_bom_handling());
                return Ok(());
            }
            EncodingChoice::Auto => {}
        }
        let Some(first) = self.raw.iter().position(|b| !b.is_ascii()) else {
            // ASCII reads the same in both encodings: hand it out and decide later.
            self.out.extend_from_slice(&self.raw);
            self.count_lines_and_check(0)?;
            self.raw_offset += self.raw.len() as u64;
            self.raw.clear();
            if self.inner_eof {
                self.finished = true;
            }
            return Ok(());
        };
        while self.raw.len() < first + SNIFF && !self.inner_eof {
            self.read_raw()?;
        }
        let end = self.raw.len().min(first + SNIFF);
        let window = &self.raw[first..end];
        let at_end = self.inner_eof && end == self.raw.len();
        let utf8 = match std::str::from_utf8(window) {
            Ok(_) => true,
            // A character cut at the end of the window is fine, unless the file ends there.
            Err(e) => e.error_len().is_none() && !at_end,
        };
        if utf8 {
            self.decoder = Some(UTF_8.new_decoder_without_bom_handling());
            return Ok(());
        }
        let mut probe = SHIFT_JIS.new_decoder_without_bom_handling();
        let mut scratch = vec![0u8; window.len() * 3 + 16];
        let (result, _, _) = probe.decode_to_utf8_without_replacement(window, &mut scratch, at_end);
        if matches!(result, encoding_rs::DecoderResult::Malformed(_, _)) {
            return Err(FileError::Encoding {
                detail: format!(
                    "the bytes from offset {} are valid in neither",
                    self.raw_offset + first as u64
                ),
            });
        }
        self.decoder = Some(SHIFT_JIS.new_decoder_without_bom_handling());
        Ok(())
    }

    /// Decodes the pending raw bytes into `out`.
    fn fill(&mut self) -> Result<(), FileError> {
        self.out.clear();
        self.out_pos = 0;
        if self.raw.is_empty() && !self.inner_eof {
            self.read_raw()?;
        }
        if self.decoder.is_none() {
            self.decide()?;
            if self.decoder.is_none() {
                return Ok(());
            }
        }
        let last = self.inner_eof;
        let Some(decoder) = self.decoder.as_mut() else {
            return Ok(());
        };
        let mut consumed = 0;
        loop {
            let need = decoder
                .max_utf8_buffer_length(self.raw.len() - consumed)
                .unwrap_or(CHUNK * 4)
                .max(16);
            let start = self.out.len();
            self.out.resize(start + need, 0);
            let (result, read, written, _) =
                decoder.decode_to_utf8(&self.raw[consumed..], &mut self.out[start..], last);
            self.out.truncate(start + written);
            consumed += read;
            if result == CoderResult::InputEmpty {
                break;
            }
        }
        self.raw_offset += consumed as u64;
        self.raw.drain(..consumed);
        if last {
            self.finished = true;
        }
        self.count_lines_and_check(0)
    }

    /// Counts the line breaks of `out[from..]` and refuses replacement characters.
    fn count_lines_and_check(&mut self, from: usize) -> Result<(), FileError> {
        let text = &self.out[from..];
        if let Some(at) = text.windows(3).position(|w| w == [0xEF, 0xBF, 0xBD]) {
            let before = &text[..at];
            let line = self.lines + before.iter().filter(|b| **b == b'\n').count() as u64 + 1;
            let line_start = before
                .iter()
                .rposition(|b| *b == b'\n')
                .map_or(0, |i| i + 1);
            let line_end = text[at..]
                .iter()
                .position(|b| *b == b'\n')
                .map_or(text.len(), |i| at + i);
            let sample: String = String::from_utf8_lossy(&text[line_start..line_end])
                .trim()
                .chars()
                .take(60)
                .collect();
            return Err(FileError::Mojibake { line, sample });
        }
        self.lines += text.iter().filter(|b| **b == b'\n').count() as u64;
        Ok(())
    }
}

impl<R: Read> Read for Decoded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some(error) = &self.error {
                return Err(io_error(error.clone()));
            }
            if self.out_pos < self.out.len() {
                let n = buf.len().min(self.out.len() - self.out_pos);
                buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
                self.out_pos += n;
                return Ok(n);
            }
            if self.finished || buf.is_empty() {
                return Ok(0);
            }
            if let Err(error) = self.fill() {
                self.error = Some(error);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8], choice: EncodingChoice) -> Result<String, FileError> {
        let mut text = String::new();
        Decoded::new(bytes, choice)
            .read_to_string(&mut text)
            .map_err(|e| file_error(&e))?;
        Ok(text)
    }

    /// A reader that hands out one byte at a time, to cut every multi-byte character.
    struct Trickle<'a>(&'a [u8]);
    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() || buf.is_empty() {
                return Ok(0);
            }
            buf[0] = self.0[0];
            self.0 = &self.0[1..];
            Ok(1)
        }
    }

    #[test]
    fn utf8_with_and_without_bom_and_cp932_are_detected() {
        let text = "日付,売上\n2026/05/01,１２３\n";
        let (cp932, _, unmappable) = SHIFT_JIS.encode(text);
        assert!(!unmappable);
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend_from_slice(text.as_bytes());
        for choice in [EncodingChoice::Auto, EncodingChoice::Utf8] {
            assert_eq!(decode(text.as_bytes(), choice).unwrap(), text);
            assert_eq!(decode(&bom, choice).unwrap(), text);
        }
        for choice in [EncodingChoice::Auto, EncodingChoice::Cp932] {
            assert_eq!(decode(&cp932, choice).unwrap(), text);
        }
    }

    #[test]
    fn cp932_byte_0x85_is_not_a_line_break() {
        // `ュ` is 0x83 0x85 in CP932; read as Latin-1 0x85 would be NEL, a line break.
        let text = "ュ,ア\n";
        let (cp932, _, _) = SHIFT_JIS.encode(text);
        assert!(cp932.contains(&0x85));
        assert_eq!(decode(&cp932, EncodingChoice::Auto).unwrap(), text);
        assert_eq!(
            decode(&cp932, EncodingChoice::Auto)
                .unwrap()
                .lines()
                .count(),
            1
        );
    }

    #[test]
    fn characters_cut_between_reads_survive() {
        let text = "ハンディファン 首振り\n".repeat(5000);
        let mut out = String::new();
        Decoded::new(Trickle(text.as_bytes()), EncodingChoice::Auto)
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, text);
        let (cp932, _, _) = SHIFT_JIS.encode(&text);
        let mut out = String::new();
        Decoded::new(Trickle(&cp932), EncodingChoice::Auto)
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, text);
    }

    #[test]
    fn a_long_ascii_prefix_does_not_decide_the_encoding_too_early() {
        let mut text = "sku\tqty\n".to_string();
        text.push_str(&"ABC-123\t5\n".repeat(20_000));
        text.push_str("水筒\t7\n");
        let (cp932, _, _) = SHIFT_JIS.encode(&text);
        assert_eq!(decode(&cp932, EncodingChoice::Auto).unwrap(), text);
    }

    #[test]
    fn the_wrong_forced_encoding_is_mojibake() {
        let text = "日付,売上\n2026/05/01,１２３\n";
        let (cp932, _, _) = SHIFT_JIS.encode(text);
        assert!(matches!(
            decode(&cp932, EncodingChoice::Utf8),
            Err(FileError::Mojibake { line: 1, .. })
        ));
        assert!(matches!(
            decode(text.as_bytes(), EncodingChoice::Cp932),
            Err(FileError::Mojibake { line: 1, .. })
        ));
    }

    #[test]
    fn nul_bytes_are_binary_and_utf16_is_refused() {
        assert_eq!(
            decode(b"abc\0def", EncodingChoice::Auto),
            Err(FileError::Binary { offset: 3 })
        );
        assert!(matches!(
            decode(&[0xFF, 0xFE, b'a', 0], EncodingChoice::Auto),
            Err(FileError::Encoding { .. })
        ));
        assert!(matches!(
            decode(&[0x80, 0xFF, 0xFF, 0xFF], EncodingChoice::Auto),
            Err(FileError::Encoding { .. })
        ));
    }
}
