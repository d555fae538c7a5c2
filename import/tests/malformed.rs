//! Files that must be refused, and how: a row error (reading goes on, so the caller can
//! name every bad row) or a file error (reading stops).

mod common;

use common::*;
use kpi_ledger_import::{open, EncodingChoice, FileError, Format, ImportOptions, MAX_LINE_BYTES};
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BY_DATE: &str = "amazon_business_report_bydate_ja.utf8bom.csv";

fn by_date_text() -> String {
    String::from_utf8(fixture(BY_DATE)).unwrap()
}

fn business() -> ImportOptions {
    options(Format::AmazonBusinessReport, "amazon_jp")
}

#[test]
fn a_file_cut_mid_row_gives_an_error_for_that_row_and_keeps_the_others() {
    let text = by_date_text();
    let last = text.rfind("2026/05/14").unwrap();
    for cut in [
        // In the middle of the row, between fields.
        &text[..last + "2026/05/14,\"￥134,270\",\"￥5,940\",45,3".len()],
        // Inside a quoted money field.
        &text[..last + "2026/05/14,\"￥134,2".len()],
    ] {
        for (label, bytes, encoding) in variants(cut.as_bytes()) {
            let options = ImportOptions {
                encoding,
                ..business()
            };
            let (rows, errors) = split(read(&bytes, &options).unwrap());
            assert_eq!(rows.len(), 13, "{label}");
            assert!(!errors.is_empty(), "{label}");
            assert!(errors.iter().all(|e| e.line == 15), "{label}: {errors:?}");
            assert!(
                errors.iter().any(|e| e.reason.contains("cut short")),
                "{label}: {errors:?}"
            );
        }
    }
}

#[test]
fn a_utf8_file_read_as_cp932_is_mojibake() {
    for file in [
        BY_DATE,
        "rakuten_rms_store_data_daily.utf8bom.csv",
        "yahoo_scp_overall_kpi.utf8bom.csv",
    ] {
        let bytes = fixture(file);
        let format = match file {
            BY_DATE => Format::AmazonBusinessReport,
            f if f.starts_with("rakuten") => Format::RakutenRms,
            _ => Format::YahooShopping,
        };
        let options = ImportOptions {
            encoding: EncodingChoice::Cp932,
            ..options(format, "p")
        };
        // With its byte-order mark, and without it (a BOM says UTF-8 outright).
        let without_bom = bytes[3..].to_vec();
        for bytes in [bytes, without_bom] {
            let error = read(&bytes, &options).unwrap_err();
            assert!(
                matches!(error, FileError::Mojibake { line: 1, .. }),
                "{file}: {error:?}"
            );
        }
    }
}

#[test]
fn a_cp932_file_read_as_utf8_is_mojibake() {
    for (file, format) in [
        (BY_DATE, Format::AmazonBusinessReport),
        (
            "rakuten_rms_store_data_daily.utf8bom.csv",
            Format::RakutenRms,
        ),
    ] {
        let options = ImportOptions {
            encoding: EncodingChoice::Utf8,
            ..options(format, "p")
        };
        let error = read(&to_cp932(&fixture(file)), &options).unwrap_err();
        assert!(
            matches!(error, FileError::Mojibake { line: 1, .. }),
            "{error:?}"
        );
    }
    // An English header reads fine; the Japanese product names on line 2 do not.
    let options = ImportOptions {
        encoding: EncodingChoice::Utf8,
        range: Some(range("2026-05-14", "2026-05-14")),
        ..options(Format::AmazonFbaInventory, "amazon_jp")
    };
    let cp932 = to_cp932(&fixture("fba_myi_unsuppressed_inventory_jp.utf8.txt"));
    let error = read(&cp932, &options).unwrap_err();
    assert!(
        matches!(error, FileError::Mojibake { line: 2, .. }),
        "{error:?}"
    );
}

#[test]
fn text_garbled_before_it_reached_us_is_mojibake() {
    // UTF-8 once read as Windows-1252 and saved again as UTF-8.
    let double: String = "日付,注文商品の売上額\n"
        .bytes()
        .map(|b| {
            let byte = [b];
            let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(&byte);
            text.into_owned()
        })
        .collect();
    let error = read(double.as_bytes(), &business()).unwrap_err();
    assert!(
        matches!(error, FileError::Mojibake { line: 1, .. }),
        "{error:?}"
    );
    // Half-width katakana soup where Japanese headers belong.
    let soup = "ﾃﾞﾊﾞｲｽ,ｳﾘｱｹﾞ\n1,2\n";
    let error = read(soup.as_bytes(), &business()).unwrap_err();
    assert!(
        matches!(error, FileError::Mojibake { line: 1, .. }),
        "{error:?}"
    );
}

