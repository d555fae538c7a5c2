//! `rakuten_rms`: the RMS 店舗データ and 日次_分析用レポート CSVs. Both start with
//! preamble lines (`※取扱注意`, `データ対象期間,…`); the header is found by its column
//! names, not by its position.
//!
//! **店舗データ** (one row per day per device: すべて = all devices, PC, スマートフォン,
//! 楽天市場アプリ). Only the `デバイス` = `すべて` rows count; the other devices are its
//! parts and are skipped (never added, never validated).
//!
//! | metric | column |
//! | --- | --- |
//! | (date) | 日付 |
//! | (device) | デバイス |
//! | gmv (money) | 売上金額 |
//! | orders | 売上件数 |
//! | sessions | アクセス人数 |
//!
//! **日次_分析用レポート** (one row per day, dates such as `2026年05月01日`).
//!
//! | metric | column |
//! | --- | --- |
//! | (date) | 日付 |
//! | gmv (money) | 売上金額（すべて） |
//! | orders | 売上件数（すべて） |
//! | sessions | アクセス人数（すべて） |
//!
//! Per-device and benchmark columns (`サブジャンルTOP10平均 …`, `月商別平均値 …`) are
//! ignored in both. Row key: the date (ISO). Store-level daily observations.
//!
//! The final `通算実績` totals row is skipped. Rows whose three figures are all zero (or
//! empty) at the end of the file are days after the export with no data yet: they are
//! dropped, not recorded as zeros. The same rows in the middle of the file, followed by a
//! day with figures, are recorded (as zeros; empty cells are then errors). Holding them
//! back costs memory for at most the run of such days.

use super::{bind_metrics, observations, parse_date, platform, Bound, Kind, MetricColumn, Target};
use crate::table::{self, Col, Fit, Header, Layout, Row};
use crate::text::{header_name, key};
use crate::{FileError, Format, ImportOptions, Item, ParsedRow, RowError};
use kpi_ledger_domain::period::DateRange;
use std::collections::VecDeque;

const DATE: &[&str] = &["日付"];
const DEVICE: &[&str] = &["デバイス"];
const ALL_DEVICES: &str = "すべて";

const STORE_DATA: &[MetricColumn] = &[
    MetricColumn {
        metric: "gmv",
        kind: Kind::Money,
        names: &["売上金額"],
    },
    MetricColumn {
        metric: "orders",
        kind: Kind::Count,
        names: &["売上件数"],
    },
    MetricColumn {
        metric: "sessions",
        kind: Kind::Count,
        names: &["アクセス人数"],
    },
];

const DAILY: &[MetricColumn] = &[
    MetricColumn {
        metric: "gmv",
        kind: Kind::Money,
        names: &["売上金額（すべて）"],
    },
    MetricColumn {
        metric: "orders",
        kind: Kind::Count,
        names: &["売上件数（すべて）"],
    },
    MetricColumn {
        metric: "sessions",
        kind: Kind::Count,
        names: &["アクセス人数（すべて）"],
    },
];

/// A row held back until it is known whether days with figures follow it.
enum Held {
    Zeros(ParsedRow),
    Empty(Vec<RowError>),
}

pub(crate) struct Rakuten {
    platform: String,
    currency: crate::Currency,
    date: Option<Col>,
    /// Set for 店舗データ, absent for 日次_分析用レポート.
    device: Option<Col>,
    metrics: Vec<Bound>,
    held: Vec<Held>,
}

impl Rakuten {
    pub(crate) fn new(options: &ImportOptions) -> Result<Self, FileError> {
        Ok(Self {
            platform: platform(options)?,
            currency: options.currency.clone(),
            date: None,
            device: None,
            metrics: Vec::new(),
            held: Vec::new(),
        })
    }

    fn release(&mut self, out: &mut VecDeque<Item>) {
        for held in self.held.drain(..) {
            match held {
                Held::Zeros(row) => out.push_back(Item::Row(row)),
                Held::Empty(errors) => out.extend(errors.into_iter().map(Item::Invalid)),
            }
        }
    }
}

impl Layout for Rakuten {
    fn format(&self) -> Format {
        Format::RakutenRms
    }

    fn bind(&mut self, header: &Header) -> Result<Fit, FileError> {
        let format = self.format();
        let mut store_missing = Vec::new();
        let store_date = table::require(header, format, DATE, &mut store_missing)?;
        let device = table::require(header, format, DEVICE, &mut store_missing)?;
        let store_metrics = bind_metrics(header, format, STORE_DATA, &mut store_missing)?;
        if store_missing.is_empty() {
            self.date = store_date;
            self.device = device;
            self.metrics = store_metrics;
            return Ok(Fit::Bound);
        }
        let mut daily_missing = Vec::new();
        let daily_date = table::require(header, format, DATE, &mut daily_missing)?;
        let daily_metrics = bind_metrics(header, format, DAILY, &mut daily_missing)?;
        if daily_missing.is_empty() {
            self.date = daily_date;
            self.device = None;
            self.metrics = daily_metrics;
            return Ok(Fit::Bound);
        }
        Ok(Fit::Missing(if daily_missing.len() < store_missing.len() {
            daily_missing
        } else {
            store_missing
        }))
    }

    fn row(&mut self, row: &Row<'_>, out: &mut VecDeque<Item>) -> Result<(), FileError> {
        let Some(date_col) = &self.date else {
            return Ok(());
        };
        if let Some(device) = &self.device {
            if header_name(row.opt(Some(device))) != ALL_DEVICES {
                return Ok(());
            }
        }
        let date = match parse_date(row, date_col) {
            Ok(date) => date,
            Err(error) => {
                self.release(out);
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
        let row_key = key(&[&date.to_string()]);
        match result {
            Ok(observations) if observations.iter().all(|o| o.value.is_zero()) => {
                self.held.push(Held::Zeros(ParsedRow {
                    line: row.line,
                    key: row_key,
                    observations,
                }));
            }
            Err(errors)
                if self
                    .metrics
                    .iter()
                    .all(|b| row.opt(Some(&b.col)).is_empty()) =>
            {
                self.held.push(Held::Empty(errors));
            }
            Ok(observations) => {
                self.release(out);
                out.push_back(Item::Row(ParsedRow {
                    line: row.line,
                    key: row_key,
                    observations,
                }));
            }
            Err(errors) => {
                self.release(out);
                out.extend(errors.into_iter().map(Item::Invalid));
            }
        }
        Ok(())
    }

    fn finish(&mut self, _out: &mut VecDeque<Item>) {
        // Trailing days without figures: no data yet, not zeros.
        self.held.clear();
    }
}
