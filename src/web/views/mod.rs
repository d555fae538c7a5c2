//! What each page shows, read through the GraphQL schema as the signed-in person and
//! shaped for the templates: labels in the page's language, numbers formatted, charts drawn.

use super::charts::{self, Bullet};
use super::i18n;
use crate::local_api::{ApiError, LocalApi};
use base64::Engine as _;
use chrono::{Datelike, NaiveDate, Utc};
use kpi_ledger_domain::language::{builtin_metric_name, Language};
use kpi_ledger_graphql::access::Viewer;
use minijinja::{context, Value};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{json, Value as Json};
use std::str::FromStr;
use uuid::Uuid;

mod tabs;
pub use tabs::*;

const PORTFOLIO: &str = "query Portfolio {
  viewer { consultant }
  engagements(first: 200) { nodes { id name clientName status platforms viewerRole timeZone
    summary { period score complete late { platform completeThrough } trend { period score } } } }
}";

/// The platforms an engagement may sell on (SPEC §2's catalogue).
pub const PLATFORMS: [&str; 6] = [
    "amazon_jp",
    "rakuten",
    "yahoo_shopping",
    "qoo10",
    "shopee_jp",
    "own_store",
];

const ENGAGEMENT: &str = "query Engagement($id: UUID!) {
  engagement(id: $id) { id name clientName status timeZone currency platforms viewerRole }
}";

const MEMBERS: &str = "query Members($id: UUID!) {
  engagement(id: $id) { members(first: 200) { nodes { id role position displayName pseudonym isViewer } } }
}";

const SCORECARD: &str = "query Card($id: UUID!, $period: Period!, $member: UUID, $asOf: DateTime) {
  engagement(id: $id) {
    scorecard(period: $period, memberId: $member, asOf: $asOf) {
      period startDate endDate score complete gatesPassed locked dataCompleteThrough
      kpis {
        status actual score weight weightedScore gatePassed
        target { threshold target stretch }
        kpi { id name metric direction gate metricDefinition { unit label } }
      }
      freshness { platform source completeThrough coversPeriod }
    }
  }
}";

const PAYOUTS: &str = "query Payouts($id: UUID!, $period: Period!) {
  engagement(id: $id) {
    payouts(period: $period, first: 200) { nodes {
      id memberId period status amount targetBonus individualScore teamScore teamWeight score
      payoutPct gatesPassed activeDays periodDays cap formula
      adjustments { amount reason }
    } }
  }
}";

const STATEMENT: &str = "query Statement($id: UUID!, $payout: UUID!, $format: StatementFormat!, $language: StatementLanguage!) {
  engagement(id: $id) { payout(id: $payout) { statement(format: $format, language: $language) { fileName contentType contentBase64 } } }
}";

fn text<'a>(value: &'a Json, key: &str) -> &'a str {
    value.get(key).and_then(Json::as_str).unwrap_or_default()
}

fn decimal(value: &Json, key: &str) -> Option<Decimal> {
    value
        .get(key)
        .and_then(Json::as_str)
        .and_then(|s| Decimal::from_str(s).ok())
}

fn internal(message: String) -> ApiError {
    ApiError {
        message,
        code: Some("INTERNAL".into()),
    }
}

const TO_DO: &str = "query ToDo($id: UUID!, $payouts: Boolean!) {
  engagement(id: $id) {
    reviews { id period status awaitingSignOffFrom }
    incentivePlans { name version approved }
    payouts(first: 200) @include(if: $payouts) { nodes { status period } }
    imports(first: 10) { nodes { status fileName format } }
    kpis { name targets { period } }
  }
}";

