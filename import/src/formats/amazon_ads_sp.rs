//! `amazon_ads_sp`: Sponsored Products reports (search term, targeting, campaign…), with
//! English or Japanese headers; one row per campaign / ad group / target / search term,
//! each with its own date range.
//!
//! | metric | English | Japanese |
//! | --- | --- | --- |
//! | range | Start Date, End Date (or a single Date) | 開始日, 終了日 (or 日付) |
//! | currency (checked) | Currency | 通貨 |
//! | campaign scope | Campaign Name | キャンペーン名 |
//! | impressions | Impressions | インプレッション |
//! | clicks | Clicks | クリック, クリック数 |
//! | ad_spend (money) | Spend | 費用 |
//! | ad_sales (money) | 7 Day Total Sales | 広告がクリックされてから7日間の総売上高 |
//!
//! The range, campaign and the four metric columns are required; the currency column is
//! optional, but when present every row's currency must equal `options.currency` (or the
//! row is an error). ACoS / RoAS / CTR / CPC and every other column are ignored, not
//! validated (an empty ACoS where sales are 0 is normal).
//!
//! Row key: campaign + ad group + targeting + match type + search term + range, from the
//! columns Campaign Name / キャンペーン名, Ad Group Name / 広告グループ名, Targeting /
//! ターゲティング, Match Type / マッチタイプ, Customer Search Term /
//! カスタマーの検索キーワード / カスタマーの検索用語 (those present; campaign reports have
//! fewer), and the range as `start..end`.
//!
//! The key is written `row|campaign|ad group|targeting|match type|search term|range`.
//!
//! A file row yields a [`crate::ParsedRow`] with its key and no observations: its figures
//! are summed, per range into the store-level series and per campaign and range into
//! campaign-scoped series (scope = campaign name). Those sums come after the last file row
//! as rows with `line: 0`, keyed `store|range` and `campaign|name|range`, sorted. Memory
//! grows with the number of distinct campaigns and ranges, not with the rows.

use super::{parse_cell, platform, Bound, Kind, MetricColumn};
use crate::table::{self, Col, Fit, Header, Layout, Row};
use crate::text::key;
use crate::{
    values, FileError, Format, ImportOptions, Item, ParsedObservation, ParsedRow, RowError,
};
use kpi_ledger_domain::period::DateRange;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, VecDeque};

const METRICS: &[MetricColumn] = &[
    MetricColumn {
        metric: "impressions",
        kind: Kind::Count,
        names: &["Impressions", "インプレッション", "インプレッション数"],
    },
    MetricColumn {
        metric: "clicks",
        kind: Kind::Count,
        names: &["Clicks", "クリック", "クリック数"],
    },
    MetricColumn {
        metric: "ad_spend",
        kind: Kind::Money,
        names: &["Spend", "費用"],
    },
    MetricColumn {
        metric: "ad_sales",
        kind: Kind::Money,
        names: &[
            "7 Day Total Sales",
            "広告がクリックされてから7日間の総売上高",
        ],
    },
];

const START: &[&str] = &["Start Date", "開始日"];
const END: &[&str] = &["End Date", "終了日"];
const DATE: &[&str] = &["Date", "日付"];
const CURRENCY: &[&str] = &["Currency", "通貨"];
const CAMPAIGN: &[&str] = &["Campaign Name", "キャンペーン名"];
const AD_GROUP: &[&str] = &["Ad Group Name", "広告グループ名"];
const TARGETING: &[&str] = &["Targeting", "ターゲティング"];
const MATCH_TYPE: &[&str] = &["Match Type", "マッチタイプ"];
const SEARCH_TERM: &[&str] = &[
    "Customer Search Term",
    "カスタマーの検索キーワード",
    "カスタマーの検索用語",
];

enum Dates {
    Range(Col, Col),
    Day(Col),
}

pub(crate) struct AdsReport {
    platform: String,
    currency: crate::Currency,
    dates: Option<Dates>,
    currency_col: Option<Col>,
    campaign: Option<Col>,
    key_cols: Vec<Option<Col>>,
    metrics: Vec<Bound>,
    /// Sums per range (store level) and per (campaign, range), in metric order.
    store: BTreeMap<DateRange, [Decimal; 4]>,
    campaigns: BTreeMap<(String, DateRange), [Decimal; 4]>,
}

impl AdsReport {
    pub(crate) fn new(options: &ImportOptions) -> Result<Self, FileError> {
        Ok(Self {
            platform: platform(options)?,
            currency: options.currency.clone(),
            dates: None,
            currency_col: None,
            campaign: None,
            key_cols: Vec::new(),
            metrics: Vec::new(),
            store: BTreeMap::new(),
            campaigns: BTreeMap::new(),
        })
    }

    fn range(&self, row: &Row<'_>) -> Result<DateRange, Vec<RowError>> {
        let parse = |col: &Col| -> Result<chrono::NaiveDate, RowError> {
            let cell = row.cell(col)?;
            values::date(cell).map_err(|why| row.error(col, cell, why))
        };
        match &self.dates {
            Some(Dates::Range(start, end)) => match (parse(start), parse(end)) {
                (Ok(s), Ok(e)) => DateRange::new(s, e)
                    .map_err(|why| vec![row.error(end, row.opt(Some(end)), why)]),
                (s, e) => Err([s.err(), e.err()].into_iter().flatten().collect()),
            },
            Some(Dates::Day(col)) => parse(col).map(DateRange::day).map_err(|e| vec![e]),
            None => Err(Vec::new()),
        }
    }

