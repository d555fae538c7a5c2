//! Layouts with no fixture file, written here: the SP-API sales and traffic JSON, a
//! Japanese-header ads report, a Rakuten 日次_分析用レポート, English and older Japanese
//! business reports, and the generic long CSV.

mod common;

use common::*;
use kpi_ledger_import::{EncodingChoice, FileError, Format, ImportOptions, Item};
use rust_decimal::Decimal;

/// Every sample is read as UTF-8 (with a BOM, so both paths of the decoder run) and as
/// CP932, detected and stated.
fn each_variant(text: &str, options: &ImportOptions, check: impl Fn(&str, Vec<Item>)) {
    let mut with_bom = vec![0xEF, 0xBB, 0xBF];
    with_bom.extend_from_slice(text.as_bytes());
    let mut all = variants(&with_bom);
    all.push((
        "utf-8 without bom, auto",
        text.as_bytes().to_vec(),
        EncodingChoice::Auto,
    ));
    for (label, bytes, encoding) in all {
        let options = ImportOptions {
            encoding,
            ..options.clone()
        };
        let items = read(&bytes, &options).unwrap_or_else(|e| panic!("{label}: {e}"));
        check(label, items);
    }
}

const SALES_AND_TRAFFIC: &str = r#"{
  "reportSpecification": {
    "reportType": "GET_SALES_AND_TRAFFIC_REPORT",
    "reportOptions": {"dateGranularity": "DAY", "asinGranularity": "CHILD"},
    "dataStartTime": "2026-05-01",
    "dataEndTime": "2026-05-03",
    "marketplaceIds": ["A1VC38T7YXB528"]
  },
  "salesAndTrafficByDate": [
    {
      "date": "2026-05-01",
      "salesByDate": {
        "orderedProductSales": {"amount": 250780.0, "currencyCode": "JPY"},
        "orderedProductSalesB2B": {"amount": 1980.0, "currencyCode": "JPY"},
        "unitsOrdered": 101, "unitsOrderedB2B": 1,
        "totalOrderItems": 101, "totalOrderItemsB2B": 1,
        "averageSalesPerOrderItem": {"amount": 2482.97, "currencyCode": "JPY"},
        "unitsShipped": 95, "unitsRefunded": 2, "refundRate": 1.98,
        "claimsAmount": {"amount": 0.0, "currencyCode": "JPY"}
      },
      "trafficByDate": {
        "browserPageViews": 504, "mobileAppPageViews": 1000, "pageViews": 1504, "pageViewsB2B": 65,
        "sessions": 1071, "sessionsB2B": 52, "buyBoxPercentage": 95.63, "unitSessionPercentage": 9.43
      }
    },
    {
      "date": "2026-05-02",
      "salesByDate": {
        "orderedProductSales": {"amount": 122150.5, "currencyCode": "JPY"},
        "unitsOrdered": 74, "totalOrderItems": 65, "unitsShipped": 70, "unitsRefunded": 0
      },
      "trafficByDate": {"pageViews": 3113, "sessions": 2401}
    },
    {
      "date": "2026-05-03",
      "salesByDate": {
        "orderedProductSales": {"amount": 1.5e3, "currencyCode": "JPY"},
        "unitsOrdered": 3, "totalOrderItems": 3, "unitsShipped": null
      },
      "trafficByDate": {"pageViews": 40, "sessions": 30}
    }
  ],
  "salesAndTrafficByAsin": [
    {
      "parentAsin": "B0DPARENT01", "childAsin": "B0DHANDY01", "sku": "HF-KUBI-BK",
      "salesByAsin": {
        "unitsOrdered": 78, "unitsOrderedB2B": 0,
        "orderedProductSales": {"amount": 232440, "currencyCode": "JPY"},
        "totalOrderItems": 76
      },
      "trafficByAsin": {"sessions": 1015, "sessionsB2B": 0, "pageViews": 1418, "pageViewsB2B": 0}
    },
    {
      "parentAsin": "B0DPARENT01", "childAsin": "B0DHANDY03",
      "salesByAsin": {
        "unitsOrdered": 49,
        "orderedProductSales": {"amount": 146020, "currencyCode": "JPY"},
        "totalOrderItems": 45
      },
      "trafficByAsin": {"sessions": 838, "pageViews": 1211}
    }
  ]
}"#;