/// What waits for the person in one engagement: (message key, arguments, link).
async fn to_do(
    api: &LocalApi,
    viewer: Viewer,
    language: Language,
    engagement: &Json,
) -> Result<Vec<Json>, ApiError> {
    let role = text(engagement, "viewerRole");
    if role != "CONSULTANT" && role != "CLIENT_OWNER" {
        return Ok(Vec::new());
    }
    let id = text(engagement, "id");
    let data = api
        .run(viewer, TO_DO, json!({ "id": id, "payouts": true }))
        .await?;
    let e = &data["engagement"];
    let mut items = Vec::new();
    let item = |key: &str, args: &[(&str, String)], link: String| json!({ "text": i18n::message(language, key, args), "link": link });
    for review in e["reviews"].as_array().into_iter().flatten() {
        let waits_for_me = review["awaitingSignOffFrom"]
            .as_array()
            .is_some_and(|a| a.iter().any(|r| r.as_str() == Some(role)));
        if text(review, "status").eq_ignore_ascii_case("open") && waits_for_me {
            items.push(item(
                "todo_sign_review",
                &[("period", i18n::period(language, text(review, "period")))],
                format!("/engagements/{id}/reviews"),
            ));
        }
    }
    for plan in e["incentivePlans"].as_array().into_iter().flatten() {
        if plan["approved"] == false {
            let key = if role == "CLIENT_OWNER" {
                "todo_approve_plan"
            } else {
                "todo_plan_awaits_owner"
            };
            items.push(item(
                key,
                &[("plan", text(plan, "name").to_string())],
                format!("/engagements/{id}/payouts"),
            ));
        }
    }
    let mut waiting: std::collections::BTreeMap<String, usize> = Default::default();
    for payout in e["payouts"]["nodes"].as_array().into_iter().flatten() {
        if text(payout, "status") == "CALCULATED" {
            *waiting
                .entry(text(payout, "period").to_string())
                .or_default() += 1;
        }
    }
    for (period, count) in waiting {
        let key = if role == "CLIENT_OWNER" {
            "todo_approve_payouts"
        } else {
            "todo_payouts_await_owner"
        };
        items.push(item(
            key,
            &[
                ("count", count.to_string()),
                ("period", i18n::period(language, &period)),
            ],
            format!("/engagements/{id}/payouts?period={period}"),
        ));
    }
    if role == "CONSULTANT" {
        for job in e["imports"]["nodes"].as_array().into_iter().flatten() {
            if text(job, "status") == "FAILED" || text(job, "status") == "failed" {
                items.push(item(
                    "todo_failed_import",
                    &[(
                        "file",
                        job["fileName"]
                            .as_str()
                            .unwrap_or(text(job, "format"))
                            .to_string(),
                    )],
                    format!("/engagements/{id}/imports"),
                ));
            }
        }
        let today = today_in(text(engagement, "timeZone"));
        let next = if today.month() == 12 {
            format!("{}-01", today.year() + 1)
        } else {
            format!("{}-{:02}", today.year(), today.month() + 1)
        };
        for kpi in e["kpis"].as_array().into_iter().flatten() {
            let has = kpi["targets"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t["period"] == next.as_str()));
            if !has {
                items.push(item(
                    "todo_target_missing",
                    &[
                        ("kpi", text(kpi, "name").to_string()),
                        ("period", i18n::period(language, &next)),
                    ],
                    format!("/engagements/{id}/kpis"),
                ));
            }
        }
    }
    Ok(items)
}

