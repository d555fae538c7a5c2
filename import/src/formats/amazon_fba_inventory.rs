//! `amazon_fba_inventory`: the FBA Manage Inventory report (tab-separated, machine
//! headers, no quoting: a `"` in a product name is text).
//!
//! | metric | column |
//! | --- | --- |
//! | units_on_hand (count, SKU-scoped) | afn-fulfillable-quantity |
//!
//! Row key: `sku`. Both columns are required; every other column is ignored. The report is
//! a snapshot, so `options.range` must be the single day it was taken (required). Each SKU
//! row records that SKU's stock for the day; after the last row comes one row (line 0,
//! key `total|date`) with the store-level total, the sum over the SKUs (SPEC §4: no other
//! report gives it). A file with no SKU rows yields no total. A SKU not fulfilled by
//! Amazon (`afn-listing-exists` = `No`) with an empty quantity records nothing.

use super::{check_value, platform, stated_range};
use crate::table::{self, Col, Fit, Header, Layout, Row};
use crate::text::key;
use crate::{values, FileError, Format, ImportOptions, Item, ParsedObservation, ParsedRow};
use kpi_ledger_domain::period::DateRange;
use rust_decimal::Decimal;
use std::collections::VecDeque;

const SKU: &[&str] = &["sku"];
const QUANTITY: &[&str] = &["afn-fulfillable-quantity"];
const AFN_LISTED: &[&str] = &["afn-listing-exists"];
const METRIC: &str = "units_on_hand";

pub(crate) struct Inventory {
    platform: String,
    day: DateRange,
    sku: Option<Col>,
    quantity: Option<Col>,
    afn_listed: Option<Col>,
    total: Decimal,
    skus: u64,
}

impl Inventory {
    pub(crate) fn new(options: &ImportOptions) -> Result<Self, FileError> {
        let platform = platform(options)?;
        let day = stated_range(options, "the date the inventory report was taken")?;
        if day.start != day.end {
            return Err(FileError::MissingOption {
                format: options.format,
                what: format!(
                    "the single day the inventory report was taken as `from` and `to` (stock is a \
                     level, not a flow), not {}..{}",
                    day.start, day.end
                ),
            });
        }
        Ok(Self {
            platform,
            day,
            sku: None,
            quantity: None,
            afn_listed: None,
            total: Decimal::ZERO,
            skus: 0,
        })
    }

    fn observation(&self, scope: Option<&str>, value: Decimal) -> ParsedObservation {
        ParsedObservation {
            metric: METRIC.to_string(),
            platform: self.platform.clone(),
            scope: scope.map(str::to_string),
            range: self.day,
            value,
        }
    }
}

impl Layout for Inventory {
    fn format(&self) -> Format {
        Format::AmazonFbaInventory
    }

    fn bind(&mut self, header: &Header) -> Result<Fit, FileError> {
        let format = self.format();
        let mut missing = Vec::new();
        let sku = table::require(header, format, SKU, &mut missing)?;
        let quantity = table::require(header, format, QUANTITY, &mut missing)?;
        if !missing.is_empty() {
            return Ok(Fit::Missing(missing));
        }
        self.sku = sku;
        self.quantity = quantity;
        self.afn_listed = header.find_unique(format, AFN_LISTED)?;
        Ok(Fit::Bound)
    }

    fn row(&mut self, row: &Row<'_>, out: &mut VecDeque<Item>) -> Result<(), FileError> {
        let (Some(sku_col), Some(quantity_col)) = (&self.sku, &self.quantity) else {
            return Ok(());
        };
        let sku = match row.cell(sku_col) {
            Ok(sku) if !sku.is_empty() => sku,
            Ok(_) => return Ok(()),
            Err(e) => {
                out.push_back(Item::Invalid(e));
                return Ok(());
            }
        };
        let cell = match row.cell(quantity_col) {
            Ok(cell) => cell,
            Err(e) => {
                out.push_back(Item::Invalid(e));
                return Ok(());
            }
        };
        let key = key(&["sku", sku]);
        if cell.is_empty() && row.opt(self.afn_listed.as_ref()).eq_ignore_ascii_case("no") {
            out.push_back(Item::Row(ParsedRow {
                line: row.line,
                key,
                observations: Vec::new(),
            }));
            return Ok(());
        }
        let value = values::number(cell).and_then(|v| check_value(METRIC, v).map(|()| v));
        match value {
            Ok(value) => {
                self.total += value;
                self.skus += 1;
                out.push_back(Item::Row(ParsedRow {
                    line: row.line,
                    key,
                    observations: vec![self.observation(Some(sku), value)],
                }));
            }
            Err(why) => out.push_back(Item::Invalid(row.error(quantity_col, cell, why))),
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut VecDeque<Item>) {
        if self.skus == 0 {
            return;
        }
        out.push_back(Item::Row(ParsedRow {
            line: 0,
            key: key(&["total", &self.day.start.to_string()]),
            observations: vec![self.observation(None, self.total)],
        }));
    }
}
