use crate::engagements::{add, open, DETAIL, LIST, OPEN, STATUS};
use crate::helpers::TestApp;
use crate::on_both_backends;
use chrono::{Duration, Utc};
use serde_json::{json, Value};

async fn each_role_sees_what_the_spec_table_allows(app: TestApp) {
    let consultant = app
        .user("aiko@consultancy.example", "Aiko Sato", true)
        .await;
    let id = open(&app, &consultant, "Acme Home JP").await;
    add(
        &app,
        &consultant,
        &id,
        "Hiro Tanaka",
        "hiro@acme.example",
        "CLIENT_OWNER",
    )
    .await;
    add(
        &app,
        &consultant,
        &id,
        "Mika Ito",
        "mika@acme.example",
        "CLIENT_VIEWER",
    )
    .await;
    let li = add(
        &app,
        &consultant,
        &id,
        "Li Wei",
        "li.wei@acme.example",
        "MEMBER",
    )
    .await;
    add(
        &app,
        &consultant,
        &id,
        "Sora Kato",
        "sora@acme.example",
        "MEMBER",
    )
    .await;

    let owner = app.token_for_email("hiro@acme.example").await;
    let viewer = app.token_for_email("mika@acme.example").await;
    let member = app.token_for_email("li.wei@acme.example").await;

    // Client owners see every member with names and emails.
    let seen = app.ok(&owner, DETAIL, json!({ "id": id })).await;
    let members = seen["engagement"]["members"]["nodes"].as_array().unwrap();
    assert_eq!(members.len(), 5);
    assert!(members
        .iter()
        .all(|m| m["displayName"].is_string() && m["email"].is_string()));

    // Client viewers see positions and pseudonyms, never names or emails (but their own).
    let seen = app.ok(&viewer, DETAIL, json!({ "id": id })).await;
    let members = seen["engagement"]["members"]["nodes"].as_array().unwrap();
    assert_eq!(members.len(), 5);
    for m in members {
        assert!(m["pseudonym"].as_str().unwrap().starts_with("Member "));
        if m["isViewer"] == true {
            assert_eq!(m["displayName"], "Mika Ito");
        } else {
            assert!(m["displayName"].is_null() && m["email"].is_null(), "{m}");
        }
    }

    // Members see only themselves.
    let seen = app.ok(&member, DETAIL, json!({ "id": id })).await;
    let members = seen["engagement"]["members"]["nodes"].as_array().unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0]["id"], li["id"]);
    assert_eq!(members[0]["displayName"], "Li Wei");
    assert_eq!(seen["engagement"]["viewerRole"], "MEMBER");

    // Only consultants change things; the others know it exists, so FORBIDDEN.
    for token in [&owner, &viewer, &member] {
        assert_eq!(
            app.error_code(token, STATUS, json!({ "id": id, "status": "TRIAL" }))
                .await,
            "FORBIDDEN"
        );
        let body = app
            .gql(
                token,
                crate::engagements::ADD,
                json!({ "input": { "engagementId": id, "displayName": "X", "email": "x@acme.example", "role": "MEMBER" } }),
            )
            .await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "{body}"
        );
    }

    // Everyone listed sees the engagement in their list.
    for token in [&owner, &viewer, &member] {
        let list = app.ok(token, LIST, json!({})).await;
        assert_eq!(list["engagements"]["edges"][0]["node"]["id"], id.as_str());
    }
}
on_both_backends!(each_role_sees_what_the_spec_table_allows);

async fn only_users_with_the_consultant_grant_open_engagements(app: TestApp) {
    let plain = app.user("hiro@acme.example", "Hiro Tanaka", false).await;
    let events = app.count("events").await;
    assert_eq!(
        app.error_code(
            &plain,
            OPEN,
            json!({ "input": { "name": "Acme", "clientName": "Acme K.K." } })
        )
        .await,
        "FORBIDDEN"
    );
    assert_eq!(app.count("events").await, events);
}
on_both_backends!(only_users_with_the_consultant_grant_open_engagements);

