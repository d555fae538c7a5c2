//! Tamper evidence (SPEC §10) on both backends: edited, deleted and truncated events are
//! found and located by `kpi-ledger audit verify` and by the shipped Python verifier.

use crate::helpers::TestApp;
use crate::on_both_backends;
use kpi_ledger::store::Db;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_kpi-ledger");

/// Runs the binary on the test's database: (success, stdout, stderr).
pub(crate) async fn kpi(url: &str, args: &[&str]) -> (bool, String, String) {
    let mut all = vec!["--database-url".to_string(), url.to_string()];
    all.extend(args.iter().map(|a| a.to_string()));
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(BIN)
            .args(all)
            .env_remove("KPI_LEDGER_AUDIT_KEY_FILE")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The shipped verifier on an export of `engagement`: (success, output).
async fn python(url: &str, engagement: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().display().to_string();
    let (ok, out, err) = kpi(
        url,
        &[
            "audit",
            "export",
            "--engagement",
            engagement,
            "--out",
            &folder,
        ],
    )
    .await;
    assert!(ok, "export: {out}{err}");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/verify_audit.py");
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .args([script, &folder])
            .output()
            .expect("python3 runs")
    })
    .await
    .unwrap();
    drop(dir);
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

/// An engagement with some history: opened, a member, a KPI and a few targets.
async fn engagement(app: &TestApp, token: &str, name: &str) -> String {
    let id = crate::engagements::open(app, token, name).await;
    let kpi = app
        .ok(
            token,
            "mutation($i: DefineKpiInput!) { defineKpi(input: $i) { id } }",
            json!({ "i": { "engagementId": id, "metric": "gmv", "weight": "1",
                           "assignee": { "team": true } } }),
        )
        .await["defineKpi"]["id"]
        .clone();
    for (n, target) in ["100", "200", "300", "400"].iter().enumerate() {
        app.ok(
            token,
            "mutation($i: SetTargetInput!) { setTarget(input: $i) { id } }",
            json!({ "i": { "engagementId": id, "kpiId": kpi, "periods": ["2026-06"],
                           "threshold": "1", "target": target, "reason": format!("version {n}") } }),
        )
        .await;
    }
    id
}

/// Positions of an engagement's events, oldest first.
async fn positions(db: &Db, engagement: &str) -> Vec<i64> {
    kpi_ledger::on_db!(db, pool => {
        sqlx::query_scalar("SELECT position FROM event_chain WHERE chain = $1 ORDER BY position")
            .bind(engagement)
            .fetch_all(pool)
            .await
            .unwrap()
    })
}

/// Runs SQL on events with their protective triggers out of the way, as a database user
/// with the power to do so could.
async fn tamper(db: &Db, sql: &str, position: i64) {
    match db {
        Db::Postgres(pool) => {
            for table in ["events", "event_chain"] {
                sqlx::query(&format!("ALTER TABLE {table} DISABLE TRIGGER ALL"))
                    .execute(pool)
                    .await
                    .unwrap();
            }
            sqlx::query(sql).bind(position).execute(pool).await.unwrap();
            for table in ["events", "event_chain"] {
                sqlx::query(&format!("ALTER TABLE {table} ENABLE TRIGGER ALL"))
                    .execute(pool)
                    .await
                    .unwrap();
            }
        }
        Db::Sqlite(pool) => {
            for trigger in [
                "events_are_never_updated",
                "events_are_never_deleted",
                "event_chain_is_never_updated",
                "event_chain_is_never_deleted",
            ] {
                sqlx::query(&format!("DROP TRIGGER IF EXISTS {trigger}"))
                    .execute(pool)
                    .await
                    .unwrap();
            }
            sqlx::query(sql).bind(position).execute(pool).await.unwrap();
        }
    }
}

