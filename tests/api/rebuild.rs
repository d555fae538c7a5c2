//! `kpi-ledger projections rebuild`: read models rebuilt into shadow tables and swapped in
//! while the server serves — readers never see a half-built table, the rebuilt models
//! answer every query exactly as the incremental ones did, and commands that arrive during
//! a rebuild (through a second server) are neither skipped nor applied twice.

use crate::helpers::{TestApp, TestDatabase};
use crate::on_both_backends;
use kpi_ledger::app::Context;
use kpi_ledger::auth::AuthSettings;
use kpi_ledger::demo::{seed, DemoTokens};
use serde_json::{json, Value};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_kpi-ledger");

const ENGAGEMENTS: &str = "{ engagements(first: 50) { totalCount nodes { id name } } }";

/// Everything the read models answer about one engagement, as a consultant sees it.
const ENGAGEMENT: &str = r#"
query($id: UUID!) {
  engagement(id: $id) {
    id name clientName market timeZone fiscalYearStartMonth currency platforms status
    openedAt viewerRole
    metrics { key }
    members(includeFormer: true, first: 100) {
      totalCount
      nodes { id role position activeFrom activeUntil pseudonym displayName email erased }
    }
    kpis(includeRetired: true) {
      id name metric platform scope weight direction thresholdScore stretchScore gate
      gateMinScore retiredFrom definedAt
      targets { period threshold target stretch }
    }
    reviews {
      id period status version
      locks { version snapshotPosition lockedAt reopenedAt }
      signatures { role signedAt signedByPerson { display } }
      awaitingSignOffFrom
      entries(first: 100) { nodes { position kind sentence recordedAt } }
    }
    incentivePlans { id name version approved approvedBy period teamWeight
      curve { score payoutPct } participants { memberId targetBonus } }
    payouts(first: 100) {
      totalCount
      nodes { id memberId period status amount targetBonus individualScore teamScore
        teamWeight score payoutPct gatesPassed activeDays }
    }
    imports(first: 100) { totalCount nodes { id status fileName rowsRead observationsRecorded observationsRestated } }
    auditLog(first: 100) { edges { cursor node { position kind actor { display } sentence } } }
  }
}"#;

const TARGET_HISTORY: &str = r#"
query($id: UUID!, $kpi: UUID!) {
  engagement(id: $id) {
    targetHistory(kpiId: $kpi, first: 100) {
      totalCount
      nodes { period before { target } after { threshold target stretch } reason changedBy recordedAt position }
    }
  }
}"#;

const OBSERVATIONS: &str = r#"
query($id: UUID!, $metric: String!) {
  engagement(id: $id) {
    observations(metric: $metric, from: "2025-01-01", to: "2027-12-31", first: 100) {
      totalCount
      nodes { platform scope from to value source recordedAt position }
    }
  }
}"#;

const SCORECARD: &str = r#"
query($id: UUID!, $period: Period!, $member: UUID) {
  engagement(id: $id) {
    scorecard(period: $period, memberId: $member) {
      period startDate endDate memberId score scoreDisplay complete missing
      kpis { kpi { id } status actual score weight weightedScore target { target } } freshness { platform }
    }
  }
}"#;

const MEMBER_CARD: &str = r#"
{ engagements(first: 5) { nodes { id members(first: 5) { nodes { id } }
    payouts(first: 20) { nodes { id amount score } } } } }"#;