#[test]
fn a_missing_column_is_named_and_a_b2b_column_never_stands_in() {
    let text = by_date_text().replacen("セッション数 - 合計,", "セッション数（旧）,", 1);
    assert!(text.contains("セッション数 - 合計 - B2B"));
    let error = read(text.as_bytes(), &business()).unwrap_err();
    match error {
        FileError::MissingColumns {
            format,
            missing,
            found,
        } => {
            assert_eq!(format, Format::AmazonBusinessReport);
            assert_eq!(missing.len(), 1);
            assert!(missing[0].contains("セッション数 - 合計"), "{missing:?}");
            assert!(found.contains(&"セッション数 - 合計 - B2B".to_string()));
            assert!(found.contains(&"日付".to_string()));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_header_that_fits_no_format_lists_what_it_has() {
    let bytes = fixture("yahoo_scp_overall_kpi.utf8bom.csv");
    let error = read(&bytes, &options(Format::RakutenRms, "rakuten")).unwrap_err();
    assert!(
        matches!(&error, FileError::MissingColumns { found, .. } if found.contains(&"合算値売上合計値".to_string())),
        "{error:?}"
    );
}

#[test]
fn the_same_day_twice_gives_both_rows_the_same_key() {
    let text = by_date_text();
    let first = text.lines().nth(1).unwrap().to_string();
    let again = first.replacen("2026/05/01", "2026-05-01", 1);
    let text = format!("{text}{again}\n");
    let rows = read_ok(text.as_bytes(), &business());
    assert_eq!(rows.len(), 15);
    assert_eq!(rows[0].key, rows[14].key);
    assert_eq!((rows[0].line, rows[14].line), (2, 16));
    // And in 2026年05月01日 form, in Rakuten's daily report.
    let yahoo = String::from_utf8(fixture("yahoo_scp_overall_kpi.utf8bom.csv")).unwrap();
    let again = yahoo
        .lines()
        .nth(1)
        .unwrap()
        .replacen("2026-05-01", "2026年05月01日", 1);
    let text = format!("{yahoo}{again}\n");
    let rows = read_ok(
        text.as_bytes(),
        &options(Format::YahooShopping, "yahoo_shopping"),
    );
    assert_eq!(rows[0].key, rows.last().unwrap().key);
}

#[test]
fn a_bad_date_is_a_row_error_and_reading_goes_on() {
    let text = by_date_text()
        .replacen("2026/05/03", "2026/02/30", 1)
        .replacen("2026/05/07", "someday", 1);
    let (rows, errors) = split(read(text.as_bytes(), &business()).unwrap());
    assert_eq!(rows.len(), 12);
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0].line, 4);
    assert_eq!(errors[0].column.as_deref(), Some("日付"));
    assert_eq!(errors[0].value.as_deref(), Some("2026/02/30"));
    assert_eq!(errors[1].line, 8);
    assert_eq!(errors[1].value.as_deref(), Some("someday"));
}

#[test]
fn bad_values_in_mapped_columns_are_errors_and_unmapped_columns_are_not_read() {
    let text = by_date_text()
        // A mapped count that is not a number.
        .replacen(
            "2026/05/02,\"￥122,150\",\"￥3,960\",74,",
            "2026/05/02,\"￥122,150\",\"￥3,960\",seventy,",
            1,
        )
        // A decimal comma where a count belongs.
        .replacen(",\"1,504\",65,", ",\"1,50\",65,", 1)
        // Garbage in an unmapped percent column: ignored.
        .replacen("9.43%", "??%", 1);
    let (rows, errors) = split(read(text.as_bytes(), &business()).unwrap());
    assert_eq!(rows.len(), 12);
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert_eq!(errors[0].line, 2);
    assert_eq!(errors[0].column.as_deref(), Some("ページビュー - 合計"));
    assert_eq!(errors[1].line, 3);
    assert_eq!(errors[1].column.as_deref(), Some("注文された商品点数"));
    assert_eq!(errors[1].value.as_deref(), Some("seventy"));
}

#[test]
fn money_in_another_currency_is_a_row_error_saying_so() {
    let text = by_date_text().replacen("\"￥250,780\"", "\"$2,507.80\"", 1);
    let (_, errors) = split(read(text.as_bytes(), &business()).unwrap());
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].column.as_deref(), Some("注文商品の売上額"));
    assert!(errors[0].reason.contains("USD"), "{}", errors[0].reason);
    assert!(errors[0].reason.contains("JPY"), "{}", errors[0].reason);
    // The ads report's currency column.
    let ads = String::from_utf8(fixture("amazon_ads_sp_search_term_en.utf8bom.csv")).unwrap();
    let ads = ads.replace(",JPY,", ",USD,");
    let (rows, errors) =
        split(read(ads.as_bytes(), &options(Format::AmazonAdsSp, "amazon_jp")).unwrap());
    assert!(rows.is_empty());
    assert_eq!(errors.len(), 15);
    assert!(errors
        .iter()
        .all(|e| e.column.as_deref() == Some("Currency")));
}

