//! The API as tools and attackers use it: GraphiQL without a network, the standard
//! introspection query through the limits, hostile documents refused at once, and a code
//! on every error.

use crate::helpers::TestApp;
use crate::on_both_backends;
use serde_json::{json, Value};

async fn graphiql_is_served_whole_by_the_server(app: TestApp) {
    let client = reqwest::Client::new();
    let page = client
        .get(format!("{}/graphql", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // Every script and style of the page comes from this server.
    let sources: Vec<&str> = page
        .split(['"', '\''])
        .filter(|s| s.ends_with(".js") || s.ends_with(".css"))
        .collect();
    assert_eq!(sources.len(), 5, "{page}");
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "{page}"
    );
    for source in sources {
        assert!(source.starts_with("/assets/graphiql/"), "{source}");
        let asset = client
            .get(format!("{}{source}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(asset.status(), 200, "{source}");
        let kind = asset.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            kind.starts_with("text/javascript") || kind.starts_with("text/css"),
            "{source}: {kind}"
        );
        assert!(asset.bytes().await.unwrap().len() > 200, "{source}");
    }
    let missing = client
        .get(format!("{}/assets/graphiql/nothing.js", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}
on_both_backends!(graphiql_is_served_whole_by_the_server);

async fn the_standard_introspection_query_passes_the_limits(app: TestApp) {
    let token = app
        .user("aiko@consultancy.example", "Aiko Sato", true)
        .await;
    let query = include_str!("../../graphql/tests/introspection.graphql");
    let data = app.ok(&token, query, json!({})).await;
    let types = data["__schema"]["types"].as_array().unwrap();
    assert!(
        types.iter().any(|t| t["name"] == "Scorecard"),
        "the documentation explorer sees the schema"
    );
}
on_both_backends!(the_standard_introspection_query_passes_the_limits);

/// `fragment F1 on QueryRoot { ...F0 ...F0 }` … up to F30: 2 KB that would expand to
/// billions of fields.
fn doubling_fragments(levels: usize) -> String {
    let mut query = format!("query {{ ...F{levels} }}\n");
    query.push_str("fragment F0 on QueryRoot { metricCatalog { key } }\n");
    for level in 1..=levels {
        query.push_str(&format!(
            "fragment F{level} on QueryRoot {{ ...F{p} ...F{p} }}\n",
            p = level - 1
        ));
    }
    query
}

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("an error with a code: {body}"))
}

async fn hostile_documents_are_refused_before_any_work(app: TestApp) {
    let token = app
        .user("aiko@consultancy.example", "Aiko Sato", true)
        .await;
    let attack = doubling_fragments(30);
    assert!(attack.len() < 2_100, "{}", attack.len());
    let body = app.gql(&token, &attack, json!({})).await;
    assert_eq!(code(&body), "TOO_COMPLEX", "{body}");
    assert!(body.get("data").is_none_or(Value::is_null), "{body}");

    // 14 levels: under the parser's own limit, over the depth limit.
    let deep = format!("{{ {}id{} }}", "viewer { ".repeat(13), " }".repeat(13));
    let body = app.gql(&token, &deep, json!({})).await;
    assert_eq!(code(&body), "TOO_COMPLEX", "{body}");

    // Ordinary queries still pass.
    let fine = app.gql(&token, &doubling_fragments(3), json!({})).await;
    assert!(fine.get("errors").is_none(), "{fine}");

    // Fields that replay the log cost more: 600 as-of scorecards are refused before any
    // runs; a handful pass.
    let engagement = crate::engagements::open(&app, &token, "Acme Home JP").await;
    let aliases = |n: usize| {
        let fields: String = (0..n)
            .map(|i| format!("a{i}: scorecard(period: \"2026-06\", asOf: \"2030-01-01T00:00:00Z\") {{ score }} "))
            .collect();
        format!("query($id: UUID!) {{ engagement(id: $id) {{ {fields} }} }}")
    };
    let started = std::time::Instant::now();
    let body = app
        .gql(&token, &aliases(600), json!({ "id": engagement }))
        .await;
    assert_eq!(code(&body), "TOO_COMPLEX", "{body}");
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    let few = app
        .gql(&token, &aliases(5), json!({ "id": engagement }))
        .await;
    assert!(few.get("errors").is_none(), "{few}");
    let verifications: String = (0..11)
        .map(|i| format!("v{i}: auditVerification(engagementId: $id) {{ verified }} "))
        .collect();
    let body = app
        .gql(
            &token,
            &format!("query($id: UUID!) {{ {verifications} }}"),
            json!({ "id": engagement }),
        )
        .await;
    assert_eq!(code(&body), "TOO_COMPLEX", "{body}");
}
on_both_backends!(hostile_documents_are_refused_before_any_work);

async fn every_error_carries_a_code(app: TestApp) {
    let token = app
        .user("aiko@consultancy.example", "Aiko Sato", true)
        .await;
    let engagement = crate::engagements::open(&app, &token, "Acme Home JP").await;
    let cases: Vec<(&str, &str, Value)> = vec![
        ("syntax", "{ viewer { email ", json!({})),
        ("unknown field", "{ viewer { nope } }", json!({})),
        ("UUID", "{ engagement(id: \"not-a-uuid\") { id } }", json!({})),
        (
            "Period",
            "query($id: UUID!) { engagement(id: $id) { scorecard(period: \"2026-13\") { score } } }",
            json!({ "id": engagement }),
        ),
        (
            "Period variable",
            "query($id: UUID!, $p: Period!) { engagement(id: $id) { scorecard(period: $p) { score } } }",
            json!({ "id": engagement, "p": "June" }),
        ),
        (
            "Decimal",
            "mutation($i: DefineKpiInput!) { defineKpi(input: $i) { id } }",
            json!({ "i": { "engagementId": engagement, "metric": "gmv", "weight": "1,5",
                           "assignee": { "team": true } } }),
        ),
        (
            "Date",
            "mutation($i: RecordObservationInput!) { recordObservation(input: $i) { value } }",
            json!({ "i": { "engagementId": engagement, "metric": "gmv", "platform": "amazon_jp",
                           "from": "2026-02-30", "to": "2026-03-01", "value": "1" } }),
        ),
        (
            "DateTime",
            "query($id: UUID!, $at: DateTime!) { engagement(id: $id) { scorecard(period: \"2026-06\", asOf: $at) { score } } }",
            json!({ "id": engagement, "at": "yesterday" }),
        ),
    ];
    for (case, query, variables) in cases {
        let body = app.gql(&token, query, variables).await;
        assert_eq!(code(&body), "VALIDATION", "{case}: {body}");
    }

    // Inputs have length caps: a 900 KB reason, 828 periods in one setTarget.
    let kpi = app
        .ok(
            &token,
            "mutation($i: DefineKpiInput!) { defineKpi(input: $i) { id } }",
            json!({ "i": { "engagementId": engagement, "metric": "gmv", "weight": "100", "assignee": { "team": true } } }),
        )
        .await["defineKpi"]["id"]
        .clone();
    let set = "mutation($i: SetTargetInput!) { setTarget(input: $i) { id } }";
    let long_reason = app
        .gql(
            &token,
            set,
            json!({ "i": { "engagementId": engagement, "kpiId": kpi, "periods": ["2026-07"],
                           "threshold": "1", "target": "2", "reason": "x".repeat(900_000) } }),
        )
        .await;
    assert_eq!(
        code(&long_reason),
        "VALIDATION",
        "{}",
        &long_reason.to_string()[..300]
    );
    assert!(long_reason["errors"][0]["message"]
        .as_str()
        .unwrap()
        .starts_with("$i.reason: at most 4000 characters"));
    let periods: Vec<String> = (0..828)
        .map(|i| format!("{}-{:02}", 2026 + i / 12, i % 12 + 1))
        .collect();
    let many = app
        .gql(
            &token,
            set,
            json!({ "i": { "engagementId": engagement, "kpiId": kpi, "periods": periods,
                           "threshold": "1", "target": "2", "reason": "plan" } }),
        )
        .await;
    assert_eq!(code(&many), "VALIDATION", "{many}");
    assert_eq!(app.count("target_history").await, 0, "nothing was recorded");

    // Errors never echo the document back at length.
    let long_syntax = format!("{{ viewer {{ email }} {} @@@ }}", "x".repeat(50_000));
    let body = app.gql(&token, &long_syntax, json!({})).await;
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("syntax error at line 1, column"),
        "{message}"
    );
    assert!(
        message.chars().count() <= 301,
        "{} characters",
        message.len()
    );
    assert_eq!(code(&body), "VALIDATION", "{body}");
    let long_field = format!("{{ viewer {{ {} }} }}", "y".repeat(50_000));
    let body = app.gql(&token, &long_field, json!({})).await;
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.chars().count() <= 301,
        "{} characters",
        message.len()
    );
    assert!(body.to_string().len() < 2_000, "the whole answer is small");
}
on_both_backends!(every_error_carries_a_code);