/// Every answer of the battery, in a fixed order.
async fn battery(app: &TestApp, tokens: &DemoTokens) -> Vec<Value> {
    let mut answers = Vec::new();
    let engagements = app.ok(&tokens.consultant, ENGAGEMENTS, json!({})).await;
    answers.push(engagements.clone());
    for engagement in engagements["engagements"]["nodes"].as_array().unwrap() {
        let id = engagement["id"].clone();
        let whole = app
            .ok(&tokens.consultant, ENGAGEMENT, json!({ "id": id }))
            .await;
        let e = &whole["engagement"];
        for kpi in e["kpis"].as_array().unwrap() {
            answers.push(
                app.ok(
                    &tokens.consultant,
                    TARGET_HISTORY,
                    json!({ "id": id, "kpi": kpi["id"] }),
                )
                .await,
            );
            answers.push(
                app.ok(
                    &tokens.consultant,
                    OBSERVATIONS,
                    json!({ "id": id, "metric": kpi["metric"] }),
                )
                .await,
            );
        }
        for period in [
            "2026-04", "2026-05", "2026-06", "2026-Q2", "2026-W23", "FY2026",
        ] {
            answers.push(
                app.ok(
                    &tokens.consultant,
                    SCORECARD,
                    json!({ "id": id, "period": period }),
                )
                .await,
            );
            for member in e["members"]["nodes"].as_array().unwrap() {
                if member["role"] == "MEMBER" {
                    answers.push(
                        app.ok(
                            &tokens.consultant,
                            SCORECARD,
                            json!({ "id": id, "period": period, "member": member["id"] }),
                        )
                        .await,
                    );
                }
            }
        }
        answers.push(whole);
        answers.push(
            app.ok(&tokens.client_owner, ENGAGEMENT, json!({ "id": id }))
                .await,
        );
    }
    answers.push(app.ok(&tokens.member, MEMBER_CARD, json!({})).await);
    answers
}

fn rebuild_with_the_binary(url: &str, only: Option<&str>) -> std::process::Child {
    let mut command = Command::new(BIN);
    command
        .args(["projections", "rebuild"])
        .arg("--database-url")
        .arg(url)
        .env_remove("DATABASE_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    if let Some(only) = only {
        command.args(["--only", only]);
    }
    command.spawn().expect("run kpi-ledger projections rebuild")
}

/// Every row of every read-model table, as sorted text.
async fn dump(url: &str) -> Vec<String> {
    let db = kpi_ledger::store::Db::connect(url).await.unwrap();
    let mut rows = Vec::new();
    for model in kpi_ledger::read_models::ALL {
        for table in model.tables {
            let mut these: Vec<String> = kpi_ledger::on_db!(&db, pool => {
                let columns: Vec<String> = match db.backend() {
                    kpi_ledger::store::Backend::Postgres => sqlx::query_scalar(
                        "SELECT column_name::text FROM information_schema.columns
                          WHERE table_name = $1 ORDER BY ordinal_position",
                    )
                    .bind(*table)
                    .fetch_all(pool)
                    .await
                    .unwrap(),
                    kpi_ledger::store::Backend::Sqlite => sqlx::query_scalar(
                        "SELECT name FROM pragma_table_info($1) ORDER BY cid",
                    )
                    .bind(*table)
                    .fetch_all(pool)
                    .await
                    .unwrap(),
                };
                assert!(!columns.is_empty(), "{table} has columns");
                let text = columns
                    .iter()
                    .map(|c| format!("COALESCE(CAST({c} AS TEXT), '∅')"))
                    .collect::<Vec<_>>()
                    .join(" || '|' || ");
                sqlx::query_scalar(&format!("SELECT '{table}:' || {text} FROM {table}"))
                    .fetch_all(pool)
                    .await
                    .unwrap()
            });
            rows.append(&mut these);
        }
    }
    db.close().await;
    rows.sort();
    rows
}

