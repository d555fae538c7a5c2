//! Every sample export in `shared/fixtures/marketplace` yields exactly the figures its
//! README states, read as UTF-8 and as its CP932 twin, with the encoding detected and
//! stated.

mod common;

use common::*;
use kpi_ledger_import::{FileError, Format, ImportOptions, ParsedRow};
use rust_decimal::Decimal;

fn each_variant(file: &str, options: &ImportOptions, check: impl Fn(&str, &[ParsedRow])) {
    for (label, bytes, encoding) in variants(&fixture(file)) {
        let options = ImportOptions {
            encoding,
            ..options.clone()
        };
        let rows = read_ok(&bytes, &options);
        check(label, &rows);
    }
}

fn assert_by_date_business_report(label: &str, rows: &[ParsedRow]) {
    assert_eq!(rows.len(), 14, "{label}");
    assert_unique_keys(rows);
    assert_platform(rows, "amazon_jp");
    let days = store_ranges(rows, "gmv");
    assert_eq!(days.len(), 14, "{label}");
    assert_eq!(days[0], range("2026-05-01", "2026-05-01"), "{label}");
    assert_eq!(days[13], range("2026-05-14", "2026-05-14"), "{label}");
    assert_eq!(store_sum(rows, "gmv"), dec("2625850"), "{label}");
    assert_eq!(store_sum(rows, "units_ordered"), dec("1176"), "{label}");
    assert_eq!(store_sum(rows, "orders"), dec("1079"), "{label}");
    assert_eq!(store_sum(rows, "sessions"), dec("26494"), "{label}");
    assert_eq!(store_sum(rows, "page_views"), dec("34481"), "{label}");
    assert_eq!(scoped_sum(rows, "gmv"), Decimal::ZERO, "{label}");
    // Each day: the five metrics and nothing else (no B2B, no rates).
    for row in rows {
        let mut metrics: Vec<&str> = row.observations.iter().map(|o| o.metric.as_str()).collect();
        metrics.sort();
        assert_eq!(
            metrics,
            ["gmv", "orders", "page_views", "sessions", "units_ordered"],
            "{label}"
        );
    }
}

#[test]
fn the_by_date_business_report_yields_the_readme_figures() {
    let options = options(Format::AmazonBusinessReport, "amazon_jp");
    each_variant(
        "amazon_business_report_bydate_ja.utf8bom.csv",
        &options,
        assert_by_date_business_report,
    );
}

#[test]
fn the_by_date_business_report_records_the_total_columns_not_the_b2b_ones() {
    let options = options(Format::AmazonBusinessReport, "amazon_jp");
    let rows = read_ok(
        &fixture("amazon_business_report_bydate_ja.utf8bom.csv"),
        &options,
    );
    let first = &rows[0];
    assert_eq!(first.line, 2);
    assert_eq!(first.key, "2026-05-01");
    let value = |metric: &str| {
        first
            .observations
            .iter()
            .find(|o| o.metric == metric)
            .unwrap()
            .value
    };
    assert_eq!(value("gmv"), dec("250780"));
    assert_eq!(value("sessions"), dec("1071"));
    assert_eq!(value("page_views"), dec("1504"));
}

#[test]
fn every_money_number_and_percent_spelling_gives_the_clean_files_totals() {
    let options = options(Format::AmazonBusinessReport, "amazon_jp");
    each_variant(
        "malformed_04_yen_thousands_percent_variants.utf8bom.csv",
        &options,
        assert_by_date_business_report,
    );
}

fn assert_child_asin_report(label: &str, rows: &[ParsedRow]) {
    assert_eq!(rows.len(), 12, "{label}");
    assert_unique_keys(rows);
    assert_eq!(scoped_sum(rows, "gmv"), dec("1089440"), "{label}");
    assert_eq!(scoped_sum(rows, "units_ordered"), dec("544"), "{label}");
    assert_eq!(scoped_sum(rows, "orders"), dec("521"), "{label}");
    assert_eq!(scoped_sum(rows, "sessions"), dec("11050"), "{label}");
    assert_eq!(scoped_sum(rows, "page_views"), dec("14739"), "{label}");
    // Per-ASIN reports fill scoped series only, so nothing counts twice (SPEC §4).
    assert_eq!(store_sum(rows, "gmv"), Decimal::ZERO, "{label}");
    for o in rows.iter().flat_map(|r| &r.observations) {
        assert_eq!(o.range, range("2026-05-01", "2026-05-14"), "{label}");
    }
    let handy = rows.iter().find(|r| r.key == "B0DHANDY01").unwrap();
    assert!(handy
        .observations
        .iter()
        .all(|o| o.scope.as_deref() == Some("B0DHANDY01")));
    assert_eq!(
        handy
            .observations
            .iter()
            .find(|o| o.metric == "gmv")
            .unwrap()
            .value,
        dec("232440")
    );
}