async fn missing_forged_expired_and_orphaned_tokens_get_401(app: TestApp) {
    let token = app
        .user("aiko@consultancy.example", "Aiko Sato", true)
        .await;
    let query = json!({ "query": "{ viewer { email } }" });

    let response = app.post(None, query.clone()).await;
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer realm=\"kpi-ledger\""
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");

    assert_eq!(app.post(Some("garbage"), query.clone()).await.status(), 401);

    // Signed with another key.
    let other = kpi_ledger::auth::TokenService::hs256(&[9u8; 32]);
    let now = Utc::now();
    let claims_user = app.ok(&token, "{ viewer { id } }", json!({})).await["viewer"]["id"]
        .as_str()
        .unwrap()
        .parse::<uuid::Uuid>()
        .unwrap();
    let user_id = kpi_ledger_domain::ids::UserId(claims_user);
    let forged = other.issue(user_id, now, now + Duration::hours(1)).unwrap();
    assert_eq!(app.post(Some(&forged), query.clone()).await.status(), 401);

    // Expired (signed with the installation's own key).
    let context = kpi_ledger::app::Context::connect(&app.database.url)
        .await
        .unwrap();
    let own = kpi_ledger::auth::TokenService::from_settings(
        &Default::default(),
        &context.db,
        &context.keyring,
    )
    .await
    .unwrap();
    let expired = own
        .issue(user_id, now - Duration::days(2), now - Duration::days(1))
        .unwrap();
    assert_eq!(app.post(Some(&expired), query.clone()).await.status(), 401);

    // A valid signature for a user that does not exist.
    let ghost = own
        .issue(
            kpi_ledger_domain::ids::UserId::new_random(),
            now,
            now + Duration::hours(1),
        )
        .unwrap();
    assert_eq!(app.post(Some(&ghost), query.clone()).await.status(), 401);

    // Signed with the installation's own key but naming the user by a verified email
    // rather than a user id, or not valid before an hour from now: refused.
    // (The key is stored wrapped by the key file; unwrapped here as a server would.)
    let secret = context
        .keyring
        .secrets(&context.db, "jwt_hs256")
        .await
        .unwrap()
        .remove(0)
        .1;
    let key = jsonwebtoken::EncodingKey::from_secret(&secret);
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    let fine = json!({ "sub": user_id.to_string(), "iss": "kpi-ledger", "iat": now.timestamp(),
        "exp": (now + Duration::hours(1)).timestamp() });
    let fine = jsonwebtoken::encode(&header, &fine, &key).unwrap();
    assert_eq!(
        app.post(Some(&fine), query.clone()).await.status(),
        200,
        "the control: a well-formed token with that key is accepted"
    );
    let by_email = json!({ "sub": "not-a-uuid", "iss": "kpi-ledger", "iat": now.timestamp(),
        "exp": (now + Duration::hours(1)).timestamp(),
        "email": "aiko@consultancy.example", "email_verified": true });
    let by_email = jsonwebtoken::encode(&header, &by_email, &key).unwrap();
    assert_eq!(app.post(Some(&by_email), query.clone()).await.status(), 401);
    let not_yet = json!({ "sub": user_id.to_string(), "iss": "kpi-ledger", "iat": now.timestamp(),
        "nbf": (now + Duration::hours(1)).timestamp(), "exp": (now + Duration::hours(2)).timestamp() });
    let not_yet = jsonwebtoken::encode(&header, &not_yet, &key).unwrap();
    assert_eq!(app.post(Some(&not_yet), query.clone()).await.status(), 401);
    let forever = json!({ "sub": user_id.to_string(), "iss": "kpi-ledger", "iat": now.timestamp(),
        "exp": (now + Duration::days(36500)).timestamp() });
    let forever = jsonwebtoken::encode(&header, &forever, &key).unwrap();
    assert_eq!(app.post(Some(&forever), query.clone()).await.status(), 401);
    context.db.close().await;

    // And the real one works.
    let data = app
        .ok(&token, "{ viewer { email consultant admin } }", json!({}))
        .await;
    assert_eq!(
        data["viewer"],
        json!({ "email": "aiko@consultancy.example", "consultant": true, "admin": false })
    );
}
on_both_backends!(missing_forged_expired_and_orphaned_tokens_get_401);

