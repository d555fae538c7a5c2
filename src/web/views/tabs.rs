//! The engagement's tabs: KPIs and targets, reviews, plans and payouts, changes, the
//! audit log, people and imports.

use super::*;

// ---------------------------------------------------------------------------------------
// KPIs and targets, reviews, plans and payouts, changes, audit log

const KPIS: &str = "query Kpis($id: UUID!) {
  engagement(id: $id) {
    kpis(includeRetired: true) {
      id name metric platform scope weight direction gate retiredFrom
      assignee { kind position memberId }
      metricDefinition { unit label }
      targets { period threshold target stretch }
    }
    metrics { key label unit recordable }
  }
}";

const TARGET_HISTORY: &str = "query History($id: UUID!, $kpi: UUID!, $after: String) {
  engagement(id: $id) {
    targetHistory(kpiId: $kpi, first: 200, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { period before { threshold target stretch } after { threshold target stretch }
              reason recordedAt position changedByPerson { display } }
    }
  }
}";

const REVIEWS: &str = "query Reviews($id: UUID!, $language: Language!) {
  engagement(id: $id) {
    reviews {
      id period status version openedAt awaitingSignOffFrom
      signatures { role signedAt signedByPerson { display } }
      locks { version lockedAt reopenedAt }
      entries(first: 200) { nodes { kind recordedAt sentence(language: $language) recordedByPerson { display } } }
    }
  }
}";

const PLANS_AND_PAYOUTS: &str = "query Payouts($id: UUID!, $period: Period!) {
  engagement(id: $id) {
    incentivePlans { id name version approved period teamWeight approvedByPerson { display }
      curve { score payoutPct } participants { memberId targetBonus cap } }
    payouts(period: $period, first: 200) { nodes { id memberId period status amount score payoutPct paidOn } }
    members(first: 200) { nodes { id displayName pseudonym } }
  }
}";

const CHANGES: &str = "query Changes($id: UUID!, $from: ChangePointInput!, $language: Language!) {
  engagement(id: $id) {
    changes(from: $from) {
      fromPosition toPosition periods
      targets { kpiName period before { threshold target stretch } after { threshold target stretch }
                events { position sentence(language: $language) } }
      kpis { kpiName weightBefore weightAfter retiredFromBefore retiredFromAfter events { position sentence(language: $language) } }
      plans { name versionBefore versionAfter approvedBefore approvedAfter curveChanged events { position sentence(language: $language) } }
      observations(first: 100) { totalCount nodes { kind metric platform scope from to before after position } }
      scores { period memberId kpiName scoreBefore scoreAfter }
    }
    members(first: 200) { nodes { id displayName pseudonym } }
  }
}";

const AUDIT: &str =
    "query Audit($id: UUID!, $after: String, $language: Language!, $filter: AuditLogFilter) {
  engagement(id: $id) {
    auditLog(first: 50, after: $after, filter: $filter) {
      pageInfo { hasNextPage endCursor }
      nodes { position recordedAt kind reason actor { display } sentence(language: $language) }
    }
  }
}";

fn language_enum(language: Language) -> &'static str {
    match language {
        Language::Ja => "JA",
        Language::Zh => "ZH",
        Language::En => "EN",
    }
}

/// An instant (RFC 3339) in the engagement's time zone, as each language writes it.
pub(super) fn instant(language: Language, time_zone: &str, value: &str) -> String {
    let tz: chrono_tz::Tz = time_zone.parse().unwrap_or(chrono_tz::Asia::Tokyo);
    match chrono::DateTime::parse_from_rfc3339(value) {
        Ok(at) => {
            let local = at.with_timezone(&tz);
            format!(
                "{} {}",
                i18n::date(language, local.date_naive()),
                local.format("%H:%M")
            )
        }
        Err(_) => value.to_string(),
    }
}