pub async fn portfolio(
    api: &LocalApi,
    viewer: Viewer,
    language: Language,
) -> Result<Value, ApiError> {
    let data = api.run(viewer, PORTFOLIO, json!({})).await?;
    let mut engagements = data["engagements"]["nodes"].clone();
    let lists = futures::future::join_all(
        engagements
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| to_do(api, viewer, language, e)),
    )
    .await;
    if let Some(nodes) = engagements.as_array_mut() {
        for (node, list) in nodes.iter_mut().zip(lists) {
            node["todo"] = Json::from(list?);
            let summary = node["summary"].clone();
            let scores: Vec<Option<Decimal>> = summary["trend"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| decimal(p, "score"))
                .collect();
            let described: Vec<String> = summary["trend"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    format!(
                        "{} {}",
                        i18n::period(language, text(p, "period")),
                        decimal(p, "score").map_or_else(|| "—".to_string(), i18n::score)
                    )
                })
                .collect();
            let title = i18n::message(language, "spark_title", &[("months", described.join(", "))]);
            node["spark"] = Json::from(charts::sparkline(&title, &scores));
            node["score"] = Json::from(decimal(&summary, "score").map(i18n::score));
            node["month"] = Json::from(i18n::period(language, text(&summary, "period")));
            node["late"] = Json::from(
                summary["late"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|l| {
                        i18n::message(
                            language,
                            "late_platform",
                            &[
                                ("platform", text(l, "platform").to_string()),
                                (
                                    "date",
                                    NaiveDate::from_str(text(l, "completeThrough"))
                                        .map(|d| i18n::date(language, d))
                                        .unwrap_or_default(),
                                ),
                            ],
                        )
                    })
                    .collect::<Vec<_>>(),
            );
        }
    }
    Ok(context! {
        engagements => Value::from_serialize(&engagements),
        may_open => data["viewer"]["consultant"].as_bool().unwrap_or(false),
        platforms => PLATFORMS.to_vec(),
    })
}

/// How a value of a metric with `unit` is written.
fn format_value(value: Decimal, unit: &str, currency: &str) -> String {
    match unit {
        "CURRENCY" => i18n::money(value, currency),
        "RATIO" => i18n::percent(value),
        "HOURS" => format!("{} h", i18n::number(value.round_dp(2))),
        _ => i18n::number(value.round_dp(2)),
    }
}

#[derive(Serialize)]
struct Row {
    id: String,
    unit: String,
    name: String,
    metric: String,
    direction_key: &'static str,
    gate: bool,
    gate_passed: Option<bool>,
    chart: Option<String>,
    status_key: Option<&'static str>,
    actual: String,
    threshold: String,
    target: String,
    stretch: String,
    weight: String,
    score: String,
}

#[derive(Serialize)]
struct Card {
    period: String,
    period_label: String,
    score: String,
    complete: bool,
    gates_passed: Option<bool>,
    locked: bool,
    member: bool,
    rows: Vec<Row>,
}

#[derive(Serialize)]
struct Fresh {
    platform: String,
    source: String,
    through: String,
    late: bool,
}

#[derive(Serialize)]
struct PeriodLink {
    value: String,
    label: String,
}

fn card(language: Language, json: &Json, currency: &str, member: bool) -> (Card, Vec<Fresh>) {
    let dash = || "—".to_string();
    let mut rows = Vec::new();
    for line in json["kpis"].as_array().into_iter().flatten() {
        let kpi = &line["kpi"];
        let metric_key = text(kpi, "metric");
        let unit = kpi["metricDefinition"]["unit"].as_str().unwrap_or("COUNT");
        let metric = builtin_metric_name(metric_key, language)
            .or_else(|| kpi["metricDefinition"]["label"].as_str())
            .unwrap_or(metric_key)
            .to_string();
        let lower = text(kpi, "direction") == "LOWER";
        let actual = decimal(line, "actual");
        let target = &line["target"];
        let levels = decimal(target, "threshold").zip(decimal(target, "target"));
        let stretch = decimal(target, "stretch");
        let fmt = |v: Option<Decimal>| v.map_or_else(dash, |v| format_value(v, unit, currency));
        let name = text(kpi, "name").to_string();
        let chart = levels.map(|(threshold, goal)| {
            let title = i18n::message(
                language,
                "chart_title",
                &[
                    ("kpi", name.clone()),
                    ("actual", fmt(actual)),
                    ("threshold", fmt(Some(threshold))),
                    ("target", fmt(Some(goal))),
                    ("stretch", fmt(stretch)),
                ],
            );
            charts::bullet(&Bullet {
                title: &title,
                actual,
                threshold,
                target: goal,
                stretch,
                lower_is_better: lower,
            })
        });
        let status_key = match text(line, "status") {
            "NO_DATA" => Some("kpi_status_no_data"),
            "ZERO_DENOMINATOR" => Some("kpi_status_zero_denominator"),
            "NO_TARGET" => Some("kpi_status_no_target"),
            "OVERRIDDEN" => Some("kpi_status_overridden"),
            _ => None,
        };
        rows.push(Row {
            id: text(kpi, "id").to_string(),
            unit: unit.to_string(),
            name,
            metric,
            direction_key: if lower {
                "lower_is_better"
            } else {
                "higher_is_better"
            },
            gate: kpi["gate"].as_bool().unwrap_or(false),
            gate_passed: line["gatePassed"].as_bool(),
            chart,
            status_key,
            actual: fmt(actual),
            threshold: fmt(levels.map(|l| l.0)),
            target: fmt(levels.map(|l| l.1)),
            stretch: fmt(stretch),
            weight: decimal(line, "weight").map_or_else(dash, i18n::percent_points),
            score: decimal(line, "score").map_or_else(dash, i18n::score),
        });
    }
    let period = text(json, "period").to_string();
    let freshness = json["freshness"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| Fresh {
            platform: text(f, "platform").to_string(),
            source: text(f, "source").to_string(),
            through: NaiveDate::from_str(text(f, "completeThrough"))
                .map(|d| i18n::date(language, d))
                .unwrap_or_default(),
            late: !f["coversPeriod"].as_bool().unwrap_or(true),
        })
        .collect();
    (
        Card {
            period_label: i18n::period(language, &period),
            period,
            score: decimal(json, "score").map_or_else(dash, i18n::score),
            complete: json["complete"].as_bool().unwrap_or(false),
            gates_passed: json["gatesPassed"].as_bool(),
            locked: json["locked"].as_bool().unwrap_or(false),
            member,
            rows,
        },
        freshness,
    )
}

