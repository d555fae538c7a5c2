//! `yahoo_shopping`: Store Creator Pro 全体分析 CSV (one row per day; per-device columns
//! and their 合算値, all devices).
//!
//! | metric | column |
//! | --- | --- |
//! | (date) | 日付 |
//! | gmv (money, tax included) | 合算値売上合計値 |
//! | page_views | 合算値ページビュー |
//!
//! The PC / スマホ / アプリ columns are parts of 合算値: ignored, never added to it, not
//! validated. Row key: the date (ISO). Store-level daily observations. Preamble lines
//! before the header and totals rows (合計) are skipped.

use super::{
    bind_metrics, observations, parse_date, platform, push_outcome, Bound, Kind, MetricColumn,
    Target,
};
use crate::table::{self, Col, Fit, Header, Layout, Row};
use crate::text::key;
use crate::{FileError, Format, ImportOptions, Item};
use kpi_ledger_domain::period::DateRange;
use std::collections::VecDeque;

const DATE: &[&str] = &["日付"];

const METRICS: &[MetricColumn] = &[
    MetricColumn {
        metric: "gmv",
        kind: Kind::Money,
        names: &["合算値売上合計値"],
    },
    MetricColumn {
        metric: "page_views",
        kind: Kind::Count,
        names: &["合算値ページビュー"],
    },
];

pub(crate) struct Yahoo {
    platform: String,
    currency: crate::Currency,
    date: Option<Col>,
    metrics: Vec<Bound>,
}

impl Yahoo {
    pub(crate) fn new(options: &ImportOptions) -> Result<Self, FileError> {
        Ok(Self {
            platform: platform(options)?,
            currency: options.currency.clone(),
            date: None,
            metrics: Vec::new(),
        })
    }
}

impl Layout for Yahoo {
    fn format(&self) -> Format {
        Format::YahooShopping
    }

    fn bind(&mut self, header: &Header) -> Result<Fit, FileError> {
        let format = self.format();
        let mut missing = Vec::new();
        let date = table::require(header, format, DATE, &mut missing)?;
        let metrics = bind_metrics(header, format, METRICS, &mut missing)?;
        if !missing.is_empty() {
            return Ok(Fit::Missing(missing));
        }
        self.date = date;
        self.metrics = metrics;
        Ok(Fit::Bound)
    }

    fn row(&mut self, row: &Row<'_>, out: &mut VecDeque<Item>) -> Result<(), FileError> {
        let Some(date_col) = &self.date else {
            return Ok(());
        };
        let date = match parse_date(row, date_col) {
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
        Ok(())
    }

    fn finish(&mut self, _out: &mut VecDeque<Item>) {}
}
