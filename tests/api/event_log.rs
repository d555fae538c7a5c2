use crate::engagements::{add, open, DETAIL, STATUS};
use crate::helpers::{Store, TestApp, TestDatabase};
use crate::on_both_backends;
use kpi_ledger::app::Context;
use kpi_ledger::on_db;
use kpi_ledger::store::Db;
use kpi_ledger_domain::metadata::CommandMetadata;
use kpi_ledger_domain::user::Grants;
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use uuid::Uuid;

async fn events_carry_global_order_metadata_and_no_personal_data(app: TestApp) {
    let consultant = app
        .user("aiko@consultancy.example", "Aiko Sato", true)
        .await;
    let id = open(&app, &consultant, "Acme Home JP").await;
    add(
        &app,
        &consultant,
        &id,
        "Li Wei",
        "li.wei@acme.example",
        "MEMBER",
    )
    .await;
    let correlation = Uuid::new_v4();
    let response = reqwest::Client::new()
        .post(format!("{}/graphql", app.address))
        .bearer_auth(&consultant)
        .header("x-correlation-id", correlation.to_string())
        .json(&json!({ "query": STATUS, "variables": { "id": id, "status": "TRIAL" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["x-correlation-id"],
        correlation.to_string().as_str()
    );

    let db = Db::connect(&app.database.url).await.unwrap();
    let events = kpi_ledger::store::events::events_after(&db, 0, 1000)
        .await
        .unwrap();
    assert!(events.len() >= 5);
    for pair in events.windows(2) {
        assert!(
            pair[0].position < pair[1].position,
            "positions strictly increase"
        );
        assert!(
            pair[0].recorded_at <= pair[1].recorded_at,
            "recorded-at never goes back"
        );
    }
    let last = events.last().unwrap();
    assert_eq!(last.event_type, "EngagementStatusChanged");
    assert_eq!(last.metadata["correlation_id"], correlation.to_string());
    // The reason, as free text that may name people, is sealed in the vault: the
    // metadata holds its note (id and digest), not the text.
    assert!(!last.metadata.contains_key("reason"), "{:?}", last.metadata);
    let note: serde_json::Value = serde_json::from_str(&last.metadata["reason_note"]).unwrap();
    assert!(note["sealed"]["id"]
        .as_str()
        .unwrap()
        .parse::<Uuid>()
        .is_ok());
    assert_eq!(note["sealed"]["digest"].as_str().unwrap().len(), 64);
    assert!(last.metadata["actor"].parse::<Uuid>().is_ok());

    // Names and emails never enter the log in plaintext.
    for event in &events {
        let stored = format!("{} {:?}", event.payload, event.metadata);
        for secret in [
            "Li Wei",
            "li.wei@acme.example",
            "Aiko Sato",
            "aiko@consultancy.example",
        ] {
            assert!(!stored.contains(secret), "{secret} leaked into {stored}");
        }
    }

    // Events are immutable.
    let update = on_db!(&db, pool => sqlx::query("UPDATE events SET event_type = 'x'").execute(pool).await.map(|_| ()));
    assert!(update.is_err(), "events must not be updatable");
    let delete =
        on_db!(&db, pool => sqlx::query("DELETE FROM events").execute(pool).await.map(|_| ()));
    assert!(delete.is_err(), "events must not be deletable");
    db.close().await;
}
on_both_backends!(events_carry_global_order_metadata_and_no_personal_data);

async fn read_models_rebuild_from_the_log_to_the_same_state(app: TestApp) {
    let consultant = app
        .user("aiko@consultancy.example", "Aiko Sato", true)
        .await;
    let id = open(&app, &consultant, "Acme Home JP").await;
    add(
        &app,
        &consultant,
        &id,
        "Li Wei",
        "li.wei@acme.example",
        "MEMBER",
    )
    .await;
    app.ok(&consultant, STATUS, json!({ "id": id, "status": "TRIAL" }))
        .await;
    open(&app, &consultant, "Second").await;
    let before = app.ok(&consultant, DETAIL, json!({ "id": id })).await;

    let context = Context::connect(&app.database.url).await.unwrap();
    let dump = |db: Db| async move {
        let mut out = Vec::new();
        for sql in [
            "SELECT engagement_id || name || status || opened_position || last_position FROM engagements ORDER BY engagement_id",
            "SELECT member_id || role || active_from || added_position FROM engagement_members ORDER BY member_id",
            "SELECT user_id || consultant || admin FROM users ORDER BY user_id",
        ] {
            let rows: Vec<String> = on_db!(&db, pool => sqlx::query_scalar(sql).fetch_all(pool).await.unwrap());
            out.push(rows);
        }
        out
    };
    let tables_before = dump(context.db.clone()).await;
    context.projector.rebuild(None).await.unwrap();
    let tables_after = dump(context.db.clone()).await;
    assert_eq!(tables_before, tables_after);
    assert!(!tables_after[0].is_empty());
    context.db.close().await;

    let after = app.ok(&consultant, DETAIL, json!({ "id": id })).await;
    assert_eq!(before, after);
}
on_both_backends!(read_models_rebuild_from_the_log_to_the_same_state);

/// Two servers append to one database while a reader polls the log: no reader may ever see
/// an event at a position below one it has already seen, unless it saw that one too.
async fn concurrent_writers_never_let_a_reader_skip_an_event(store: Store) {
    let Some(database) = TestDatabase::create(store).await else {
        return;
    };
    let first = Context::connect(&database.url).await.unwrap();
    let second = Context::connect(&database.url).await.unwrap();
    let done = Arc::new(AtomicBool::new(false));

    let reader_db = first.db.clone();
    let reader_done = done.clone();
    let reader = tokio::spawn(async move {
        let mut seen: BTreeSet<i64> = BTreeSet::new();
        let mut reads = 0;
        loop {
            let finished = reader_done.load(Ordering::SeqCst);
            let positions: Vec<i64> = on_db!(&reader_db, pool => {
                sqlx::query_scalar("SELECT position FROM events ORDER BY position")
                    .fetch_all(pool)
                    .await
                    .unwrap()
            });
            let high_water = seen.last().copied().unwrap_or(0);
            for p in &positions {
                assert!(
                    *p > high_water || seen.contains(p),
                    "position {p} appeared below {high_water} after it was read"
                );
            }
            seen.extend(positions);
            reads += 1;
            if finished {
                return (seen.len(), reads);
            }
        }
    });

    let writers = [first.services.clone(), second.services.clone()]
        .into_iter()
        .enumerate()
        .flat_map(|(server, services)| {
            (0..15).map(move |n| {
                let services = services.clone();
                tokio::spawn(async move {
                    let metadata = CommandMetadata::new(None, Uuid::new_v4());
                    services
                        .accounts()
                        .add(
                            &format!("user{server}-{n}@example.jp"),
                            "Writer",
                            Grants::default(),
                            &metadata,
                        )
                        .await
                        .unwrap();
                })
            })
        })
        .collect::<Vec<_>>();
    for writer in writers {
        writer.await.unwrap();
    }
    done.store(true, Ordering::SeqCst);
    let (events_seen, reads) = reader.await.unwrap();
    assert_eq!(events_seen, 30);
    assert!(reads >= 2);
    first.db.close().await;
    second.db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_never_let_a_reader_skip_an_event_on_sqlite() {
    concurrent_writers_never_let_a_reader_skip_an_event(Store::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_never_let_a_reader_skip_an_event_on_postgres() {
    concurrent_writers_never_let_a_reader_skip_an_event(Store::Postgres).await;
}

/// Appends an event in its 1.0 shape, as an older server stored it, bypassing the
/// current code's serialization: `(aggregate type, aggregate id, sequence)`.
async fn insert_old_event(
    db: &Db,
    (aggregate_type, aggregate_id, sequence): (&str, &str, i64),
    event_type: &str,
    payload: &str,
    metadata: &str,
) {
    let insert = "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type,
                      event_version, payload, metadata)
                  VALUES ($1, $2, $3, $4, '1.0', $5, $6)";
    let insert = match db {
        Db::Sqlite(_) => insert.to_string(),
        Db::Postgres(_) => insert.replace("$5, $6", "CAST($5 AS jsonb), CAST($6 AS jsonb)"),
    };
    on_db!(db, pool => {
        sqlx::query(&insert)
            .bind(aggregate_type)
            .bind(aggregate_id)
            .bind(sequence)
            .bind(event_type)
            .bind(payload)
            .bind(metadata)
            .execute(pool)
            .await
            .unwrap();
    });
}

/// An import batch stored in the 1.0 shape (an object per observation, before 2.0's
/// compact rows), inserted raw as an older server wrote it, reads as the current shape
/// everywhere: the projector, the replay behind `asOf`, and cqrs-es loading the series.
async fn an_event_stored_in_an_old_shape_is_read_projected_and_replayed_as_the_new(app: TestApp) {
    let consultant = app
        .user("aiko@consultancy.example", "Aiko Sato", true)
        .await;
    let engagement = open(&app, &consultant, "Acme Home JP").await;
    let kpi = app
        .ok(
            &consultant,
            "mutation($i: DefineKpiInput!) { defineKpi(input: $i) { id } }",
            json!({ "i": { "engagementId": engagement, "metric": "gmv", "weight": "1",
                           "assignee": { "team": true } } }),
        )
        .await["defineKpi"]["id"]
        .clone();
    app.ok(
        &consultant,
        "mutation($i: SetTargetInput!) { setTarget(input: $i) { id } }",
        json!({ "i": { "engagementId": engagement, "kpiId": kpi, "periods": ["2026-06"],
                       "threshold": "40000000", "target": "50000000", "stretch": "60000000",
                       "reason": "baseline" } }),
    )
    .await;
    let key = kpi_ledger_domain::series::SeriesKey {
        engagement_id: engagement.parse().unwrap(),
        metric: "gmv".into(),
        platform: "amazon_jp".into(),
        scope: None,
    };
    let payload = json!({ "ObservationsImported": {
        "key": key,
        "import_id": Uuid::new_v4(),
        "format": "generic_csv",
        "observations": [
            { "range": { "start": "2026-06-01", "end": "2026-06-15" }, "value": "30000000", "restates": null },
            { "range": { "start": "2026-06-16", "end": "2026-06-30" }, "value": "25000000", "restates": null }
        ] } })
    .to_string();
    let db = Db::connect(&app.database.url).await.unwrap();
    let series_id = key.series_id().to_string();
    insert_old_event(
        &db,
        ("series", &series_id, 1),
        "ObservationsImported",
        &payload,
        "{}",
    )
    .await;
    db.close().await;
    // A new server catches its read models up with the log at start.
    let app = app.restart().await;

    // Projected: both observations, the team card scored on 55,000,000.
    let card = app
        .ok(
            &consultant,
            "query($id: UUID!) { engagement(id: $id) {
                observations(metric: \"gmv\", from: \"2026-06-01\", to: \"2026-06-30\") { totalCount }
                live: scorecard(period: \"2026-06\") { score }
                replayed: scorecard(period: \"2026-06\", asOf: \"2999-01-01T00:00:00Z\") { score } } }",
            json!({ "id": engagement }),
        )
        .await["engagement"]
        .clone();
    assert_eq!(card["observations"]["totalCount"], 2, "{card}");
    assert_eq!(card["live"]["score"], "110", "projected: {card}");
    assert_eq!(card["replayed"]["score"], "110", "replayed: {card}");

    // Loaded by cqrs-es: the series knows the imported bounds, so a daily value inside
    // them is refused as an overlap; the same bounds restate.
    let body = app
        .gql(
            &consultant,
            "mutation($i: RecordObservationInput!) { recordObservation(input: $i) { value } }",
            json!({ "i": { "engagementId": engagement, "metric": "gmv", "platform": "amazon_jp",
                           "date": "2026-06-03", "value": "1" } }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "CONFLICT",
        "overlap: {body}"
    );
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("2026-06-01..2026-06-15"),
        "{body}"
    );
    app.ok(
        &consultant,
        "mutation($i: RecordObservationInput!) { recordObservation(input: $i) { value } }",
        json!({ "i": { "engagementId": engagement, "metric": "gmv", "platform": "amazon_jp",
                       "from": "2026-06-16", "to": "2026-06-30", "value": "35000000" } }),
    )
    .await;
    let card = app
        .ok(
            &consultant,
            "query($id: UUID!) { engagement(id: $id) { scorecard(period: \"2026-06\") { score } } }",
            json!({ "id": engagement }),
        )
        .await;
    assert_eq!(card["engagement"]["scorecard"]["score"], "120", "{card}");
}
on_both_backends!(an_event_stored_in_an_old_shape_is_read_projected_and_replayed_as_the_new);

/// A target change recorded before free text was sealed holds its reason as a plain
/// string (TargetSet 1.0, and `reason` in the metadata): it reads as that text in the
/// history and the audit log, and the KPI loads it to decide the next change.
async fn a_reason_stored_as_plain_text_reads_as_it_was(app: TestApp) {
    let consultant = app
        .user("aiko@consultancy.example", "Aiko Sato", true)
        .await;
    let engagement = open(&app, &consultant, "Acme Home JP").await;
    let kpi = app
        .ok(
            &consultant,
            "mutation($i: DefineKpiInput!) { defineKpi(input: $i) { id } }",
            json!({ "i": { "engagementId": engagement, "metric": "gmv", "weight": "1",
                           "assignee": { "team": true } } }),
        )
        .await["defineKpi"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let payload = json!({ "TargetSet": {
        "period": "2026-07",
        "levels": { "threshold": "40", "target": "50", "stretch": null },
        "previous": null,
        "reason": "Mika asked for a July target" } })
    .to_string();
    let metadata = json!({ "actor": "system", "correlation_id": Uuid::new_v4(),
                           "reason": "Mika asked for a July target",
                           "engagement_id": engagement })
    .to_string();
    let db = Db::connect(&app.database.url).await.unwrap();
    insert_old_event(&db, ("kpi", &kpi, 2), "TargetSet", &payload, &metadata).await;
    db.close().await;
    let app = app.restart().await;

    // Loaded by cqrs-es: the July target exists, so the next change revises it.
    app.ok(
        &consultant,
        "mutation($i: SetTargetInput!) { setTarget(input: $i) { id } }",
        json!({ "i": { "engagementId": engagement, "kpiId": kpi, "periods": ["2026-07"],
                       "threshold": "45", "target": "55", "reason": "revised" } }),
    )
    .await;
    let read = app
        .ok(
            &consultant,
            "query($id: UUID!, $kpi: UUID!) { engagement(id: $id) {
                targetHistory(kpiId: $kpi) { nodes { reason before { target } after { target } } }
                auditLog(first: 50, filter: { kinds: [\"TargetSet\"] }) { nodes { reason sentence } } } }",
            json!({ "id": engagement, "kpi": kpi }),
        )
        .await["engagement"]
        .clone();
    let history = read["targetHistory"]["nodes"].as_array().unwrap();
    assert_eq!(history.len(), 2, "{read}");
    assert_eq!(
        history[0]["reason"], "Mika asked for a July target",
        "{read}"
    );
    assert_eq!(history[1]["reason"], "revised", "{read}");
    assert_eq!(history[1]["before"]["target"], "50", "{read}");
    let log = read["auditLog"]["nodes"].as_array().unwrap();
    assert_eq!(log[0]["reason"], "Mika asked for a July target", "{read}");
    assert!(
        log[0]["sentence"]
            .as_str()
            .unwrap()
            .contains("Mika asked for a July target"),
        "{read}"
    );
}
on_both_backends!(a_reason_stored_as_plain_text_reads_as_it_was);

/// As-of reads start from snapshots of earlier replays: in any order of reads, every
/// position replays to exactly what a replay from the first event gives.
async fn replays_from_snapshots_equal_replays_from_the_first_event(app: TestApp) {
    let (engagement, li, gmv, consultant) = crate::scoring::worked_example(&app).await;
    for (n, period) in ["2026-06", "2026-07", "2026-06"].iter().enumerate() {
        app.ok(
            &consultant,
            "mutation($i: SetTargetInput!) { setTarget(input: $i) { id } }",
            json!({ "i": { "engagementId": engagement, "kpiId": gmv, "periods": [period],
                           "threshold": "1", "target": format!("{}", 40_000_000 + n), "reason": "revised" } }),
        )
        .await;
        app.ok(
            &consultant,
            "mutation($i: RecordObservationInput!) { recordObservation(input: $i) { value } }",
            json!({ "i": { "engagementId": engagement, "metric": "gmv", "platform": "amazon_jp",
                           "scope": format!("SKU-{n}"), "date": "2026-06-20", "value": "1000" } }),
        )
        .await;
    }
    let db = Db::connect(&app.database.url).await.unwrap();
    let id: kpi_ledger_domain::ids::EngagementId = engagement.parse().unwrap();
    let positions: Vec<i64> = on_db!(&db, pool => {
        sqlx::query_scalar("SELECT position FROM event_chain WHERE chain = $1 ORDER BY position")
            .bind(&engagement)
            .fetch_all(pool)
            .await
            .unwrap()
    });
    assert!(positions.len() > 20, "{positions:?}");
    let period: kpi_ledger_domain::period::Period = "2026-06".parse().unwrap();
    let member = Some(kpi_ledger_domain::ids::MemberId(li.parse().unwrap()));
    let seen = |model: &kpi_ledger_domain::replay::Model| {
        format!(
            "{} {} {:?} {:?}",
            model.position,
            model.size(),
            model.scorecard(&period, None).map(|(card, _)| card.score),
            model.scorecard(&period, member).map(|(card, _)| card.score),
        )
    };
    // The newest first (a snapshot at the head), then every position from the oldest
    // (each after a snapshot), then some at random.
    let mut order: Vec<i64> = vec![*positions.last().unwrap()];
    order.extend(positions.iter().copied());
    order.extend(positions.iter().rev().step_by(3).copied());
    for at in order {
        let cached = kpi_ledger::store::events::replay_at(&db, id, &[at - 1, at])
            .await
            .unwrap();
        let fresh = kpi_ledger::store::events::replay_at_from_scratch(&db, id, &[at - 1, at])
            .await
            .unwrap();
        for (c, f) in cached.iter().zip(&fresh) {
            assert_eq!(seen(c), seen(f), "at position {at}");
        }
    }
    db.close().await;
}
on_both_backends!(replays_from_snapshots_equal_replays_from_the_first_event);
