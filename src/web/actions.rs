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
const FINDING: &str = "mutation($i: RecordFindingInput!) { recordFinding(input: $i) { id } }";
const DECISION: &str = "mutation($i: RecordDecisionInput!) { recordDecision(input: $i) { id } }";
const ADJUST: &str = "mutation($i: AdjustPayoutInput!) { adjustPayout(input: $i) { id } }";
const CHANGE_ROLE: &str =
    "mutation($i: ChangeMemberRoleInput!) { changeMemberRole(input: $i) { id } }";
const REMOVE_MEMBER: &str = "mutation($i: RemoveMemberInput!) { removeMember(input: $i) { id } }";
const ERASE_PERSONAL: &str =
    "mutation($i: EraseMemberPersonalDataInput!) { eraseMemberPersonalData(input: $i) { id } }";
const RETIRE_KPI: &str = "mutation($i: RetireKpiInput!) { retireKpi(input: $i) { id } }";
const CORRECT: &str =
    "mutation($i: CorrectObservationInput!) { correctObservation(input: $i) { value } }";
const ADD_MEMBER: &str = "mutation($i: AddMemberInput!) { addMember(input: $i) { id email } }";
const DEFINE_KPI: &str = "mutation($i: DefineKpiInput!) { defineKpi(input: $i) { id } }";
const CHANGE_WEIGHT: &str =
    "mutation($i: ChangeKpiWeightInput!) { changeKpiWeight(input: $i) { id } }";
const DRAFT_PLAN: &str =
    "mutation($i: DraftIncentivePlanInput!) { draftIncentivePlan(input: $i) { id } }";
const MEMBER_EMAIL: &str = "query($id: UUID!) { engagement(id: $id) { viewerRole members(first: 200) { nodes { id email } } } }";
const CALCULATE: &str =
    "mutation($i: CalculatePayoutsInput!) { calculatePayouts(input: $i) { id } }";

