//! Imports end to end: marketplace files uploaded through GraphQL (and the CLI) land in
//! the observations and scorecards with exactly the figures of the fixtures' README.

use crate::engagements::ADD;
use crate::helpers::TestApp;
use crate::on_both_backends;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/fixtures/marketplace/"
    ))
    .join(name)
}

const IMPORT: &str = "mutation($input: ImportMetricsInput!, $file: Upload!) {
  importMetrics(input: $input, file: $file) { id status } }";

const JOBS: &str = "query($id: UUID!) { engagement(id: $id) { imports { nodes {
  id status rowsRead rowsInvalid message totalProblems problems { line column value reason }
  importId alreadyImported observationsRecorded observationsRestated series
  watermarks { platform completeThrough } } } } }";

/// Uploads `bytes` as a GraphQL multipart request and waits for the job to end.
pub async fn import(app: &TestApp, token: &str, input: Value, name: &str, bytes: Vec<u8>) -> Value {
    let operations = json!({ "query": IMPORT, "variables": { "input": input, "file": null } });
    let form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({ "0": ["variables.file"] }).to_string())
        .part(
            "0",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
        );
    let response: Value = reqwest::Client::new()
        .post(format!("{}/graphql", app.address))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        response.get("errors").is_none(),
        "upload refused: {response}"
    );
    let job = response["data"]["importMetrics"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let engagement = input["engagementId"].clone();
    for _ in 0..2400 {
        let data = app.ok(token, JOBS, json!({ "id": engagement })).await;
        let found = data["engagement"]["imports"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|j| j["id"] == job.as_str())
            .cloned()
            .unwrap();
        if found["status"] == "SUCCEEDED" || found["status"] == "FAILED" {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("import {job} did not finish");
}

/// Σ of the store-level (or scoped) observations of one metric over a range.
pub async fn total(
    app: &TestApp,
    token: &str,
    engagement: &str,
    metric: &str,
    from: &str,
    to: &str,
    scoped: bool,
) -> Decimal {
    let data = app
        .ok(
            token,
            "query($id: UUID!, $m: String!, $f: Date!, $t: Date!) { engagement(id: $id) {
                observations(metric: $m, from: $f, to: $t) { nodes { scope value } } } }",
            json!({ "id": engagement, "m": metric, "f": from, "t": to }),
        )
        .await;
    data["engagement"]["observations"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["scope"].is_null() != scoped)
        .map(|o| Decimal::from_str(o["value"].as_str().unwrap()).unwrap())
        .sum()
}

fn d(n: i64) -> Decimal {
    Decimal::from(n)
}

async fn setup(app: &TestApp) -> (String, String) {
    let consultant = app
        .user("aiko@consultancy.example", "Aiko Sato", true)
        .await;
    let data = app
        .ok(
            &consultant,
            crate::engagements::OPEN,
            json!({ "input": { "name": "Acme Home JP", "clientName": "Acme Home K.K.",
                               "platforms": ["amazon_jp", "rakuten", "yahoo_shopping"] } }),
        )
        .await;
    (
        data["openEngagement"]["id"].as_str().unwrap().to_string(),
        consultant,
    )
}

fn input(engagement: &str, format: &str, platform: &str) -> Value {
    json!({ "engagementId": engagement, "format": format, "platform": platform })
}

