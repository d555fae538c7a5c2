//! The scoring core end to end: SPEC §7's worked example through GraphQL.

use crate::engagements::{add, open};
use crate::helpers::TestApp;
use crate::on_both_backends;
use serde_json::{json, Value};

const DEFINE: &str = "mutation($input: DefineKpiInput!) { defineKpi(input: $input) { id name metric weight direction assignee { kind position } } }";
const SET: &str = "mutation($input: SetTargetInput!) { setTarget(input: $input) { id targets { period threshold target stretch } } }";
const RECORD: &str = "mutation($input: RecordObservationInput!) { recordObservation(input: $input) { metric platform from to value source } }";
const CORRECT: &str = "mutation($input: CorrectObservationInput!) { correctObservation(input: $input) { value source } }";
const CARD: &str = "query($id: UUID!, $period: Period!, $member: UUID) {
  engagement(id: $id) { scorecard(period: $period, memberId: $member) {
    period startDate endDate score scoreDisplay complete tooManyKpis gatesPassed missing dataCompleteThrough
    freshness { platform source completeThrough coversPeriod }
    kpis { kpi { name metric } status actual numerator denominator score weight weightedScore gatePassed
           target { threshold target stretch } observationCount straddling { from to value } } } } }";

async fn define(
    app: &TestApp,
    token: &str,
    engagement: &str,
    metric: &str,
    weight: &str,
    assignee: Value,
) -> String {
    let data = app
        .ok(
            token,
            DEFINE,
            json!({ "input": { "engagementId": engagement, "metric": metric,
            "weight": weight, "assignee": assignee } }),
        )
        .await;
    data["defineKpi"]["id"].as_str().unwrap().to_string()
}

/// Sets June 2026's levels `(threshold, target, stretch)` of a KPI.
async fn target(
    app: &TestApp,
    token: &str,
    engagement: &str,
    kpi: &str,
    (t0, t1, t2): (&str, &str, Option<&str>),
    reason: &str,
) {
    app.ok(
        token,
        SET,
        json!({ "input": { "engagementId": engagement, "kpiId": kpi, "periods": ["2026-06"],
        "threshold": t0, "target": t1, "stretch": t2, "reason": reason } }),
    )
    .await;
}

async fn record(
    app: &TestApp,
    token: &str,
    engagement: &str,
    metric: &str,
    from: &str,
    to: &str,
    value: &str,
) {
    app.ok(
        token,
        RECORD,
        json!({ "input": { "engagementId": engagement, "metric": metric,
        "platform": "amazon_jp", "from": from, "to": to, "value": value } }),
    )
    .await;
}

/// The API over HTTP as one token's holder calls it.
pub struct Http<'a>(pub &'a TestApp, pub &'a str);

#[async_trait::async_trait]
impl kpi_ledger::worked_example::CallApi for Http<'_> {
    async fn call(&self, query: &str, variables: Value) -> anyhow::Result<Value> {
        Ok(self.0.ok(self.1, query, variables).await)
    }
}

/// Sets up "Acme Home JP" as SPEC §7 describes (on amazon_jp and rakuten); returns
/// (engagement, Li Wei's member id, the gmv KPI id, the consultant's token).
pub async fn worked_example(app: &TestApp) -> (String, String, String, String) {
    let consultant = app
        .user("aiko@consultancy.example", "Aiko Sato", true)
        .await;
    let example =
        kpi_ledger::worked_example::record(&Http(app, &consultant), &["amazon_jp", "rakuten"])
            .await
            .expect("the worked example records");
    let gmv = example.kpi("gmv").to_string();
    (example.engagement, example.li, gmv, consultant)
}