#[test]
fn an_unquoted_thousands_separator_shifts_the_columns_and_is_an_error() {
    let text = by_date_text().replacen("\"￥250,780\"", "￥250,780", 1);
    let (rows, errors) = split(read(text.as_bytes(), &business()).unwrap());
    assert_eq!(rows.len(), 13);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].line, 2);
}

#[test]
fn binary_input_is_refused() {
    let mut png = vec![
        0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1A, b'\n', 0, 0, 0, 13,
    ];
    png.extend_from_slice(b"IHDR");
    let xlsx = b"PK\x03\x04\x14\x00\x06\x00".to_vec();
    let mut late = by_date_text().into_bytes();
    late.extend_from_slice(b"\x00\x01\x02");
    for format in kpi_ledger_import::Format::ALL {
        let options = ImportOptions {
            range: Some(range("2026-05-14", "2026-05-14")),
            ..options(format, "amazon_jp")
        };
        for bytes in [&png, &xlsx] {
            let error = read(bytes, &options).unwrap_err();
            assert!(
                matches!(error, FileError::Binary { .. }),
                "{format}: {error:?}"
            );
        }
    }
    let error = read(&late, &business()).unwrap_err();
    assert!(matches!(error, FileError::Binary { offset } if offset as usize == late.len() - 3));
}

#[test]
fn an_empty_file_is_refused() {
    for format in kpi_ledger_import::Format::ALL {
        let options = ImportOptions {
            range: Some(range("2026-05-14", "2026-05-14")),
            ..options(format, "amazon_jp")
        };
        for bytes in [
            &b""[..],
            b"\n\n",
            b"  \r\n\t\r\n",
            b"\xEF\xBB\xBF",
            b"\xEF\xBB\xBF\n",
        ] {
            assert_eq!(
                read(bytes, &options),
                Err(FileError::Empty),
                "{format} {bytes:?}"
            );
        }
    }
    // Commas only: a blank table.
    assert_eq!(read(b",,,\n,,,\n", &business()), Err(FileError::Empty));
}

#[test]
fn a_header_without_rows_reads_as_no_rows() {
    let text = by_date_text();
    let header = text.lines().next().unwrap();
    assert_eq!(read(header.as_bytes(), &business()), Ok(vec![]));
}

/// 100 MB of one line, made as it is read.
struct Endless {
    left: u64,
    served: Arc<AtomicU64>,
}

impl Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (buf.len() as u64).min(self.left) as usize;
        buf[..n].fill(b'7');
        self.left -= n as u64;
        self.served.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

#[test]
fn one_100_mb_line_fails_fast_in_bounded_memory() {
    for format in kpi_ledger_import::Format::ALL {
        if format == Format::AmazonSalesTrafficJson {
            continue;
        }
        let served = Arc::new(AtomicU64::new(0));
        let input = Endless {
            left: 100 * 1024 * 1024,
            served: served.clone(),
        };
        let options = ImportOptions {
            range: Some(range("2026-05-14", "2026-05-14")),
            ..options(format, "amazon_jp")
        };
        let started = Instant::now();
        let error = match open(input, &options) {
            Err(error) => error,
            Ok(rows) => rows.filter_map(Result::err).next().expect("a file error"),
        };
        assert_eq!(
            error,
            FileError::LineTooLong {
                line: 1,
                limit: MAX_LINE_BYTES,
                format
            }
        );
        let read = served.load(Ordering::Relaxed);
        assert!(read < 4 * MAX_LINE_BYTES, "{format}: read {read} bytes");
        assert!(started.elapsed() < Duration::from_secs(10), "{format}");
    }
}