/// Today in an engagement's time zone (Asia/Tokyo when it does not parse).
fn today_in(time_zone: &str) -> NaiveDate {
    let tz: chrono_tz::Tz = time_zone.parse().unwrap_or(chrono_tz::Asia::Tokyo);
    Utc::now().with_timezone(&tz).date_naive()
}

/// The scored members (role MEMBER) of a `members` answer, as `{id, name}` for menus.
fn scored_members(data: &Json) -> Vec<Json> {
    data["engagement"]["members"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| text(m, "role") == "MEMBER")
        .map(|m| {
            json!({ "id": m["id"], "name": m["displayName"].as_str().unwrap_or_else(|| text(m, "pseudonym")) })
        })
        .collect()
}

/// Today's month in the engagement's time zone, and the eleven before it.
fn recent_months(language: Language, time_zone: &str) -> (String, Vec<PeriodLink>) {
    let today = today_in(time_zone);
    let (mut year, mut month) = (today.year(), today.month());
    let mut links = Vec::new();
    for _ in 0..12 {
        let value = format!("{year}-{month:02}");
        links.push(PeriodLink {
            label: i18n::period(language, &value),
            value,
        });
        if month == 1 {
            year -= 1;
            month = 12;
        } else {
            month -= 1;
        }
    }
    (links[0].value.clone(), links)
}

struct Scope {
    engagement: Json,
    period: String,
    recent: Vec<PeriodLink>,
}

async fn scope(
    api: &LocalApi,
    viewer: Viewer,
    language: Language,
    id: Uuid,
    period: Option<&str>,
) -> Result<Scope, ApiError> {
    let data = api.run(viewer, ENGAGEMENT, json!({ "id": id })).await?;
    let engagement = data["engagement"].clone();
    let (current, recent) = recent_months(language, text(&engagement, "timeZone"));
    let period = period
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .unwrap_or(current);
    Ok(Scope {
        engagement,
        period,
        recent,
    })
}

