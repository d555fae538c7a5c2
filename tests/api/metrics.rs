//! `/metrics`: off unless a token is configured, then only for that token; request
//! latencies per operation, command latencies per kind, imports' rows and time, error
//! codes, projector lag and pool use in Prometheus text.

use crate::helpers::{Store, TestApp, TestDatabase};
use serde_json::json;

const TOKEN: &str = "metrics-token-0123456789";

async fn metrics_are_served_only_with_the_configured_token(store: Store) {
    let Some(database) = TestDatabase::create(store).await else {
        return;
    };
    let app = TestApp::start_configured(
        database,
        kpi_ledger::http::DEFAULT_MAX_UPLOAD_BYTES,
        |app| app.with_metrics_token(Some(TOKEN.into())).unwrap(),
    )
    .await;
    let token = app
        .user("aiko@consultancy.example", "Aiko Sato", true)
        .await;
    let named = app
        .post(
            Some(&token),
            json!({ "query": "query Viewer { viewer { id } }", "operationName": "Viewer" }),
        )
        .await;
    assert_eq!(named.status(), 200);
    let refused = app
        .gql(
            &token,
            "{ engagement(id: \"00000000-0000-4000-8000-000000000000\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{refused}"
    );
    // Commands: one recorded, one refused, and an import of two rows.
    let engagement = crate::engagements::open(&app, &token, "Acme Home JP").await;
    let bad_currency = app
        .gql(
            &token,
            crate::engagements::OPEN,
            json!({ "input": { "name": "Other", "clientName": "Other K.K.", "currency": "XX" } }),
        )
        .await;
    assert!(bad_currency.get("errors").is_some(), "{bad_currency}");
    let job = crate::imports::import(
        &app,
        &token,
        json!({ "engagementId": engagement, "format": "GENERIC_CSV" }),
        "rows.csv",
        b"date,platform,metric,value\n2026-05-01,amazon_jp,gmv,1000\n2026-05-02,amazon_jp,gmv,2000\n"
            .to_vec(),
    )
    .await;
    assert_eq!(job["status"], "SUCCEEDED", "{job}");

    let client = reqwest::Client::new();
    let url = format!("{}/metrics", app.address);
    let anonymous = client.get(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let wrong = client
        .get(&url)
        .bearer_auth("metrics-token-wrong-value")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let text = client
        .get(&url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for expected in [
        "kpi_ledger_graphql_request_duration_seconds_count{operation=\"Viewer\"} 1",
        "kpi_ledger_graphql_request_duration_seconds_count{operation=\"anonymous\"}",
        "kpi_ledger_graphql_errors_total{code=\"NOT_FOUND\"} 1",
        "kpi_ledger_projection_lag_events ",
        "kpi_ledger_projection_lag_seconds ",
        "kpi_ledger_db_pool_connections ",
        "kpi_ledger_command_duration_seconds_count{command=\"openEngagement\",outcome=\"recorded\"} 1",
        "kpi_ledger_command_duration_seconds_count{command=\"openEngagement\",outcome=\"refused\"} 1",
        "kpi_ledger_command_duration_seconds_count{command=\"importMetrics\",outcome=\"recorded\"} 1",
        "kpi_ledger_command_conflict_retries_total ",
        "kpi_ledger_import_rows_total{outcome=\"recorded\"} 2",
        "kpi_ledger_import_duration_seconds_total{outcome=\"recorded\"} ",
        "kpi_ledger_imports_total{outcome=\"recorded\"} 1",
    ] {
        assert!(text.contains(expected), "{expected} in\n{text}");
    }
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_on_sqlite() {
    metrics_are_served_only_with_the_configured_token(Store::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_on_postgres() {
    metrics_are_served_only_with_the_configured_token(Store::Postgres).await;
}

/// Without a token the endpoint does not exist.
async fn metrics_are_off_by_default(app: TestApp) {
    let response = reqwest::get(format!("{}/metrics", app.address))
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}
crate::on_both_backends!(metrics_are_off_by_default);
