//! Administrators on the command line: list accounts, change grants, revoke tokens,
//! invite people to the web app — on the database a running server uses.

use crate::helpers::TestApp;
use crate::on_both_backends;
use serde_json::json;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_kpi-ledger");

fn kpi(url: &str, args: &[&str]) -> String {
    let output = Command::new(BIN)
        .arg("--database-url")
        .arg(url)
        .args(args)
        .env_remove("KPI_LEDGER_JWT_SECRET")
        .output()
        .expect("run kpi-ledger");
    assert!(output.status.success(), "{args:?}: {output:?}");
    String::from_utf8(output.stdout).unwrap()
}

async fn administrators_list_grant_revoke_and_invite(app: TestApp) {
    let url = app.database.url.clone();
    kpi(
        &url,
        &[
            "user",
            "add",
            "--email",
            "ren@acme.example",
            "--name",
            "Ren Kobayashi",
        ],
    );
    let listed = kpi(&url, &["user", "list"]);
    assert!(
        listed.contains("ren@acme.example\tRen Kobayashi\t-"),
        "{listed}"
    );

    // Without the consultant grant, no engagement; with it, one.
    let open = "mutation { openEngagement(input: { name: \"X\", clientName: \"Y\", platforms: [\"rakuten\"] }) { id } }";
    let token = kpi(&url, &["token", "issue", "--user", "ren@acme.example"])
        .trim()
        .to_string();
    assert_eq!(app.error_code(&token, open, json!({})).await, "FORBIDDEN");
    let said = kpi(
        &url,
        &[
            "user",
            "grant",
            "--email",
            "ren@acme.example",
            "--consultant",
            "true",
        ],
    );
    assert_eq!(
        said.trim(),
        "ren@acme.example: consultant true, admin false"
    );
    app.ok(&token, open, json!({})).await;
    assert!(kpi(&url, &["user", "list"]).contains("ren@acme.example\tRen Kobayashi\tconsultant"));

    // Revoked: every token issued until now is refused; a later one works.
    kpi(&url, &["token", "revoke", "--user", "ren@acme.example"]);
    let refused = app
        .post(Some(&token), json!({ "query": "{ viewer { email } }" }))
        .await;
    assert_eq!(refused.status(), reqwest::StatusCode::UNAUTHORIZED);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let fresh = kpi(&url, &["token", "issue", "--user", "ren@acme.example"])
        .trim()
        .to_string();
    app.ok(&fresh, "{ viewer { email } }", json!({})).await;

    // Disabled: even a fresh token is refused; enabled again, it works.
    kpi(&url, &["user", "disable", "--email", "ren@acme.example"]);
    let disabled = app
        .post(Some(&fresh), json!({ "query": "{ viewer { email } }" }))
        .await;
    assert_eq!(disabled.status(), reqwest::StatusCode::UNAUTHORIZED);
    kpi(&url, &["user", "enable", "--email", "ren@acme.example"]);
    app.ok(&fresh, "{ viewer { email } }", json!({})).await;

    // An invitation link for the web app, on the address given.
    let link = kpi(
        &url,
        &[
            "user",
            "invite",
            "--email",
            "ren@acme.example",
            "--public-url",
            &app.address,
        ],
    );
    assert!(
        link.trim()
            .starts_with(&format!("{}/invitations/", app.address)),
        "{link}"
    );
    let page = reqwest::get(link.trim()).await.unwrap();
    assert_eq!(page.status(), reqwest::StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Ren Kobayashi"));

    // In the web app: a disabled account's session ends and its password is refused.
    let path = link.trim().trim_start_matches(&app.address).to_string();
    let mut browser = crate::web::Browser::new(&app);
    browser.accept_invitation(&path, "ren-password-1").await;
    assert_eq!(browser.get("/").await.status, reqwest::StatusCode::OK);
    kpi(&url, &["user", "disable", "--email", "ren@acme.example"]);
    assert_eq!(
        browser.get("/").await.status,
        reqwest::StatusCode::SEE_OTHER
    );
    let form = browser.get("/sign-in").await;
    let csrf = form.csrf();
    let refused = browser
        .post(
            "/sign-in",
            &[
                ("csrf", &csrf),
                ("email", "ren@acme.example"),
                ("password", "ren-password-1"),
            ],
        )
        .await;
    assert_eq!(refused.status, reqwest::StatusCode::UNAUTHORIZED);
}

on_both_backends!(administrators_list_grant_revoke_and_invite);