#[test]
fn a_giant_json_entry_is_refused_without_reading_it_whole() {
    struct Json {
        head: &'static [u8],
        left: u64,
        served: Arc<AtomicU64>,
    }
    impl Read for Json {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if !self.head.is_empty() {
                let n = buf.len().min(self.head.len());
                buf[..n].copy_from_slice(&self.head[..n]);
                self.head = &self.head[n..];
                self.served.fetch_add(n as u64, Ordering::Relaxed);
                return Ok(n);
            }
            let n = (buf.len() as u64).min(self.left) as usize;
            buf[..n].fill(b'x');
            self.left -= n as u64;
            self.served.fetch_add(n as u64, Ordering::Relaxed);
            Ok(n)
        }
    }
    let served = Arc::new(AtomicU64::new(0));
    let input = Json {
        head: br#"{"salesAndTrafficByDate": [{"date": "2026-05-01", "note": ""#,
        left: 100 * 1024 * 1024,
        served: served.clone(),
    };
    let options = options(Format::AmazonSalesTrafficJson, "amazon_jp");
    let error = open(input, &options)
        .unwrap()
        .filter_map(Result::err)
        .next()
        .unwrap();
    assert!(matches!(error, FileError::Malformed { .. }), "{error:?}");
    assert!(served.load(Ordering::Relaxed) < 4 * MAX_LINE_BYTES);
}

#[test]
fn a_large_file_streams_with_progress() {
    /// A generic CSV of `rows` rows, made as it is read.
    struct Generated {
        row: u64,
        rows: u64,
        pending: Vec<u8>,
    }
    impl Read for Generated {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            while self.pending.len() < buf.len() && self.row <= self.rows {
                let line = if self.row == 0 {
                    "date,platform,metric,value,scope\n".to_string()
                } else {
                    format!(
                        "2026-05-01,amazon_jp,sessions,{},SKU-{}\n",
                        self.row % 1000,
                        self.row
                    )
                };
                self.pending.extend_from_slice(line.as_bytes());
                self.row += 1;
            }
            let n = buf.len().min(self.pending.len());
            buf[..n].copy_from_slice(&self.pending[..n]);
            self.pending.drain(..n);
            Ok(n)
        }
    }
    let rows = 300_000;
    let input = Generated {
        row: 0,
        rows,
        pending: Vec::new(),
    };
    let mut reader = open(input, &options(Format::GenericCsv, "amazon_jp")).unwrap();
    let progress = reader.progress();
    let mut seen = 0u64;
    let mut last_progress = 0;
    let mut advanced = 0;
    for item in reader.by_ref() {
        item.unwrap();
        seen += 1;
        let now = progress.load(Ordering::Relaxed);
        if now > last_progress {
            advanced += 1;
            last_progress = now;
        }
    }
    assert_eq!(seen, rows);
    assert!(advanced > 10, "progress moved {advanced} times");
    assert_eq!(reader.bytes_read(), last_progress);
}

#[test]
fn the_wrong_encoding_option_on_the_cp932_fixture_twins_is_refused_and_auto_is_not() {
    let cp932 = to_cp932(&fixture("yahoo_scp_overall_kpi.utf8bom.csv"));
    let mut options = options(Format::YahooShopping, "yahoo_shopping");
    assert_eq!(read_ok(&cp932, &options).len(), 14);
    options.encoding = EncodingChoice::Utf8;
    assert!(matches!(
        read(&cp932, &options),
        Err(FileError::Mojibake { .. })
    ));
}

#[test]
fn bytes_valid_in_neither_encoding_are_an_encoding_error() {
    let bytes = b"\xFF\xFF\xFF\xFF,\x80\x80\n1,2\n";
    let error = read(bytes, &business()).unwrap_err();
    assert!(matches!(error, FileError::Encoding { .. }), "{error:?}");
}