#[test]
fn the_sales_and_traffic_json_yields_daily_and_asin_figures() {
    let options = options(Format::AmazonSalesTrafficJson, "amazon_jp");
    // JSON is UTF-8; CP932 holds the same ASCII bytes, so every variant reads the same.
    each_variant(SALES_AND_TRAFFIC, &options, |label, items| {
        let (rows, errors) = split(items);
        assert!(errors.is_empty(), "{label}: {errors:?}");
        assert_eq!(rows.len(), 5, "{label}");
        assert_unique_keys(&rows);
        assert_eq!(rows[0].key, "date|2026-05-01");
        assert_eq!(rows[0].line, 10, "{label}: the line where the entry starts");
        assert_eq!(rows[3].key, "asin|B0DHANDY01");
        assert_eq!(store_sum(&rows, "gmv"), dec("374430.5"), "{label}");
        assert_eq!(store_sum(&rows, "units_ordered"), dec("178"));
        assert_eq!(store_sum(&rows, "orders"), dec("169"));
        assert_eq!(store_sum(&rows, "units_shipped"), dec("165"));
        assert_eq!(store_sum(&rows, "units_returned"), dec("2"));
        assert_eq!(store_sum(&rows, "sessions"), dec("3502"));
        assert_eq!(store_sum(&rows, "page_views"), dec("4657"));
        assert_eq!(store_ranges(&rows, "gmv").len(), 3);
        // By ASIN: scoped, over the report's stated range.
        assert_eq!(scoped_sum(&rows, "gmv"), dec("378460"));
        assert_eq!(scoped_sum(&rows, "units_ordered"), dec("127"));
        assert_eq!(scoped_sum(&rows, "sessions"), dec("1853"));
        assert_eq!(scoped_sum(&rows, "page_views"), dec("2629"));
        for o in rows[3..].iter().flat_map(|r| &r.observations) {
            assert_eq!(o.range, range("2026-05-01", "2026-05-03"));
            assert!(o.scope.as_deref().unwrap().starts_with("B0DHANDY"));
        }
    });
}

#[test]
fn the_sales_and_traffic_json_streams_when_minified_too() {
    let minified: String = SALES_AND_TRAFFIC.split('\n').map(str::trim).collect();
    let options = options(Format::AmazonSalesTrafficJson, "amazon_jp");
    let rows = read_ok(minified.as_bytes(), &options);
    assert_eq!(rows.len(), 5);
    assert!(rows.iter().all(|r| r.line == 1));
    assert_eq!(store_sum(&rows, "gmv"), dec("374430.5"));
}