async fn every_fixture_imports_with_its_readme_figures(app: TestApp) {
    let (e, token) = setup(&app).await;
    let read = |name: &str| std::fs::read(fixture(name)).unwrap();

    let job = import(
        &app,
        &token,
        input(&e, "AMAZON_BUSINESS_REPORT", "amazon_jp"),
        "bydate.csv",
        read("amazon_business_report_bydate_ja.utf8bom.csv"),
    )
    .await;
    assert_eq!(job["status"], "SUCCEEDED", "{job}");
    assert_eq!(job["rowsRead"], 14);
    assert_eq!(
        job["watermarks"],
        json!([{ "platform": "amazon_jp", "completeThrough": "2026-05-14" }])
    );
    for (metric, expected) in [
        ("gmv", 2_625_850),
        ("units_ordered", 1_176),
        ("orders", 1_079),
        ("sessions", 26_494),
        ("page_views", 34_481),
    ] {
        assert_eq!(
            total(&app, &token, &e, metric, "2026-05-01", "2026-05-14", false).await,
            d(expected),
            "{metric}"
        );
    }

    let mut child = input(&e, "AMAZON_BUSINESS_REPORT", "amazon_jp");
    child["from"] = json!("2026-05-01");
    child["to"] = json!("2026-05-14");
    let job = import(
        &app,
        &token,
        child,
        "child.csv",
        read("amazon_business_report_child_ja.utf8bom.csv"),
    )
    .await;
    assert_eq!(job["status"], "SUCCEEDED", "{job}");
    assert_eq!(
        total(&app, &token, &e, "gmv", "2026-05-01", "2026-05-14", true).await,
        d(1_089_440)
    );
    assert_eq!(
        total(
            &app,
            &token,
            &e,
            "sessions",
            "2026-05-01",
            "2026-05-14",
            true
        )
        .await,
        d(11_050)
    );
    // Per-ASIN rows fill scoped series only: the store-level gmv is unchanged.
    assert_eq!(
        total(&app, &token, &e, "gmv", "2026-05-01", "2026-05-14", false).await,
        d(2_625_850)
    );

    let job = import(
        &app,
        &token,
        input(&e, "AMAZON_ADS_SP", "amazon_jp"),
        "ads.csv",
        read("amazon_ads_sp_search_term_en.utf8bom.csv"),
    )
    .await;
    assert_eq!(job["status"], "SUCCEEDED", "{job}");
    for (metric, expected) in [
        ("impressions", 97_822),
        ("clicks", 856),
        ("ad_spend", 36_568),
        ("ad_sales", 173_520),
    ] {
        assert_eq!(
            total(&app, &token, &e, metric, "2026-05-01", "2026-05-31", false).await,
            d(expected),
            "{metric}"
        );
    }

    let job = import(
        &app,
        &token,
        input(&e, "RAKUTEN_RMS", "rakuten"),
        "rakuten.csv",
        read("rakuten_rms_store_data_daily.utf8bom.csv"),
    )
    .await;
    assert_eq!(job["status"], "SUCCEEDED", "{job}");
    let rakuten = app
        .ok(&token, "query($id: UUID!) { engagement(id: $id) { observations(metric: \"gmv\", from: \"2026-05-01\", to: \"2026-05-07\", platform: \"rakuten\") { nodes { value } } } }", json!({ "id": e }))
        .await;
    let gmv: Decimal = rakuten["engagement"]["observations"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| Decimal::from_str(o["value"].as_str().unwrap()).unwrap())
        .sum();
    assert_eq!(gmv, d(8_950_636), "すべて rows only");

    let job = import(
        &app,
        &token,
        input(&e, "YAHOO_SHOPPING", "yahoo_shopping"),
        "yahoo.csv",
        read("yahoo_scp_overall_kpi.utf8bom.csv"),
    )
    .await;
    assert_eq!(job["status"], "SUCCEEDED", "{job}");

    let mut fba = input(&e, "AMAZON_FBA_INVENTORY", "amazon_jp");
    fba["from"] = json!("2026-05-14");
    fba["to"] = json!("2026-05-14");
    let job = import(
        &app,
        &token,
        fba,
        "fba.txt",
        read("fba_myi_unsuppressed_inventory_jp.utf8.txt"),
    )
    .await;
    assert_eq!(job["status"], "SUCCEEDED", "{job}");
    assert_eq!(
        total(
            &app,
            &token,
            &e,
            "units_on_hand",
            "2026-05-14",
            "2026-05-14",
            false
        )
        .await,
        d(2_700)
    );
    assert_eq!(
        total(
            &app,
            &token,
            &e,
            "units_on_hand",
            "2026-05-14",
            "2026-05-14",
            true
        )
        .await,
        d(2_700)
    );

    // The figures land in the scorecards: a team GMV KPI for May sums every platform.
    let kpi = app
        .ok(&token, "mutation($i: DefineKpiInput!) { defineKpi(input: $i) { id } }",
            json!({ "i": { "engagementId": e, "metric": "gmv", "weight": "1", "assignee": { "team": true } } }))
        .await["defineKpi"]["id"].clone();
    app.ok(&token, "mutation($i: SetTargetInput!) { setTarget(input: $i) { id } }",
        json!({ "i": { "engagementId": e, "kpiId": kpi, "periods": ["2026-05"], "threshold": "1", "target": "2", "reason": "test" } }))
        .await;
    let card = app
        .ok(
            &token,
            "query($id: UUID!) { engagement(id: $id) { scorecard(period: \"2026-05\") {
            kpis { actual } freshness { platform source completeThrough } } } }",
            json!({ "id": e }),
        )
        .await;
    let actual = Decimal::from_str(
        card["engagement"]["scorecard"]["kpis"][0]["actual"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(actual, d(2_625_850 + 8_950_636 + 3_994_127));
    let freshness = card["engagement"]["scorecard"]["freshness"]
        .as_array()
        .unwrap();
    assert!(
        freshness.iter().any(|f| f["platform"] == "rakuten"
            && f["source"] == "rakuten_rms"
            && f["completeThrough"] == "2026-05-07"),
        "{freshness:?}"
    );
}
on_both_backends!(every_fixture_imports_with_its_readme_figures);

async fn the_same_bytes_again_change_nothing_and_restatements_are_visible(app: TestApp) {
    let (e, token) = setup(&app).await;
    let csv = "date,platform,metric,value\n2026-05-01,amazon_jp,gmv,1000\n2026-05-02,amazon_jp,gmv,2000\n";
    let first = import(
        &app,
        &token,
        input(&e, "GENERIC_CSV", "amazon_jp"),
        "a.csv",
        csv.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(first["status"], "SUCCEEDED", "{first}");
    assert_eq!(first["observationsRecorded"], 2);
    let events = app.count("events").await;
    let again = import(
        &app,
        &token,
        input(&e, "GENERIC_CSV", "amazon_jp"),
        "a.csv",
        csv.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(again["status"], "SUCCEEDED");
    assert_eq!(again["alreadyImported"], true);
    assert_eq!(again["importId"], first["importId"]);
    assert_eq!(
        again["observationsRecorded"], 0,
        "a repeated file records nothing and says so: {again}"
    );
    assert_eq!(
        app.count("events").await,
        events,
        "a repeated file records nothing"
    );

    let restating = "date,platform,metric,value\n2026-05-02,amazon_jp,gmv,2500\n";
    let job = import(
        &app,
        &token,
        input(&e, "GENERIC_CSV", "amazon_jp"),
        "b.csv",
        restating.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(job["status"], "SUCCEEDED", "{job}");
    assert_eq!(job["observationsRestated"], 1);
    assert_eq!(
        total(&app, &token, &e, "gmv", "2026-05-01", "2026-05-31", false).await,
        d(3500)
    );
}
on_both_backends!(the_same_bytes_again_change_nothing_and_restatements_are_visible);

async fn bad_files_are_refused_whole_and_leave_nothing_behind(app: TestApp) {
    let (e, token) = setup(&app).await;
    // A month already recorded by hand: daily values on top of it would overlap.
    app.ok(&token, "mutation($i: RecordObservationInput!) { recordObservation(input: $i) { value } }",
        json!({ "i": { "engagementId": e, "metric": "sessions", "platform": "amazon_jp", "from": "2026-05-01", "to": "2026-05-31", "value": "100" } }))
        .await;
    let events = app.count("events").await;
    let observations = app.count("observations").await;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "duplicate",
            b"date,platform,metric,value\n2026-05-01,amazon_jp,gmv,1\n2026/05/01,amazon_jp,gmv,2\n"
                .to_vec(),
            "line 2 and line 3",
        ),
        (
            "bad date",
            b"date,platform,metric,value\n2026-05-01,amazon_jp,gmv,1\n2026-13-45,amazon_jp,gmv,2\n"
                .to_vec(),
            "2026-13-45",
        ),
        (
            "overlap",
            b"date,platform,metric,value\n2026-05-03,amazon_jp,sessions,7\n".to_vec(),
            "overlaps",
        ),
        ("empty", Vec::new(), "empty"),
        ("binary", vec![0u8, 159, 146, 150, 0, 1, 2, 3], "binary"),
    ];
    for (case, bytes, needle) in cases {
        let job = import(
            &app,
            &token,
            input(&e, "GENERIC_CSV", "amazon_jp"),
            "bad.csv",
            bytes,
        )
        .await;
        assert_eq!(job["status"], "FAILED", "{case}: {job}");
        let text = job.to_string();
        assert!(
            text.contains(needle),
            "{case}: expected `{needle}` in {text}"
        );
    }
    let mut ads = input(&e, "AMAZON_ADS_SP", "amazon_jp");
    ads["engagementId"] = json!(e);
    let usd = std::fs::read_to_string(fixture("amazon_ads_sp_search_term_en.utf8bom.csv"))
        .unwrap()
        .replace(",JPY,", ",USD,");
    let job = import(&app, &token, ads, "ads.csv", usd.into_bytes()).await;
    assert_eq!(job["status"], "FAILED", "{job}");
    assert!(job.to_string().contains("USD"), "{job}");
    assert_eq!(app.count("events").await, events, "nothing was recorded");
    assert_eq!(app.count("observations").await, observations);
    assert_eq!(app.count("import_staging").await, 0, "staging is emptied");
    assert_eq!(app.count("import_staging_keys").await, 0);
}
on_both_backends!(bad_files_are_refused_whole_and_leave_nothing_behind);

async fn one_pass_reports_every_problem_of_a_file(app: TestApp) {
    let (e, token) = setup(&app).await;
    // Line 3 has an invalid value; lines 2 and 4 are the same day in two formats.
    let csv = "date,platform,metric,value\n2026-05-01,amazon_jp,gmv,1000\n2026-05-02,amazon_jp,gmv,abc\n2026/05/01,amazon_jp,gmv,2000\n2026-05-03,amazon_jp,gmv,3000\n";
    let job = import(
        &app,
        &token,
        input(&e, "GENERIC_CSV", "amazon_jp"),
        "x.csv",
        csv.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(job["status"], "FAILED", "{job}");
    let problems = job["problems"].as_array().unwrap();
    let lines: Vec<u64> = problems
        .iter()
        .map(|p| p["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![3, 4], "both problems, in line order: {job}");
    assert_eq!(problems[0]["value"], "abc", "{job}");
    assert!(
        problems[1]["reason"]
            .as_str()
            .unwrap()
            .contains("line 2 and line 4"),
        "{job}"
    );
    // The counts agree with the list.
    assert_eq!(job["totalProblems"], 2, "{job}");
    assert_eq!(job["rowsInvalid"], 2, "{job}");
    assert_eq!(job["rowsRead"], 4, "{job}");
    let message = job["message"].as_str().unwrap();
    assert!(
        message.starts_with("2 problem(s) on 2 line(s)"),
        "{message}"
    );
    assert_eq!(app.count("import_staging").await, 0, "staging is emptied");

    // An overlap with recorded data and an invalid row are also reported together.
    app.ok(&token, "mutation($i: RecordObservationInput!) { recordObservation(input: $i) { value } }",
        json!({ "i": { "engagementId": e, "metric": "sessions", "platform": "amazon_jp", "from": "2026-05-01", "to": "2026-05-31", "value": "100" } }))
        .await;
    let csv = "date,platform,metric,value\n2026-05-03,amazon_jp,sessions,7\n2026-05-04,amazon_jp,gmvv,1\n";
    let job = import(
        &app,
        &token,
        input(&e, "GENERIC_CSV", "amazon_jp"),
        "y.csv",
        csv.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(job["status"], "FAILED", "{job}");
    assert_eq!(job["totalProblems"], 2, "{job}");
    let text = job["problems"].to_string();
    assert!(text.contains("overlaps") && text.contains("gmvv"), "{job}");
    // A file that cannot be read says so once.
    let job = import(
        &app,
        &token,
        input(&e, "GENERIC_CSV", "amazon_jp"),
        "empty.csv",
        Vec::new(),
    )
    .await;
    assert_eq!(
        job["message"], "the file is empty; nothing was recorded",
        "{job}"
    );
    assert_eq!(job["totalProblems"], 1, "{job}");
}
on_both_backends!(one_pass_reports_every_problem_of_a_file);

async fn foreign_money_is_imported_at_a_stated_rate_and_the_rate_is_recorded(app: TestApp) {
    let (e, token) = setup(&app).await;
    let usd = std::fs::read_to_string(fixture("amazon_ads_sp_search_term_en.utf8bom.csv"))
        .unwrap()
        .replace(",JPY,", ",USD,");
    let mut ads = input(&e, "AMAZON_ADS_SP", "amazon_jp");
    ads["conversion"] = json!({ "from": "USD", "rate": "151.20", "date": "2026-05-31",
                                "source": "MUFG TTM" });
    let job = import(&app, &token, ads, "ads-usd.csv", usd.clone().into_bytes()).await;
    assert_eq!(job["status"], "SUCCEEDED", "{job}");
    // Applied exactly: the fixture's ¥ figures, read as dollars, times 151.20.
    for (metric, expected) in [("ad_spend", 36_568), ("ad_sales", 173_520)] {
        assert_eq!(
            total(&app, &token, &e, metric, "2026-05-01", "2026-05-31", false).await,
            d(expected) * Decimal::from_str("151.20").unwrap(),
            "{metric}"
        );
    }
    assert_eq!(
        total(
            &app,
            &token,
            &e,
            "clicks",
            "2026-05-01",
            "2026-05-31",
            false
        )
        .await,
        d(856),
        "counts are not money"
    );
    let jobs = app
        .ok(
            &token,
            "query($id: UUID!) { engagement(id: $id) { imports { nodes {
                conversion { from to rate date source } } } } }",
            json!({ "id": e }),
        )
        .await;
    assert_eq!(
        jobs["engagement"]["imports"]["nodes"][0]["conversion"],
        json!({ "from": "USD", "to": "JPY", "rate": "151.2", "date": "2026-05-31",
                "source": "MUFG TTM" })
    );
    // The rate is recorded with the import, in the event log.
    let db = kpi_ledger::store::Db::connect(&app.database.url)
        .await
        .unwrap();
    let payload: String = kpi_ledger::on_db!(&db, pool => {
        sqlx::query_scalar(
            "SELECT CAST(payload AS TEXT) FROM events WHERE event_type = 'ImportStarted'",
        )
        .fetch_one(pool)
        .await
        .unwrap()
    });
    db.close().await;
    assert!(
        payload.contains("MUFG TTM") && payload.contains("151.2"),
        "{payload}"
    );
    // The same bytes at another rate are another import, restating the amounts.
    let mut ads = input(&e, "AMAZON_ADS_SP", "amazon_jp");
    ads["conversion"] = json!({ "from": "USD", "rate": "150", "date": "2026-06-01",
                                "source": "MUFG TTM" });
    let again = import(&app, &token, ads, "ads-usd.csv", usd.into_bytes()).await;
    assert_eq!(again["status"], "SUCCEEDED", "{again}");
    assert_eq!(again["alreadyImported"], false, "{again}");
    assert_eq!(
        total(
            &app,
            &token,
            &e,
            "ad_spend",
            "2026-05-01",
            "2026-05-31",
            false
        )
        .await,
        d(36_568 * 150)
    );
}
on_both_backends!(foreign_money_is_imported_at_a_stated_rate_and_the_rate_is_recorded);

async fn only_consultants_import(app: TestApp) {
    let (e, token) = setup(&app).await;
    app.ok(&token, ADD, json!({ "input": { "engagementId": e, "displayName": "Hiro", "email": "hiro@acme.example", "role": "CLIENT_OWNER" } })).await;
    let owner = app.token_for_email("hiro@acme.example").await;
    let operations = json!({ "query": IMPORT, "variables": { "input": input(&e, "GENERIC_CSV", "amazon_jp"), "file": null } });
    let form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({ "0": ["variables.file"] }).to_string())
        .part(
            "0",
            reqwest::multipart::Part::bytes(b"date,platform,metric,value\n".to_vec())
                .file_name("x.csv"),
        );
    let response: Value = reqwest::Client::new()
        .post(format!("{}/graphql", app.address))
        .bearer_auth(&owner)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        response["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{response}"
    );
}
on_both_backends!(only_consultants_import);

/// The CLI imports straight into the database and through a running server.
async fn the_cli_imports_directly_and_through_the_server(app: TestApp) {
    let (e, token) = setup(&app).await;
    let bin = env!("CARGO_BIN_EXE_kpi-ledger");
    let file = fixture("yahoo_scp_overall_kpi.utf8bom.csv");
    let url = app.database.url.clone();
    let run = move |args: Vec<String>| {
        let output = std::process::Command::new(bin)
            .args(args)
            .env_remove("KPI_LEDGER_SERVER")
            .env_remove("KPI_LEDGER_TOKEN")
            .output()
            .unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let direct = |file: &std::path::Path| {
        vec![
            "--database-url".to_string(),
            url.clone(),
            "import".into(),
            "--user".into(),
            "aiko@consultancy.example".into(),
            "--engagement".into(),
            e.clone(),
            "--format".into(),
            "yahoo_shopping".into(),
            "--platform".into(),
            "yahoo_shopping".into(),
            file.display().to_string(),
        ]
    };
    let (ok, stdout, stderr) = tokio::task::spawn_blocking({
        let args = direct(&file);
        move || run(args)
    })
    .await
    .unwrap();
    assert!(ok, "{stdout}\n{stderr}");
    assert!(stdout.contains("14 rows read"), "{stdout}");
    assert!(
        stdout.contains("watermark: yahoo_shopping complete through 2026-05-14"),
        "{stdout}"
    );
    let (ok, stdout, _) = tokio::task::spawn_blocking({
        let args = direct(&file);
        move || run(args)
    })
    .await
    .unwrap();
    assert!(ok);
    assert!(stdout.contains("already imported"), "{stdout}");
    // Command-line imports are jobs like any other.
    let jobs =
        app.ok(&token, JOBS, json!({ "id": e })).await["engagement"]["imports"]["nodes"].clone();
    let jobs = jobs.as_array().unwrap();
    assert_eq!(jobs.len(), 2, "{jobs:?}");
    assert!(
        jobs.iter()
            .all(|j| j["status"] == "SUCCEEDED" && !j["importId"].is_null()),
        "{jobs:?}"
    );
    assert_eq!(
        jobs.iter()
            .filter(|j| j["alreadyImported"] == true && j["observationsRecorded"] == 0)
            .count(),
        1,
        "{jobs:?}"
    );

    let rakuten = fixture("rakuten_rms_store_data_daily.utf8bom.csv");
    let args = vec![
        "import".to_string(),
        "--server".into(),
        app.address.clone(),
        "--token".into(),
        token.clone(),
        "--engagement".into(),
        e.clone(),
        "--format".into(),
        "rakuten_rms".into(),
        "--encoding".into(),
        "utf8".into(),
        "--platform".into(),
        "rakuten".into(),
        rakuten.display().to_string(),
    ];
    let (ok, stdout, stderr) = tokio::task::spawn_blocking(move || run(args))
        .await
        .unwrap();
    assert!(ok, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("7 rows read") || stdout.contains("rows read"),
        "{stdout}"
    );
    let gmv = total(&app, &token, &e, "gmv", "2026-05-01", "2026-05-31", false).await;
    assert_eq!(gmv, d(3_994_127 + 8_950_636));

    let bad = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        bad.path(),
        "日付,合算値売上合計値,合算値ページビュー\n2026-05-01,abc,1\n",
    )
    .unwrap();
    let (ok, _, stderr) = tokio::task::spawn_blocking({
        let args = direct(bad.path());
        move || run(args)
    })
    .await
    .unwrap();
    assert!(!ok);
    assert!(stderr.contains("line 2"), "{stderr}");
    assert!(
        !stderr.contains("import recorded"),
        "a refused import is not logged as recorded: {stderr}"
    );
    assert!(
        !stderr.contains("the file was refused"),
        "said once: {stderr}"
    );

    // A report that needs its range names the options of this command.
    let by_asin = fixture("amazon_business_report_child_ja.utf8bom.csv");
    let args = vec![
        "--database-url".to_string(),
        url.clone(),
        "import".into(),
        "--user".into(),
        "aiko@consultancy.example".into(),
        "--engagement".into(),
        e.clone(),
        "--format".into(),
        "amazon_business_report".into(),
        "--platform".into(),
        "amazon_jp".into(),
        by_asin.display().to_string(),
    ];
    let (ok, _, stderr) = tokio::task::spawn_blocking(move || run(args))
        .await
        .unwrap();
    assert!(!ok);
    assert!(stderr.contains("--from and --to"), "{stderr}");
    assert_eq!(
        stderr.matches("needs the range").count(),
        1,
        "said once: {stderr}"
    );

    // Staging rows an interrupted command left behind (no job owns them) are cleared by
    // the next command.
    let db = kpi_ledger::store::Db::connect(&url).await.unwrap();
    kpi_ledger::on_db!(&db, pool => {
        sqlx::query("INSERT INTO import_staging_keys (job_id, row_key, line) VALUES ($1, 'k', 2)")
            .bind(uuid::Uuid::new_v4().to_string())
            .execute(pool)
            .await
            .unwrap();
    });
    db.close().await;
    assert_eq!(app.count("import_staging_keys").await, 1);
    let (ok, _, _) = tokio::task::spawn_blocking({
        let args = direct(&file);
        move || run(args)
    })
    .await
    .unwrap();
    assert!(ok);
    assert_eq!(app.count("import_staging_keys").await, 0);
}
on_both_backends!(the_cli_imports_directly_and_through_the_server);

async fn rows_for_other_platforms_or_unknown_metrics_are_refused(app: TestApp) {
    let (e, token) = setup(&app).await;
    let csv = "date,platform,metric,value\n2026-05-01,amazon_jp,gmv,1000\n2026-05-01,shopee_jp,gmv,5\n2026-05-02,amazon_jp,gmvv,7\n";
    let job = import(
        &app,
        &token,
        input(&e, "GENERIC_CSV", "amazon_jp"),
        "x.csv",
        csv.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(job["status"], "FAILED", "{job}");
    assert_eq!(job["totalProblems"], 2, "{job}");
    let problems = job["problems"].as_array().unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p["line"] == 3 && p["column"] == "platform" && p["value"] == "shopee_jp"),
        "{job}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p["line"] == 4 && p["column"] == "metric" && p["value"] == "gmvv"),
        "{job}"
    );
}
on_both_backends!(rows_for_other_platforms_or_unknown_metrics_are_refused);