async fn the_worked_example_scores_99_for_li_wei(app: TestApp) {
    let (engagement, li, gmv, consultant) = worked_example(&app).await;
    let data = app
        .ok(
            &consultant,
            CARD,
            json!({ "id": engagement, "period": "2026-06", "member": li }),
        )
        .await;
    let card = &data["engagement"]["scorecard"];
    assert_eq!(card["score"], "99", "{card}");
    assert_eq!(card["scoreDisplay"], "99");
    assert_eq!(card["complete"], true);
    assert_eq!(card["startDate"], "2026-06-01");
    assert_eq!(card["endDate"], "2026-06-30");
    let kpis = card["kpis"].as_array().unwrap();
    let scores: Vec<&str> = kpis.iter().map(|k| k["score"].as_str().unwrap()).collect();
    assert_eq!(scores, ["100", "75", "110"]);
    assert_eq!(kpis[0]["actual"], "0.25");
    assert_eq!(kpis[0]["numerator"], "1200000");
    assert_eq!(kpis[0]["denominator"], "4800000");
    assert_eq!(kpis[1]["actual"], "0.00375");
    assert_eq!(kpis[2]["actual"], "55000000");
    assert_eq!(kpis[2]["observationCount"], 2);
    assert_eq!(kpis[2]["weightedScore"], "4400");
    assert_eq!(kpis[2]["target"]["target"], "50000000");
    assert_eq!(
        card["freshness"],
        json!([{ "platform": "amazon_jp", "source": "manual", "completeThrough": "2026-06-30", "coversPeriod": true }])
    );
    assert_eq!(card["dataCompleteThrough"], "2026-06-30");

    // The target history shows every revision with its reason.
    let history = app
        .ok(
            &consultant,
            "query($id: UUID!, $kpi: UUID!) { engagement(id: $id) { targetHistory(kpiId: $kpi) { nodes {
                period before { target } after { target } reason changedBy recordedAt } } } }",
            json!({ "id": engagement, "kpi": gmv }),
        )
        .await;
    let versions = history["engagement"]["targetHistory"]["nodes"]
        .as_array()
        .unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["before"], Value::Null);
    assert_eq!(versions[0]["after"]["target"], "48000000");
    assert_eq!(versions[0]["reason"], "baseline");
    assert_eq!(versions[1]["before"]["target"], "48000000");
    assert_eq!(versions[1]["after"]["target"], "50000000");
    assert_eq!(versions[1]["reason"], "summer campaign budget approved");
    assert!(versions[1]["changedBy"].is_string());

    // Li Wei reads that scorecard, and no other member's.
    add(
        &app,
        &consultant,
        &engagement,
        "Sora Kato",
        "sora@acme.example",
        "MEMBER",
    )
    .await;
    let sora = app
        .ok(
            &consultant,
            "query($id: UUID!) { engagement(id: $id) { members { nodes { id displayName } } } }",
            json!({ "id": engagement }),
        )
        .await["engagement"]["members"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["displayName"] == "Sora Kato")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let li_token = app.token_for_email("li.wei@acme.example").await;
    let own = app
        .ok(
            &li_token,
            CARD,
            json!({ "id": engagement, "period": "2026-06", "member": li }),
        )
        .await;
    assert_eq!(own["engagement"]["scorecard"]["score"], "99");
    assert_eq!(
        app.error_code(
            &li_token,
            CARD,
            json!({ "id": engagement, "period": "2026-06", "member": sora })
        )
        .await,
        "NOT_FOUND"
    );
    let team = app
        .ok(
            &li_token,
            CARD,
            json!({ "id": engagement, "period": "2026-06" }),
        )
        .await;
    assert_eq!(team["engagement"]["scorecard"]["kpis"], json!([]));
    // A member sees their own card's KPIs only.
    let kpis = app
        .ok(
            &li_token,
            "query($id: UUID!) { engagement(id: $id) { kpis { metric } } }",
            json!({ "id": engagement }),
        )
        .await;
    assert_eq!(kpis["engagement"]["kpis"].as_array().unwrap().len(), 3);

    // A client viewer reads team cards but no member's.
    add(
        &app,
        &consultant,
        &engagement,
        "Mika Ito",
        "mika@acme.example",
        "CLIENT_VIEWER",
    )
    .await;
    let viewer = app.token_for_email("mika@acme.example").await;
    assert_eq!(
        app.error_code(
            &viewer,
            CARD,
            json!({ "id": engagement, "period": "2026-06", "member": li })
        )
        .await,
        "FORBIDDEN"
    );
    // Consultants only change targets.
    let body = app
        .gql(
            &li_token,
            SET,
            json!({ "input": { "engagementId": engagement, "kpiId": gmv, "periods": ["2026-06"],
            "threshold": "1", "target": "2", "reason": "mine" } }),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");
}
on_both_backends!(the_worked_example_scores_99_for_li_wei);