#[test]
fn the_sales_and_traffic_json_refuses_another_currency_and_bad_values_per_entry() {
    let text = SALES_AND_TRAFFIC
        .replacen(
            r#"{"amount": 122150.5, "currencyCode": "JPY"}"#,
            r#"{"amount": 122150.5, "currencyCode": "USD"}"#,
            1,
        )
        .replacen(r#""unitsOrdered": 3,"#, r#""unitsOrdered": "three","#, 1)
        .replacen(r#""date": "2026-05-01""#, r#""date": "2026-02-30""#, 1);
    let options = options(Format::AmazonSalesTrafficJson, "amazon_jp");
    let (rows, errors) = split(read(text.as_bytes(), &options).unwrap());
    assert_eq!(rows.len(), 2, "the two ASIN entries are fine");
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert_eq!(
        errors[0].column.as_deref(),
        Some("salesAndTrafficByDate[0].date")
    );
    assert_eq!(errors[0].value.as_deref(), Some("2026-02-30"));
    assert_eq!(
        errors[1].column.as_deref(),
        Some("salesAndTrafficByDate[1].salesByDate.orderedProductSales.currencyCode")
    );
    assert!(errors[1].reason.contains("USD"), "{}", errors[1].reason);
    assert_eq!(
        errors[2].column.as_deref(),
        Some("salesAndTrafficByDate[2].salesByDate.unitsOrdered")
    );
}

#[test]
fn asin_figures_in_json_need_a_range_from_the_import_or_the_report() {
    let without_spec = SALES_AND_TRAFFIC
        .replacen(r#""dataStartTime": "2026-05-01","#, "", 1)
        .replacen(r#""dataEndTime": "2026-05-03","#, "", 1);
    let mut options = options(Format::AmazonSalesTrafficJson, "amazon_jp");
    let error = read(without_spec.as_bytes(), &options).unwrap_err();
    assert!(
        matches!(error, FileError::MissingOption { .. }),
        "{error:?}"
    );
    options.range = Some(range("2026-05-01", "2026-05-03"));
    assert_eq!(read_ok(without_spec.as_bytes(), &options).len(), 5);
    options.range = Some(range("2026-05-01", "2026-05-31"));
    let error = read(SALES_AND_TRAFFIC.as_bytes(), &options).unwrap_err();
    assert!(matches!(error, FileError::Malformed { .. }), "{error:?}");
}

#[test]
fn broken_json_is_malformed_and_empty_json_is_empty() {
    let options = options(Format::AmazonSalesTrafficJson, "amazon_jp");
    let cut = &SALES_AND_TRAFFIC[..SALES_AND_TRAFFIC.len() / 2];
    assert!(matches!(
        read(cut.as_bytes(), &options),
        Err(FileError::Malformed { .. })
    ));
    for bad in [
        "[]",
        "{}",
        "{\"salesAndTrafficByDate\": {}}",
        "nope",
        "{\"a\":1} {",
    ] {
        assert!(
            matches!(
                read(bad.as_bytes(), &options),
                Err(FileError::Malformed { .. })
            ),
            "{bad}"
        );
    }
    assert_eq!(read(b"  \n ", &options), Err(FileError::Empty));
    assert_eq!(read(b"", &options), Err(FileError::Empty));
}

const ADS_JA: &str = "\
開始日,終了日,ポートフォリオ名,通貨,キャンペーン名,広告グループ名,ターゲティング,マッチタイプ,カスタマーの検索キーワード,インプレッション,クリック数,クリックスルー率（CTR）,平均クリック単価（CPC）,費用,広告がクリックされてから7日間の総売上高,広告費売上高比率（ACOS）合計,広告費用対効果（ROAS）合計
2026/05/01,2026/05/31,夏2026,JPY,SP_水筒_オート,オート,close-match,-,水筒 500ml,3723,41,1.10%,￥37,\"￥1,517\",\"￥2,970\",51.08%,1.96
2026/05/01,2026/05/31,夏2026,JPY,SP_水筒_オート,オート,complements,-,水筒 カバー,4621,36,0.78%,￥62,\"￥2,232\",\"￥11,880\",18.79%,5.32
2026/05/01,2026/05/31,夏2026,JPY,SP_タオル_フレーズ,コア,今治タオル,PHRASE,今治タオル セット,4505,67,1.49%,￥60,\"￥4,020\",￥0,,0.00
2026/05/01,2026/05/07,夏2026,JPY,SP_タオル_フレーズ,コア,今治タオル,PHRASE,今治タオル セット,500,5,1.00%,￥60,￥300,￥0,,0.00
";

#[test]
fn a_japanese_ads_report_sums_per_range_and_campaign() {
    let options = options(Format::AmazonAdsSp, "amazon_jp");
    each_variant(ADS_JA, &options, |label, items| {
        let (rows, errors) = split(items);
        assert!(errors.is_empty(), "{label}: {errors:?}");
        let file_rows = rows.iter().filter(|r| r.line > 0).count();
        assert_eq!(file_rows, 4, "{label}");
        assert_unique_keys(&rows);
        let may = range("2026-05-01", "2026-05-31");
        let week = range("2026-05-01", "2026-05-07");
        assert_eq!(store_ranges(&rows, "ad_spend"), vec![week, may], "{label}");
        let store = |metric: &str, r| -> Decimal {
            rows.iter()
                .flat_map(|row| &row.observations)
                .filter(|o| o.metric == metric && o.scope.is_none() && o.range == r)
                .map(|o| o.value)
                .sum()
        };
        assert_eq!(store("impressions", may), dec("12849"));
        assert_eq!(store("clicks", may), dec("144"));
        assert_eq!(store("ad_spend", may), dec("7769"));
        assert_eq!(store("ad_sales", may), dec("14850"));
        assert_eq!(store("ad_spend", week), dec("300"));
        let bottle: Decimal = rows
            .iter()
            .flat_map(|r| &r.observations)
            .filter(|o| o.scope.as_deref() == Some("SP_水筒_オート") && o.metric == "ad_sales")
            .map(|o| o.value)
            .sum();
        assert_eq!(bottle, dec("14850"));
    });
}

#[test]
fn the_same_ad_row_twice_gives_the_same_key_whatever_the_date_spelling() {
    let lines: Vec<&str> = ADS_JA.lines().collect();
    let again = lines[1].replace("2026/05/01,2026/05/31", "2026-05-01,2026年05月31日");
    let text = format!("{ADS_JA}{again}\n");
    let options = options(Format::AmazonAdsSp, "amazon_jp");
    let rows = read_ok(text.as_bytes(), &options);
    let first = rows.iter().find(|r| r.line == 2).unwrap();
    let dup = rows.iter().find(|r| r.line == 6).unwrap();
    assert_eq!(first.key, dup.key);
}

#[test]
fn an_ads_row_in_another_currency_is_an_error_naming_it() {
    let text = ADS_JA.replacen(",JPY,SP_タオル", ",USD,SP_タオル", 1);
    let options = options(Format::AmazonAdsSp, "amazon_jp");
    let (rows, errors) = split(read(text.as_bytes(), &options).unwrap());
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].line, 4);
    assert_eq!(errors[0].column.as_deref(), Some("通貨"));
    assert_eq!(errors[0].value.as_deref(), Some("USD"));
    assert!(errors[0].reason.contains("USD") && errors[0].reason.contains("JPY"));
    // The bad row is in no sum.
    assert_eq!(store_sum(&rows, "impressions"), dec("8844"));
}

const RAKUTEN_DAILY: &str = "\
\"※取扱注意\"
\"データ対象期間,2026/05/01 ～ 2026/05/31\"
\"日付\",\"曜日\",\"売上金額（すべて）\",\"売上金額（PC）\",\"売上金額（スマートフォン）\",\"売上件数（すべて）\",\"売上件数（PC）\",\"アクセス人数（すべて）\",\"転換率（すべて）\",\"サブジャンルTOP10平均 売上金額\",\"月商別平均値（月商1億以上） 売上金額\"
\"2026年05月01日\",\"金\",\"959056\",\"154638\",\"804418\",\"200\",\"33\",\"6105\",\"3.28\",\"241842.1\",\"n/a\"
\"2026年05月02日\",\"土\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0.00\",\"0\",\"0\"
\"2026年05月03日\",\"日\",\"1479165\",\"120300\",\"1358865\",\"274\",\"30\",\"7544\",\"3.63\",\"578708.0\",\"816214.9\"
\"2026年05月04日\",\"月\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0.00\",\"0\",\"0\"
\"2026年05月05日\",\"火\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0.00\",\"0\",\"0\"
\"2026年05月06日\",\"水\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\"
\"通算実績\",\"\",\"2438221\",\"274938\",\"2163283\",\"474\",\"63\",\"13649\",\"3.47\",\"\",\"\"
";

#[test]
fn a_rakuten_daily_analysis_report_skips_totals_and_days_after_the_export() {
    let options = options(Format::RakutenRms, "rakuten");
    each_variant(RAKUTEN_DAILY, &options, |label, items| {
        let (rows, errors) = split(items);
        assert!(errors.is_empty(), "{label}: {errors:?}");
        // 05-01, the zero day 05-02 between days with sales (a real zero), 05-03; the
        // trailing 05-04..06 have no data yet, 通算実績 is a totals row.
        let keys: Vec<&str> = rows.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, ["2026-05-01", "2026-05-02", "2026-05-03"], "{label}");
        assert_eq!(rows[0].line, 4);
        assert_eq!(store_sum(&rows, "gmv"), dec("2438221"), "{label}");
        assert_eq!(store_sum(&rows, "orders"), dec("474"));
        assert_eq!(store_sum(&rows, "sessions"), dec("13649"));
        assert!(rows[1].observations.iter().all(|o| o.value.is_zero()));
        assert_eq!(rows[1].observations.len(), 3);
    });
}

#[test]
fn an_empty_rakuten_day_followed_by_sales_is_an_error_not_a_gap() {
    let text = RAKUTEN_DAILY.replacen(
        "\"通算実績\"",
        "\"2026年05月07日\",\"木\",\"100\",\"0\",\"100\",\"1\",\"0\",\"10\",\"10\",\"\",\"\"\n\"通算実績\"",
        1,
    );
    let options = options(Format::RakutenRms, "rakuten");
    let (rows, errors) = split(read(text.as_bytes(), &options).unwrap());
    // 05-04 and 05-05 become real zeros; 05-06's empty cells are errors.
    assert_eq!(rows.len(), 6);
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(errors.iter().all(|e| e.line == 9));
}

const BUSINESS_EN: &str = "\
Date,Ordered Product Sales,Ordered Product Sales - B2B,Units Ordered,Units Ordered - B2B,Total Order Items,Total Order Items - B2B,Average Sales per Order Item,Page Views - Total,Page Views - Total - B2B,Sessions - Total,Sessions - Total - B2B,Unit Session Percentage,Buy Box Percentage
05/01/2026,\"￥250,780\",\"￥1,980\",101,1,101,1,\"￥2,482\",\"1,504\",65,\"1,071\",52,9.43%,95.63%
05/02/2026,\"￥122,150\",\"￥3,960\",74,2,65,2,\"￥1,879\",\"3,113\",39,\"2,401\",38,3.08%,97.31%
Total,\"￥372,930\",\"￥5,940\",175,3,166,3,,\"4,617\",104,\"3,472\",90,,
";

#[test]
fn an_english_business_report_reads_us_dates_and_the_total_columns() {
    let options = options(Format::AmazonBusinessReport, "amazon_jp");
    each_variant(BUSINESS_EN, &options, |label, items| {
        let (rows, errors) = split(items);
        assert!(errors.is_empty(), "{label}: {errors:?}");
        assert_eq!(rows.len(), 2, "{label}: the Total row is skipped");
        assert_eq!(rows[0].key, "2026-05-01");
        assert_eq!(store_sum(&rows, "gmv"), dec("372930"));
        assert_eq!(store_sum(&rows, "units_ordered"), dec("175"));
        assert_eq!(store_sum(&rows, "orders"), dec("166"));
        assert_eq!(store_sum(&rows, "sessions"), dec("3472"));
        assert_eq!(store_sum(&rows, "page_views"), dec("4617"));
    });
}

#[test]
fn an_older_japanese_business_report_uses_the_older_names() {
    let text = "\
日付,注文商品売上,注文された商品点数,注文品目総数,セッション,ページビュー,ユニットセッション率
2026/05/01,\"￥1,000\",3,2,40,50,7.5%
2026/05/02,￥500,1,1,20,30,5%
";
    let options = options(Format::AmazonBusinessReport, "amazon_jp");
    each_variant(text, &options, |label, items| {
        let (rows, errors) = split(items);
        assert!(errors.is_empty(), "{label}: {errors:?}");
        assert_eq!(store_sum(&rows, "gmv"), dec("1500"));
        assert_eq!(store_sum(&rows, "sessions"), dec("60"));
        assert_eq!(store_sum(&rows, "page_views"), dec("80"));
    });
}

#[test]
fn an_english_child_asin_report_is_keyed_by_the_child_asin() {
    let text = "\
(Parent) ASIN,(Child) ASIN,Title,Sessions - Total,Sessions - Total - B2B,Page Views - Total,Units Ordered,Ordered Product Sales,Total Order Items
B0DPARENT01,B0DHANDY01,Handy fan,\"1,015\",0,\"1,418\",78,\"￥232,440\",76
B0DPARENT01,,Parent row without a child,5,0,5,1,￥1,1
,,Total,\"1,020\",0,\"1,423\",79,\"￥232,441\",77
";
    let options = ImportOptions {
        range: Some(range("2026-05-01", "2026-05-31")),
        ..options(Format::AmazonBusinessReport, "amazon_jp")
    };
    let rows = read_ok(text.as_bytes(), &options);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].key, "B0DHANDY01");
    assert_eq!(scoped_sum(&rows, "gmv"), dec("232440"));
}