async fn a_rebuild_answers_every_query_as_before_and_never_shows_half_a_table(app: TestApp) {
    let context = Context::connect(&app.database.url).await.unwrap();
    let tokens = seed(&context, &AuthSettings::default()).await.unwrap();
    context.db.close().await;
    let before = battery(&app, &tokens).await;
    assert!(
        before.len() > 20,
        "the battery covers the demo: {}",
        before.len()
    );
    let rows_before = dump(&app.database.url).await;

    // Rebuild every read model with the binary while this server answers the battery
    // again and again: each answer is whole, as before.
    let mut child = rebuild_with_the_binary(&app.database.url, None);
    let mut rounds = 0;
    loop {
        let during = battery(&app, &tokens).await;
        assert_eq!(during, before, "answered during a rebuild (round {rounds})");
        rounds += 1;
        eprintln!("battery round {rounds} during the rebuild");
        if child.try_wait().unwrap().is_some() {
            break;
        }
    }
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(
        said.starts_with("rebuilt every read model through position "),
        "{said}"
    );

    assert_eq!(
        battery(&app, &tokens).await,
        before,
        "answered after the rebuild"
    );
    assert_eq!(
        dump(&app.database.url).await,
        rows_before,
        "the rebuilt tables hold exactly the incremental rows"
    );

    // One read model alone; an unknown one is named.
    let output = rebuild_with_the_binary(&app.database.url, Some("kpis"))
        .wait_with_output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(battery(&app, &tokens).await, before);
    let output = rebuild_with_the_binary(&app.database.url, Some("scorecards"))
        .wait_with_output()
        .unwrap();
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        said.contains("scorecards") && said.contains("observations"),
        "names the unknown read model and the known ones: {said}"
    );

    let listed = Command::new(BIN)
        .args(["projections", "list", "--database-url", &app.database.url])
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(listed.status.success(), "{listed:?}");
    let listed = String::from_utf8_lossy(&listed.stdout);
    for model in kpi_ledger::read_models::ALL {
        assert!(listed.contains(model.name), "{listed}");
    }
}
on_both_backends!(a_rebuild_answers_every_query_as_before_and_never_shows_half_a_table);

async fn commands_during_a_rebuild_are_neither_skipped_nor_applied_twice(app: TestApp) {
    let context = Context::connect(&app.database.url).await.unwrap();
    let tokens = seed(&context, &AuthSettings::default()).await.unwrap();
    context.db.close().await;
    // A second server on the same database takes the commands.
    let second = TestApp::start(TestDatabase::shared(&app.database.url)).await;
    let engagements = app.ok(&tokens.consultant, ENGAGEMENTS, json!({})).await;
    let id = engagements["engagements"]["nodes"][0]["id"].clone();
    let whole = app
        .ok(&tokens.consultant, ENGAGEMENT, json!({ "id": id }))
        .await;
    let kpi = whole["engagement"]["kpis"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["direction"] == "HIGHER")
        .expect("a KPI where higher is better")
        .clone();

    let writer = {
        let token = tokens.consultant.clone();
        let id = id.clone();
        let kpi_id = kpi["id"].clone();
        let address = second.address.clone();
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            for day in 1..=28 {
                let answer: Value = client
                    .post(format!("{address}/graphql"))
                    .bearer_auth(&token)
                    .json(&json!({
                        "query": "mutation($i: SetTargetInput!) { setTarget(input: $i) { id } }",
                        "variables": { "i": {
                            "engagementId": id, "kpiId": kpi_id, "periods": ["2026-09"],
                            "threshold": format!("{day}"), "target": format!("{}", day + 10),
                            "stretch": format!("{}", day + 20),
                            "reason": format!("revision {day} during a rebuild") } }
                    }))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                assert!(answer.get("errors").is_none(), "{answer}");
            }
        })
    };
    let projector = kpi_ledger::projector::Projector::new(
        kpi_ledger::store::Db::connect(&app.database.url)
            .await
            .unwrap(),
    );
    for _ in 0..3 {
        projector.rebuild(None).await.unwrap();
    }
    writer.await.unwrap();
    projector.catch_up().await.unwrap();
    let history = app
        .ok(
            &tokens.consultant,
            TARGET_HISTORY,
            json!({ "id": id, "kpi": kpi["id"] }),
        )
        .await;
    let revisions = history["engagement"]["targetHistory"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["reason"].as_str().unwrap().ends_with("during a rebuild"))
        .count();
    assert_eq!(revisions, 28, "every revision once: {history}");

    // The incremental result equals a rebuild from scratch, row for row.
    let incremental = dump(&app.database.url).await;
    projector.rebuild(None).await.unwrap();
    assert_eq!(dump(&app.database.url).await, incremental);
    drop(second);
}
on_both_backends!(commands_during_a_rebuild_are_neither_skipped_nor_applied_twice);
