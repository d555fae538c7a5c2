//! What the pages' forms change: each action is one GraphQL mutation, run as the
//! signed-in person, so the API's rules and access checks decide — the pages add none of
//! their own and skip none.

use crate::local_api::{ApiError, LocalApi};
use kpi_ledger_graphql::access::Viewer;
use rust_decimal::Decimal;
use serde_json::{json, Value as Json};
use std::collections::HashMap;
use std::str::FromStr;
use uuid::Uuid;

/// Why an action did not happen.
#[derive(Debug)]
pub enum ActionError {
    /// No such action.
    Unknown,
    /// A field could not be read: (message key, arguments).
    Field(&'static str, Vec<(&'static str, String)>),
    /// The API refused.
    Api(ApiError),
}

impl From<ApiError> for ActionError {
    fn from(value: ApiError) -> Self {
        ActionError::Api(value)
    }
}

/// A number as people type it (`1,234,567`, `¥50,000,000`, `25%`, `0.25`), as the exact
/// decimal the API takes; a percentage is a fraction (`25%` → `0.25`).
pub fn parse_number(text: &str) -> Option<String> {
    let cleaned: String = text
        .trim()
        .chars()
        .filter(|c| !matches!(c, ',' | '，' | '¥' | '￥' | ' ' | '\u{3000}' | '_'))
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            '．' => '.',
            '％' => '%',
            '－' => '-',
            other => other,
        })
        .collect();
    let (digits, percent) = match cleaned.strip_suffix('%') {
        Some(rest) => (rest, true),
        None => (cleaned.as_str(), false),
    };
    let value = Decimal::from_str(digits).ok()?;
    let value = if percent {
        value / Decimal::ONE_HUNDRED
    } else {
        value
    };
    Some(value.normalize().to_string())
}

fn field<'a>(fields: &'a HashMap<String, String>, name: &str) -> &'a str {
    fields.get(name).map(|s| s.trim()).unwrap_or_default()
}

fn optional(fields: &HashMap<String, String>, name: &str) -> Option<String> {
    Some(field(fields, name).to_string()).filter(|s| !s.is_empty())
}

fn number(
    fields: &HashMap<String, String>,
    name: &'static str,
    label: &'static str,
) -> Result<String, ActionError> {
    let raw = field(fields, name);
    parse_number(raw).ok_or_else(|| {
        ActionError::Field(
            "invalid_number",
            vec![("value", raw.to_string()), ("field", label.to_string())],
        )
    })
}

fn optional_number(
    fields: &HashMap<String, String>,
    name: &'static str,
    label: &'static str,
) -> Result<Option<String>, ActionError> {
    if field(fields, name).is_empty() {
        return Ok(None);
    }
    number(fields, name, label).map(Some)
}

fn uuid(fields: &HashMap<String, String>, name: &str) -> Result<Uuid, ActionError> {
    Uuid::parse_str(field(fields, name)).map_err(|_| {
        ActionError::Api(ApiError {
            message: format!("{name} not found"),
            code: Some("NOT_FOUND".into()),
        })
    })
}

const SET_TARGET: &str = "mutation($i: SetTargetInput!) { setTarget(input: $i) { id } }";
const RECORD: &str =
    "mutation($i: RecordObservationInput!) { recordObservation(input: $i) { value } }";
const OPEN_REVIEW: &str = "mutation($i: OpenReviewInput!) { openReview(input: $i) { id } }";
const SIGN_OFF: &str = "mutation($i: SignOffReviewInput!) { signOffReview(input: $i) { status } }";
const APPROVE_PAYOUT: &str = "mutation($i: PayoutInput!) { approvePayout(input: $i) { status } }";
const MARK_PAID: &str =
    "mutation($i: MarkPayoutPaidInput!) { markPayoutPaid(input: $i) { status } }";
const APPROVE_PLAN: &str =
    "mutation($i: ApproveIncentivePlanInput!) { approveIncentivePlan(input: $i) { approved } }";
const CALCULATE: &str =
    "mutation($i: CalculatePayoutsInput!) { calculatePayouts(input: $i) { id } }";

/// Runs `action` on engagement `id` with the form's `fields`.
pub async fn run(
    api: &LocalApi,
    viewer: Viewer,
    id: Uuid,
    action: &str,
    fields: &HashMap<String, String>,
) -> Result<(), ActionError> {
    let (mutation, input): (&str, Json) = match action {
        "set_target" => {
            let periods: Vec<&str> = field(fields, "periods")
                .split([',', ' ', '、', '，', '\n', '\r', '\t'])
                .filter(|p| !p.is_empty())
                .collect();
            (
                SET_TARGET,
                json!({
                    "engagementId": id, "kpiId": uuid(fields, "kpi")?, "periods": periods,
                    "threshold": number(fields, "threshold", "threshold")?,
                    "target": number(fields, "target", "target")?,
                    "stretch": optional_number(fields, "stretch", "stretch")?,
                    "reason": field(fields, "reason"),
                }),
            )
        }
        "record_observation" => (
            RECORD,
            json!({
                "engagementId": id, "metric": field(fields, "metric"),
                "platform": field(fields, "platform"),
                "scope": optional(fields, "scope"),
                "from": field(fields, "from"), "to": field(fields, "to"),
                "value": number(fields, "value", "value")?,
                "reason": optional(fields, "reason"),
            }),
        ),
        "open_review" => (
            OPEN_REVIEW,
            json!({ "engagementId": id, "period": field(fields, "period"), "reason": optional(fields, "reason") }),
        ),
        "sign_off" => (
            SIGN_OFF,
            json!({ "engagementId": id, "reviewId": uuid(fields, "review")? }),
        ),
        "approve_payout" => (
            APPROVE_PAYOUT,
            json!({ "engagementId": id, "payoutId": uuid(fields, "payout")? }),
        ),
        "mark_paid" => (
            MARK_PAID,
            json!({ "engagementId": id, "payoutId": uuid(fields, "payout")?, "paidOn": field(fields, "paid_on") }),
        ),
        "approve_plan" => (
            APPROVE_PLAN,
            json!({
                "engagementId": id, "planId": uuid(fields, "plan")?,
                "version": field(fields, "version").parse::<i64>().unwrap_or(0),
            }),
        ),
        "calculate_payouts" => (
            CALCULATE,
            json!({ "engagementId": id, "period": field(fields, "period"), "planId": uuid(fields, "plan")? }),
        ),
        _ => return Err(ActionError::Unknown),
    };
    api.run(viewer, mutation, json!({ "i": input })).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_number;

    #[test]
    fn numbers_as_people_type_them() {
        assert_eq!(parse_number("1,234,567").as_deref(), Some("1234567"));
        assert_eq!(parse_number("¥50,000,000").as_deref(), Some("50000000"));
        assert_eq!(parse_number("25%").as_deref(), Some("0.25"));
        assert_eq!(parse_number("0.45%").as_deref(), Some("0.0045"));
        assert_eq!(parse_number("０．２５").as_deref(), Some("0.25"));
        assert_eq!(parse_number(" -3 ").as_deref(), Some("-3"));
        assert_eq!(parse_number("twelve"), None);
        assert_eq!(parse_number(""), None);
    }
}