/// Target levels written in the KPI's unit: "40,000,000 / 50,000,000 / 60,000,000".
fn levels(value: &Json, unit: &str, currency: &str) -> String {
    if value.is_null() {
        return "—".into();
    }
    let one = |key: &str| {
        decimal(value, key).map_or_else(|| "—".to_string(), |v| format_value(v, unit, currency))
    };
    format!(
        "{} / {} / {}",
        one("threshold"),
        one("target"),
        one("stretch")
    )
}

/// The engagement's header and tabs: every engagement page starts with it.
async fn header(api: &LocalApi, viewer: Viewer, id: Uuid) -> Result<Json, ApiError> {
    let data = api.run(viewer, ENGAGEMENT, json!({ "id": id })).await?;
    Ok(data["engagement"].clone())
}

fn member_names(data: &Json) -> std::collections::HashMap<String, String> {
    data["members"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            (
                text(m, "id").to_string(),
                m["displayName"]
                    .as_str()
                    .unwrap_or_else(|| text(m, "pseudonym"))
                    .to_string(),
            )
        })
        .collect()
}

pub async fn kpis(
    api: &LocalApi,
    viewer: Viewer,
    language: Language,
    id: Uuid,
) -> Result<Value, ApiError> {
    let engagement = header(api, viewer, id).await?;
    let currency = text(&engagement, "currency").to_string();
    let data = api.run(viewer, KPIS, json!({ "id": id })).await?;
    let kpis: Vec<Json> = data["engagement"]["kpis"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|k| {
            let unit = k["metricDefinition"]["unit"].as_str().unwrap_or("COUNT");
            let metric = builtin_metric_name(text(k, "metric"), language)
                .or_else(|| k["metricDefinition"]["label"].as_str())
                .unwrap_or(text(k, "metric"))
                .to_string();
            let assignee = match text(&k["assignee"], "kind") {
                "TEAM" => "assignee_team".to_string(),
                "POSITION" => "assignee_position".to_string(),
                _ => "assignee_member".to_string(),
            };
            let targets: Vec<Json> = k["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| json!({ "period": i18n::period(language, text(t, "period")), "levels": levels(t, unit, &currency) }))
                .collect();
            json!({
                "id": k["id"], "name": k["name"], "metric": metric,
                "assignee_key": assignee, "position": k["assignee"]["position"],
                "weight": decimal(k, "weight").map(i18n::percent_points),
                "direction_key": if text(k, "direction") == "LOWER" { "lower_is_better" } else { "higher_is_better" },
                "gate": k["gate"], "retired": !k["retiredFrom"].is_null(),
                "unit_key": format!("unit_{}", unit.to_lowercase()),
                "targets": targets,
            })
        })
        .collect();
    let all_metrics: Vec<Json> = data["engagement"]["metrics"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            json!({
                "key": m["key"],
                "label": builtin_metric_name(text(m, "key"), language).or_else(|| m["label"].as_str()).unwrap_or_default(),
            })
        })
        .collect();
    let metrics: Vec<Json> = data["engagement"]["metrics"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["recordable"].as_bool().unwrap_or(false))
        .map(|m| {
            json!({
                "key": m["key"],
                "label": builtin_metric_name(text(m, "key"), language).or_else(|| m["label"].as_str()).unwrap_or_default(),
            })
        })
        .collect();
    let members = if text(&engagement, "viewerRole") == "CONSULTANT" {
        scored_members(&api.run(viewer, MEMBERS, json!({ "id": id })).await?)
    } else {
        Vec::new()
    };
    Ok(context! {
        engagement => Value::from_serialize(&engagement),
        tab => "kpis",
        kpis => Value::from_serialize(&kpis),
        metrics => Value::from_serialize(&metrics),
        all_metrics => Value::from_serialize(&all_metrics),
        members => Value::from_serialize(&members),
    })
}

