//! `amazon_sales_traffic_json`: the Selling Partner API sales and traffic report
//! (`GET_SALES_AND_TRAFFIC_REPORT`), JSON.
//!
//! **Streaming:** the file is not read whole. The top-level object is walked member by
//! member; the elements of `salesAndTrafficByDate` and `salesAndTrafficByAsin` are parsed
//! one at a time (each capped at 1 MiB), other members are skipped without being stored.
//! Numbers are kept as written and become exact decimals (never `f64`).
//!
//! `salesAndTrafficByDate[]` (store-level, one day each; row key `date|<ISO date>`):
//!
//! | metric | field |
//! | --- | --- |
//! | (date) | `date` |
//! | gmv (money) | `salesByDate.orderedProductSales.amount` (+ `currencyCode`) |
//! | units_ordered | `salesByDate.unitsOrdered` |
//! | orders | `salesByDate.totalOrderItems` |
//! | units_shipped | `salesByDate.unitsShipped` |
//! | units_returned | `salesByDate.unitsRefunded` |
//! | sessions | `trafficByDate.sessions` |
//! | page_views | `trafficByDate.pageViews` |
//!
//! `salesAndTrafficByAsin[]` (ASIN-scoped, row key `asin|<childAsin>`, or the
//! `parentAsin` in parent-level reports): the same fields under `salesByAsin` /
//! `trafficByAsin`, over the report's range: `options.range`, or when absent the
//! `reportSpecification`'s `dataStartTime`..`dataEndTime` (the two must agree when both
//! are given; neither is a [`FileError::MissingOption`]).
//!
//! A field that is absent or `null` records nothing; a field of the wrong type is a row
//! error. `…B2B` fields are separate figures and ignored, as is every other field. A
//! `currencyCode` other than `options.currency` is a row error. An entry's line is the line
//! where it starts; its `column` in errors is its JSON path.

use super::{check_value, platform};
use crate::decode::Decoded;
use crate::json::{JsonReader, Value};
use crate::text::key;
use crate::{
    values, FileError, Format, ImportOptions, Item, ParsedObservation, ParsedRow, RowError,
};
use kpi_ledger_domain::period::DateRange;
use rust_decimal::Decimal;
use std::collections::VecDeque;
use std::io::Read;
use std::str::FromStr;

/// The largest element (or report specification, or member name) read into memory.
const MAX_ELEMENT_BYTES: u64 = 1 << 20;

const BY_DATE: &str = "salesAndTrafficByDate";
const BY_ASIN: &str = "salesAndTrafficByAsin";

/// (metric, section index: 0 sales / 1 traffic, field, money?)
const FIELDS: &[(&str, usize, &str, bool)] = &[
    ("gmv", 0, "orderedProductSales", true),
    ("units_ordered", 0, "unitsOrdered", false),
    ("orders", 0, "totalOrderItems", false),
    ("units_shipped", 0, "unitsShipped", false),
    ("units_returned", 0, "unitsRefunded", false),
    ("sessions", 1, "sessions", false),
    ("page_views", 1, "pageViews", false),
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Array {
    ByDate,
    ByAsin,
}

impl Array {
    fn name(self) -> &'static str {
        match self {
            Array::ByDate => BY_DATE,
            Array::ByAsin => BY_ASIN,
        }
    }

    fn sections(self) -> [&'static str; 2] {
        match self {
            Array::ByDate => ["salesByDate", "trafficByDate"],
            Array::ByAsin => ["salesByAsin", "trafficByAsin"],
        }
    }
}

enum State {
    Members {
        first: bool,
    },
    Elements {
        array: Array,
        index: usize,
        first: bool,
    },
    Done,
}

pub(crate) struct SalesTraffic<R: Read> {
    json: JsonReader<Decoded<R>>,
    state: State,
    platform: String,
    currency: crate::Currency,
    stated_range: Option<DateRange>,
    spec_range: Option<DateRange>,
    seen_array: bool,
    queue: VecDeque<Item>,
}

pub(crate) fn open<R: Read>(
    reader: R,
    options: &ImportOptions,
) -> Result<SalesTraffic<R>, FileError> {
    let platform = platform(options)?;
    let mut json = JsonReader::new(
        Decoded::new(reader, options.encoding),
        Format::AmazonSalesTrafficJson,
    );
    // A byte-order mark is removed by the decoder; a stray U+FEFF is not JSON.
    match json.skip_ws()? {
        None => return Err(FileError::Empty),
        Some(b'{') => {
            json.bump()?;
        }
        Some(_) => return Err(json.malformed("a sales and traffic report is a JSON object")),
    }
    Ok(SalesTraffic {
        json,
        state: State::Members { first: true },
        platform,
        currency: options.currency.clone(),
        stated_range: options.range,
        spec_range: None,
        seen_array: false,
        queue: VecDeque::new(),
    })
}