async fn lists_that_grow_come_in_pages_with_opaque_cursors_and_a_total(app: TestApp) {
    let token = app
        .user("aiko@consultancy.example", "Aiko Sato", true)
        .await;
    let engagement = crate::engagements::open(&app, &token, "Acme Home JP").await;
    for day in 1..=5 {
        app.ok(
            &token,
            "mutation($i: RecordObservationInput!) { recordObservation(input: $i) { value } }",
            json!({ "i": { "engagementId": engagement, "metric": "gmv", "platform": "amazon_jp",
                           "date": format!("2026-05-0{day}"), "value": day.to_string() } }),
        )
        .await;
    }
    const PAGE: &str = "query($id: UUID!, $after: String) { engagement(id: $id) {
        observations(metric: \"gmv\", from: \"2026-05-01\", to: \"2026-05-31\", first: 2, after: $after) {
            totalCount pageInfo { hasNextPage endCursor } edges { cursor node { from value } } } } }";
    let mut after = Value::Null;
    let mut seen = Vec::new();
    loop {
        let page = app
            .ok(&token, PAGE, json!({ "id": engagement, "after": after }))
            .await["engagement"]["observations"]
            .clone();
        assert_eq!(page["totalCount"], 5, "{page}");
        let edges = page["edges"].as_array().unwrap();
        assert!(edges.len() <= 2, "{page}");
        for edge in edges {
            let cursor = edge["cursor"].as_str().unwrap();
            assert!(!cursor.contains("observations"), "opaque: {cursor}");
            seen.push(edge["node"]["value"].as_str().unwrap().to_string());
        }
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen, vec!["1", "2", "3", "4", "5"]);

    // A cursor of one list is no cursor of another.
    let members = app
        .ok(
            &token,
            "query($id: UUID!) { engagement(id: $id) { members(first: 1) {
                totalCount edges { cursor } } } }",
            json!({ "id": engagement }),
        )
        .await;
    let cursor = members["engagement"]["members"]["edges"][0]["cursor"].clone();
    assert_eq!(members["engagement"]["members"]["totalCount"], 1);
    let body = app
        .gql(&token, PAGE, json!({ "id": engagement, "after": cursor }))
        .await;
    assert_eq!(code(&body), "VALIDATION", "{body}");
    // Pages are capped: asking for a million gets at most 200.
    let big = app
        .ok(
            &token,
            "query($id: UUID!) { engagement(id: $id) { imports(first: 1000000) { totalCount nodes { id } } } }",
            json!({ "id": engagement }),
        )
        .await;
    assert_eq!(big["engagement"]["imports"]["totalCount"], 0);
}
on_both_backends!(lists_that_grow_come_in_pages_with_opaque_cursors_and_a_total);

