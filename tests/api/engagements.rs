use crate::helpers::TestApp;
use crate::on_both_backends;
use serde_json::{json, Value};

pub const OPEN: &str = "mutation($input: OpenEngagementInput!) {
  openEngagement(input: $input) { id name clientName status market timeZone currency
    fiscalYearStartMonth platforms viewerRole members { nodes { id role displayName email } } } }";

pub const ADD: &str = "mutation($input: AddMemberInput!) {
  addMember(input: $input) { id role position activeFrom activeUntil displayName email } }";

pub const STATUS: &str = "mutation($id: UUID!, $status: EngagementStatus!) {
  changeEngagementStatus(input: { engagementId: $id, status: $status, reason: \"review\" }) { status } }";

pub const DETAIL: &str = "query($id: UUID!) { engagement(id: $id) { id name status viewerRole
  members(includeFormer: true) { nodes { id role position activeFrom activeUntil displayName email pseudonym isViewer } } } }";

pub const LIST: &str = "{ engagements(first: 10) { edges { cursor node { id name status } } } }";

pub async fn open(app: &TestApp, token: &str, name: &str) -> String {
    let data = app
        .ok(
            token,
            OPEN,
            json!({ "input": { "name": name, "clientName": "Acme Home K.K.",
                               "platforms": ["amazon_jp", "rakuten"] } }),
        )
        .await;
    data["openEngagement"]["id"].as_str().unwrap().to_string()
}

pub async fn add(
    app: &TestApp,
    token: &str,
    id: &str,
    name: &str,
    email: &str,
    role: &str,
) -> Value {
    app.ok(
        token,
        ADD,
        json!({ "input": { "engagementId": id, "displayName": name, "email": email,
                           "role": role, "position": "advertising", "activeFrom": "2026-06-11" } }),
    )
    .await["addMember"]
        .clone()
}