    fn observation(
        &self,
        metric: &str,
        scope: Option<&str>,
        range: DateRange,
        value: Decimal,
    ) -> ParsedObservation {
        ParsedObservation {
            metric: metric.to_string(),
            platform: self.platform.clone(),
            scope: scope.map(str::to_string),
            range,
            value,
        }
    }
}

fn range_text(range: &DateRange) -> String {
    format!("{}..{}", range.start, range.end)
}

impl Layout for AdsReport {
    fn format(&self) -> Format {
        Format::AmazonAdsSp
    }

    fn bind(&mut self, header: &Header) -> Result<Fit, FileError> {
        let format = self.format();
        let mut missing = Vec::new();
        let start = header.find_unique(format, START)?;
        let end = header.find_unique(format, END)?;
        let day = header.find_unique(format, DATE)?;
        let dates = match (start, end, day) {
            (Some(s), Some(e), _) => Some(Dates::Range(s, e)),
            (None, None, Some(d)) => Some(Dates::Day(d)),
            (s, e, _) => {
                if s.is_none() {
                    missing.push(table::describe(START));
                }
                if e.is_none() {
                    missing.push(table::describe(END));
                }
                None
            }
        };
        let campaign = table::require(header, format, CAMPAIGN, &mut missing)?;
        let metrics = super::bind_metrics(header, format, METRICS, &mut missing)?;
        if !missing.is_empty() {
            return Ok(Fit::Missing(missing));
        }
        self.dates = dates;
        self.campaign = campaign;
        self.metrics = metrics;
        self.currency_col = header.find_unique(format, CURRENCY)?;
        self.key_cols = [AD_GROUP, TARGETING, MATCH_TYPE, SEARCH_TERM]
            .iter()
            .map(|names| header.find_unique(format, names))
            .collect::<Result<_, _>>()?;
        Ok(Fit::Bound)
    }

    fn row(&mut self, row: &Row<'_>, out: &mut VecDeque<Item>) -> Result<(), FileError> {
        let mut errors = Vec::new();
        let range = match self.range(row) {
            Ok(range) => Some(range),
            Err(mut e) => {
                errors.append(&mut e);
                None
            }
        };
        let campaign = match &self.campaign {
            Some(col) => match row.cell(col) {
                Ok(name) if !name.is_empty() => Some(name),
                Ok(name) => {
                    errors.push(row.error(col, name, "the campaign name is empty"));
                    None
                }
                Err(e) => {
                    errors.push(e);
                    None
                }
            },
            None => None,
        };
        let mut stated = None;
        if let Some(col) = &self.currency_col {
            let cell = row.opt(Some(col));
            if cell.is_empty() {
                errors.push(row.error(
                    col,
                    cell,
                    format!(
                        "the row states no currency (the engagement's is {})",
                        self.currency.code
                    ),
                ));
            } else if let Err(why) = self.currency.convert(Decimal::ZERO, Some(cell)) {
                errors.push(row.error(col, cell, why));
            } else {
                stated = Some(cell);
            }
        }
        let mut figures = [Decimal::ZERO; 4];
        for (i, bound) in self.metrics.iter().enumerate() {
            match parse_cell(row, bound, &self.currency, stated) {
                Ok(value) => figures[i] = value,
                Err(e) => errors.push(e),
            }
        }
        let (Some(range), Some(campaign), true) = (range, campaign, errors.is_empty()) else {
            out.extend(errors.into_iter().map(Item::Invalid));
            return Ok(());
        };
        let range_key = range_text(&range);
        let mut parts: Vec<&str> = vec!["row", campaign];
        parts.extend(self.key_cols.iter().map(|col| row.opt(col.as_ref())));
        parts.push(&range_key);
        out.push_back(Item::Row(ParsedRow {
            line: row.line,
            key: key(&parts),
            observations: Vec::new(),
        }));
        let add = |sums: &mut [Decimal; 4]| {
            for (sum, value) in sums.iter_mut().zip(figures) {
                *sum += value;
            }
        };
        add(self.store.entry(range).or_insert([Decimal::ZERO; 4]));
        add(self
            .campaigns
            .entry((campaign.to_string(), range))
            .or_insert([Decimal::ZERO; 4]));
        Ok(())
    }

    fn finish(&mut self, out: &mut VecDeque<Item>) {
        let metrics: Vec<&'static str> = self.metrics.iter().map(|b| b.metric).collect();
        let store = std::mem::take(&mut self.store);
        for (range, sums) in store {
            out.push_back(Item::Row(ParsedRow {
                line: 0,
                key: key(&["store", &range_text(&range)]),
                observations: metrics
                    .iter()
                    .zip(sums)
                    .map(|(metric, value)| self.observation(metric, None, range, value))
                    .collect(),
            }));
        }
        let campaigns = std::mem::take(&mut self.campaigns);
        for ((campaign, range), sums) in campaigns {
            out.push_back(Item::Row(ParsedRow {
                line: 0,
                key: key(&["campaign", &campaign, &range_text(&range)]),
                observations: metrics
                    .iter()
                    .zip(sums)
                    .map(|(metric, value)| self.observation(metric, Some(&campaign), range, value))
                    .collect(),
            }));
        }
    }
}