async fn a_failed_gate_shows_on_the_scorecard(app: TestApp) {
    let (engagement, li, _, consultant) = worked_example(&app).await;
    let data = app
        .ok(
            &consultant,
            DEFINE,
            json!({ "input": { "engagementId": engagement, "metric": "order_defect_rate",
            "weight": "0", "gate": true, "assignee": { "position": "advertising" } } }),
        )
        .await;
    let odr = data["defineKpi"]["id"].as_str().unwrap().to_string();
    target(
        &app,
        &consultant,
        &engagement,
        &odr,
        ("0.01", "0.005", None),
        "defect ceiling",
    )
    .await;
    record(
        &app,
        &consultant,
        &engagement,
        "defective_orders",
        "2026-06-01",
        "2026-06-30",
        "12",
    )
    .await;
    record(
        &app,
        &consultant,
        &engagement,
        "orders",
        "2026-06-01",
        "2026-06-30",
        "1000",
    )
    .await;
    let card = app
        .ok(
            &consultant,
            CARD,
            json!({ "id": engagement, "period": "2026-06", "member": li }),
        )
        .await["engagement"]["scorecard"]
        .clone();
    assert_eq!(
        card["score"], "99",
        "a weight-0 gate does not move the score"
    );
    assert_eq!(card["gatesPassed"], false);
    let gate = &card["kpis"][3];
    assert_eq!(gate["actual"], "0.012");
    assert_eq!(gate["score"], "0");
    assert_eq!(gate["gatePassed"], false);
}
on_both_backends!(a_failed_gate_shows_on_the_scorecard);

