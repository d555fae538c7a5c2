//! The audit log (SPEC §10, §13): every event of an engagement as a sentence in Japanese,
//! Simplified Chinese and English, with the person behind it as the reader may see them.

use crate::helpers::TestApp;
use crate::on_both_backends;
use crate::settlement::{lock_june, plan, setup, Setup, CALCULATE, DECIDE};
use serde_json::{json, Value};
use std::collections::BTreeSet;

const LOG: &str = "query($id: UUID!, $first: Int, $after: String, $filter: AuditLogFilter) {
  engagement(id: $id) { auditLog(first: $first, after: $after, filter: $filter) {
    pageInfo { hasNextPage endCursor }
    edges { cursor node { position recordedAt kind aggregateType actor { memberId name pseudonym display system }
      reason correlationId sentence(language: EN) sentences { ja zh en } } } } } }";

/// Every entry of the log with `filter`, paging `first` at a time.
async fn read_log(
    app: &TestApp,
    token: &str,
    engagement: &str,
    filter: Value,
    first: i64,
) -> Vec<Value> {
    let mut entries = Vec::new();
    let mut after = Value::Null;
    loop {
        let page = app
            .ok(
                token,
                LOG,
                json!({ "id": engagement, "first": first, "after": after, "filter": filter }),
            )
            .await["engagement"]["auditLog"]
            .clone();
        let edges = page["edges"].as_array().unwrap().clone();
        assert!(edges.len() as i64 <= first);
        entries.extend(edges.into_iter().map(|e| e["node"].clone()));
        if page["pageInfo"]["hasNextPage"] != true {
            return entries;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
}

async fn mutate(app: &TestApp, token: &str, mutation: &str, input: Value) -> Value {
    app.ok(token, mutation, json!({ "i": input })).await
}

/// The worked example taken through every kind of change an engagement knows.
async fn a_full_history(app: &TestApp) -> Setup {
    let s = setup(app).await;
    let e = s.engagement.as_str();
    let c = s.consultant.as_str();
    let plan_id = plan(app, &s).await;
    mutate(app, c, "mutation($i: ReviseIncentivePlanInput!) { reviseIncentivePlan(input: $i) { version } }",
        json!({ "engagementId": e, "planId": plan_id, "terms": { "name": "Advertising bonus", "period": "MONTH",
                "participants": [{ "memberId": s.li, "targetBonus": "210000" }] } })).await;
    mutate(
        app,
        &s.owner,
        "mutation($i: ApproveIncentivePlanInput!) { approveIncentivePlan(input: $i) { approved } }",
        json!({ "engagementId": e, "planId": plan_id, "version": 2 }),
    )
    .await;
    let review = lock_june(app, &s).await;
    let payout = mutate(
        app,
        c,
        CALCULATE,
        json!({ "engagementId": e, "period": "2026-06", "planId": plan_id }),
    )
    .await["calculatePayouts"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    mutate(
        app,
        &s.owner,
        "mutation($i: PayoutInput!) { approvePayout(input: $i) { status } }",
        json!({ "engagementId": e, "payoutId": payout }),
    )
    .await;
    mutate(
        app,
        c,
        "mutation($i: MarkPayoutPaidInput!) { markPayoutPaid(input: $i) { status } }",
        json!({ "engagementId": e, "payoutId": payout, "paidOn": "2026-07-25" }),
    )
    .await;
    mutate(
        app,
        c,
        "mutation($i: AdjustPayoutInput!) { adjustPayout(input: $i) { amount } }",
        json!({ "engagementId": e, "payoutId": payout, "amount": "-5000",
                "reason": "refunds booked late", "carryInto": "2026-08" }),
    )
    .await;
    mutate(
        app,
        c,
        DECIDE,
        json!({ "engagementId": e, "reviewId": review, "kind": "REOPEN",
                "reason": "Li Wei's refunds were booked late" }),
    )
    .await;
    mutate(
        app,
        c,
        "mutation($i: RecordFindingInput!) { recordFinding(input: $i) { status } }",
        json!({ "engagementId": e, "reviewId": review, "kpiId": s.gmv, "memberId": s.li,
                "deviation": "GMV 10% above target", "cause": "Li Wei's coupon campaign" }),
    )
    .await;
    let acos = kpi_of(app, &s, "acos").await;
    mutate(
        app,
        c,
        "mutation($i: ChangeKpiWeightInput!) { changeKpiWeight(input: $i) { weight } }",
        json!({ "engagementId": e, "kpiId": acos, "weight": "35", "reason": "profit first" }),
    )
    .await;
    mutate(
        app,
        c,
        "mutation($i: RetireKpiInput!) { retireKpi(input: $i) { id } }",
        json!({ "engagementId": e, "kpiId": acos, "from": "2026-09-01", "reason": "replaced by TACoS" }),
    )
    .await;
    mutate(
        app,
        c,
        "mutation($i: RecordObservationInput!) { recordObservation(input: $i) { value } }",
        json!({ "engagementId": e, "metric": "gmv", "platform": "amazon_jp", "from": "2026-07-01",
                "to": "2026-07-01", "value": "5" }),
    )
    .await;
    mutate(
        app,
        c,
        "mutation($i: CorrectObservationInput!) { correctObservation(input: $i) { value } }",
        json!({ "engagementId": e, "metric": "gmv", "platform": "amazon_jp", "date": "2026-07-01",
                "value": "6", "reason": "typo" }),
    )
    .await;
    let job = crate::imports::import(
        app,
        c,
        json!({ "engagementId": e, "format": "GENERIC_CSV", "platform": "amazon_jp" }),
        "july.csv",
        b"date,platform,metric,value\n2026-07-02,amazon_jp,gmv,1000\n".to_vec(),
    )
    .await;
    assert_eq!(job["status"], "SUCCEEDED", "{job}");
    mutate(
        app,
        c,
        "mutation($i: DefineMetricInput!) { defineMetric(input: $i) { key } }",
        json!({ "engagementId": e, "key": "coupon_redemptions", "label": "Coupon redemptions",
                "unit": "COUNT", "aggregation": "SUM", "direction": "HIGHER" }),
    )
    .await;
    let viewer =
        crate::engagements::add(app, c, e, "Mei Suzuki", "mei@acme.example", "CLIENT_VIEWER").await
            ["id"]
            .clone();
    mutate(
        app,
        c,
        "mutation($i: ChangeMemberRoleInput!) { changeMemberRole(input: $i) { role } }",
        json!({ "engagementId": e, "memberId": viewer, "role": "CLIENT_OWNER" }),
    )
    .await;
    mutate(
        app,
        c,
        "mutation($i: RemoveMemberInput!) { removeMember(input: $i) { id } }",
        json!({ "engagementId": e, "memberId": viewer, "activeUntil": "2026-07-31" }),
    )
    .await;
    app.ok(
        c,
        crate::engagements::STATUS,
        json!({ "id": e, "status": "TRIAL" }),
    )
    .await;
    s
}

async fn kpi_of(app: &TestApp, s: &Setup, metric: &str) -> String {
    let kpis = app
        .ok(
            &s.consultant,
            "query($id: UUID!) { engagement(id: $id) { kpis { id metric } } }",
            json!({ "id": s.engagement }),
        )
        .await;
    kpis["engagement"]["kpis"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["metric"] == metric)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Whether `text` holds a kana or kanji.
fn has_cjk(text: &str) -> bool {
    text.chars()
        .any(|c| ('\u{3040}'..='\u{30ff}').contains(&c) || ('\u{4e00}'..='\u{9fff}').contains(&c))
}

async fn every_event_kind_reads_as_a_sentence_in_three_languages(app: TestApp) {
    let s = a_full_history(&app).await;
    let log = read_log(&app, &s.consultant, &s.engagement, Value::Null, 7).await;

    // Every kind of an engagement's events is in it (user accounts have their own chain).
    let kinds: BTreeSet<&str> = log.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    let expected: BTreeSet<&str> = kpi_ledger_domain::narrate::EVENT_KINDS
        .iter()
        .copied()
        .filter(|k| !k.starts_with("User"))
        .collect();
    assert_eq!(kinds, expected, "every engagement event kind appears");

    // In global order, each once across the pages.
    let positions: Vec<i64> = log
        .iter()
        .map(|e| e["position"].as_i64().unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");

    for entry in &log {
        let [ja, zh, en] = ["ja", "zh", "en"].map(|l| entry["sentences"][l].as_str().unwrap());
        assert_eq!(entry["sentence"], en);
        for text in [ja, zh, en] {
            assert!(
                !text.trim().is_empty() && !text.contains('{') && !text.contains("\":"),
                "a sentence, not JSON: {entry}"
            );
        }
        assert!(has_cjk(ja) && has_cjk(zh), "{entry}");
        assert!(ja != zh && zh != en, "three languages: {entry}");
        // Changes made by people name them; the system's are its own.
        let actor = &entry["actor"];
        if actor["system"] == false
            && entry["kind"] != "PeriodLocked"
            && entry["kind"] != "PeriodReopened"
        {
            let display = actor["display"].as_str().unwrap();
            assert!(en.starts_with(display), "{display} in {en}");
        }
    }

    let find = |kind: &str, needle: &str| {
        log.iter()
            .find(|e| e["kind"] == kind && e["sentence"].as_str().unwrap().contains(needle))
            .unwrap_or_else(|| panic!("a {kind} entry with {needle:?} in {log:#?}"))
            .clone()
    };
    let revision = find("TargetSet", "from ¥48,000,000 to ¥50,000,000");
    assert_eq!(
        revision["actor"]["name"], "Aiko Sato",
        "consultants see names: {revision}"
    );
    assert_eq!(revision["reason"], "summer campaign budget approved");
    assert!(revision["sentence"]
        .as_str()
        .unwrap()
        .starts_with("Aiko Sato revised the "));
    assert!(revision["sentence"]
        .as_str()
        .unwrap()
        .ends_with(": “summer campaign budget approved”"));
    assert!(revision["sentences"]["ja"]
        .as_str()
        .unwrap()
        .contains("「summer campaign budget approved」"));
    assert!(revision["correlationId"].as_str().is_some());
    find("KpiWeightChanged", "from 40 to 35: “profit first”");
    find("ObservationCorrected", "“typo”");
    find("PayoutCalculated", "Li Wei");
    find("PayoutAdjusted", "-¥5,000");
    find("DecisionRecorded", "no Rakuten sales in June");
    find("FindingRecorded", "Li Wei's coupon campaign");
    find(
        "SignedOff",
        "Hiro Tanaka signed off the review of 2026-06 as client owner",
    );
    let locked = find("PeriodLocked", "2026-06");
    assert!(locked["sentences"]["ja"]
        .as_str()
        .unwrap()
        .contains("ロック"));
}
on_both_backends!(every_event_kind_reads_as_a_sentence_in_three_languages);

async fn a_client_viewer_reads_the_story_with_pseudonyms_and_the_filters_hold(app: TestApp) {
    let s = a_full_history(&app).await;
    let e = s.engagement.as_str();
    crate::engagements::add(
        &app,
        &s.consultant,
        e,
        "Kenji Mori",
        "kenji@acme.example",
        "CLIENT_VIEWER",
    )
    .await;
    let viewer = app.token_for_email("kenji@acme.example").await;
    let gmv = s.gmv.as_str();

    // How the GMV target evolved, with every reason and a pseudonym for who changed it.
    let history = app
        .ok(&viewer, "query($id: UUID!, $k: UUID!) { engagement(id: $id) { targetHistory(kpiId: $k) {
            nodes { period reason before { target } after { target } changedByPerson { memberId name pseudonym display } } } } }",
            json!({ "id": e, "k": gmv }))
        .await["engagement"]["targetHistory"]["nodes"]
        .clone();
    let history = history.as_array().unwrap();
    assert_eq!(history.len(), 2, "{history:?}");
    assert_eq!(history[1]["reason"], "summer campaign budget approved");
    let person = &history[1]["changedByPerson"];
    assert_eq!(person["name"], Value::Null, "no names for client viewers");
    let pseudonym = person["pseudonym"].as_str().unwrap().to_string();
    assert!(pseudonym.starts_with("Member "), "{pseudonym}");
    assert_eq!(person["display"], pseudonym.as_str());
    // The same pseudonym the member directory shows.
    let consultant_member = person["memberId"].as_str().unwrap().to_string();
    let members = app
        .ok(&viewer, "query($id: UUID!) { engagement(id: $id) { members { nodes { id pseudonym displayName } } } }",
            json!({ "id": e }))
        .await;
    assert!(members["engagement"]["members"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["id"] == consultant_member.as_str() && m["pseudonym"] == pseudonym.as_str()));

    // The log says the same, and names nobody.
    let targets = read_log(
        &app,
        &viewer,
        e,
        json!({ "kpiId": gmv, "kinds": ["TargetSet"] }),
        50,
    )
    .await;
    assert_eq!(targets.len(), 2);
    let text = serde_json::to_string(&targets).unwrap();
    assert!(text.contains(&pseudonym));
    for name in ["Aiko Sato", "Hiro Tanaka", "Li Wei"] {
        assert!(!text.contains(name), "{name} in {text}");
    }
    let everything = read_log(&app, &viewer, e, Value::Null, 200).await;
    let text = serde_json::to_string(&everything).unwrap();
    for name in [
        "Aiko Sato",
        "Hiro Tanaka",
        "Li Wei",
        "Mei Suzuki",
        "coupon campaign",
    ] {
        assert!(!text.contains(name), "{name} in the client viewer's log");
    }
    // Review entries read as sentences there too, without their free text.
    let entries = app
        .ok(&viewer, "query($id: UUID!) { engagement(id: $id) { reviews { entries { nodes { kind sentence(language: JA) recordedByPerson { name display } } } } } }",
            json!({ "id": e }))
        .await;
    let nodes = entries["engagement"]["reviews"][0]["entries"]["nodes"]
        .as_array()
        .unwrap()
        .clone();
    assert!(nodes.iter().all(
        |n| has_cjk(n["sentence"].as_str().unwrap()) && n["recordedByPerson"]["name"].is_null()
    ));
    assert!(!serde_json::to_string(&nodes)
        .unwrap()
        .contains("Rakuten sales"));
    let consultant_view = app
        .ok(&s.consultant, "query($id: UUID!) { engagement(id: $id) { reviews { entries { nodes { sentence recordedByPerson { name } } } } } }",
            json!({ "id": e }))
        .await;
    assert!(serde_json::to_string(&consultant_view)
        .unwrap()
        .contains("no Rakuten sales in June"));

    // Filters: KPI (its targets, weight, its metric's observations and review entries on
    // it), period, actor, kinds, time.
    let on_gmv = read_log(&app, &s.consultant, e, json!({ "kpiId": gmv }), 50).await;
    let kinds: BTreeSet<&str> = on_gmv.iter().map(|x| x["kind"].as_str().unwrap()).collect();
    for kind in [
        "KpiDefined",
        "TargetSet",
        "ObservationRecorded",
        "ObservationCorrected",
        "ObservationsImported",
        "FindingRecorded",
    ] {
        assert!(kinds.contains(kind), "{kind} about GMV: {kinds:?}");
    }
    assert!(
        !kinds.contains("KpiWeightChanged"),
        "that was ACoS's weight"
    );

    let june = read_log(&app, &s.consultant, e, json!({ "period": "2026-06" }), 50).await;
    let kinds: BTreeSet<&str> = june.iter().map(|x| x["kind"].as_str().unwrap()).collect();
    for kind in [
        "TargetSet",
        "ObservationRecorded",
        "ReviewOpened",
        "PeriodLocked",
        "PayoutCalculated",
        "MemberAdded",
    ] {
        assert!(kinds.contains(kind), "{kind} in June: {kinds:?}");
    }
    assert!(
        !kinds.contains("ObservationCorrected"),
        "the correction was of July"
    );
    assert!(!kinds.contains("EngagementOpened"));

    let li_wei = read_log(&app, &s.consultant, e, json!({ "actor": s.li }), 50).await;
    assert!(li_wei.is_empty(), "Li Wei changed nothing: {li_wei:?}");
    let by_owner = read_log(
        &app,
        &s.consultant,
        e,
        json!({ "actor": history[1]["changedByPerson"]["memberId"] }),
        50,
    )
    .await;
    assert!(!by_owner.is_empty());
    assert!(by_owner.iter().all(|x| x["actor"]["name"] == "Aiko Sato"));

    let all = read_log(&app, &s.consultant, e, Value::Null, 200).await;
    let middle = &all[all.len() / 2];
    let from = middle["recordedAt"].as_str().unwrap();
    let later = read_log(&app, &s.consultant, e, json!({ "from": from }), 200).await;
    assert!(later
        .iter()
        .all(|x| x["position"].as_i64() >= middle["position"].as_i64()));
    assert!(later.iter().any(|x| x["position"] == middle["position"]));
    let earlier = read_log(&app, &s.consultant, e, json!({ "to": from }), 200).await;
    assert_eq!(
        earlier.len() + later.len(),
        all.len(),
        "from and to split the log"
    );

    // Refusals.
    let body = app
        .gql(
            &s.consultant,
            LOG,
            json!({ "id": e, "filter": { "kinds": ["TargetChanged"] } }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "VALIDATION",
        "{body}"
    );
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("TargetSet"));
    let li = app.token_for_email("li.wei@acme.example").await;
    let body = app.gql(&li, LOG, json!({ "id": e })).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{body}"
    );
    let foreign = base64::engine::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        "payouts:3",
    );
    let body = app
        .gql(&s.consultant, LOG, json!({ "id": e, "after": foreign }))
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "VALIDATION",
        "{body}"
    );
}
on_both_backends!(a_client_viewer_reads_the_story_with_pseudonyms_and_the_filters_hold);