async fn imports_interrupted_by_a_stopped_server_are_cleaned_up_at_start(app: TestApp) {
    let (e, token) = setup(&app).await;
    let db = kpi_ledger::store::Db::connect(&app.database.url)
        .await
        .unwrap();
    let job = uuid::Uuid::new_v4().to_string();
    let long_ago = "2026-01-01T00:00:00.000Z";
    kpi_ledger::on_db!(&db, pool => {
        sqlx::query(
            "INSERT INTO import_jobs (job_id, engagement_id, requested_by, format, status,
                 bytes_total, bytes_read, rows_read, rows_invalid, created_at, updated_at)
             VALUES ($1, $2, 'x', 'generic_csv', 'reading', 10, 5, 1, 0, $3, $3)",
        )
        .bind(&job).bind(&e).bind(long_ago)
        .execute(pool).await.unwrap();
        sqlx::query("INSERT INTO import_staging_keys (job_id, row_key, line) VALUES ($1, 'k', 2)")
            .bind(&job).execute(pool).await.unwrap();
    });
    db.close().await;
    let app = app.restart().await;
    assert_eq!(app.count("import_staging_keys").await, 0);
    let jobs = app.ok(&token, JOBS, json!({ "id": e })).await;
    let found = &jobs["engagement"]["imports"]["nodes"][0];
    assert_eq!(found["status"], "FAILED");
    assert!(
        found["message"].as_str().unwrap().contains("interrupted"),
        "{found}"
    );
}
on_both_backends!(imports_interrupted_by_a_stopped_server_are_cleaned_up_at_start);

