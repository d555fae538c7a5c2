//! Tokens and keys (SPEC §13, issue "Security" item 4): one token revoked by its id while
//! the user's others keep working, signing keys rotated without restarting the server,
//! and every key the database holds stored wrapped by the key file.

use crate::audit::kpi;
use crate::helpers::TestApp;
use crate::on_both_backends;
use kpi_ledger::store::Db;
use serde_json::json;
use std::time::Duration;

const VIEWER: &str = "{ viewer { id } }";

async fn status(app: &TestApp, token: &str) -> u16 {
    app.post(Some(token), json!({ "query": VIEWER }))
        .await
        .status()
        .as_u16()
}

/// Waits (a few seconds at most) until `token` gets `expected`.
async fn eventually(app: &TestApp, token: &str, expected: u16) -> u16 {
    let mut got = 0;
    for _ in 0..50 {
        got = status(app, token).await;
        if got == expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    got
}

async fn one_token_is_revoked_and_keys_rotate_while_the_server_runs(app: TestApp) {
    let first = app
        .user("aiko@consultancy.example", "Aiko Sato", true)
        .await;
    let second = app.token_for_email("aiko@consultancy.example").await;
    assert_eq!(status(&app, &first).await, 200);

    // One token, given whole: refused within a second or two; the user's other works.
    let (ok, out, err) = kpi(&app.database.url, &["token", "revoke", "--token", &first]).await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("is revoked"), "{out}");
    assert_eq!(eventually(&app, &first, 401).await, 401);
    assert_eq!(status(&app, &second).await, 200);

    // A new signing key: tokens it signs work on the running server at once, and tokens
    // of the old key keep working until they expire.
    let (ok, out, err) = kpi(&app.database.url, &["token", "rotate-key"]).await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("new signing key jwt_hs256:"), "{out}");
    let (ok, token, err) = kpi(
        &app.database.url,
        &[
            "token",
            "issue",
            "--user",
            "aiko@consultancy.example",
            "--ttl",
            "1h",
        ],
    )
    .await;
    assert!(ok, "{err}");
    assert!(err.contains("token id "), "{err}");
    let rotated = token.trim();
    assert_eq!(status(&app, rotated).await, 200);
    assert_eq!(status(&app, &second).await, 200);
    // …and one of them revoked by id.
    let id = err
        .split("token id ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .to_string();
    let (ok, out, err) = kpi(&app.database.url, &["token", "revoke", "--token-id", &id]).await;
    assert!(ok, "{out}{err}");
    assert_eq!(eventually(&app, rotated, 401).await, 401);
    assert_eq!(status(&app, &second).await, 200);

    // At rest: every key the database holds is wrapped (a bare key is 32 bytes).
    let db = Db::connect(&app.database.url).await.unwrap();
    let keys: Vec<Vec<u8>> = kpi_ledger::on_db!(&db, pool => sqlx::query_scalar(
        "SELECT secret FROM installation_secrets UNION ALL SELECT key FROM member_keys")
        .fetch_all(pool).await.unwrap());
    assert!(keys.len() >= 3, "{}", keys.len());
    assert!(keys.iter().all(|k| k.len() > 32), "a key stored bare");
    db.close().await;

    // Another key file does not open this database's keys: the server refuses to start.
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.key");
    let url = app.database.url.clone();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_kpi-ledger"))
            .args(["--database-url", &url, "user", "list"])
            .env("KPI_LEDGER_KEY_FILE", &other)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(said.contains("is not the key"), "{said}");
}
on_both_backends!(one_token_is_revoked_and_keys_rotate_while_the_server_runs);

/// An installation from before the key file: its bare keys are wrapped on the first start,
/// and tokens signed before keep working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_stored_bare_are_wrapped_on_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/kpi.db", dir.path().display());
    let context = kpi_ledger::app::Context::connect(&url).await.unwrap();
    let bare = [9u8; 32];
    kpi_ledger::on_db!(&context.db, pool => {
        sqlx::query("UPDATE installation_secrets SET secret = $1 WHERE name = 'jwt_hs256'")
            .bind(bare.to_vec())
            .execute(pool)
            .await
            .unwrap();
    });
    context.db.close().await;

    let context = kpi_ledger::app::Context::connect(&url).await.unwrap();
    let stored: Vec<u8> = kpi_ledger::on_db!(&context.db, pool => sqlx::query_scalar(
        "SELECT secret FROM installation_secrets WHERE name = 'jwt_hs256'")
        .fetch_one(pool).await.unwrap());
    assert!(stored.len() > 32, "wrapped");
    let (_, key, _) = context
        .keyring
        .secrets(&context.db, "jwt_hs256")
        .await
        .unwrap()
        .remove(0);
    assert_eq!(key, bare.to_vec());
    context.db.close().await;
}

/// Accounts stored before emails and names were sealed: sealed on the next start, found
/// by email as before, and nothing of them left in plaintext in their row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_accounts_are_sealed_on_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/kpi.db", dir.path().display());
    let context = kpi_ledger::app::Context::connect(&url).await.unwrap();
    kpi_ledger::on_db!(&context.db, pool => {
        sqlx::query(
            "INSERT INTO user_accounts (user_id, email_index, display_name, created_at)
             VALUES ('6a1c2a36-1f0e-4d8e-9f7e-0d6c3b1e2f40', 'old@acme.example', 'Old Name',
                     '2026-01-01T00:00:00.000Z')",
        )
        .execute(pool)
        .await
        .unwrap();
    });
    context.db.close().await;

    let context = kpi_ledger::app::Context::connect(&url).await.unwrap();
    let account = context
        .services
        .accounts()
        .by_email("Old@Acme.example")
        .await
        .unwrap()
        .expect("found by its email");
    assert_eq!(account.display_name, "Old Name");
    assert_eq!(account.email, "old@acme.example");
    let row: (String, String) = kpi_ledger::on_db!(&context.db, pool => sqlx::query_as(
        "SELECT email_index, display_name FROM user_accounts").fetch_one(pool).await.unwrap());
    assert!(row.0.starts_with("hmac:") && row.1.is_empty(), "{row:?}");
    context.db.close().await;
}