/// A scorecard; a period the API cannot read comes back as a message, with the current
/// month shown instead.
async fn scorecard(
    api: &LocalApi,
    viewer: Viewer,
    language: Language,
    scope: &Scope,
    member: Option<Uuid>,
    as_of: Option<&str>,
) -> Result<(Card, Vec<Fresh>, Option<String>), ApiError> {
    let currency = text(&scope.engagement, "currency").to_string();
    let id = text(&scope.engagement, "id").to_string();
    let mut period = scope.period.clone();
    let mut period_error = None;
    loop {
        let answer = api
            .run(
                viewer,
                SCORECARD,
                json!({ "id": id, "period": period, "member": member, "asOf": as_of }),
            )
            .await;
        match answer {
            Ok(data) => {
                let (card, fresh) = card(
                    language,
                    &data["engagement"]["scorecard"],
                    &currency,
                    member.is_some(),
                );
                return Ok((card, fresh, period_error));
            }
            Err(error) if as_of.is_some() && error.code.as_deref() == Some("NOT_FOUND") => {
                // Asked about an instant before the engagement existed.
                let (empty, fresh) = card(language, &Json::Null, &currency, member.is_some());
                let message = i18n::message(language, "as_of_before_start", &[]);
                let empty = Card {
                    period_label: i18n::period(language, &period),
                    period: period.clone(),
                    ..empty
                };
                return Ok((empty, fresh, Some(message)));
            }
            Err(error) if error.code.as_deref() == Some("VALIDATION") && period_error.is_none() => {
                period_error = Some(i18n::message(
                    language,
                    "invalid_period",
                    &[("period", period.clone())],
                ));
                period = scope.recent[0].value.clone();
            }
            Err(error) => return Err(error),
        }
    }
}

/// The twelve months ending with `period` (or with the current month when `period` is
/// not a month), oldest first.
fn months_ending(period: &str, current: &str) -> Vec<String> {
    let month = |p: &str| -> Option<(i32, u32)> {
        let (y, m) = p.split_once('-')?;
        let m: u32 = m
            .parse()
            .ok()
            .filter(|m| (1..=12).contains(m) && p.len() == 7)?;
        Some((y.parse().ok()?, m))
    };
    let (mut year, mut month_no) = month(period)
        .or_else(|| month(current))
        .unwrap_or((2026, 1));
    let mut months = Vec::new();
    for _ in 0..12 {
        months.push(format!("{year}-{month_no:02}"));
        if month_no == 1 {
            year -= 1;
            month_no = 12;
        } else {
            month_no -= 1;
        }
    }
    months.reverse();
    months
}

#[derive(Serialize)]
struct Trend {
    name: String,
    chart: String,
    rows: Vec<Json>,
}

/// Each KPI of `card` over the twelve months ending with its period: one request with
/// twelve aliased scorecards.
async fn trends(
    api: &LocalApi,
    viewer: Viewer,
    language: Language,
    scope: &Scope,
    card: &Card,
    member: Option<Uuid>,
) -> Result<Vec<Trend>, ApiError> {
    if card.rows.is_empty() {
        return Ok(Vec::new());
    }
    let months = months_ending(&card.period, &scope.recent[0].value);
    let fields: String = months
        .iter()
        .enumerate()
        .map(|(i, m)| {
            format!("m{i}: scorecard(period: \"{m}\", memberId: $member) {{ kpis {{ actual kpi {{ id }} target {{ threshold target stretch }} }} }} ")
        })
        .collect();
    let query =
        format!("query Trends($id: UUID!, $member: UUID) {{ engagement(id: $id) {{ {fields} }} }}");
    let id = text(&scope.engagement, "id").to_string();
    let currency = text(&scope.engagement, "currency").to_string();
    let data = api
        .run(viewer, &query, json!({ "id": id, "member": member }))
        .await?;
    let engagement = &data["engagement"];
    let mut out = Vec::new();
    for row in &card.rows {
        let mut points = Vec::new();
        let mut table = Vec::new();
        for (i, month) in months.iter().enumerate() {
            let line = engagement[format!("m{i}")]["kpis"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|l| text(&l["kpi"], "id") == row.id);
            let actual = line.and_then(|l| decimal(l, "actual"));
            let levels = line.and_then(|l| {
                let t = &l["target"];
                Some((
                    decimal(t, "threshold")?,
                    decimal(t, "target")?,
                    decimal(t, "stretch"),
                ))
            });
            let label = i18n::period(language, month);
            let fmt = |v: Option<Decimal>| {
                v.map_or_else(
                    || "—".to_string(),
                    |v| format_value(v, &row.unit, &currency),
                )
            };
            table.push(json!({
                "period": label,
                "actual": fmt(actual),
                "target": fmt(levels.map(|l| l.1)),
            }));
            let short = match language {
                Language::En => label
                    .split(' ')
                    .next()
                    .unwrap_or_default()
                    .chars()
                    .take(3)
                    .collect(),
                _ => format!("{}月", month[5..].trim_start_matches('0')),
            };
            points.push(charts::TrendPoint {
                label: short,
                actual,
                levels,
            });
        }
        let title = i18n::message(language, "trend_title", &[("kpi", row.name.clone())]);
        out.push(Trend {
            name: row.name.clone(),
            chart: charts::trend(&title, &points),
            rows: table,
        });
    }
    Ok(out)
}