async fn uploads_over_the_limit_or_with_two_files_are_refused(app: TestApp) {
    let (e, token) = setup(&app).await;
    let mut app = app;
    app.stop().await;
    let database = std::mem::replace(
        &mut app.database,
        crate::helpers::TestDatabase::create(crate::helpers::Store::Sqlite)
            .await
            .unwrap(),
    );
    let small = TestApp::start_with_upload_limit(database, 1024).await;
    let send = |files: Vec<Vec<u8>>| {
        let operations = json!({ "query": IMPORT, "variables": { "input": input(&e, "GENERIC_CSV", "amazon_jp"), "file": null } });
        let map: serde_json::Map<String, Value> = (0..files.len())
            .map(|i| (i.to_string(), json!(["variables.file"])))
            .collect();
        let mut form = reqwest::multipart::Form::new()
            .text("operations", operations.to_string())
            .text("map", Value::Object(map).to_string());
        for (i, bytes) in files.into_iter().enumerate() {
            form = form.part(
                i.to_string(),
                reqwest::multipart::Part::bytes(bytes).file_name("x.csv"),
            );
        }
        reqwest::Client::new()
            .post(format!("{}/graphql", small.address))
            .bearer_auth(&token)
            .multipart(form)
            .send()
    };
    let big = send(vec![vec![b'a'; 4096]]).await.unwrap();
    assert_eq!(big.status(), 413, "a file over the limit");
    let two = send(vec![
        b"date,platform,metric,value\n".to_vec(),
        b"x".to_vec(),
    ])
    .await
    .unwrap();
    let status = two.status();
    let body = two.text().await.unwrap();
    assert!(status.is_client_error(), "two files: {status} {body}");
    // The operation itself is capped at 1 MiB, whatever the file limit.
    let huge_operation = json!({ "query": format!("# {}\n{IMPORT}", "x".repeat(2 << 20)),
                                 "variables": { "input": input(&e, "GENERIC_CSV", "amazon_jp"), "file": null } });
    let form = reqwest::multipart::Form::new()
        .text("operations", huge_operation.to_string())
        .text("map", json!({ "0": ["variables.file"] }).to_string())
        .part(
            "0",
            reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("x.csv"),
        );
    let response = reqwest::Client::new()
        .post(format!("{}/graphql", small.address))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413, "an oversized operations part");
    // A map naming the one file 50,000 times: refused as a bad request, not a 500.
    let operations = json!({ "query": IMPORT, "variables": { "input": input(&e, "GENERIC_CSV", "amazon_jp"), "file": null } });
    let paths: Vec<String> = (0..50_000).map(|_| "variables.file".to_string()).collect();
    let form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({ "0": paths }).to_string())
        .part(
            "0",
            reqwest::multipart::Part::bytes(b"date,platform,metric,value\n".to_vec())
                .file_name("x.csv"),
        );
    match reqwest::Client::new()
        .post(format!("{}/graphql", small.address))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
    {
        Ok(response) => assert_eq!(response.status(), 400, "a map of 50,000 entries"),
        Err(error) => assert!(error.is_request(), "{error}"),
    }
    // Many stray parts: refused too.
    let mut form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({ "0": ["variables.file"] }).to_string());
    for i in 0..100 {
        form = form.text(format!("stray{i}"), "x");
    }
    // The server answers 400 as soon as it has read too many parts; a client still
    // sending the rest may see the connection closed instead. Either is a refusal.
    match reqwest::Client::new()
        .post(format!("{}/graphql", small.address))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
    {
        Ok(response) => assert_eq!(response.status(), 400, "a hundred stray parts"),
        Err(error) => assert!(error.is_request(), "{error}"),
    }
    assert_eq!(small.count("import_jobs").await, 0);
}
on_both_backends!(uploads_over_the_limit_or_with_two_files_are_refused);