pub async fn kpi(
    api: &LocalApi,
    viewer: Viewer,
    language: Language,
    id: Uuid,
    kpi_id: Uuid,
) -> Result<Value, ApiError> {
    let engagement = header(api, viewer, id).await?;
    let currency = text(&engagement, "currency").to_string();
    let tz = text(&engagement, "timeZone").to_string();
    let data = api.run(viewer, KPIS, json!({ "id": id })).await?;
    let Some(kpi) = data["engagement"]["kpis"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|k| text(k, "id") == kpi_id.to_string())
        .cloned()
    else {
        return Err(ApiError {
            message: "KPI not found".into(),
            code: Some("NOT_FOUND".into()),
        });
    };
    let unit = kpi["metricDefinition"]["unit"]
        .as_str()
        .unwrap_or("COUNT")
        .to_string();
    let mut history = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = api
            .run(
                viewer,
                TARGET_HISTORY,
                json!({ "id": id, "kpi": kpi_id, "after": after }),
            )
            .await?;
        let connection = &page["engagement"]["targetHistory"];
        for change in connection["nodes"].as_array().into_iter().flatten() {
            history.push(json!({
                "period": i18n::period(language, text(change, "period")),
                "before": levels(&change["before"], &unit, &currency),
                "after": levels(&change["after"], &unit, &currency),
                "reason": change["reason"],
                "who": change["changedByPerson"]["display"],
                "when": instant(language, &tz, text(change, "recordedAt")),
                "position": change["position"],
            }));
        }
        if connection["pageInfo"]["hasNextPage"].as_bool() == Some(true) {
            after = connection["pageInfo"]["endCursor"]
                .as_str()
                .map(str::to_string);
        } else {
            break;
        }
    }
    history.reverse();
    let targets: Vec<Json> = kpi["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| json!({ "period": i18n::period(language, text(t, "period")), "levels": levels(t, &unit, &currency) }))
        .collect();
    let metric = builtin_metric_name(text(&kpi, "metric"), language)
        .or_else(|| kpi["metricDefinition"]["label"].as_str())
        .unwrap_or(text(&kpi, "metric"))
        .to_string();
    Ok(context! {
        engagement => Value::from_serialize(&engagement),
        tab => "kpis",
        kpi => Value::from_serialize(&kpi),
        metric => metric,
        ratio => unit == "RATIO",
        targets => Value::from_serialize(&targets),
        history => Value::from_serialize(&history),
    })
}