const CHANGES: &str = "query($id: UUID!, $from: ChangePointInput!, $to: ChangePointInput) {
  engagement(id: $id) { changes(from: $from, to: $to) { fromPosition toPosition periods
    targets { kpiName period before { target } after { target }
      events { reason actor { name pseudonym display } sentence } }
    kpis { kpiName weightBefore weightAfter }
    observations { nodes { kind metric from to before after event { kind } } }
    scores { period memberId kpiId kpiName scoreBefore scoreAfter actualBefore actualAfter events { kind position } }
    events { nodes { position kind } } } } }";

async fn a_client_viewer_sees_the_card_before_the_last_revision_and_what_changed_since(
    app: TestApp,
) {
    let s = setup(&app).await;
    let e = s.engagement.as_str();
    let c = s.consultant.as_str();
    // A team KPI, so the team card (what client viewers read) has a score.
    let team_gmv = app
        .ok(c, "mutation($i: DefineKpiInput!) { defineKpi(input: $i) { id } }",
            json!({ "i": { "engagementId": e, "metric": "gmv", "weight": "1", "assignee": { "team": true } } }))
        .await["defineKpi"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let set = |target: &'static str, reason: &'static str| {
        json!({ "i": { "engagementId": e, "kpiId": team_gmv, "periods": ["2026-06"],
                       "threshold": "40000000", "target": target, "stretch": "60000000", "reason": reason } })
    };
    let set_target = "mutation($i: SetTargetInput!) { setTarget(input: $i) { id } }";
    app.ok(c, set_target, set("50000000", "baseline")).await;
    crate::engagements::add(
        &app,
        c,
        e,
        "Kenji Mori",
        "kenji@acme.example",
        "CLIENT_VIEWER",
    )
    .await;
    let viewer = app.token_for_email("kenji@acme.example").await;
    // The instant before the revision (recorded-at has millisecond precision).
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let before = chrono::Utc::now().to_rfc3339();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    app.ok(c, set_target, set("55000000", "Prime Day budget moved"))
        .await;

    // The June card as it stood before the revision, and now.
    let card = "query($id: UUID!, $at: DateTime) { engagement(id: $id) {
        scorecard(period: \"2026-06\", asOf: $at) { score kpis { kpi { id } score target { target } } } } }";
    let then = app
        .ok(&viewer, card, json!({ "id": e, "at": before }))
        .await["engagement"]["scorecard"]
        .clone();
    let now = app.ok(&viewer, card, json!({ "id": e })).await["engagement"]["scorecard"].clone();
    assert_eq!(then["kpis"][0]["target"]["target"], "50000000", "{then}");
    assert_eq!(now["kpis"][0]["target"]["target"], "55000000", "{now}");
    assert_ne!(then["score"], now["score"]);

    // What changed since: the revision, who (a pseudonym) and why, and the score it moved.
    let changes = app
        .ok(
            &viewer,
            CHANGES,
            json!({ "id": e, "from": { "at": before } }),
        )
        .await["engagement"]["changes"]
        .clone();
    assert_eq!(changes["periods"], json!(["2026-06"]), "{changes}");
    let targets = changes["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 1, "{changes}");
    assert_eq!(targets[0]["before"]["target"], "50000000");
    assert_eq!(targets[0]["after"]["target"], "55000000");
    let event = &targets[0]["events"][0];
    assert_eq!(event["reason"], "Prime Day budget moved");
    assert_eq!(event["actor"]["name"], Value::Null);
    assert!(event["actor"]["pseudonym"]
        .as_str()
        .unwrap()
        .starts_with("Member "));
    assert!(!event["sentence"].as_str().unwrap().contains("Aiko"));
    let scores = changes["scores"].as_array().unwrap();
    assert!(
        scores.iter().all(|m| m["memberId"].is_null()),
        "client viewers compare the team card only: {scores:?}"
    );
    let line = scores
        .iter()
        .find(|m| m["kpiId"] == team_gmv.as_str())
        .unwrap_or_else(|| panic!("the team GMV line moved: {scores:?}"));
    assert_eq!(line["scoreBefore"], then["kpis"][0]["score"]);
    assert_eq!(line["scoreAfter"], now["kpis"][0]["score"]);
    assert_eq!(line["actualBefore"], line["actualAfter"]);
    assert_eq!(line["events"][0]["kind"], "TargetSet");
    let total = scores
        .iter()
        .find(|m| m["kpiId"].is_null())
        .expect("the card's total moved");
    assert_eq!(
        (&total["scoreBefore"], &total["scoreAfter"]),
        (&then["score"], &now["score"])
    );
    assert_eq!(changes["events"]["nodes"].as_array().unwrap().len(), 1);

    // The consultant also sees the members' cards.
    let full = app
        .ok(c, CHANGES, json!({ "id": e, "from": { "at": before } }))
        .await["engagement"]["changes"]
        .clone();
    assert_eq!(
        full["targets"][0]["events"][0]["actor"]["name"], "Aiko Sato",
        "{full}"
    );
    assert_eq!(full["targets"][0]["after"], changes["targets"][0]["after"]);

    // KPIs and targets as they stood.
    let kpis = "query($id: UUID!, $at: DateTime) { engagement(id: $id) {
        kpis(asOf: $at) { id targets { period target } } } }";
    let find = |data: &Value| {
        data["engagement"]["kpis"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["id"] == team_gmv.as_str())
            .unwrap()["targets"]
            .clone()
    };
    let then_kpis = app
        .ok(&viewer, kpis, json!({ "id": e, "at": before }))
        .await;
    assert_eq!(
        find(&then_kpis),
        json!([{ "period": "2026-06", "target": "50000000" }])
    );
    let now_kpis = app.ok(&viewer, kpis, json!({ "id": e })).await;
    assert_eq!(
        find(&now_kpis),
        json!([{ "period": "2026-06", "target": "55000000" }])
    );
    let field = app
        .ok(&viewer, "query($id: UUID!, $at: DateTime) { engagement(id: $id) { kpis { id targets(asOf: $at) { target } } } }",
            json!({ "id": e, "at": before }))
        .await;
    assert!(
        field["engagement"]["kpis"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["id"] == team_gmv.as_str()
                && k["targets"] == json!([{ "target": "50000000" }]))
    );

    // Since the last lock: June is locked, then a restatement of June arrives.
    lock_june(&app, &s).await;
    app.ok(
        c,
        "mutation($i: RecordObservationInput!) { recordObservation(input: $i) { value } }",
        json!({ "i": { "engagementId": e, "metric": "gmv", "platform": "amazon_jp",
                       "from": "2026-06-16", "to": "2026-06-30", "value": "26000000" } }),
    )
    .await;
    for from in [json!({ "lastLock": true }), json!({ "lockOf": "2026-06" })] {
        let since = app
            .ok(&viewer, CHANGES, json!({ "id": e, "from": from }))
            .await["engagement"]["changes"]
            .clone();
        let observations = since["observations"]["nodes"].as_array().unwrap();
        assert_eq!(
            observations,
            &vec![
                json!({ "kind": "RESTATED", "metric": "gmv", "from": "2026-06-16", "to": "2026-06-30",
                          "before": "25000000", "after": "26000000", "event": { "kind": "ObservationRecorded" } })
            ],
            "{since}"
        );
        let line = since["scores"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["kpiId"] == team_gmv.as_str())
            .cloned()
            .unwrap_or_else(|| panic!("{since}"));
        assert_eq!(line["actualBefore"], "55000000");
        assert_eq!(line["actualAfter"], "56000000");
    }

    // Refusals: points the wrong way round, a period never locked, a member.
    let body = app
        .gql(
            c,
            CHANGES,
            json!({ "id": e, "from": { "position": 1_000_000 }, "to": { "position": 1 } }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "VALIDATION",
        "{body}"
    );
    let body = app
        .gql(
            c,
            CHANGES,
            json!({ "id": e, "from": { "lockOf": "2026-05" } }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{body}"
    );
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("2026-05"));
    let li = app.token_for_email("li.wei@acme.example").await;
    let body = app
        .gql(&li, CHANGES, json!({ "id": e, "from": { "position": 0 } }))
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{body}"
    );
}
on_both_backends!(a_client_viewer_sees_the_card_before_the_last_revision_and_what_changed_since);