async fn tampering_is_found_and_located_by_the_server_and_by_an_auditor(app: TestApp) {
    let token = app
        .user("aiko@consultancy.example", "Aiko Sato", true)
        .await;
    let edited = engagement(&app, &token, "Edited").await;
    let deleted = engagement(&app, &token, "Deleted").await;
    let truncated = engagement(&app, &token, "Truncated").await;
    let untouched = engagement(&app, &token, "Untouched").await;
    let url = app.database.url.clone();

    // Intact: every chain verifies, and so does the auditor's script.
    let (ok, out, err) = kpi(&url, &["audit", "verify"]).await;
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("installation:"),
        "the installation chain too: {out}"
    );
    let (ok, out, err) = kpi(&url, &["audit", "checkpoint"]).await;
    assert!(ok, "{out}{err}");
    let checkpoint: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        checkpoint["heads"].as_array().unwrap().len(),
        5,
        "{checkpoint}"
    );
    let (ok, out) = python(&url, &untouched).await;
    assert!(ok && out.contains("VERIFIED"), "{out}");

    let db = Db::connect(&url).await.unwrap();
    // Edit one stored payload: the note of the reason given for a target (the text
    // itself is sealed in the vault; the event holds its id and digest).
    let edited_at = *positions(&db, &edited).await.last().unwrap();
    let edit = match &db {
        Db::Sqlite(_) => "UPDATE events SET payload = REPLACE(payload, 'digest', 'DIGEST') WHERE position = $1",
        Db::Postgres(_) => "UPDATE events SET payload = REPLACE(payload::text, 'digest', 'DIGEST')::json WHERE position = $1",
    };
    tamper(&db, edit, edited_at).await;
    // Delete one event in the middle of a chain.
    let deleted_at = positions(&db, &deleted).await[2];
    tamper(&db, "DELETE FROM events WHERE position = $1", deleted_at).await;
    // Delete the newest three events of a chain, links and all.
    let newest: Vec<i64> = positions(&db, &truncated)
        .await
        .into_iter()
        .rev()
        .take(3)
        .collect();
    for position in &newest {
        tamper(&db, "DELETE FROM events WHERE position = $1", *position).await;
        tamper(
            &db,
            "DELETE FROM event_chain WHERE position = $1",
            *position,
        )
        .await;
    }
    db.close().await;

    let check = |engagement: &str| {
        let url = url.clone();
        let engagement = engagement.to_string();
        async move { kpi(&url, &["audit", "verify", "--engagement", &engagement]).await }
    };
    let (ok, out, _) = check(&edited).await;
    assert!(!ok, "{out}");
    assert!(
        out.contains(&format!("the event at position {edited_at} was altered")),
        "{out}"
    );
    let (ok, out, _) = check(&deleted).await;
    assert!(!ok);
    assert!(
        out.contains(&format!("the event at position {deleted_at} was deleted")),
        "{out}"
    );
    let (ok, out, _) = check(&truncated).await;
    assert!(!ok);
    assert!(
        out.contains(&format!("reach position {}", newest[0]))
            && out.contains("newer events were deleted"),
        "found against the checkpoint: {out}"
    );
    let (ok, out, _) = check(&untouched).await;
    assert!(ok, "{out}");

    // The auditor's script finds the same, from the exports alone.
    let (ok, out) = python(&url, &edited).await;
    assert!(!ok, "{out}");
    assert!(
        out.contains(&format!("position {edited_at} was altered")),
        "{out}"
    );
    let (ok, out) = python(&url, &truncated).await;
    assert!(!ok, "{out}");
    assert!(out.contains("newer events were deleted"), "{out}");
    let (ok, out) = python(&url, &untouched).await;
    assert!(ok, "{out}");
}
on_both_backends!(tampering_is_found_and_located_by_the_server_and_by_an_auditor);

async fn a_client_viewer_verifies_their_engagement_and_gets_a_proof_naming_no_other(app: TestApp) {
    let (engagement, _, _, consultant) = crate::scoring::worked_example(&app).await;
    let other = crate::engagements::open(&app, &consultant, "Another client").await;
    crate::engagements::add(
        &app,
        &consultant,
        &engagement,
        "Mika Ito",
        "mika@acme.example",
        "CLIENT_VIEWER",
    )
    .await;
    let viewer = app.token_for_email("mika@acme.example").await;
    const VERIFY: &str = "query($id: UUID!) { auditVerification(engagementId: $id) {
        verified events headPosition problem { kind } checkpointId proof } }";
    let before =
        app.ok(&viewer, VERIFY, json!({ "id": engagement })).await["auditVerification"].clone();
    assert_eq!(before["verified"], true, "{before}");
    assert!(before["events"].as_u64().unwrap() > 10, "{before}");
    assert!(before["proof"].is_null(), "no checkpoint yet: {before}");

    let (ok, out, err) = kpi(&app.database.url, &["audit", "checkpoint"]).await;
    assert!(ok, "{out}{err}");
    let after =
        app.ok(&viewer, VERIFY, json!({ "id": engagement })).await["auditVerification"].clone();
    let proof = &after["proof"];
    assert_eq!(proof["head"]["chain"], engagement.as_str(), "{after}");
    assert_eq!(proof["head"]["position"], after["headPosition"]);
    let text = proof.to_string();
    assert!(
        !text.contains(&other),
        "the proof names no other engagement: {text}"
    );

    // A member may not read the audit trail; an outsider does not learn it exists.
    let li = app.token_for_email("li.wei@acme.example").await;
    assert_eq!(
        app.error_code(&li, VERIFY, json!({ "id": engagement }))
            .await,
        "FORBIDDEN"
    );
    let outsider = app.user("ken@elsewhere.example", "Ken Mori", true).await;
    assert_eq!(
        app.error_code(&outsider, VERIFY, json!({ "id": engagement }))
            .await,
        "NOT_FOUND"
    );
}
on_both_backends!(a_client_viewer_verifies_their_engagement_and_gets_a_proof_naming_no_other);
