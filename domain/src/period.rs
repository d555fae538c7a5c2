//! Periods and their calendar days (SPEC §5a). Every range is inclusive of both ends and
//! in the engagement's time zone.

use chrono::{DateTime, Datelike, FixedOffset, Months, NaiveDate, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A scoring period, written as SPEC §5a says.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Period {
    /// `2026-06`
    Month { year: i32, month: u32 },
    /// `2026-W23`, Monday to Sunday.
    IsoWeek { year: i32, week: u32 },
    /// `2026-Q2`, calendar quarter.
    Quarter { year: i32, quarter: u32 },
    /// `FY2026`, named by the calendar year it starts in.
    FiscalYear { year: i32 },
    /// `FY2026-Q1`
    FiscalQuarter { year: i32, quarter: u32 },
    /// `2026-06-04T20:00+09:00/2026-06-11T01:59+09:00`: every day it touches counts.
    Campaign {
        start: DateTime<FixedOffset>,
        end: DateTime<FixedOffset>,
    },
}

/// The text is not a period.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a period ({why}); write 2026-06, 2026-W23, 2026-Q2, FY2026, FY2026-Q1 or START/END in RFC 3339")]
pub struct PeriodError {
    pub text: String,
    pub why: String,
}

fn err(text: &str, why: impl Into<String>) -> PeriodError {
    PeriodError {
        text: text.to_string(),
        why: why.into(),
    }
}

fn parse_instant(text: &str, whole: &str) -> Result<DateTime<FixedOffset>, PeriodError> {
    let with_offset = match text.strip_suffix('Z').or_else(|| text.strip_suffix('z')) {
        Some(utc) => format!("{utc}+00:00"),
        None => text.to_string(),
    };
    DateTime::parse_from_rfc3339(&with_offset)
        .or_else(|_| DateTime::parse_from_str(&with_offset, "%Y-%m-%dT%H:%M%:z"))
        .map_err(|_| err(whole, format!("`{text}` is not an instant with an offset")))
}

fn format_instant(instant: &DateTime<FixedOffset>) -> String {
    if instant.timestamp_subsec_nanos() == 0 && instant.format("%S").to_string() == "00" {
        instant.format("%Y-%m-%dT%H:%M%:z").to_string()
    } else {
        instant.to_rfc3339()
    }
}

fn year(text: &str, whole: &str) -> Result<i32, PeriodError> {
    if text.len() != 4 || !text.chars().all(|c| c.is_ascii_digit()) {
        return Err(err(whole, "the year must have four digits"));
    }
    let year: i32 = text.parse().map_err(|_| err(whole, "bad year"))?;
    if !(1970..=9998).contains(&year) {
        return Err(err(whole, "the year is out of range"));
    }
    Ok(year)
}

fn number(
    text: &str,
    whole: &str,
    range: std::ops::RangeInclusive<u32>,
    what: &str,
) -> Result<u32, PeriodError> {
    if text.len() != 2 && !(what == "quarter" && text.len() == 1) {
        return Err(err(whole, format!("the {what} must have two digits")));
    }
    let n: u32 = text
        .parse()
        .map_err(|_| err(whole, format!("bad {what}")))?;
    if !range.contains(&n) {
        return Err(err(whole, format!("there is no {what} {n}")));
    }
    Ok(n)
}

impl FromStr for Period {
    type Err = PeriodError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        if let Some((start, end)) = text.split_once('/') {
            let start = parse_instant(start.trim(), text)?;
            let end = parse_instant(end.trim(), text)?;
            if end < start {
                return Err(err(text, "the campaign ends before it starts"));
            }
            return Ok(Period::Campaign { start, end });
        }
        if let Some(rest) = text.strip_prefix("FY") {
            return match rest.split_once("-Q") {
                Some((y, q)) => Ok(Period::FiscalQuarter {
                    year: year(y, text)?,
                    quarter: number(q, text, 1..=4, "quarter")?,
                }),
                None => Ok(Period::FiscalYear {
                    year: year(rest, text)?,
                }),
            };
        }
        if let Some((y, w)) = text.split_once("-W") {
            let year = year(y, text)?;
            let week = number(w, text, 1..=53, "week")?;
            if NaiveDate::from_isoywd_opt(year, week, Weekday::Mon).is_none() {
                return Err(err(text, format!("{year} has no ISO week {week}")));
            }
            return Ok(Period::IsoWeek { year, week });
        }
        if let Some((y, q)) = text.split_once("-Q") {
            return Ok(Period::Quarter {
                year: year(y, text)?,
                quarter: number(q, text, 1..=4, "quarter")?,
            });
        }
        if let Some((y, m)) = text.split_once('-') {
            return Ok(Period::Month {
                year: year(y, text)?,
                month: number(m, text, 1..=12, "month")?,
            });
        }
        Err(err(text, "unknown form"))
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Period::Month { year, month } => write!(f, "{year:04}-{month:02}"),
            Period::IsoWeek { year, week } => write!(f, "{year:04}-W{week:02}"),
            Period::Quarter { year, quarter } => write!(f, "{year:04}-Q{quarter}"),
            Period::FiscalYear { year } => write!(f, "FY{year:04}"),
            Period::FiscalQuarter { year, quarter } => write!(f, "FY{year:04}-Q{quarter}"),
            Period::Campaign { start, end } => {
                write!(f, "{}/{}", format_instant(start), format_instant(end))
            }
        }
    }
}