async fn ratios_are_ratios_of_sums_and_observations_follow_the_rules(app: TestApp) {
    let consultant = app
        .user("aiko@consultancy.example", "Aiko Sato", true)
        .await;
    let engagement = open(&app, &consultant, "Acme Home JP").await;
    let ctr = define(
        &app,
        &consultant,
        &engagement,
        "ctr",
        "1",
        json!({ "team": true }),
    )
    .await;
    target(
        &app,
        &consultant,
        &engagement,
        &ctr,
        ("0.001", "0.002", None),
        "baseline",
    )
    .await;
    record(
        &app,
        &consultant,
        &engagement,
        "clicks",
        "2026-06-01",
        "2026-06-01",
        "10",
    )
    .await;
    record(
        &app,
        &consultant,
        &engagement,
        "impressions",
        "2026-06-01",
        "2026-06-01",
        "1000",
    )
    .await;
    record(
        &app,
        &consultant,
        &engagement,
        "clicks",
        "2026-06-02",
        "2026-06-02",
        "1000",
    )
    .await;
    record(
        &app,
        &consultant,
        &engagement,
        "impressions",
        "2026-06-02",
        "2026-06-02",
        "1000000",
    )
    .await;
    let card = app
        .ok(
            &consultant,
            CARD,
            json!({ "id": engagement, "period": "2026-06" }),
        )
        .await["engagement"]["scorecard"]
        .clone();
    let line = &card["kpis"][0];
    // 1,010 ÷ 1,001,000, not the mean of 1 % and 0.1 %.
    let expected = (rust_decimal::Decimal::from(1010) / rust_decimal::Decimal::from(1_001_000))
        .normalize()
        .to_string();
    assert_eq!(line["actual"], expected.as_str());
    assert_eq!(line["numerator"], "1010");
    assert_eq!(line["denominator"], "1001000");
    assert!(line["score"].as_str().unwrap().starts_with("50."), "{line}");

    // Restating the same day replaces the value; overlapping other bounds is refused.
    record(
        &app,
        &consultant,
        &engagement,
        "clicks",
        "2026-06-02",
        "2026-06-02",
        "2000",
    )
    .await;
    let body = app
        .gql(
            &consultant,
            RECORD,
            json!({ "input": { "engagementId": engagement, "metric": "clicks",
            "platform": "amazon_jp", "from": "2026-06-01", "to": "2026-06-30", "value": "5" } }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "CONFLICT",
        "{body}"
    );
    // Ratios are recorded through their components; platforms must be the engagement's.
    for (metric, platform, needle) in [
        ("ctr", "amazon_jp", "components"),
        ("clicks", "qoo10", "platform"),
    ] {
        let body = app
            .gql(
                &consultant,
                RECORD,
                json!({ "input": { "engagementId": engagement, "metric": metric,
                "platform": platform, "date": "2026-06-03", "value": "5" } }),
            )
            .await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "VALIDATION",
            "{body}"
        );
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains(needle),
            "{body}"
        );
    }
    // A correction needs a reason and shows as such.
    let corrected = app
        .ok(&consultant, CORRECT, json!({ "input": { "engagementId": engagement, "metric": "clicks",
            "platform": "amazon_jp", "date": "2026-06-02", "value": "1000", "reason": "double-counted export" } }))
        .await;
    assert_eq!(
        corrected["correctObservation"],
        json!({ "value": "1000", "source": "correction" })
    );
    let card = app
        .ok(
            &consultant,
            CARD,
            json!({ "id": engagement, "period": "2026-06" }),
        )
        .await["engagement"]["scorecard"]
        .clone();
    assert_eq!(card["kpis"][0]["numerator"], "1010");

    // A zero denominator has no value and leaves the card incomplete.
    let week = "2026-W25";
    app.ok(
        &consultant,
        SET,
        json!({ "input": { "engagementId": engagement, "kpiId": ctr, "periods": [week],
        "threshold": "0.001", "target": "0.002", "reason": "weekly" } }),
    )
    .await;
    record(
        &app,
        &consultant,
        &engagement,
        "clicks",
        "2026-06-15",
        "2026-06-15",
        "0",
    )
    .await;
    record(
        &app,
        &consultant,
        &engagement,
        "impressions",
        "2026-06-15",
        "2026-06-15",
        "0",
    )
    .await;
    let card = app
        .ok(
            &consultant,
            CARD,
            json!({ "id": engagement, "period": week }),
        )
        .await["engagement"]["scorecard"]
        .clone();
    assert_eq!(card["kpis"][0]["status"], "ZERO_DENOMINATOR");
    assert_eq!(card["kpis"][0]["actual"], Value::Null);
    assert_eq!(card["score"], Value::Null);
    assert_eq!(card["complete"], false);
    assert_eq!(card["missing"], json!([ctr]));
}
on_both_backends!(ratios_are_ratios_of_sums_and_observations_follow_the_rules);

async fn invalid_kpis_and_targets_are_refused(app: TestApp) {
    let consultant = app
        .user("aiko@consultancy.example", "Aiko Sato", true)
        .await;
    let engagement = open(&app, &consultant, "Acme Home JP").await;
    let other = open(&app, &consultant, "Other Client").await;
    let outsider = add(
        &app,
        &consultant,
        &other,
        "Ken Mori",
        "ken@other.example",
        "MEMBER",
    )
    .await;
    let events = app.count("events").await;
    for (input, needle) in [
        (
            json!({ "metric": "gmv", "weight": "-1", "assignee": { "team": true } }),
            "negative",
        ),
        (
            json!({ "metric": "happiness", "weight": "1", "assignee": { "team": true } }),
            "metric",
        ),
        (
            json!({ "metric": "gmv", "weight": "1", "assignee": { "memberId": outsider["id"] } }),
            "assignee",
        ),
        (
            json!({ "metric": "gmv", "weight": "1", "platform": "qoo10", "assignee": { "team": true } }),
            "platform",
        ),
        (
            json!({ "metric": "units_on_hand", "weight": "1", "assignee": { "team": true } }),
            "direction",
        ),
    ] {
        let mut input = input;
        input["engagementId"] = json!(engagement);
        let body = app
            .gql(&consultant, DEFINE, json!({ "input": input }))
            .await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "VALIDATION",
            "{body}"
        );
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains(needle),
            "{needle}: {body}"
        );
    }
    assert_eq!(
        app.count("events").await,
        events,
        "refused definitions record nothing"
    );

    let gmv = define(
        &app,
        &consultant,
        &engagement,
        "gmv",
        "1",
        json!({ "team": true }),
    )
    .await;
    let body = app
        .gql(
            &consultant,
            SET,
            json!({ "input": { "engagementId": engagement, "kpiId": gmv, "periods": ["2026-06"],
            "threshold": "50", "target": "40", "reason": "x" } }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "VALIDATION",
        "{body}"
    );
    let body = app
        .gql(
            &consultant,
            SET,
            json!({ "input": { "engagementId": engagement, "kpiId": gmv, "periods": ["2026-13"],
            "threshold": "1", "target": "2", "reason": "x" } }),
        )
        .await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("2026-13"),
        "{body}"
    );
    // Targets for several periods at once, each stored per period.
    let data = app
        .ok(&consultant, SET, json!({ "input": { "engagementId": engagement, "kpiId": gmv,
            "periods": ["2026-07", "2026-08", "FY2026-Q2"], "threshold": "1", "target": "2", "reason": "H2 plan" } }))
        .await;
    assert_eq!(data["setTarget"]["targets"].as_array().unwrap().len(), 3);
    // A KPI of another engagement is not found through this one.
    let body = app
        .gql(
            &consultant,
            SET,
            json!({ "input": { "engagementId": other, "kpiId": gmv, "periods": ["2026-07"],
            "threshold": "1", "target": "3", "reason": "x" } }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{body}"
    );
}
on_both_backends!(invalid_kpis_and_targets_are_refused);

