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