/// An engagement's time zone by its IANA name (`Asia/Tokyo`): the one place a name
/// becomes a zone.
pub fn time_zone(name: &str) -> Result<Tz, String> {
    name.trim()
        .parse()
        .map_err(|_| format!("unknown time zone {name}"))
}

/// The days of `period` in an engagement's calendar (fiscal year start, time zone name).
pub fn calendar_days(
    period: &Period,
    fiscal_year_start_month: u32,
    time_zone_name: &str,
) -> Result<DateRange, String> {
    Ok(period.days(fiscal_year_start_month, time_zone(time_zone_name)?))
}

impl Period {
    /// The same period with a campaign window's instants written in `tz` (other periods
    /// are unchanged), so one window has one spelling however it was written: `…Z` and
    /// `…+09:00` for the same instants name the same period.
    pub fn in_time_zone(self, tz: Tz) -> Period {
        match self {
            Period::Campaign { start, end } => Period::Campaign {
                start: start.with_timezone(&tz).fixed_offset(),
                end: end.with_timezone(&tz).fixed_offset(),
            },
            other => other,
        }
    }
}

impl From<Period> for String {
    fn from(value: Period) -> Self {
        value.to_string()
    }
}

impl TryFrom<String> for Period {
    type Error = PeriodError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

/// An inclusive range of calendar days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DateRange {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl DateRange {
    pub fn new(start: NaiveDate, end: NaiveDate) -> Result<Self, String> {
        if end < start {
            return Err(format!("the range ends ({end}) before it starts ({start})"));
        }
        Ok(Self { start, end })
    }

    pub fn day(day: NaiveDate) -> Self {
        Self {
            start: day,
            end: day,
        }
    }

    pub fn days(&self) -> i64 {
        (self.end - self.start).num_days() + 1
    }

    pub fn contains_range(&self, other: &DateRange) -> bool {
        self.start <= other.start && other.end <= self.end
    }

    pub fn overlaps(&self, other: &DateRange) -> bool {
        self.start <= other.end && other.start <= self.end
    }
}

impl fmt::Display for DateRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.start == self.end {
            write!(f, "{}", self.start)
        } else {
            write!(f, "{}..{}", self.start, self.end)
        }
    }
}

fn month_range(year: i32, month: u32, months: u32) -> DateRange {
    let start = NaiveDate::from_ymd_opt(year, month, 1).expect("valid month");
    let end = start
        .checked_add_months(Months::new(months))
        .and_then(|d| d.pred_opt())
        .expect("date in range");
    DateRange { start, end }
}