async fn a_scorecard_can_be_read_as_of_an_earlier_instant(app: TestApp) {
    let (engagement, li, gmv, consultant) = worked_example(&app).await;
    let before = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    // Later: a restatement moves June's GMV and a revised target.
    record(
        &app,
        &consultant,
        &engagement,
        "gmv",
        "2026-06-16",
        "2026-06-30",
        "15000000",
    )
    .await;
    target(
        &app,
        &consultant,
        &engagement,
        &gmv,
        ("40000000", "45000000", Some("60000000")),
        "re-forecast",
    )
    .await;
    let query = "query($id: UUID!, $member: UUID, $asOf: DateTime) { engagement(id: $id) {
        scorecard(period: \"2026-06\", memberId: $member, asOf: $asOf) { score asOfPosition kpis { actual score target { target } }
            freshness { platform source completeThrough } } } }";
    let now = app
        .ok(
            &consultant,
            query,
            json!({ "id": engagement, "member": li }),
        )
        .await;
    assert_ne!(now["engagement"]["scorecard"]["score"], "99");
    let then = app
        .ok(
            &consultant,
            query,
            json!({ "id": engagement, "member": li, "asOf": before.to_rfc3339() }),
        )
        .await;
    let card = &then["engagement"]["scorecard"];
    assert_eq!(card["score"], "99", "{card}");
    assert_eq!(card["kpis"][2]["actual"], "55000000");
    assert_eq!(card["kpis"][2]["target"]["target"], "50000000");
    assert!(card["asOfPosition"].as_i64().unwrap() > 0);
    assert_eq!(
        card["freshness"],
        json!([{ "platform": "amazon_jp", "source": "manual", "completeThrough": "2026-06-30" }])
    );
}
on_both_backends!(a_scorecard_can_be_read_as_of_an_earlier_instant);