/// Bytes of an SQLite database: the file and its write-ahead log.
fn sqlite_bytes(url: &str) -> u64 {
    let path = url.trim_start_matches("sqlite://");
    let size = |p: String| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    size(path.to_string()) + size(format!("{path}-wal"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_large_import_gives_the_disk_back_on_sqlite() {
    let app = TestApp::spawn(crate::helpers::Store::Sqlite).await.unwrap();
    let (e, token) = setup(&app).await;
    // 30,000 good rows, then one bad one: all of it staged, then refused.
    let mut csv = String::from("date,platform,metric,value,scope\n");
    for i in 0..30_000u32 {
        csv.push_str(&format!("2026-05-01,amazon_jp,gmv,{i},SKU-{i:06}\n"));
    }
    csv.push_str("2026-05-02,amazon_jp,gmv,oops,SKU-000001\n");
    let before = sqlite_bytes(&app.database.url);
    let job = import(
        &app,
        &token,
        input(&e, "GENERIC_CSV", "amazon_jp"),
        "big.csv",
        csv.into_bytes(),
    )
    .await;
    assert_eq!(job["status"], "FAILED", "{job}");
    assert_eq!(job["totalProblems"], 1, "{job}");
    let after = sqlite_bytes(&app.database.url);
    assert!(
        after < before + 2 * 1024 * 1024,
        "the staged rows' space went back to the disk: {before} bytes before, {after} after"
    );
}

async fn an_upload_is_refused_before_its_bytes_unless_the_caller_may_import(app: TestApp) {
    let (e, consultant) = setup(&app).await;
    crate::engagements::add(
        &app,
        &consultant,
        &e,
        "Li Wei",
        "li.wei@acme.example",
        "MEMBER",
    )
    .await;
    let member = app.token_for_email("li.wei@acme.example").await;
    let outsider = app.user("ren@other.example", "Ren Kobayashi", true).await;
    let send = |token: String, engagement: Value| {
        let operations = json!({ "query": IMPORT, "variables": { "input": { "engagementId": engagement, "format": "GENERIC_CSV", "platform": "amazon_jp" }, "file": null } });
        let form = reqwest::multipart::Form::new()
            .text("operations", operations.to_string())
            .text("map", json!({ "0": ["variables.file"] }).to_string())
            .part(
                "0",
                reqwest::multipart::Part::bytes(vec![b'x'; 200_000]).file_name("x.csv"),
            );
        reqwest::Client::new()
            .post(format!("{}/graphql", app.address))
            .bearer_auth(token)
            .multipart(form)
            .send()
    };
    let cases = [
        ("a member", member.clone(), json!(e), 403),
        ("an outsider", outsider.clone(), json!(e), 404),
        ("no engagement", consultant.clone(), Value::Null, 404),
        (
            "an unknown engagement",
            consultant.clone(),
            json!(uuid::Uuid::new_v4()),
            404,
        ),
    ];
    for (who, token, engagement, expected) in cases {
        let response = send(token, engagement).await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, expected, "{who}: {body}");
        let code = if expected == 403 {
            "FORBIDDEN"
        } else {
            "NOT_FOUND"
        };
        assert_eq!(
            body["errors"][0]["extensions"]["code"], code,
            "{who}: {body}"
        );
    }
    assert_eq!(app.count("import_jobs").await, 0);
}
on_both_backends!(an_upload_is_refused_before_its_bytes_unless_the_caller_may_import);