#[test]
fn the_child_asin_business_report_yields_asin_scoped_figures_over_the_stated_range() {
    let options = ImportOptions {
        range: Some(range("2026-05-01", "2026-05-14")),
        ..options(Format::AmazonBusinessReport, "amazon_jp")
    };
    each_variant(
        "amazon_business_report_child_ja.utf8bom.csv",
        &options,
        assert_child_asin_report,
    );
}

#[test]
fn a_trailing_totals_row_is_skipped() {
    let options = ImportOptions {
        range: Some(range("2026-05-01", "2026-05-14")),
        ..options(Format::AmazonBusinessReport, "amazon_jp")
    };
    each_variant(
        "malformed_07_trailing_totals_row.utf8bom.csv",
        &options,
        assert_child_asin_report,
    );
}

#[test]
fn a_child_asin_report_without_a_stated_range_is_refused() {
    let options = options(Format::AmazonBusinessReport, "amazon_jp");
    let error = read(
        &fixture("amazon_business_report_child_ja.utf8bom.csv"),
        &options,
    )
    .unwrap_err();
    assert!(
        matches!(
            error,
            FileError::MissingOption {
                format: Format::AmazonBusinessReport,
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn the_sponsored_products_report_sums_into_store_and_campaign_series() {
    let options = options(Format::AmazonAdsSp, "amazon_jp");
    each_variant(
        "amazon_ads_sp_search_term_en.utf8bom.csv",
        &options,
        |label, rows| {
            let file_rows: Vec<&ParsedRow> = rows.iter().filter(|r| r.line > 0).collect();
            assert_eq!(file_rows.len(), 15, "{label}");
            assert!(file_rows.iter().all(|r| r.observations.is_empty()));
            assert_unique_keys(rows);
            // The sums come after the last file row.
            let first_sum = rows.iter().position(|r| r.line == 0).unwrap();
            assert!(rows[first_sum..].iter().all(|r| r.line == 0), "{label}");

            let may = range("2026-05-01", "2026-05-31");
            assert_eq!(store_ranges(rows, "impressions"), vec![may], "{label}");
            let impressions = store_sum(rows, "impressions");
            let clicks = store_sum(rows, "clicks");
            let spend = store_sum(rows, "ad_spend");
            let sales = store_sum(rows, "ad_sales");
            assert_eq!(impressions, dec("97822"), "{label}");
            assert_eq!(clicks, dec("856"), "{label}");
            assert_eq!(spend, dec("36568"), "{label}");
            assert_eq!(sales, dec("173520"), "{label}");
            // The README's rates, from the sums.
            let pct = |x: Decimal| (x * Decimal::ONE_HUNDRED).round_dp(2);
            assert_eq!(pct(spend / sales), dec("21.07"));
            assert_eq!((sales / spend).round_dp(2), dec("4.75"));
            assert_eq!(pct(clicks / impressions), dec("0.88"));
            assert_eq!((spend / clicks).round_dp(2), dec("42.72"));

            // Campaign series add up to the store level.
            for metric in ["impressions", "clicks", "ad_spend", "ad_sales"] {
                assert_eq!(
                    scoped_sum(rows, metric),
                    store_sum(rows, metric),
                    "{label} {metric}"
                );
            }
            let campaign = |name: &str, metric: &str| -> Decimal {
                rows.iter()
                    .flat_map(|r| &r.observations)
                    .filter(|o| o.scope.as_deref() == Some(name) && o.metric == metric)
                    .map(|o| o.value)
                    .sum()
            };
            assert_eq!(campaign("SP_HandyFan_Auto", "impressions"), dec("27090"));
            assert_eq!(campaign("SP_HandyFan_Auto", "ad_spend"), dec("11728"));
            assert_eq!(campaign("SP_Cable_Auto", "ad_sales"), dec("8940"));
        },
    );
}

#[test]
fn rakuten_store_data_counts_only_the_all_devices_rows() {
    let options = options(Format::RakutenRms, "rakuten");
    each_variant(
        "rakuten_rms_store_data_daily.utf8bom.csv",
        &options,
        |label, rows| {
            assert_eq!(rows.len(), 7, "{label}");
            assert_unique_keys(rows);
            assert_platform(rows, "rakuten");
            let days = store_ranges(rows, "gmv");
            assert_eq!(days.len(), 7);
            assert_eq!(days[0].start, date("2026-05-01"));
            assert_eq!(days[6].start, date("2026-05-07"));
            assert_eq!(store_sum(rows, "gmv"), dec("8950636"), "{label}");
            assert_ne!(store_sum(rows, "gmv"), dec("17901272"));
            assert_eq!(store_sum(rows, "orders"), dec("1751"), "{label}");
            assert_eq!(store_sum(rows, "sessions"), dec("47315"), "{label}");
            // Lines count the two preamble lines and the header.
            assert_eq!(rows[0].line, 4, "{label}");
        },
    );
}

#[test]
fn yahoo_overall_kpi_takes_the_all_devices_columns() {
    let options = options(Format::YahooShopping, "yahoo_shopping");
    each_variant(
        "yahoo_scp_overall_kpi.utf8bom.csv",
        &options,
        |label, rows| {
            assert_eq!(rows.len(), 14, "{label}");
            assert_unique_keys(rows);
            assert_eq!(store_ranges(rows, "gmv").len(), 14, "{label}");
            assert_eq!(store_sum(rows, "gmv"), dec("3994127"), "{label}");
            assert_eq!(store_sum(rows, "page_views"), dec("44908"), "{label}");
            assert!(rows
                .iter()
                .flat_map(|r| &r.observations)
                .all(|o| o.metric == "gmv" || o.metric == "page_views"));
        },
    );
}

#[test]
fn fba_inventory_records_each_sku_and_the_store_total_for_the_stated_day() {
    let day = range("2026-05-14", "2026-05-14");
    let options = ImportOptions {
        range: Some(day),
        ..options(Format::AmazonFbaInventory, "amazon_jp")
    };
    each_variant(
        "fba_myi_unsuppressed_inventory_jp.utf8.txt",
        &options,
        |label, rows| {
            assert_eq!(rows.len(), 13, "{label}");
            assert_unique_keys(rows);
            let skus: Vec<&ParsedRow> = rows.iter().filter(|r| r.line > 0).collect();
            assert_eq!(skus.len(), 12, "{label}");
            assert_eq!(scoped_sum(rows, "units_on_hand"), dec("2700"), "{label}");
            assert_eq!(store_sum(rows, "units_on_hand"), dec("2700"), "{label}");
            let total = rows.last().unwrap();
            assert_eq!(total.line, 0);
            assert_eq!(total.observations.len(), 1);
            assert!(total.observations[0].scope.is_none());
            let first = &rows[0];
            assert_eq!(first.key, "sku|HF-KUBI-BK");
            assert_eq!(first.observations[0].scope.as_deref(), Some("HF-KUBI-BK"));
            assert_eq!(first.observations[0].value, dec("60"));
            for o in rows.iter().flat_map(|r| &r.observations) {
                assert_eq!(o.range, day);
                assert_eq!(o.metric, "units_on_hand");
            }
        },
    );
}

#[test]
fn fba_inventory_needs_a_single_stated_day() {
    let bytes = fixture("fba_myi_unsuppressed_inventory_jp.utf8.txt");
    let mut options = options(Format::AmazonFbaInventory, "amazon_jp");
    assert!(matches!(
        read(&bytes, &options),
        Err(FileError::MissingOption { .. })
    ));
    options.range = Some(range("2026-05-01", "2026-05-14"));
    assert!(matches!(
        read(&bytes, &options),
        Err(FileError::MissingOption { .. })
    ));
}

#[test]
fn formats_other_than_generic_csv_need_the_platform() {
    for (format, file) in [
        (
            Format::AmazonBusinessReport,
            "amazon_business_report_bydate_ja.utf8bom.csv",
        ),
        (
            Format::AmazonAdsSp,
            "amazon_ads_sp_search_term_en.utf8bom.csv",
        ),
        (
            Format::RakutenRms,
            "rakuten_rms_store_data_daily.utf8bom.csv",
        ),
        (Format::YahooShopping, "yahoo_scp_overall_kpi.utf8bom.csv"),
        (
            Format::AmazonFbaInventory,
            "fba_myi_unsuppressed_inventory_jp.utf8.txt",
        ),
        (
            Format::AmazonSalesTrafficJson,
            "yahoo_scp_overall_kpi.utf8bom.csv",
        ),
    ] {
        let options = ImportOptions {
            platform: None,
            range: Some(range("2026-05-14", "2026-05-14")),
            ..options(format, "x")
        };
        assert!(
            matches!(
                read(&fixture(file), &options),
                Err(FileError::MissingOption { .. })
            ),
            "{format}"
        );
    }
}

#[test]
fn progress_counts_the_bytes_read() {
    let bytes = fixture("rakuten_rms_store_data_daily.utf8bom.csv");
    let options = options(Format::RakutenRms, "rakuten");
    let mut rows = kpi_ledger_import::open(bytes.as_slice(), &options).unwrap();
    let progress = rows.progress();
    assert!(rows.bytes_read() > 0);
    for item in rows.by_ref() {
        item.unwrap();
    }
    assert_eq!(rows.bytes_read(), bytes.len() as u64);
    assert_eq!(
        progress.load(std::sync::atomic::Ordering::Relaxed),
        bytes.len() as u64
    );
}