async fn a_campaign_window_is_one_period_however_its_instants_are_written(app: TestApp) {
    let consultant = app
        .user("aiko@consultancy.example", "Aiko Sato", true)
        .await;
    let engagement = open(&app, &consultant, "Acme Home JP").await;
    let gmv = define(
        &app,
        &consultant,
        &engagement,
        "gmv",
        "1",
        json!({ "team": true }),
    )
    .await;
    // The Super SALE, written in UTC.
    let set = app
        .ok(
            &consultant,
            SET,
            json!({ "input": { "engagementId": engagement, "kpiId": gmv,
                "periods": ["2026-06-04T11:00:00Z/2026-06-10T16:59:00Z"],
                "threshold": "1000000", "target": "2000000", "reason": "Super SALE" } }),
        )
        .await;
    assert_eq!(
        set["setTarget"]["targets"][0]["period"], "2026-06-04T20:00+09:00/2026-06-11T01:59+09:00",
        "stored and shown in the engagement's time zone: {set}"
    );
    record(
        &app,
        &consultant,
        &engagement,
        "gmv",
        "2026-06-04",
        "2026-06-11",
        "1500000",
    )
    .await;
    // Read with the engagement's offset, and with UTC again: the same target either way.
    for spelling in [
        "2026-06-04T20:00+09:00/2026-06-11T01:59+09:00",
        "2026-06-04T11:00Z/2026-06-10T16:59Z",
    ] {
        let card = app
            .ok(
                &consultant,
                CARD,
                json!({ "id": engagement, "period": spelling }),
            )
            .await["engagement"]["scorecard"]
            .clone();
        assert_eq!(
            card["period"], "2026-06-04T20:00+09:00/2026-06-11T01:59+09:00",
            "{card}"
        );
        assert_eq!(card["startDate"], "2026-06-04");
        assert_eq!(card["endDate"], "2026-06-11");
        assert_eq!(
            card["kpis"][0]["target"]["target"], "2000000",
            "{spelling}: {card}"
        );
        assert_eq!(card["score"], "75", "{spelling}: {card}");
    }
}
on_both_backends!(a_campaign_window_is_one_period_however_its_instants_are_written);

/// A live card is kept between the engagement's changes (graphql/src/card_cache.rs): a
/// change through another server on the same database shows on the next read here, and
/// the kept card is re-scoped to each viewer.
async fn a_kept_card_gives_way_to_a_change_made_through_another_server(app: TestApp) {
    let (engagement, li, gmv, consultant) = worked_example(&app).await;
    async fn card_on(app: &TestApp, token: &str, engagement: &str, li: &str) -> Value {
        app.ok(
            token,
            CARD,
            json!({ "id": engagement, "period": "2026-06", "member": li }),
        )
        .await["engagement"]["scorecard"]
            .clone()
    }
    let read = |app| card_on(app, &consultant, &engagement, &li);
    let first = read(&app).await;
    assert_eq!(first["score"], "99", "{first}");
    assert_eq!(read(&app).await, first, "the kept card answers the same");

    // The target changes through a second server; this server's kept card gives way.
    let second =
        crate::helpers::TestApp::start(crate::helpers::TestDatabase::shared(&app.database.url))
            .await;
    assert_eq!(read(&second).await, first);
    target(
        &second,
        &consultant,
        &engagement,
        &gmv,
        ("1000000000", "2000000000", None),
        "a far higher bar",
    )
    .await;
    let after = read(&app).await;
    assert_ne!(after["score"], "99", "{after}");
    assert_eq!(read(&second).await, after);
    let gmv_line = after["kpis"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kpi"]["metric"] == "gmv")
        .unwrap()
        .clone();
    assert_eq!(gmv_line["target"]["target"], "2000000000", "{gmv_line}");

    // Li Wei reads the card the consultant's read kept, under her own access: her own
    // card, with the same figures, and the team's; someone outside the engagement gets
    // nothing, kept or not.
    let li_token = app
        .token_for_email(kpi_ledger_domain::worked_example::MEMBER_EMAIL)
        .await;
    let hers = app
        .ok(
            &li_token,
            CARD,
            json!({ "id": engagement, "period": "2026-06", "member": li }),
        )
        .await["engagement"]["scorecard"]
        .clone();
    assert_eq!(hers, after);
    let team = app
        .ok(
            &consultant,
            CARD,
            json!({ "id": engagement, "period": "2026-06", "member": null }),
        )
        .await;
    let hers = app
        .ok(
            &li_token,
            CARD,
            json!({ "id": engagement, "period": "2026-06", "member": null }),
        )
        .await;
    assert_eq!(hers, team);
    let outsider = app
        .user("someone@elsewhere.example", "Someone Else", true)
        .await;
    for member in [json!(li), json!(null)] {
        let refused = app
            .gql(
                &outsider,
                CARD,
                json!({ "id": engagement, "period": "2026-06", "member": member }),
            )
            .await;
        assert_eq!(
            refused["errors"][0]["extensions"]["code"], "NOT_FOUND",
            "{refused}"
        );
    }
}
on_both_backends!(a_kept_card_gives_way_to_a_change_made_through_another_server);