fn role_key(role: &str) -> String {
    format!("role_{}", role.to_lowercase())
}

pub async fn engagement(
    api: &LocalApi,
    viewer: Viewer,
    language: Language,
    id: Uuid,
    period: Option<&str>,
    as_of: Option<&str>,
) -> Result<Value, ApiError> {
    let scope = scope(api, viewer, language, id, period).await?;
    // "As it stood then": an instant typed in the engagement's time zone.
    let tz = text(&scope.engagement, "timeZone").to_string();
    let as_of_point = as_of
        .filter(|a| !a.trim().is_empty())
        .map(|a| change_point(a, &tz));
    let as_of_instant = match &as_of_point {
        Some(Some(point)) => point["at"].as_str().map(str::to_string),
        _ => None,
    };
    let as_of_error = matches!(as_of_point, Some(None));
    let (card, freshness, period_error) = scorecard(
        api,
        viewer,
        language,
        &scope,
        None,
        as_of_instant.as_deref(),
    )
    .await?;
    let trends = if as_of_instant.is_some() {
        Vec::new()
    } else {
        trends(api, viewer, language, &scope, &card, None).await?
    };
    let members = api.run(viewer, MEMBERS, json!({ "id": id })).await?;
    let role = text(&scope.engagement, "viewerRole").to_string();
    // Personal cards are for consultants and client owners, and each member's own.
    let may_open = |m: &Json| match role.as_str() {
        "CONSULTANT" | "CLIENT_OWNER" => true,
        "MEMBER" => m["isViewer"].as_bool().unwrap_or(false),
        _ => false,
    };
    let listed: Vec<Json> = members["engagement"]["members"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| text(m, "role") == "MEMBER" && may_open(m))
        .map(|m| {
            json!({
                "id": m["id"],
                "name": m["displayName"].as_str().unwrap_or_else(|| text(m, "pseudonym")),
                "position": m["position"],
            })
        })
        .collect();
    Ok(context! {
        engagement => Value::from_serialize(&scope.engagement),
        tab => "overview",
        card_heading => "team_scorecard",
        card_heading_name => (),
        card => Value::from_serialize(&card),
        freshness => Value::from_serialize(&freshness),
        period_error => period_error,
        recent_periods => Value::from_serialize(&scope.recent),
        members => Value::from_serialize(&listed),
        role_key => role_key(&role),
        trends => Value::from_serialize(&trends),
        as_of => as_of.unwrap_or_default(),
        as_of_label => as_of_instant.as_deref().map(|at| instant(language, &tz, at)),
        as_of_error => as_of_error,
    })
}

#[derive(Serialize)]
struct PayoutView {
    id: String,
    status: String,
    individual_score: String,
    team_score: Option<String>,
    team_weight: String,
    score: String,
    gates_passed: bool,
    payout_pct: String,
    target_bonus: String,
    active_days: i64,
    period_days: i64,
    cap: Option<String>,
    amount: String,
    formula: String,
    adjustments: Vec<Json>,
}