/// `60:50, 100:100, 120:150` (score:payout %) as curve points.
fn curve(text: &str) -> Result<Vec<Json>, ActionError> {
    text.split([',', '、', '\n', ';'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|point| {
            let (score, pct) = point.split_once([':', '=', '→']).ok_or_else(|| {
                ActionError::Field("invalid_curve", vec![("value", point.to_string())])
            })?;
            let bad = || ActionError::Field("invalid_curve", vec![("value", point.to_string())]);
            let score = parse_number(score).ok_or_else(bad)?;
            let pct = parse_number(pct.trim_end_matches('%')).ok_or_else(bad)?;
            Ok(json!({ "score": score, "payoutPct": pct }))
        })
        .collect()
}

/// The email of member `member` of engagement `id`, when the caller is a consultant of it
/// (the one who may invite); NOT_FOUND otherwise.
pub async fn member_email(
    api: &LocalApi,
    viewer: Viewer,
    id: Uuid,
    member: &str,
) -> Result<String, ActionError> {
    let data = api.run(viewer, MEMBER_EMAIL, json!({ "id": id })).await?;
    let not_found = || {
        ActionError::Api(ApiError {
            message: "member not found".into(),
            code: Some("NOT_FOUND".into()),
        })
    };
    if data["engagement"]["viewerRole"] != "CONSULTANT" {
        return Err(not_found());
    }
    data["engagement"]["members"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["id"] == member)
        .and_then(|m| m["email"].as_str())
        .map(str::to_string)
        .ok_or_else(not_found)
}

/// What an action did that the page should say beyond "saved".
pub enum Done {
    Saved,
    /// A person to send a sign-in link to (their email).
    Invite(String),
}

/// Runs `action` on engagement `id` with the form's `fields`.
pub async fn run(
    api: &LocalApi,
    viewer: Viewer,
    id: Uuid,
    action: &str,
    fields: &HashMap<String, String>,
) -> Result<Done, ActionError> {
    if action == "invite" {
        let email = member_email(api, viewer, id, field(fields, "member")).await?;
        return Ok(Done::Invite(email));
    }
    let (mutation, input): (&str, Json) = match action {
        "add_member" => (
            ADD_MEMBER,
            json!({
                "engagementId": id, "displayName": field(fields, "name"),
                "email": field(fields, "email"), "role": field(fields, "role"),
                "position": optional(fields, "position"), "activeFrom": optional(fields, "active_from"),
            }),
        ),
        "record_finding" => (
            FINDING,
            json!({
                "engagementId": id, "reviewId": uuid(fields, "review")?,
                "kpiId": optional(fields, "kpi"), "memberId": optional(fields, "member"),
                "deviation": field(fields, "deviation"), "cause": field(fields, "cause"),
            }),
        ),
        "record_decision" => (
            DECISION,
            json!({
                "engagementId": id, "reviewId": uuid(fields, "review")?,
                "kind": field(fields, "kind"),
                "kpiId": optional(fields, "kpi"), "memberId": optional(fields, "member"),
                "score": optional_number(fields, "score", "score")?,
                "platform": optional(fields, "platform"), "period": optional(fields, "period"),
                "note": optional(fields, "note"), "owner": optional(fields, "owner"),
                "due": optional(fields, "due"), "description": optional(fields, "description"),
                "reason": optional(fields, "reason"),
            }),
        ),
        "adjust_payout" => (
            ADJUST,
            json!({
                "engagementId": id, "payoutId": uuid(fields, "payout")?,
                "amount": number(fields, "amount", "amount")?,
                "reason": field(fields, "reason"), "carryInto": field(fields, "carry_into"),
            }),
        ),
        "change_role" => (
            CHANGE_ROLE,
            json!({
                "engagementId": id, "memberId": uuid(fields, "member")?,
                "role": field(fields, "role"), "reason": optional(fields, "reason"),
            }),
        ),
        "remove_member" => (
            REMOVE_MEMBER,
            json!({
                "engagementId": id, "memberId": uuid(fields, "member")?,
                "activeUntil": field(fields, "until"), "reason": optional(fields, "reason"),
            }),
        ),
        "erase_personal_data" => (
            ERASE_PERSONAL,
            json!({
                "engagementId": id, "memberId": uuid(fields, "member")?,
                "reason": optional(fields, "reason"),
            }),
        ),
        "retire_kpi" => (
            RETIRE_KPI,
            json!({
                "engagementId": id, "kpiId": uuid(fields, "kpi")?,
                "from": field(fields, "from"), "reason": optional(fields, "reason"),
            }),
        ),
        "correct_observation" => (
            CORRECT,
            json!({
                "engagementId": id, "metric": field(fields, "metric"),
                "platform": field(fields, "platform"), "scope": optional(fields, "scope"),
                "from": field(fields, "from"), "to": field(fields, "to"),
                "value": number(fields, "value", "value")?,
                "reason": field(fields, "reason"),
            }),
        ),
        "define_kpi" => {
            let assignee = match field(fields, "assignee") {
                "team" => json!({ "team": true }),
                "position" => json!({ "position": field(fields, "position") }),
                _ => json!({ "memberId": uuid(fields, "member")? }),
            };
            (
                DEFINE_KPI,
                json!({
                    "engagementId": id, "metric": field(fields, "metric"), "name": optional(fields, "name"),
                    "platform": optional(fields, "platform"), "assignee": assignee,
                    "weight": number(fields, "weight", "weight")?,
                    "gate": fields.get("gate").is_some_and(|v| v == "on" || v == "true"),
                    "reason": optional(fields, "reason"),
                }),
            )
        }
        "change_weight" => (
            CHANGE_WEIGHT,
            json!({
                "engagementId": id, "kpiId": uuid(fields, "kpi")?,
                "weight": number(fields, "weight", "weight")?, "reason": optional(fields, "reason"),
            }),
        ),
        "draft_plan" => {
            let mut participants = Vec::new();
            let mut keys: Vec<&String> =
                fields.keys().filter(|k| k.starts_with("bonus_")).collect();
            keys.sort();
            for key in keys {
                if field(fields, key).is_empty() {
                    continue;
                }
                let member = key.trim_start_matches("bonus_");
                let bonus = parse_number(field(fields, key)).ok_or_else(|| {
                    ActionError::Field(
                        "invalid_number",
                        vec![
                            ("value", field(fields, key).to_string()),
                            ("field", "target bonus".to_string()),
                        ],
                    )
                })?;
                participants.push(json!({ "memberId": member, "targetBonus": bonus }));
            }
            let curve_text = field(fields, "curve");
            let curve = if curve_text.is_empty() {
                None
            } else {
                Some(curve(curve_text)?)
            };
            (
                DRAFT_PLAN,
                json!({
                    "engagementId": id,
                    "terms": {
                        "name": field(fields, "name"), "period": field(fields, "period_kind"),
                        "participants": participants, "curve": curve,
                        "teamWeight": optional_number(fields, "team_weight", "team weight")?,
                    },
                }),
            )
        }
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
    let answer = api.run(viewer, mutation, json!({ "i": input })).await?;
    if action == "add_member" {
        if let Some(email) = answer["addMember"]["email"].as_str() {
            return Ok(Done::Invite(email.to_string()));
        }
    }
    Ok(Done::Saved)
}

#[cfg(test)]
mod tests {
    use super::{curve, parse_number};

    #[test]
    fn curves_as_people_type_them() {
        let points = curve("60:50, 100:100%, 120 → 150").ok().unwrap();
        assert_eq!(points.len(), 3);
        assert_eq!(points[2]["score"], "120");
        assert_eq!(points[2]["payoutPct"], "150");
        assert!(curve("60-50").is_err());
    }

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