async fn every_response_carries_security_headers_and_cors_is_off_unless_configured(app: TestApp) {
    let token = app
        .user("aiko@consultancy.example", "Aiko Sato", true)
        .await;
    let client = reqwest::Client::new();
    let response = client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(&token)
        .header("origin", "https://evil.example")
        .json(&json!({ "query": "{ viewer { email } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert_eq!(response.headers()["x-frame-options"], "DENY");
    assert_eq!(response.headers()["referrer-policy"], "same-origin");
    assert!(response
        .headers()
        .get("access-control-allow-origin")
        .is_none());
    let preflight = |origin: &'static str, address: String| {
        let client = client.clone();
        async move {
            client
                .request(reqwest::Method::OPTIONS, format!("{address}/graphql"))
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .header(
                    "access-control-request-headers",
                    "authorization,content-type",
                )
                .send()
                .await
                .unwrap()
        }
    };
    let refused = preflight("https://app.example.jp", app.address.clone()).await;
    assert!(refused
        .headers()
        .get("access-control-allow-origin")
        .is_none());

    // Configured: that origin only. With exploration off: no GraphiQL, no introspection.
    let mut app = app;
    app.stop().await;
    let database = std::mem::replace(
        &mut app.database,
        crate::helpers::TestDatabase::shared("unused"),
    );
    let configured = TestApp::start_configured(
        database,
        kpi_ledger::http::DEFAULT_MAX_UPLOAD_BYTES,
        |server| {
            server
                .with_cors_origins(&["https://app.example.jp".to_string()])
                .unwrap()
                .with_exploration(false, false)
        },
    )
    .await;
    let allowed = preflight("https://app.example.jp", configured.address.clone()).await;
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example.jp"
    );
    let other = preflight("https://evil.example", configured.address.clone()).await;
    assert!(other.headers().get("access-control-allow-origin").is_none());
    let graphiql = client
        .get(format!("{}/graphql", configured.address))
        .send()
        .await
        .unwrap();
    assert_ne!(graphiql.status(), 200, "GraphiQL is off");
    let token = configured.token_for_email("aiko@consultancy.example").await;
    let body = configured
        .gql(&token, "{ __schema { types { name } } }", json!({}))
        .await;
    assert!(
        body["data"]["__schema"].is_null(),
        "introspection answers nothing: {body}"
    );
    configured
        .ok(&token, "{ viewer { email } }", json!({}))
        .await;
}
on_both_backends!(every_response_carries_security_headers_and_cors_is_off_unless_configured);

async fn requests_over_the_rate_get_429_with_retry_after(app: TestApp) {
    let token = app
        .user("aiko@consultancy.example", "Aiko Sato", true)
        .await;
    let other = app
        .user("ren@consultancy.example", "Ren Kobayashi", true)
        .await;
    let mut app = app;
    app.stop().await;
    let database = std::mem::replace(
        &mut app.database,
        crate::helpers::TestDatabase::shared("unused"),
    );
    let limited = TestApp::start_configured(
        database,
        kpi_ledger::http::DEFAULT_MAX_UPLOAD_BYTES,
        |server| server.with_rate_limits((1, 3), (100, 1_000)),
    )
    .await;
    let query = json!({ "query": "{ viewer { email } }" });
    for _ in 0..3 {
        assert_eq!(
            limited.post(Some(&token), query.clone()).await.status(),
            200
        );
    }
    // One more token a second refills the bucket: a burst of ten finds it empty.
    let mut refused = None;
    for _ in 0..10 {
        let response = limited.post(Some(&token), query.clone()).await;
        if response.status() == 429 {
            refused = Some(response);
            break;
        }
    }
    let refused = refused.expect("a request over the rate is refused");
    let retry: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "Retry-After: {retry}");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED");
    // Another user is not held back by the first.
    assert_eq!(
        limited.post(Some(&other), query.clone()).await.status(),
        200
    );
}
on_both_backends!(requests_over_the_rate_get_429_with_retry_after);

async fn a_request_past_its_time_budget_is_stopped(app: TestApp) {
    let context = kpi_ledger::app::Context::connect(&app.database.url)
        .await
        .unwrap();
    let tokens = kpi_ledger::demo::seed(&context, &kpi_ledger::auth::AuthSettings::default())
        .await
        .unwrap();
    context.db.close().await;
    let mut app = app;
    app.stop().await;
    let database = std::mem::replace(
        &mut app.database,
        crate::helpers::TestDatabase::shared("unused"),
    );
    // A budget no replay of the demo's log fits in.
    let hurried = TestApp::start_configured(
        database,
        kpi_ledger::http::DEFAULT_MAX_UPLOAD_BYTES,
        |server| server.with_request_budget(std::time::Duration::from_millis(1)),
    )
    .await;
    let query = "{ engagements(first: 5) { nodes { changes(from: { position: 1 }) { toPosition } kpis(asOf: \"2030-01-01T00:00:00Z\") { id } } } }";
    let response = hurried
        .post(Some(&tokens.consultant), json!({ "query": query }))
        .await;
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "TOO_COMPLEX",
        "{body}"
    );
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("was stopped"));
}
on_both_backends!(a_request_past_its_time_budget_is_stopped);