pub async fn member(
    api: &LocalApi,
    viewer: Viewer,
    language: Language,
    id: Uuid,
    member: Uuid,
    period: Option<&str>,
) -> Result<Value, ApiError> {
    let scope = scope(api, viewer, language, id, period).await?;
    let members = api.run(viewer, MEMBERS, json!({ "id": id })).await?;
    let Some(person) = members["engagement"]["members"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| text(m, "id") == member.to_string())
        .cloned()
    else {
        return Err(ApiError {
            message: "member not found".into(),
            code: Some("NOT_FOUND".into()),
        });
    };
    let (card, freshness, period_error) =
        scorecard(api, viewer, language, &scope, Some(member), None).await?;
    let trends = trends(api, viewer, language, &scope, &card, Some(member)).await?;
    let currency = text(&scope.engagement, "currency").to_string();
    let payouts = api
        .run(viewer, PAYOUTS, json!({ "id": id, "period": card.period }))
        .await?;
    let payouts: Vec<PayoutView> = payouts["engagement"]["payouts"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| text(p, "memberId") == member.to_string())
        .map(|p| {
            let dash = || "—".to_string();
            let status = text(p, "status").to_lowercase();
            PayoutView {
                id: text(p, "id").to_string(),
                status: i18n::message(language, &format!("payout_status_{status}"), &[]),
                individual_score: decimal(p, "individualScore").map_or_else(dash, i18n::score),
                team_score: decimal(p, "teamScore").map(i18n::score),
                team_weight: decimal(p, "teamWeight").map_or_else(dash, i18n::percent_points),
                score: decimal(p, "score").map_or_else(dash, i18n::score),
                gates_passed: p["gatesPassed"].as_bool().unwrap_or(false),
                payout_pct: decimal(p, "payoutPct").map_or_else(dash, i18n::percent_points),
                target_bonus: decimal(p, "targetBonus")
                    .map_or_else(dash, |v| i18n::money(v, &currency)),
                active_days: p["activeDays"].as_i64().unwrap_or(0),
                period_days: p["periodDays"].as_i64().unwrap_or(0),
                cap: decimal(p, "cap").map(|v| i18n::money(v, &currency)),
                amount: decimal(p, "amount").map_or_else(dash, |v| i18n::money(v, &currency)),
                formula: text(p, "formula").to_string(),
                adjustments: p["adjustments"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|a| {
                        json!({
                            "amount": decimal(a, "amount").map_or_else(dash, |v| i18n::money(v, &currency)),
                            "reason": a["reason"],
                        })
                    })
                    .collect(),
            }
        })
        .collect();
    let name = person["displayName"]
        .as_str()
        .unwrap_or_else(|| text(&person, "pseudonym"))
        .to_string();
    Ok(context! {
        engagement => Value::from_serialize(&scope.engagement),
        card => Value::from_serialize(&card),
        freshness => Value::from_serialize(&freshness),
        period_error => period_error,
        recent_periods => Value::from_serialize(&scope.recent),
        member_name => name,
        is_self => person["isViewer"].as_bool().unwrap_or(false),
        trends => Value::from_serialize(&trends),
        payouts => Value::from_serialize(&payouts),
    })
}

/// A payout statement as a file: (file name, content type, bytes).
pub async fn statement(
    api: &LocalApi,
    viewer: Viewer,
    language: Language,
    id: Uuid,
    payout: Uuid,
    format: &str,
) -> Result<(String, String, Vec<u8>), ApiError> {
    let language = match language {
        Language::Ja => "JA",
        Language::Zh => "ZH",
        Language::En => "EN",
    };
    let data = api
        .run(
            viewer,
            STATEMENT,
            json!({ "id": id, "payout": payout, "format": format, "language": language }),
        )
        .await?;
    let file = &data["engagement"]["payout"]["statement"];
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text(file, "contentBase64"))
        .map_err(|e| internal(format!("statement is not base64: {e}")))?;
    Ok((
        text(file, "fileName").to_string(),
        text(file, "contentType").to_string(),
        bytes,
    ))
}
