use crate::engagements::{open, ADD, DETAIL, STATUS};
use crate::helpers::TestApp;
use crate::on_both_backends;
use futures::future::join_all;
use serde_json::json;

async fn concurrent_commands_on_one_engagement_lose_nothing(app: TestApp) {
    let consultant = app
        .user("aiko@consultancy.example", "Aiko Sato", true)
        .await;
    let id = open(&app, &consultant, "Acme Home JP").await;

    let results = join_all((0..8).map(|n| {
        let app = &app;
        let consultant = &consultant;
        let id = &id;
        async move {
            app.gql(
                consultant,
                ADD,
                json!({ "input": { "engagementId": id, "displayName": format!("Staff {n}"),
                                   "email": format!("staff{n}@acme.example"), "role": "MEMBER" } }),
            )
            .await
        }
    }))
    .await;
    let mut succeeded = 0;
    for body in &results {
        match body.get("errors") {
            None => succeeded += 1,
            Some(errors) => assert_eq!(errors[0]["extensions"]["code"], "CONFLICT", "{body}"),
        }
    }
    assert!(succeeded >= 1);
    let detail = app.ok(&consultant, DETAIL, json!({ "id": id })).await;
    let members = detail["engagement"]["members"]["nodes"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(
        members,
        1 + succeeded,
        "every success, and only those, is recorded"
    );

    // Racing status changes: exactly one moves the engagement, the others are refused.
    let results = join_all((0..5).map(|_| {
        let app = &app;
        let consultant = &consultant;
        let id = &id;
        async move {
            app.gql(consultant, STATUS, json!({ "id": id, "status": "TRIAL" }))
                .await
        }
    }))
    .await;
    let winners = results.iter().filter(|b| b.get("errors").is_none()).count();
    assert_eq!(winners, 1, "{results:?}");
    for body in results.iter().filter(|b| b.get("errors").is_some()) {
        let code = body["errors"][0]["extensions"]["code"].as_str().unwrap();
        assert!(code == "INVALID_TRANSITION" || code == "CONFLICT", "{body}");
    }
}
on_both_backends!(concurrent_commands_on_one_engagement_lose_nothing);

/// A transaction that holds the append lock (an operator's stray session, a stuck
/// migration) does not stall commands for ever: they give up after the lock timeout with
/// CONFLICT "busy, retry", and reads go on meanwhile. PostgreSQL only: SQLite has one
/// writer and a busy timeout of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_append_lock_makes_commands_busy_not_stuck() {
    let Some(app) = TestApp::spawn(crate::helpers::Store::Postgres).await else {
        return;
    };
    let token = app
        .user("aiko@consultancy.example", "Aiko Sato", true)
        .await;
    let engagement = crate::engagements::open(&app, &token, "Acme Home JP").await;
    let url = app.database.url.clone();
    let (held, release) = tokio::sync::oneshot::channel::<()>();
    let (locked_tx, locked) = tokio::sync::oneshot::channel::<()>();
    let holder = tokio::spawn(async move {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        let mut tx = pool.begin().await.unwrap();
        sqlx::query("SELECT pg_advisory_xact_lock(7305810240)")
            .execute(&mut *tx)
            .await
            .unwrap();
        let _ = locked_tx.send(());
        let _ = release.await;
        tx.rollback().await.unwrap();
    });
    locked.await.unwrap();
    let started = std::time::Instant::now();
    let record = "mutation($i: RecordObservationInput!) { recordObservation(input: $i) { value } }";
    let input = json!({ "i": { "engagementId": engagement, "metric": "gmv", "platform": "amazon_jp",
                               "date": "2026-06-01", "value": "100" } });
    let busy = app.gql(&token, record, input.clone()).await;
    assert_eq!(
        busy["errors"][0]["extensions"]["code"], "CONFLICT",
        "{busy}"
    );
    assert!(
        busy["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("busy"),
        "{busy}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    // Reads answer while the lock is held.
    app.ok(&token, "{ viewer { email } }", json!({})).await;
    // Twenty commands waiting behind the lock hold at most the pool's write slots: reads
    // still answer and /readyz says ready.
    let waiting: Vec<_> = (0..20)
        .map(|_| {
            let (app_token, input) = (token.clone(), input.clone());
            let address = app.address.clone();
            tokio::spawn(async move {
                reqwest::Client::new()
                    .post(format!("{address}/graphql"))
                    .bearer_auth(app_token)
                    .json(&json!({ "query": record, "variables": input }))
                    .send()
                    .await
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let read_started = std::time::Instant::now();
    app.ok(&token, "{ viewer { email } }", json!({})).await;
    let read_took = read_started.elapsed();
    let ready = reqwest::get(format!("{}/readyz", app.address))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200, "{}", ready.text().await.unwrap());
    eprintln!("a read while twenty commands wait behind the lock: {read_took:?}");
    for command in join_all(waiting).await {
        let answer: serde_json::Value = command.unwrap().unwrap().json().await.unwrap();
        assert_eq!(
            answer["errors"][0]["extensions"]["code"], "CONFLICT",
            "{answer}"
        );
    }
    let ready = reqwest::get(format!("{}/readyz", app.address))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let _ = held.send(());
    holder.await.unwrap();
    app.ok(&token, record, input).await;
}