async fn health_and_readiness_answer_without_a_token(app: TestApp) {
    let client = reqwest::Client::new();
    let health = client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let ready = client
        .get(format!("{}/readyz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let graphiql = client
        .get(format!("{}/graphql", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(graphiql.status(), 200);
    assert!(graphiql
        .text()
        .await
        .unwrap()
        .to_lowercase()
        .contains("graphiql"));
}
on_both_backends!(health_and_readiness_answer_without_a_token);

async fn review_entries_name_only_this_engagements_kpis_and_members(app: TestApp) {
    let context = kpi_ledger::app::Context::connect(&app.database.url)
        .await
        .unwrap();
    let tokens = kpi_ledger::demo::seed(&context, &kpi_ledger::auth::AuthSettings::default())
        .await
        .unwrap();
    context.db.close().await;
    let token = &tokens.consultant;
    let data = app
        .ok(
            token,
            "{ engagements(first: 10) { nodes { name id kpis { id } members(first: 50) { nodes { id role } } } } }",
            json!({}),
        )
        .await;
    let find = |name: &str| {
        data["engagements"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .unwrap()
            .clone()
    };
    let (acme, sakura) = (find("Acme Home JP"), find("Sakura Kitchen JP"));
    let review = app
        .ok(
            token,
            "mutation($i: OpenReviewInput!) { openReview(input: $i) { id } }",
            json!({ "i": { "engagementId": sakura["id"], "period": "2026-05" } }),
        )
        .await["openReview"]["id"]
        .clone();
    let finding = "mutation($i: RecordFindingInput!) { recordFinding(input: $i) { id } }";
    let foreign_kpi = acme["kpis"][0]["id"].clone();
    let foreign_member = acme["members"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "MEMBER")
        .unwrap()["id"]
        .clone();
    let input = |kpi: &Value, member: &Value| {
        json!({ "i": { "engagementId": sakura["id"], "reviewId": review, "kpiId": kpi,
                       "memberId": member, "deviation": "d", "cause": "c" } })
    };
    assert_eq!(
        app.error_code(token, finding, input(&foreign_kpi, &Value::Null))
            .await,
        "NOT_FOUND"
    );
    assert_eq!(
        app.error_code(token, finding, input(&Value::Null, &foreign_member))
            .await,
        "NOT_FOUND"
    );
    let decision = "mutation($i: RecordDecisionInput!) { recordDecision(input: $i) { id } }";
    assert_eq!(
        app.error_code(
            token,
            decision,
            json!({ "i": { "engagementId": sakura["id"], "reviewId": review, "kind": "EXCUSE_KPI",
                           "kpiId": foreign_kpi, "reason": "r" } }),
        )
        .await,
        "NOT_FOUND"
    );
    // The engagement's own KPI is fine.
    app.ok(
        token,
        finding,
        input(&sakura["kpis"][0]["id"], &Value::Null),
    )
    .await;
}
on_both_backends!(review_entries_name_only_this_engagements_kpis_and_members);

async fn client_viewers_see_stand_in_ids_for_people(app: TestApp) {
    let context = kpi_ledger::app::Context::connect(&app.database.url)
        .await
        .unwrap();
    let tokens = kpi_ledger::demo::seed(&context, &kpi_ledger::auth::AuthSettings::default())
        .await
        .unwrap();
    context.db.close().await;
    let acme = app
        .ok(
            &tokens.consultant,
            "{ engagements(first: 10) { nodes { id name kpis { id } } } }",
            json!({}),
        )
        .await["engagements"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "Acme Home JP")
        .unwrap()
        .clone();
    crate::engagements::add(
        &app,
        &tokens.consultant,
        acme["id"].as_str().unwrap(),
        "Kenji Mori",
        "kenji@acme.example",
        "CLIENT_VIEWER",
    )
    .await;
    let viewer = app.token_for_email("kenji@acme.example").await;
    let query = "query($id: UUID!, $kpi: UUID!) { engagement(id: $id) {
        targetHistory(kpiId: $kpi) { nodes { changedBy } }
        reviews { entries { nodes { recordedBy } } signatures { signedBy } } } }";
    let variables = json!({ "id": acme["id"], "kpi": acme["kpis"][0]["id"] });
    let ids = |data: &Value| -> Vec<String> {
        let mut ids = Vec::new();
        let e = &data["engagement"];
        for n in e["targetHistory"]["nodes"].as_array().unwrap() {
            ids.push(n["changedBy"].as_str().unwrap().to_string());
        }
        for r in e["reviews"].as_array().unwrap() {
            for n in r["entries"]["nodes"].as_array().unwrap() {
                ids.push(n["recordedBy"].as_str().unwrap().to_string());
            }
            for s in r["signatures"].as_array().unwrap() {
                ids.push(s["signedBy"].as_str().unwrap().to_string());
            }
        }
        ids
    };
    let real = ids(&app.ok(&tokens.consultant, query, variables.clone()).await);
    let shown = ids(&app.ok(&viewer, query, variables).await);
    assert_eq!(real.len(), shown.len());
    assert!(real.len() > 3, "{real:?}");
    for (r, s) in real.iter().zip(&shown) {
        assert_ne!(r, s, "a client viewer sees a real user id");
        assert!(!real.contains(s), "{s} is someone's real id");
    }
    // The same person has the same stand-in throughout the engagement.
    for (i, r) in real.iter().enumerate() {
        for (j, q) in real.iter().enumerate() {
            assert_eq!(r == q, shown[i] == shown[j]);
        }
    }
}
on_both_backends!(client_viewers_see_stand_in_ids_for_people);