/// `2026-05-01` or `2026-05-01T00:00:00Z`.
fn spec_date(value: Option<&Value>) -> Option<chrono::NaiveDate> {
    match value {
        Some(Value::String(text)) => values::date(text.get(..10).unwrap_or(text)).ok(),
        _ => None,
    }
}

impl<R: Read> SalesTraffic<R> {
    fn step(&mut self) -> Result<Option<Vec<Item>>, FileError> {
        match self.state {
            State::Done => Ok(None),
            State::Members { first } => {
                match self.json.skip_ws()? {
                    Some(b'}') => {
                        self.json.bump()?;
                        if self.json.skip_ws()?.is_some() {
                            return Err(self
                                .json
                                .malformed("something follows the report's object"));
                        }
                        self.state = State::Done;
                        if !self.seen_array {
                            return Err(self.json.malformed(format!(
                                "the report has neither `{BY_DATE}` nor `{BY_ASIN}`"
                            )));
                        }
                        return Ok(None);
                    }
                    None => {
                        return Err(self
                            .json
                            .malformed("the file ends inside the report (is it cut short?)"))
                    }
                    _ => {}
                }
                if !first {
                    self.json.expect(b',')?;
                }
                self.json.limit(MAX_ELEMENT_BYTES);
                let name = self.json.string()?;
                self.json.expect(b':')?;
                self.state = State::Members { first: false };
                match name.as_str() {
                    BY_DATE | BY_ASIN => {
                        self.json.unlimited();
                        let array = if name == BY_DATE {
                            Array::ByDate
                        } else {
                            Array::ByAsin
                        };
                        if self.json.skip_ws()? == Some(b'n') {
                            self.json.skip()?;
                            return Ok(Some(Vec::new()));
                        }
                        self.json.expect(b'[')?;
                        self.seen_array = true;
                        self.state = State::Elements {
                            array,
                            index: 0,
                            first: true,
                        };
                    }
                    "reportSpecification" => {
                        let spec = self.json.value()?;
                        self.json.unlimited();
                        if let (Some(start), Some(end)) = (
                            spec_date(spec.get("dataStartTime")),
                            spec_date(spec.get("dataEndTime")),
                        ) {
                            self.spec_range = DateRange::new(start, end).ok();
                        }
                    }
                    _ => {
                        self.json.unlimited();
                        self.json.skip()?;
                    }
                }
                Ok(Some(Vec::new()))
            }
            State::Elements {
                array,
                index,
                first,
            } => {
                if self.json.skip_ws()? == Some(b']') {
                    self.json.bump()?;
                    self.state = State::Members { first: false };
                    return Ok(Some(Vec::new()));
                }
                if !first {
                    self.json.expect(b',')?;
                }
                self.json.skip_ws()?;
                let line = self.json.line;
                self.json.limit(MAX_ELEMENT_BYTES);
                let element = self.json.value()?;
                self.json.unlimited();
                self.state = State::Elements {
                    array,
                    index: index + 1,
                    first: false,
                };
                let path = format!("{}[{index}]", array.name());
                self.element(array, &path, line, &element).map(Some)
            }
        }
    }

    fn asin_range(&self) -> Result<DateRange, FileError> {
        match (self.stated_range, self.spec_range) {
            (Some(stated), Some(spec)) if stated != spec => Err(FileError::Malformed {
                format: Format::AmazonSalesTrafficJson,
                detail: format!(
                    "the report covers {}..{} but the import states {}..{}",
                    spec.start, spec.end, stated.start, stated.end
                ),
            }),
            (Some(range), _) | (None, Some(range)) => Ok(range),
            (None, None) => Err(FileError::MissingOption {
                format: Format::AmazonSalesTrafficJson,
                what: "the range the report covers (`from` and `to`): its figures by ASIN have no date \
                       and the report states none"
                    .into(),
            }),
        }
    }

