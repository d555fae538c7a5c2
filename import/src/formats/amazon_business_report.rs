//! `amazon_business_report`: Seller Central "Detail Page Sales and Traffic" CSV, by date
//! or by parent/child ASIN, with English headers or either generation of Japanese ones.
//!
//! | metric | English | Japanese (current) | Japanese (older exports) |
//! | --- | --- | --- | --- |
//! | gmv (money) | Ordered Product Sales | 注文商品の売上額 | 注文商品売上 |
//! | units_ordered | Units Ordered | 注文された商品点数 | 注文された商品点数 |
//! | orders | Total Order Items | 注文品目総数 | 注文品目総数 |
//! | sessions | Sessions - Total (older: Sessions) | セッション数 - 合計 | セッション |
//! | page_views | Page Views - Total (older: Page Views) | ページビュー - 合計 | ページビュー |
//!
//! All five columns are required. The `… - B2B` columns are separate figures and never the
//! totals; rates (Unit Session Percentage / ユニットセッション率, Buy Box percentage) and
//! every other column are ignored, not validated.
//!
//! - **By date** (a `Date` / `日付` column): one row per day, store-level daily
//!   observations. Row key: the date (ISO, so `2026/05/01` and `2026-05-01` give the same
//!   key). `options.range`, if given, is not used.
//! - **By ASIN** (no date column; `(Child) ASIN` / `（子）ASIN`, or for parent reports
//!   only `(Parent) ASIN` / `（親）ASIN`): ASIN-scoped observations over `options.range`,
//!   which is required. Row key: the ASIN. A row without an ASIN (a totals row such as
//!   合計) is skipped.
//!
//! Totals rows (合計, Total…) are skipped in both.

use super::{
    bind_metrics, observations, parse_date, platform, push_outcome, Bound, Kind, MetricColumn,
    Target,
};
use crate::table::{describe, Col, Fit, Header, Layout, Row};
use crate::text::key;
use crate::{FileError, Format, ImportOptions, Item};
use kpi_ledger_domain::period::DateRange;
use std::collections::VecDeque;

const METRICS: &[MetricColumn] = &[
    MetricColumn {
        metric: "gmv",
        kind: Kind::Money,
        names: &["Ordered Product Sales", "注文商品の売上額", "注文商品売上"],
    },
    MetricColumn {
        metric: "units_ordered",
        kind: Kind::Count,
        names: &["Units Ordered", "注文された商品点数"],
    },
    MetricColumn {
        metric: "orders",
        kind: Kind::Count,
        names: &["Total Order Items", "注文品目総数"],
    },
    MetricColumn {
        metric: "sessions",
        kind: Kind::Count,
        names: &[
            "Sessions - Total",
            "セッション数 - 合計",
            "Sessions",
            "セッション",
        ],
    },
    MetricColumn {
        metric: "page_views",
        kind: Kind::Count,
        names: &[
            "Page Views - Total",
            "ページビュー - 合計",
            "Page Views",
            "ページビュー",
        ],
    },
];

const DATE: &[&str] = &["Date", "日付"];
const CHILD_ASIN: &[&str] = &["(Child) ASIN", "（子）ASIN"];
const PARENT_ASIN: &[&str] = &["(Parent) ASIN", "（親）ASIN"];

enum Keyed {
    Date(Col),
    Asin(Col, DateRange),
}

pub(crate) struct BusinessReport {
    platform: String,
    currency: crate::Currency,
    range: Option<DateRange>,
    keyed: Option<Keyed>,
    metrics: Vec<Bound>,
}

impl BusinessReport {
    pub(crate) fn new(options: &ImportOptions) -> Result<Self, FileError> {
        Ok(Self {
            platform: platform(options)?,
            currency: options.currency.clone(),
            range: options.range,
            keyed: None,
            metrics: Vec::new(),
        })
    }
}

impl Layout for BusinessReport {
    fn format(&self) -> Format {
        Format::AmazonBusinessReport
    }

    fn bind(&mut self, header: &Header) -> Result<Fit, FileError> {
        let format = self.format();
        let mut missing = Vec::new();
        let date = header.find_unique(format, DATE)?;
        let asin = match header.find_unique(format, CHILD_ASIN)? {
            Some(col) => Some(col),
            None => header.find_unique(format, PARENT_ASIN)?,
        };
        if date.is_none() && asin.is_none() {
            missing.push(format!(
                "{} (by date) or {} (by ASIN)",
                describe(DATE),
                describe(&[CHILD_ASIN, PARENT_ASIN].concat())
            ));
        }
        let metrics = bind_metrics(header, format, METRICS, &mut missing)?;
        if !missing.is_empty() {
            return Ok(Fit::Missing(missing));
        }
        self.keyed = Some(match (date, asin) {
            (Some(date), _) => Keyed::Date(date),
            (None, Some(asin)) => {
                let range = self.range.ok_or_else(|| FileError::MissingOption {
                    format,
                    what: "the range the report covers (`from` and `to`): a report by ASIN has no \
                           date column"
                        .into(),
                })?;
                Keyed::Asin(asin, range)
            }
            (None, None) => unreachable!("checked above"),
        });
        self.metrics = metrics;
        Ok(Fit::Bound)
    }

    fn row(&mut self, row: &Row<'_>, out: &mut VecDeque<Item>) -> Result<(), FileError> {
        match &self.keyed {
            Some(Keyed::Date(col)) => {
                let date = match parse_date(row, col) {
                    Ok(date) => date,
                    Err(error) => {
                        out.push_back(Item::Invalid(error));
                        return Ok(());
                    }
                };
                let target = Target {
                    platform: &self.platform,
                    scope: None,
                    range: DateRange::day(date),
                    currency: &self.currency,
                };
                let result = observations(row, &self.metrics, &target);
                push_outcome(out, row.line, key(&[&date.to_string()]), result);
            }
            Some(Keyed::Asin(col, range)) => {
                let asin = row.opt(Some(col));
                if asin.is_empty() {
                    return Ok(());
                }
                let target = Target {
                    platform: &self.platform,
                    scope: Some(asin),
                    range: *range,
                    currency: &self.currency,
                };
                let result = observations(row, &self.metrics, &target);
                push_outcome(out, row.line, key(&[asin]), result);
            }
            None => {}
        }
        Ok(())
    }

    fn finish(&mut self, _out: &mut VecDeque<Item>) {}
}
