//! Whatever the bytes, no reader panics, and every reader comes to an end.

mod common;

use common::*;
use kpi_ledger_import::{open, EncodingChoice, Format, ImportOptions};
use proptest::prelude::*;

/// A valid file of each format to splice garbage into.
fn valid_file(format: Format) -> Vec<u8> {
    match format {
        Format::GenericCsv => b"date,platform,metric,value,scope\n2026-05-01,amazon_jp,gmv,\"\xEF\xBF\xA51,234\",\n2026-05-02,amazon_jp,sessions,12,B0D1\n".to_vec(),
        Format::AmazonBusinessReport => fixture("amazon_business_report_bydate_ja.utf8bom.csv"),
        Format::AmazonSalesTrafficJson => br#"{"reportSpecification":{"dataStartTime":"2026-05-01","dataEndTime":"2026-05-02"},"salesAndTrafficByDate":[{"date":"2026-05-01","salesByDate":{"orderedProductSales":{"amount":1.5,"currencyCode":"JPY"},"unitsOrdered":1},"trafficByDate":{"sessions":3}}],"salesAndTrafficByAsin":[{"childAsin":"B0D1","salesByAsin":{"unitsOrdered":1}}]}"#.to_vec(),
        Format::AmazonAdsSp => fixture("amazon_ads_sp_search_term_en.utf8bom.csv"),
        Format::AmazonFbaInventory => fixture("fba_myi_unsuppressed_inventory_jp.utf8.txt"),
        Format::RakutenRms => fixture("rakuten_rms_store_data_daily.utf8bom.csv"),
        Format::YahooShopping => fixture("yahoo_scp_overall_kpi.utf8bom.csv"),
    }
}

fn options_for(format: Format, encoding: EncodingChoice, with_range: bool) -> ImportOptions {
    ImportOptions {
        encoding,
        range: with_range.then(|| range("2026-05-14", "2026-05-14")),
        ..options(format, "amazon_jp")
    }
}

/// Reads everything; the iteration must end (bounded by the input's size).
fn drain(bytes: &[u8], options: &ImportOptions) {
    if let Ok(rows) = open(bytes, options) {
        let mut steps = 0usize;
        for item in rows {
            steps += 1;
            assert!(steps <= bytes.len() * 4 + 64, "the reader does not end");
            if item.is_err() {
                break;
            }
        }
    }
}

fn encoding() -> impl Strategy<Value = EncodingChoice> {
    prop_oneof![
        Just(EncodingChoice::Auto),
        Just(EncodingChoice::Utf8),
        Just(EncodingChoice::Cp932)
    ]
}

fn format() -> impl Strategy<Value = Format> {
    proptest::sample::select(Format::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..2048),
        format in format(),
        encoding in encoding(),
        with_range in any::<bool>(),
    ) {
        drain(&bytes, &options_for(format, encoding, with_range));
    }

    #[test]
    fn value_parsers_never_panic(text in "\\PC{0,40}", ascii in "[ -~]{0,20}") {
        for t in [text.as_str(), ascii.as_str()] {
            let _ = kpi_ledger_import::values::money(t, &"JPY".into());
            let _ = kpi_ledger_import::values::number(t);
            let _ = kpi_ledger_import::values::percent(t);
            let _ = kpi_ledger_import::values::date(t);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(
        text in "\\PC{0,400}",
        format in format(),
        with_range in any::<bool>(),
    ) {
        drain(text.as_bytes(), &options_for(format, EncodingChoice::Auto, with_range));
    }

    #[test]
    fn garbage_spliced_into_a_valid_file_never_panics(
        format in format(),
        at in any::<proptest::sample::Index>(),
        cut in 0usize..64,
        garbage in "(\\PC|[\",\t\r\n\"{}\\[\\]:]){0,40}",
        raw in proptest::collection::vec(any::<u8>(), 0..16),
        encoding in encoding(),
        with_range in any::<bool>(),
    ) {
        let mut bytes = valid_file(format);
        let at = at.index(bytes.len() + 1);
        let end = (at + cut).min(bytes.len());
        bytes.splice(at..end, garbage.bytes().chain(raw));
        drain(&bytes, &options_for(format, encoding, with_range));
    }

    #[test]
    fn the_cp932_twin_with_garbage_never_panics(
        format in format(),
        at in any::<proptest::sample::Index>(),
        garbage in proptest::collection::vec(any::<u8>(), 0..32),
        with_range in any::<bool>(),
    ) {
        let valid = valid_file(format);
        let mut bytes = to_cp932(&valid);
        let at = at.index(bytes.len() + 1);
        bytes.splice(at..at, garbage);
        drain(&bytes, &options_for(format, EncodingChoice::Auto, with_range));
    }
}