    fn element(
        &self,
        array: Array,
        path: &str,
        line: u64,
        element: &Value,
    ) -> Result<Vec<Item>, FileError> {
        let error = |column: String, value: Option<String>, reason: String| {
            Item::Invalid(RowError {
                line,
                column: Some(column),
                value,
                reason,
            })
        };
        if !matches!(element, Value::Object(_)) {
            return Ok(vec![error(
                path.to_string(),
                None,
                format!("an entry must be an object, not {}", element.kind()),
            )]);
        }
        let (range, scope, row_key) = match array {
            Array::ByDate => {
                let column = format!("{path}.date");
                match element.get("date") {
                    Some(Value::String(text)) => match values::date(text) {
                        Ok(day) => (DateRange::day(day), None, key(&["date", &day.to_string()])),
                        Err(why) => return Ok(vec![error(column, Some(text.clone()), why)]),
                    },
                    other => {
                        return Ok(vec![error(
                            column,
                            None,
                            format!(
                                "the date must be a string, not {}",
                                other.map_or("missing", Value::kind)
                            ),
                        )])
                    }
                }
            }
            Array::ByAsin => {
                let asin =
                    ["childAsin", "parentAsin"]
                        .iter()
                        .find_map(|field| match element.get(field) {
                            Some(Value::String(s)) if !s.trim().is_empty() => {
                                Some(s.trim().to_string())
                            }
                            _ => None,
                        });
                let Some(asin) = asin else {
                    return Ok(vec![error(
                        format!("{path}.childAsin"),
                        None,
                        "the entry names no childAsin or parentAsin".into(),
                    )]);
                };
                let row_key = key(&["asin", &asin]);
                (self.asin_range()?, Some(asin), row_key)
            }
        };
        let sections = array.sections();
        let mut observations = Vec::new();
        let mut errors = Vec::new();
        for (metric, section, field, money) in FIELDS {
            let section_name = sections[*section];
            let Some(value) = element.get(section_name).and_then(|s| s.get(field)) else {
                continue;
            };
            let column = format!("{path}.{section_name}.{field}");
            let parsed = if *money {
                self.money(value, &column)
            } else {
                count(value)
            };
            let parsed = parsed.and_then(|v| match v {
                Some(v) => check_value(metric, v)
                    .map(|()| Some(v))
                    .map_err(|why| (why, None)),
                None => Ok(None),
            });
            match parsed {
                Ok(Some(v)) => observations.push(ParsedObservation {
                    metric: (*metric).to_string(),
                    platform: self.platform.clone(),
                    scope: scope.clone(),
                    range,
                    value: v,
                }),
                Ok(None) => {}
                Err((why, at)) => {
                    errors.push(error(at.unwrap_or(column), Some(text_of(value)), why))
                }
            }
        }
        if !errors.is_empty() {
            return Ok(errors);
        }
        Ok(vec![Item::Row(ParsedRow {
            line,
            key: row_key,
            observations,
        })])
    }

    /// `{"amount": 1234.0, "currencyCode": "JPY"}`; `Err` carries the reason and, when it
    /// is about a member, that member's path.
    fn money(
        &self,
        value: &Value,
        column: &str,
    ) -> Result<Option<Decimal>, (String, Option<String>)> {
        match value {
            Value::Null => Ok(None),
            Value::Object(_) => {
                let mut stated = None;
                if let Some(code) = value.get("currencyCode") {
                    let Value::String(code) = code else {
                        return Err((
                            format!("currencyCode must be a string, not {}", code.kind()),
                            Some(format!("{column}.currencyCode")),
                        ));
                    };
                    if let Err(why) = self.currency.convert(Decimal::ZERO, Some(code)) {
                        return Err((why, Some(format!("{column}.currencyCode"))));
                    }
                    stated = Some(code.as_str());
                }
                match value.get("amount") {
                    None | Some(Value::Null) => Err((
                        "the amount is missing".into(),
                        Some(format!("{column}.amount")),
                    )),
                    Some(Value::String(text)) => values::money_stated(text, &self.currency, stated)
                        .map(Some)
                        .map_err(|why| (why, Some(format!("{column}.amount")))),
                    Some(amount) => count(amount)
                        .and_then(|amount| match amount {
                            Some(a) => self
                                .currency
                                .convert(a, stated)
                                .map(Some)
                                .map_err(|why| (why, None)),
                            None => Ok(None),
                        })
                        .map_err(|(why, _)| (why, Some(format!("{column}.amount")))),
                }
            }
            other => Err((
                format!(
                    "expected an object with amount and currencyCode, not {}",
                    other.kind()
                ),
                None,
            )),
        }
    }
}

/// A JSON number (kept as text) or a numeric string, as an exact decimal.
fn count(value: &Value) -> Result<Option<Decimal>, (String, Option<String>)> {
    match value {
        Value::Null => Ok(None),
        Value::Number(text) => {
            let parsed = if text.contains(['e', 'E']) {
                Decimal::from_scientific(text)
            } else {
                Decimal::from_str(text)
            };
            parsed
                .map(|d| Some(d.normalize()))
                .map_err(|_| (format!("`{text}` is out of range"), None))
        }
        Value::String(text) => values::number(text).map(Some).map_err(|why| (why, None)),
        other => Err((format!("expected a number, not {}", other.kind()), None)),
    }
}

fn text_of(value: &Value) -> String {
    match value {
        Value::Number(t) | Value::String(t) => t.clone(),
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Object(members) => match members
            .iter()
            .find(|(k, _)| k == "currencyCode" || k == "amount")
        {
            Some(_) => {
                let amount = value.get("amount").map(text_of).unwrap_or_default();
                let code = value.get("currencyCode").map(text_of).unwrap_or_default();
                format!("{amount} {code}").trim().to_string()
            }
            None => "{…}".into(),
        },
        Value::Array(_) => "[…]".into(),
    }
}

impl<R: Read> Iterator for SalesTraffic<R> {
    type Item = Result<Item, FileError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.queue.pop_front() {
                return Some(Ok(item));
            }
            match self.step() {
                Ok(None) => return None,
                Ok(Some(items)) => self.queue.extend(items),
                Err(error) => {
                    self.state = State::Done;
                    return Some(Err(error));
                }
            }
        }
    }
}