impl Period {
    /// The calendar days of the period, given the engagement's fiscal-year start month and
    /// time zone (the time zone matters only for campaign windows).
    pub fn days(&self, fiscal_year_start_month: u32, time_zone: Tz) -> DateRange {
        match self {
            Period::Month { year, month } => month_range(*year, *month, 1),
            Period::IsoWeek { year, week } => {
                let start =
                    NaiveDate::from_isoywd_opt(*year, *week, Weekday::Mon).expect("checked");
                DateRange {
                    start,
                    end: start + chrono::Duration::days(6),
                }
            }
            Period::Quarter { year, quarter } => month_range(*year, (quarter - 1) * 3 + 1, 3),
            Period::FiscalYear { year } => month_range(*year, fiscal_year_start_month, 12),
            Period::FiscalQuarter { year, quarter } => {
                let first = month_range(*year, fiscal_year_start_month, 12).start;
                let start = first
                    .checked_add_months(Months::new((quarter - 1) * 3))
                    .expect("date in range");
                month_range(start.year(), start.month(), 3)
            }
            Period::Campaign { start, end } => DateRange {
                start: start.with_timezone(&time_zone).date_naive(),
                end: end.with_timezone(&time_zone).date_naive(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn days(p: &str) -> (String, String) {
        let r = p.parse::<Period>().unwrap().days(4, chrono_tz::Asia::Tokyo);
        (r.start.to_string(), r.end.to_string())
    }

    #[test]
    fn every_period_form_of_the_spec_parses_and_prints_back() {
        for text in [
            "2026-06",
            "2026-W23",
            "2026-Q2",
            "FY2026",
            "FY2026-Q1",
            "2026-06-04T20:00+09:00/2026-06-11T01:59+09:00",
        ] {
            assert_eq!(text.parse::<Period>().unwrap().to_string(), text);
        }
    }

    #[test]
    fn periods_cover_the_right_days() {
        assert_eq!(days("2026-06"), ("2026-06-01".into(), "2026-06-30".into()));
        assert_eq!(days("2026-02"), ("2026-02-01".into(), "2026-02-28".into()));
        assert_eq!(days("2026-W23"), ("2026-06-01".into(), "2026-06-07".into()));
        assert_eq!(days("2026-W01"), ("2025-12-29".into(), "2026-01-04".into()));
        assert_eq!(days("2026-Q2"), ("2026-04-01".into(), "2026-06-30".into()));
        assert_eq!(days("FY2026"), ("2026-04-01".into(), "2027-03-31".into()));
        assert_eq!(
            days("FY2026-Q1"),
            ("2026-04-01".into(), "2026-06-30".into())
        );
        assert_eq!(
            days("FY2026-Q4"),
            ("2027-01-01".into(), "2027-03-31".into())
        );
        // The Super SALE counts every JST day it touches.
        assert_eq!(
            days("2026-06-04T20:00+09:00/2026-06-11T01:59+09:00"),
            ("2026-06-04".into(), "2026-06-11".into())
        );
        // An instant given in UTC still counts the JST days it touches.
        assert_eq!(
            days("2026-06-04T11:00Z/2026-06-10T16:59Z"),
            ("2026-06-04".into(), "2026-06-11".into())
        );
    }

    #[test]
    fn a_fiscal_year_follows_the_engagements_start_month() {
        let fy = "FY2026".parse::<Period>().unwrap();
        let r = fy.days(1, chrono_tz::Asia::Tokyo);
        assert_eq!(
            (r.start.to_string(), r.end.to_string()),
            ("2026-01-01".into(), "2026-12-31".into())
        );
    }

    #[test]
    fn malformed_periods_are_refused_with_the_reason() {
        for bad in [
            "2026-13",
            "2026-W54",
            "2026-Q5",
            "FY26",
            "June",
            "2026-06-11T00:00+09:00/2026-06-01T00:00+09:00",
            "2021-W53",
        ] {
            assert!(bad.parse::<Period>().is_err(), "{bad}");
        }
        assert!("2020-W53".parse::<Period>().is_ok());
    }
}