#[test]
fn the_generic_csv_reads_one_observation_per_row() {
    let text = "\
date,platform,metric,value,scope
2026-05-01,amazon_jp,gmv,\"￥1,234\",
2026/05/01,amazon_jp,gmv,1000,B0DHANDY01
2026-05-01,rakuten,sessions,１２３,
2026-05-01..2026-05-31,amazon_jp,ad_spend,5000,SP_HandyFan_Auto
2026-05-02,,store_rating,4.5,
2026-05-02,qoo10,custom_fill_rate,12.5%,
";
    let options = ImportOptions {
        platform: Some("amazon_jp".into()),
        ..options(Format::GenericCsv, "amazon_jp")
    };
    each_variant(text, &options, |label, items| {
        let (rows, errors) = split(items);
        assert!(errors.is_empty(), "{label}: {errors:?}");
        assert_eq!(rows.len(), 6);
        assert_unique_keys(&rows);
        let o = |i: usize| &rows[i].observations[0];
        assert_eq!(o(0).value, dec("1234"));
        assert_eq!(o(0).scope, None);
        assert_eq!(o(1).scope.as_deref(), Some("B0DHANDY01"));
        assert_eq!(o(2).platform, "rakuten");
        assert_eq!(o(2).value, dec("123"));
        assert_eq!(o(3).range, range("2026-05-01", "2026-05-31"));
        assert_eq!(
            o(4).platform,
            "amazon_jp",
            "an empty platform takes the stated one"
        );
        assert_eq!(o(5).value, dec("0.125"));
        assert_eq!(rows[0].key, "2026-05-01|amazon_jp|gmv|");
    });
}

#[test]
fn the_generic_csv_refuses_bad_keys_ratios_and_impossible_counts() {
    let text = "\
date,platform,metric,value
2026-05-01,amazon_jp,GMV,1
2026-05-01,Amazon JP,gmv,1
2026-05-01,amazon_jp,acos,0.2
2026-05-01,amazon_jp,sessions,-3
2026-05-01,amazon_jp,orders,1.5
2026-05-01,amazon_jp,gmv,$5
2026-05-01,,gmv,5
";
    let options = ImportOptions {
        platform: None,
        ..options(Format::GenericCsv, "x")
    };
    let (rows, errors) = split(read(text.as_bytes(), &options).unwrap());
    assert!(rows.is_empty());
    let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, [2, 3, 4, 5, 6, 7, 8], "{errors:#?}");
    assert_eq!(errors[0].column.as_deref(), Some("metric"));
    assert_eq!(errors[1].column.as_deref(), Some("platform"));
    assert!(errors[2].reason.contains("ratio"));
    assert!(errors[5].reason.contains("USD"));
}