/// The acceptance path of the foundation: open, add a client owner and a member, move
/// through the lifecycle, refuse a backwards move, hide it from others, survive a restart.
async fn a_consultant_runs_an_engagement_through_its_lifecycle(app: TestApp) {
    let consultant = app
        .user("aiko@consultancy.example", "Aiko Sato", true)
        .await;
    let outsider = app.user("ken@elsewhere.example", "Ken Mori", true).await;

    let opened = app
        .ok(
            &consultant,
            OPEN,
            json!({ "input": { "name": "Acme Home JP", "clientName": "Acme Home K.K.",
                               "platforms": ["amazon_jp"] } }),
        )
        .await["openEngagement"]
        .clone();
    assert_eq!(opened["status"], "DIAGNOSING");
    assert_eq!(opened["market"], "JP");
    assert_eq!(opened["timeZone"], "Asia/Tokyo");
    assert_eq!(opened["currency"], "JPY");
    assert_eq!(opened["fiscalYearStartMonth"], 4);
    assert_eq!(opened["viewerRole"], "CONSULTANT");
    assert_eq!(opened["members"]["nodes"][0]["displayName"], "Aiko Sato");
    let id = opened["id"].as_str().unwrap().to_string();

    let owner = add(
        &app,
        &consultant,
        &id,
        "Hiro Tanaka",
        "hiro@acme.example",
        "CLIENT_OWNER",
    )
    .await;
    assert_eq!(owner["role"], "CLIENT_OWNER");
    let li = add(
        &app,
        &consultant,
        &id,
        "Li Wei",
        "li.wei@acme.example",
        "MEMBER",
    )
    .await;
    assert_eq!(li["activeFrom"], "2026-06-11");
    assert_eq!(li["email"], "li.wei@acme.example");

    for status in ["TRIAL", "ACTIVE"] {
        let data = app
            .ok(&consultant, STATUS, json!({ "id": id, "status": status }))
            .await;
        assert_eq!(data["changeEngagementStatus"]["status"], status);
    }
    let body = app
        .gql(
            &consultant,
            STATUS,
            json!({ "id": id, "status": "DIAGNOSING" }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "INVALID_TRANSITION"
    );
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("from active it may move to paused or closed"),
        "{body}"
    );

    // Another user sees none of it.
    let list = app.ok(&outsider, LIST, json!({})).await;
    assert_eq!(list["engagements"]["edges"], json!([]));
    assert_eq!(
        app.error_code(&outsider, DETAIL, json!({ "id": id })).await,
        "NOT_FOUND"
    );
    assert_eq!(
        app.error_code(&outsider, STATUS, json!({ "id": id, "status": "PAUSED" }))
            .await,
        "NOT_FOUND"
    );

    // A forged token is refused at the door.
    let forged = format!("{}x", &consultant[..consultant.len() - 1]);
    let response = app.post(Some(&forged), json!({ "query": LIST })).await;
    assert_eq!(response.status(), 401);

    // Everything survives a restart.
    let before = app.ok(&consultant, DETAIL, json!({ "id": id })).await;
    let app = app.restart().await;
    let after = app.ok(&consultant, DETAIL, json!({ "id": id })).await;
    assert_eq!(before, after);
    assert_eq!(after["engagement"]["status"], "ACTIVE");
    assert_eq!(
        after["engagement"]["members"]["nodes"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}
on_both_backends!(a_consultant_runs_an_engagement_through_its_lifecycle);

async fn invalid_input_is_refused_with_the_field_named_and_nothing_recorded(app: TestApp) {
    let consultant = app
        .user("aiko@consultancy.example", "Aiko Sato", true)
        .await;
    let events_before = app.count("events").await;
    let body = app
        .gql(
            &consultant,
            OPEN,
            json!({ "input": { "name": "Acme", "clientName": "Acme K.K.", "platforms": ["ebay_us"] } }),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "VALIDATION");
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("platforms"));
    assert_eq!(app.count("events").await, events_before);
    assert_eq!(app.count("member_personal_data").await, 0);
    assert_eq!(app.count("member_keys").await, 0);

    let id = open(&app, &consultant, "Acme Home JP").await;
    let accounts = app.count("user_accounts").await;
    let personal = app.count("member_personal_data").await;
    let events = app.count("events").await;
    for (field, input) in [
        (
            "email",
            json!({ "engagementId": id, "displayName": "Li", "email": "not-an-email", "role": "MEMBER" }),
        ),
        (
            "displayName",
            json!({ "engagementId": id, "displayName": " ", "email": "li@acme.example", "role": "MEMBER" }),
        ),
        (
            "position",
            json!({ "engagementId": id, "displayName": "Li", "email": "li@acme.example", "role": "MEMBER", "position": "Ad Ops" }),
        ),
    ] {
        let body = app.gql(&consultant, ADD, json!({ "input": input })).await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "VALIDATION",
            "{field}: {body}"
        );
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains(field),
            "{body}"
        );
    }
    // A refused addMember leaves no account, no personal data and no event behind.
    assert_eq!(app.count("user_accounts").await, accounts);
    assert_eq!(app.count("member_personal_data").await, personal);
    assert_eq!(app.count("events").await, events);

    // One role per person: the same email again is a conflict.
    add(
        &app,
        &consultant,
        &id,
        "Li Wei",
        "li.wei@acme.example",
        "MEMBER",
    )
    .await;
    let body = app
        .gql(
            &consultant,
            ADD,
            json!({ "input": { "engagementId": id, "displayName": "Li Wei", "email": "LI.WEI@acme.example", "role": "CLIENT_VIEWER" } }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "CONFLICT",
        "{body}"
    );
}
on_both_backends!(invalid_input_is_refused_with_the_field_named_and_nothing_recorded);