pub async fn reviews(
    api: &LocalApi,
    viewer: Viewer,
    language: Language,
    id: Uuid,
) -> Result<Value, ApiError> {
    let engagement = header(api, viewer, id).await?;
    let tz = text(&engagement, "timeZone").to_string();
    let data = api
        .run(
            viewer,
            REVIEWS,
            json!({ "id": id, "language": language_enum(language) }),
        )
        .await?;
    let role = text(&engagement, "viewerRole").to_string();
    let reviews: Vec<Json> = data["engagement"]["reviews"]
        .as_array()
        .into_iter()
        .flatten()
        .rev()
        .map(|r| {
            let awaiting: Vec<String> = r["awaitingSignOffFrom"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Json::as_str)
                .map(|role| format!("role_{}", role.to_lowercase()))
                .collect();
            let may_sign = r["awaitingSignOffFrom"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(role.as_str())));
            json!({
                "id": r["id"],
                "period": i18n::period(language, text(r, "period")),
                "period_value": r["period"],
                "status_key": format!("review_status_{}", text(r, "status").to_lowercase()),
                "open": text(r, "status").eq_ignore_ascii_case("open"),
                "version": r["version"],
                "opened": instant(language, &tz, text(r, "openedAt")),
                "awaiting": awaiting,
                "may_sign": may_sign,
                "signatures": r["signatures"].as_array().into_iter().flatten().map(|s| json!({
                    "role_key": format!("role_{}", text(s, "role").to_lowercase()),
                    "who": s["signedByPerson"]["display"],
                    "when": instant(language, &tz, text(s, "signedAt")),
                })).collect::<Vec<_>>(),
                "locks": r["locks"].as_array().into_iter().flatten().map(|l| json!({
                    "version": l["version"],
                    "when": instant(language, &tz, text(l, "lockedAt")),
                    "reopened": l["reopenedAt"].as_str().map(|at| instant(language, &tz, at)),
                })).collect::<Vec<_>>(),
                "entries": r["entries"]["nodes"].as_array().into_iter().flatten().map(|e| json!({
                    "sentence": e["sentence"],
                    "when": instant(language, &tz, text(e, "recordedAt")),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    // The KPIs and members a finding or decision may name (consultants record them).
    let (kpis, members) = if role == "CONSULTANT" {
        let k = api.run(viewer, KPIS, json!({ "id": id })).await?;
        let m = api.run(viewer, MEMBERS, json!({ "id": id })).await?;
        let kpis: Vec<Json> = k["engagement"]["kpis"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|k| k["retiredFrom"].is_null())
            .map(|k| json!({ "id": k["id"], "name": k["name"] }))
            .collect();
        let members = scored_members(&m);
        (kpis, members)
    } else {
        (Vec::new(), Vec::new())
    };
    Ok(context! {
        engagement => Value::from_serialize(&engagement),
        tab => "reviews",
        reviews => Value::from_serialize(&reviews),
        kpis => Value::from_serialize(&kpis),
        members => Value::from_serialize(&members),
        decision_kinds => vec!["ACCEPT", "EXCUSE_KPI", "OVERRIDE_SCORE", "ACCEPT_DATA_GAP", "REVISE_FUTURE_TARGET", "ACTION_ITEM", "ACTION_ITEM_DONE", "REOPEN"],
    })
}

pub async fn payouts(
    api: &LocalApi,
    viewer: Viewer,
    language: Language,
    id: Uuid,
    period: Option<&str>,
) -> Result<Value, ApiError> {
    let scope = scope(api, viewer, language, id, period).await?;
    let engagement = scope.engagement.clone();
    let currency = text(&engagement, "currency").to_string();
    let data = api
        .run(
            viewer,
            PLANS_AND_PAYOUTS,
            json!({ "id": id, "period": scope.period }),
        )
        .await?;
    let names = member_names(&data["engagement"]);
    let scored: Vec<Json> = if text(&engagement, "viewerRole") == "CONSULTANT" {
        scored_members(&api.run(viewer, MEMBERS, json!({ "id": id })).await?)
    } else {
        Vec::new()
    };
    let plans: Vec<Json> = data["engagement"]["incentivePlans"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            json!({
                "id": p["id"], "name": p["name"], "version": p["version"], "approved": p["approved"],
                "approved_by": p["approvedByPerson"]["display"],
                "team_weight": decimal(p, "teamWeight").map(i18n::percent_points),
                "curve": p["curve"].as_array().into_iter().flatten().map(|c| json!({
                    "score": decimal(c, "score").map(i18n::score),
                    "pct": decimal(c, "payoutPct").map(i18n::percent_points),
                })).collect::<Vec<_>>(),
                "participants": p["participants"].as_array().into_iter().flatten().map(|m| json!({
                    "name": names.get(text(m, "memberId")).cloned().unwrap_or_default(),
                    "bonus": decimal(m, "targetBonus").map(|v| i18n::money(v, &currency)),
                    "cap": decimal(m, "cap").map(|v| i18n::money(v, &currency)),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let payouts: Vec<Json> = data["engagement"]["payouts"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            json!({
                "id": p["id"], "member_id": p["memberId"],
                "name": names.get(text(p, "memberId")).cloned().unwrap_or_default(),
                "status": text(p, "status").to_lowercase(),
                "status_key": format!("payout_status_{}", text(p, "status").to_lowercase()),
                "amount": decimal(p, "amount").map(|v| i18n::money(v, &currency)),
                "score": decimal(p, "score").map(i18n::score),
                "pct": decimal(p, "payoutPct").map(i18n::percent_points),
                "paid_on": p["paidOn"].as_str().and_then(|d| NaiveDate::from_str(d).ok()).map(|d| i18n::date(language, d)),
            })
        })
        .collect();
    let today = today_in(text(&engagement, "timeZone")).to_string();
    Ok(context! {
        engagement => Value::from_serialize(&engagement),
        tab => "payouts",
        card => context! { period => scope.period.clone(), period_label => i18n::period(language, &scope.period) },
        recent_periods => Value::from_serialize(&scope.recent),
        plans => Value::from_serialize(&plans),
        payouts => Value::from_serialize(&payouts),
        today => today,
        scored => Value::from_serialize(&scored),
    })
}

/// `lastLock`, `lock:2026-05`, `position:412` or an instant (`2026-06-20T09:00`, in the
/// engagement's time zone) as a GraphQL change point.
pub(super) fn change_point(from: &str, time_zone: &str) -> Option<Json> {
    let from = from.trim();
    if from.is_empty() || from == "lastLock" {
        return Some(json!({ "lastLock": true }));
    }
    if let Some(period) = from.strip_prefix("lock:") {
        return Some(json!({ "lockOf": period }));
    }
    if let Some(position) = from.strip_prefix("position:") {
        return position
            .parse::<i64>()
            .ok()
            .map(|p| json!({ "position": p }));
    }
    let tz: chrono_tz::Tz = time_zone.parse().unwrap_or(chrono_tz::Asia::Tokyo);
    let local = chrono::NaiveDateTime::parse_from_str(from, "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(from, "%Y-%m-%dT%H:%M:%S"))
        .ok()?;
    let at = local.and_local_timezone(tz).earliest()?;
    Some(json!({ "at": at.with_timezone(&Utc).to_rfc3339() }))
}

pub async fn changes(
    api: &LocalApi,
    viewer: Viewer,
    language: Language,
    id: Uuid,
    from: Option<&str>,
) -> Result<Value, ApiError> {
    let engagement = header(api, viewer, id).await?;
    let currency = text(&engagement, "currency").to_string();
    let tz = text(&engagement, "timeZone").to_string();
    let from_text = from.unwrap_or("lastLock").to_string();
    let Some(point) = change_point(&from_text, &tz) else {
        return Ok(context! {
            engagement => Value::from_serialize(&engagement), tab => "changes",
            from => from_text.clone(), from_error => true, changes => (),
        });
    };
    let answer = api
        .run(
            viewer,
            CHANGES,
            json!({ "id": id, "from": point, "language": language_enum(language) }),
        )
        .await;
    let data = match answer {
        Ok(data) => data,
        Err(error)
            if matches!(
                error.code.as_deref(),
                Some("VALIDATION") | Some("NOT_FOUND")
            ) && from_text != "lastLock" =>
        {
            return Ok(context! {
                engagement => Value::from_serialize(&engagement), tab => "changes",
                from => from_text.clone(), from_error => true, changes => (),
            });
        }
        Err(error) if error.code.as_deref() == Some("NOT_FOUND") => {
            // No lock yet: nothing to compare against.
            return Ok(context! {
                engagement => Value::from_serialize(&engagement), tab => "changes",
                from => from_text.clone(), no_lock => true, changes => (),
            });
        }
        Err(error) => return Err(error),
    };
    let names = member_names(&data["engagement"]);
    let changes = &data["engagement"]["changes"];
    let money =
        |v: Option<Decimal>| v.map_or_else(|| "—".to_string(), |v| i18n::number(v.round_dp(4)));
    let view = json!({
        "from": changes["fromPosition"], "to": changes["toPosition"],
        "periods": changes["periods"].as_array().into_iter().flatten().filter_map(Json::as_str).map(|p| i18n::period(language, p)).collect::<Vec<_>>(),
        "targets": changes["targets"].as_array().into_iter().flatten().map(|t| json!({
            "kpi": t["kpiName"], "period": i18n::period(language, text(t, "period")),
            "before": levels(&t["before"], "COUNT", &currency), "after": levels(&t["after"], "COUNT", &currency),
            "events": t["events"],
        })).collect::<Vec<_>>(),
        "kpis": changes["kpis"].as_array().into_iter().flatten().map(|k| json!({
            "kpi": k["kpiName"],
            "weight_before": decimal(k, "weightBefore").map(i18n::percent_points),
            "weight_after": decimal(k, "weightAfter").map(i18n::percent_points),
            "retired": k["retiredFromAfter"],
            "events": k["events"],
        })).collect::<Vec<_>>(),
        "plans": changes["plans"].as_array().into_iter().flatten().map(|p| json!({
            "name": p["name"], "before": p["versionBefore"], "after": p["versionAfter"], "events": p["events"],
        })).collect::<Vec<_>>(),
        "observations_total": changes["observations"]["totalCount"],
        "observations": changes["observations"]["nodes"].as_array().into_iter().flatten().map(|o| json!({
            "kind_key": format!("observation_{}", text(o, "kind").to_lowercase()),
            "metric": builtin_metric_name(text(o, "metric"), language).unwrap_or(text(o, "metric")),
            "platform": o["platform"], "scope": o["scope"],
            "from": NaiveDate::from_str(text(o, "from")).map(|d| i18n::date(language, d)).unwrap_or_default(),
            "to": NaiveDate::from_str(text(o, "to")).map(|d| i18n::date(language, d)).unwrap_or_default(),
            "before": money(decimal(o, "before")), "after": money(decimal(o, "after")),
            "position": o["position"],
        })).collect::<Vec<_>>(),
        "scores": changes["scores"].as_array().into_iter().flatten().map(|s| json!({
            "period": i18n::period(language, text(s, "period")),
            "card": s["memberId"].as_str().map(|m| names.get(m).cloned().unwrap_or_default()),
            "kpi": s["kpiName"],
            "before": decimal(s, "scoreBefore").map_or_else(|| "—".to_string(), i18n::score),
            "after": decimal(s, "scoreAfter").map_or_else(|| "—".to_string(), i18n::score),
        })).collect::<Vec<_>>(),
    });
    Ok(context! {
        engagement => Value::from_serialize(&engagement),
        tab => "changes",
        from => from_text,
        changes => Value::from_serialize(&view),
    })
}

pub async fn audit(
    api: &LocalApi,
    viewer: Viewer,
    language: Language,
    id: Uuid,
    after: Option<&str>,
    kind: Option<&str>,
    period: Option<&str>,
) -> Result<Value, ApiError> {
    let engagement = header(api, viewer, id).await?;
    let tz = text(&engagement, "timeZone").to_string();
    let kind = kind.map(str::trim).filter(|k| !k.is_empty());
    let period = period.map(str::trim).filter(|p| !p.is_empty());
    let filter = json!({
        "kinds": kind.map(|k| vec![k]),
        "period": period,
    });
    let answer = api
        .run(
            viewer,
            AUDIT,
            json!({ "id": id, "after": after, "language": language_enum(language), "filter": filter }),
        )
        .await;
    let (data, filter_error) = match answer {
        Ok(data) => (data, false),
        Err(error) if error.code.as_deref() == Some("VALIDATION") => (
            api.run(
                viewer,
                AUDIT,
                json!({ "id": id, "language": language_enum(language) }),
            )
            .await?,
            true,
        ),
        Err(error) => return Err(error),
    };
    let log = &data["engagement"]["auditLog"];
    let entries: Vec<Json> = log["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            json!({
                "position": e["position"], "kind": e["kind"], "who": e["actor"]["display"],
                "when": instant(language, &tz, text(e, "recordedAt")),
                "sentence": e["sentence"], "reason": e["reason"],
            })
        })
        .collect();
    Ok(context! {
        engagement => Value::from_serialize(&engagement),
        tab => "audit",
        entries => Value::from_serialize(&entries),
        kind => kind.unwrap_or_default(),
        filter_period => period.unwrap_or_default(),
        filter_error => filter_error,
        next => log["pageInfo"]["endCursor"].as_str().filter(|_| log["pageInfo"]["hasNextPage"].as_bool() == Some(true)),
    })
}

const PEOPLE: &str = "query People($id: UUID!) {
  engagement(id: $id) {
    members(first: 200, includeFormer: true) { nodes { id role position activeFrom activeUntil displayName pseudonym email erased } }
  }
}";

pub async fn people(
    api: &LocalApi,
    viewer: Viewer,
    language: Language,
    id: Uuid,
) -> Result<Value, ApiError> {
    let engagement = header(api, viewer, id).await?;
    let data = api.run(viewer, PEOPLE, json!({ "id": id })).await?;
    let date = |v: &Json| {
        v.as_str()
            .and_then(|d| NaiveDate::from_str(d).ok())
            .map(|d| i18n::date(language, d))
    };
    let people: Vec<Json> = data["engagement"]["members"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            json!({
                "id": m["id"],
                "name": m["displayName"].as_str().unwrap_or_else(|| text(m, "pseudonym")),
                "email": m["email"],
                "role_key": format!("role_{}", text(m, "role").to_lowercase()),
                "member": text(m, "role") == "MEMBER",
                "erased": m["erased"].as_bool() == Some(true),
                "position": m["position"],
                "from": date(&m["activeFrom"]),
                "until": date(&m["activeUntil"]),
            })
        })
        .collect();
    let today = today_in(text(&engagement, "timeZone")).to_string();
    Ok(context! {
        engagement => Value::from_serialize(&engagement),
        tab => "people",
        people => Value::from_serialize(&people),
        today => today,
    })
}

const IMPORTS: &str = "query Imports($id: UUID!) {
  engagement(id: $id) {
    imports(first: 20) { nodes {
      id status format platform from to fileName bytesTotal bytesRead rowsRead rowsInvalid message
      totalProblems problems { line column value reason }
      alreadyImported observationsRecorded observationsRestated createdAt
    } }
  }
}";

/// The formats an import reads, as the API names them.
pub const FORMATS: [&str; 7] = [
    "GENERIC_CSV",
    "AMAZON_BUSINESS_REPORT",
    "AMAZON_SALES_TRAFFIC_JSON",
    "AMAZON_ADS_SP",
    "AMAZON_FBA_INVENTORY",
    "RAKUTEN_RMS",
    "YAHOO_SHOPPING",
];

pub async fn imports(
    api: &LocalApi,
    viewer: Viewer,
    language: Language,
    id: Uuid,
) -> Result<Value, ApiError> {
    let engagement = header(api, viewer, id).await?;
    let tz = text(&engagement, "timeZone").to_string();
    let data = api.run(viewer, IMPORTS, json!({ "id": id })).await?;
    let mut running = false;
    let jobs: Vec<Json> = data["engagement"]["imports"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|j| {
            let status = text(j, "status").to_lowercase();
            if matches!(
                status.as_str(),
                "queued" | "reading" | "checking" | "recording"
            ) {
                running = true;
            }
            json!({
                "id": j["id"], "status": status.clone(),
                "status_key": format!("import_status_{status}"),
                "format": j["format"], "platform": j["platform"], "file": j["fileName"],
                "bytes_total": j["bytesTotal"], "bytes_read": j["bytesRead"],
                "rows": j["rowsRead"], "invalid": j["rowsInvalid"], "message": j["message"],
                "total_problems": j["totalProblems"], "problems": j["problems"],
                "already": j["alreadyImported"], "recorded": j["observationsRecorded"],
                "restated": j["observationsRestated"],
                "when": instant(language, &tz, text(j, "createdAt")),
            })
        })
        .collect();
    Ok(context! {
        engagement => Value::from_serialize(&engagement),
        tab => "imports",
        jobs => Value::from_serialize(&jobs),
        running => running,
        formats => FORMATS.to_vec(),
    })
}
