//! The least-privilege setup of docs/OPERATIONS.md on PostgreSQL: migrations as the
//! owner, the server as an application role that appends events but can neither change
//! nor remove them.

use crate::helpers::{Store, TestApp, TestDatabase};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_application_role_appends_events_but_cannot_rewrite_them() {
    let Some(owned) = TestDatabase::create(Store::Postgres).await else {
        return;
    };
    // Migrations as the owner.
    let context = kpi_ledger::app::Context::connect(&owned.url).await.unwrap();
    context.db.close().await;
    let role = format!("kpi_app_{}", uuid::Uuid::new_v4().simple());
    let owner = sqlx::PgPool::connect(&owned.url).await.unwrap();
    sqlx::raw_sql(&format!("CREATE ROLE {role} LOGIN"))
        .execute(&owner)
        .await
        .unwrap();
    let script = include_str!("../../scripts/postgres-roles.sql").replace("kpi_app", &role);
    sqlx::raw_sql(&script).execute(&owner).await.unwrap();

    // The server as the application role: it starts (no migration pending) and works.
    let (before_at, after_at) = owned.url.split_once("://").unwrap();
    let host_and_db = after_at
        .split_once('@')
        .map(|(_, rest)| rest)
        .unwrap_or(after_at);
    let app_url = format!("{before_at}://{role}@{host_and_db}");
    let app = TestApp::start(TestDatabase::shared(&app_url)).await;
    let token = app
        .user("aiko@consultancy.example", "Aiko Sato", true)
        .await;
    let engagement = crate::engagements::open(&app, &token, "Acme Home JP").await;
    app.ok(
        &token,
        "mutation($i: RecordObservationInput!) { recordObservation(input: $i) { value } }",
        json!({ "i": { "engagementId": engagement, "metric": "gmv", "platform": "amazon_jp",
                       "date": "2026-06-01", "value": "100" } }),
    )
    .await;

    // What it may not do to the log, each refused by the database.
    let as_app = sqlx::PgPool::connect(&app_url).await.unwrap();
    for statement in [
        "UPDATE events SET payload = payload",
        "DELETE FROM events",
        "TRUNCATE events",
        "ALTER TABLE events DISABLE TRIGGER ALL",
        "DELETE FROM event_chain",
        "UPDATE audit_checkpoints SET signature = signature",
        "DELETE FROM _sqlx_migrations",
    ] {
        let error = sqlx::raw_sql(statement)
            .execute(&as_app)
            .await
            .expect_err(statement);
        let text = error.to_string();
        assert!(
            text.contains("permission denied") || text.contains("must be owner"),
            "{statement}: {text}"
        );
    }
    as_app.close().await;
    let mut app = app;
    app.stop().await;
    // Leave no role behind.
    sqlx::raw_sql(&format!("DROP OWNED BY {role}; DROP ROLE {role}"))
        .execute(&owner)
        .await
        .unwrap();
    owner.close().await;
    drop(owned);
}

async fn an_edited_migration_is_refused_at_start(app: TestApp) {
    let mut app = app;
    app.stop().await;
    let db = kpi_ledger::store::Db::connect(&app.database.url)
        .await
        .unwrap();
    kpi_ledger::on_db!(&db, pool => {
        sqlx::query("UPDATE _sqlx_migrations SET checksum = $1 WHERE version = 1")
            .bind(vec![0u8; 48])
            .execute(pool)
            .await
            .unwrap();
    });
    db.close().await;
    let error = kpi_ledger::app::Context::connect(&app.database.url)
        .await
        .err()
        .expect("an edited migration stops the start");
    let text = format!("{error:#}");
    assert!(text.contains("migration 1"), "{text}");
}
crate::on_both_backends!(an_edited_migration_is_refused_at_start);