async fn a_closed_engagement_accepts_no_changes_but_stays_readable(app: TestApp) {
    let consultant = app
        .user("aiko@consultancy.example", "Aiko Sato", true)
        .await;
    let id = open(&app, &consultant, "Acme Home JP").await;
    app.ok(&consultant, STATUS, json!({ "id": id, "status": "CLOSED" }))
        .await;
    let body = app
        .gql(
            &consultant,
            ADD,
            json!({ "input": { "engagementId": id, "displayName": "Li Wei", "email": "li@acme.example", "role": "MEMBER" } }),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "LOCKED", "{body}");
    assert_eq!(
        app.error_code(&consultant, STATUS, json!({ "id": id, "status": "ACTIVE" }))
            .await,
        "LOCKED"
    );
    let detail = app.ok(&consultant, DETAIL, json!({ "id": id })).await;
    assert_eq!(detail["engagement"]["status"], "CLOSED");
}
on_both_backends!(a_closed_engagement_accepts_no_changes_but_stays_readable);

async fn members_can_change_role_and_be_removed(app: TestApp) {
    let consultant = app
        .user("aiko@consultancy.example", "Aiko Sato", true)
        .await;
    let id = open(&app, &consultant, "Acme Home JP").await;
    let li = add(
        &app,
        &consultant,
        &id,
        "Li Wei",
        "li.wei@acme.example",
        "MEMBER",
    )
    .await;
    let member_id = li["id"].as_str().unwrap();

    let changed = app
        .ok(
            &consultant,
            "mutation($e: UUID!, $m: UUID!) { changeMemberRole(input: { engagementId: $e, memberId: $m, role: CLIENT_VIEWER, reason: \"moved to finance\" }) { role } }",
            json!({ "e": id, "m": member_id }),
        )
        .await;
    assert_eq!(changed["changeMemberRole"]["role"], "CLIENT_VIEWER");

    let remove = "mutation($e: UUID!, $m: UUID!, $d: Date!) { removeMember(input: { engagementId: $e, memberId: $m, activeUntil: $d }) { activeFrom activeUntil } }";
    let body = app
        .gql(
            &consultant,
            remove,
            json!({ "e": id, "m": member_id, "d": "2026-06-01" }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "VALIDATION",
        "{body}"
    );
    let removed = app
        .ok(
            &consultant,
            remove,
            json!({ "e": id, "m": member_id, "d": "2026-06-30" }),
        )
        .await;
    assert_eq!(removed["removeMember"]["activeUntil"], "2026-06-30");

    // The removal ended on a past day, so Li Wei no longer sees the engagement.
    let li_token = app.token_for_email("li.wei@acme.example").await;
    assert_eq!(
        app.error_code(&li_token, DETAIL, json!({ "id": id })).await,
        "NOT_FOUND"
    );

    // The last consultant cannot remove themselves.
    let me = app.ok(&consultant, DETAIL, json!({ "id": id })).await["engagement"]["members"]
        ["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["isViewer"] == true)
        .unwrap()["id"]
        .clone();
    let body = app
        .gql(
            &consultant,
            remove,
            json!({ "e": id, "m": me, "d": "2026-12-31" }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "VALIDATION",
        "{body}"
    );
}
on_both_backends!(members_can_change_role_and_be_removed);

async fn engagements_are_paginated_newest_first_with_cursors(app: TestApp) {
    let consultant = app
        .user("aiko@consultancy.example", "Aiko Sato", true)
        .await;
    for n in 1..=5 {
        open(&app, &consultant, &format!("Engagement {n}")).await;
    }
    let page = "query($after: String) { engagements(first: 2, after: $after) {
        edges { cursor node { name } } pageInfo { hasNextPage endCursor } } }";
    let mut names = Vec::new();
    let mut after = Value::Null;
    loop {
        let data = app.ok(&consultant, page, json!({ "after": after })).await;
        let connection = &data["engagements"];
        for edge in connection["edges"].as_array().unwrap() {
            names.push(edge["node"]["name"].as_str().unwrap().to_string());
        }
        if connection["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = connection["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(
        names,
        [
            "Engagement 5",
            "Engagement 4",
            "Engagement 3",
            "Engagement 2",
            "Engagement 1"
        ]
    );
}
on_both_backends!(engagements_are_paginated_newest_first_with_cursors);
