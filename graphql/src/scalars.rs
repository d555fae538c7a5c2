//! Scalars named as SPEC §13 says.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::NaiveDate;

/// A calendar date, `YYYY-MM-DD`, in the engagement's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date(pub NaiveDate);

#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(Date)
                .map_err(|_| InputValueError::custom(format!("`{s}` is not a date (YYYY-MM-DD)"))),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

impl From<NaiveDate> for Date {
    fn from(value: NaiveDate) -> Self {
        Date(value)
    }
}

/// An exact decimal as a JSON string, normalised: no exponent, no trailing zeros (`"99"`,
/// `"98.75"`, `"0.375"`). Ratios are fractions (`"0.25"` is 25 %); yen are whole numbers.
/// Inputs accept the same form (and JSON integers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Dec(pub rust_decimal::Decimal);

#[Scalar(name = "Decimal")]
impl ScalarType for Dec {
    fn parse(value: Value) -> InputValueResult<Self> {
        use std::str::FromStr;
        match &value {
            Value::String(s) => {
                let text = s.trim().replace('_', "");
                let valid = !text.is_empty()
                    && text
                        .chars()
                        .all(|c| c.is_ascii_digit() || c == '.' || c == '-' || c == '+');
                if !valid {
                    return Err(InputValueError::custom(format!(
                        "`{s}` is not a decimal number such as \"1234.5\""
                    )));
                }
                rust_decimal::Decimal::from_str(&text)
                    .map(Dec)
                    .map_err(|_| InputValueError::custom(format!("`{s}` is not a decimal number")))
            }
            Value::Number(n) if n.is_i64() => Ok(Dec(rust_decimal::Decimal::from(
                n.as_i64().expect("checked"),
            ))),
            _ => Err(InputValueError::custom(
                "decimals are written as strings, such as \"0.375\"",
            )),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(kpi_ledger_domain::scoring::normalised(self.0))
    }
}

impl From<rust_decimal::Decimal> for Dec {
    fn from(value: rust_decimal::Decimal) -> Self {
        Dec(value)
    }
}

/// A scoring period as SPEC §5a writes it: `2026-06`, `2026-W23`, `2026-Q2`, `FY2026`,
/// `FY2026-Q1`, or a campaign window `2026-06-04T20:00+09:00/2026-06-11T01:59+09:00`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodScalar(pub kpi_ledger_domain::period::Period);

#[Scalar(name = "Period")]
impl ScalarType for PeriodScalar {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => {
                s.parse()
                    .map(PeriodScalar)
                    .map_err(|e: kpi_ledger_domain::period::PeriodError| {
                        InputValueError::custom(e.to_string())
                    })
            }
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }
}

/// A language the product speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
#[graphql(name = "Language")]
pub enum LanguageGql {
    /// 日本語
    Ja,
    /// 简体中文
    Zh,
    /// English
    En,
}

impl From<LanguageGql> for kpi_ledger_domain::language::Language {
    fn from(value: LanguageGql) -> Self {
        match value {
            LanguageGql::Ja => Self::Ja,
            LanguageGql::Zh => Self::Zh,
            LanguageGql::En => Self::En,
        }
    }
}
