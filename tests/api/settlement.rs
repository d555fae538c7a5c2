//! Reviews, locks and payouts end to end: SPEC §7's worked example paid in yen.

use crate::engagements::add;
use crate::helpers::TestApp;
use crate::on_both_backends;
use serde_json::{json, Value};

pub(crate) const OPEN_REVIEW: &str = "mutation($i: OpenReviewInput!) { openReview(input: $i) { id status version snapshotPosition } }";
pub(crate) const SIGN: &str = "mutation($i: SignOffReviewInput!) { signOffReview(input: $i) { status version entries { nodes { kind } } } }";
pub(crate) const DECIDE: &str =
    "mutation($i: RecordDecisionInput!) { recordDecision(input: $i) { status version } }";
const DRAFT: &str = "mutation($i: DraftIncentivePlanInput!) { draftIncentivePlan(input: $i) { id version approved } }";
const APPROVE_PLAN: &str =
    "mutation($i: ApproveIncentivePlanInput!) { approveIncentivePlan(input: $i) { approved } }";
pub(crate) const CALCULATE: &str = "mutation($i: CalculatePayoutsInput!) { calculatePayouts(input: $i) {
  id memberId amount score payoutPct activeDays periodDays gatesPassed status lockVersion snapshotPosition formula } }";

pub(crate) struct Setup {
    pub engagement: String,
    pub li: String,
    pub gmv: String,
    pub consultant: String,
    pub owner: String,
}

pub(crate) async fn setup(app: &TestApp) -> Setup {
    let (engagement, li, gmv, consultant) = crate::scoring::worked_example(app).await;
    add(
        app,
        &consultant,
        &engagement,
        "Hiro Tanaka",
        "hiro@acme.example",
        "CLIENT_OWNER",
    )
    .await;
    let owner = app.token_for_email("hiro@acme.example").await;
    Setup {
        engagement,
        li,
        gmv,
        consultant,
        owner,
    }
}

pub(crate) async fn lock_june(app: &TestApp, s: &Setup) -> String {
    let review = app
        .ok(
            &s.consultant,
            OPEN_REVIEW,
            json!({ "i": { "engagementId": s.engagement, "period": "2026-06" } }),
        )
        .await["openReview"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    accept_rakuten_gap(app, s, &review).await;
    app.ok(
        &s.consultant,
        SIGN,
        json!({ "i": { "engagementId": s.engagement, "reviewId": review } }),
    )
    .await;
    let locked = app
        .ok(
            &s.owner,
            SIGN,
            json!({ "i": { "engagementId": s.engagement, "reviewId": review } }),
        )
        .await;
    assert_eq!(locked["signOffReview"]["status"], "LOCKED");
    assert_eq!(locked["signOffReview"]["version"], 1);
    review
}

/// The example's data is all on amazon_jp; the engagement also lists rakuten, which had no
/// June sales. Without this decision the payout is refused as INCOMPLETE.
async fn accept_rakuten_gap(app: &TestApp, s: &Setup, review: &str) {
    app.ok(
        &s.consultant,
        DECIDE,
        json!({ "i": { "engagementId": s.engagement, "reviewId": review,
        "kind": "ACCEPT_DATA_GAP", "platform": "rakuten", "reason": "no Rakuten sales in June" } }),
    )
    .await;
}

pub(crate) async fn plan(app: &TestApp, s: &Setup) -> String {
    let plan = app
        .ok(
            &s.consultant,
            DRAFT,
            json!({ "i": { "engagementId": s.engagement, "terms": {
            "name": "Advertising bonus", "period": "MONTH",
            "participants": [{ "memberId": s.li, "targetBonus": "200000" }] } } }),
        )
        .await["draftIncentivePlan"]
        .clone();
    assert_eq!(plan["approved"], false);
    let id = plan["id"].as_str().unwrap().to_string();
    // Consultants draft; only a client owner approves.
    assert_eq!(
        app.error_code(
            &s.consultant,
            APPROVE_PLAN,
            json!({ "i": { "engagementId": s.engagement, "planId": id, "version": 1 } })
        )
        .await,
        "FORBIDDEN"
    );
    app.ok(
        &s.owner,
        APPROVE_PLAN,
        json!({ "i": { "engagementId": s.engagement, "planId": id, "version": 1 } }),
    )
    .await;
    id
}

async fn june_is_locked_and_li_wei_is_paid_131667_yen(app: TestApp) {
    let s = setup(&app).await;
    let plan_id = plan(&app, &s).await;

    // No payout for an unlocked period.
    let body = app.gql(&s.consultant, CALCULATE, json!({ "i": { "engagementId": s.engagement, "period": "2026-06", "planId": plan_id } })).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "INVALID_TRANSITION",
        "{body}"
    );
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("not locked"));

    lock_june(&app, &s).await;

    // Targets of a locked period cannot change.
    let body = app
        .gql(
            &s.consultant,
            "mutation($i: SetTargetInput!) { setTarget(input: $i) { id } }",
            json!({ "i": { "engagementId": s.engagement, "kpiId": s.gmv, "periods": ["2026-06"],
                       "threshold": "1", "target": "2", "reason": "too late" } }),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "LOCKED", "{body}");

    let payouts = app
        .ok(&s.consultant, CALCULATE, json!({ "i": { "engagementId": s.engagement, "period": "2026-06", "planId": plan_id } }))
        .await["calculatePayouts"]
        .clone();
    let payout = &payouts[0];
    assert_eq!(payout["amount"], "131667", "{payout}");
    assert_eq!(payout["score"], "99");
    assert_eq!(payout["payoutPct"], "98.75");
    assert_eq!(payout["activeDays"], 20);
    assert_eq!(payout["periodDays"], 30);
    assert_eq!(payout["gatesPassed"], true);
    assert_eq!(payout["memberId"], s.li.as_str());
    let payout_id = payout["id"].as_str().unwrap().to_string();

    // Later, unrelated and even related changes do not move it: a restatement of June
    // arrives after the lock, and the recalculation gives the identical yen amount.
    app.ok(
        &s.consultant,
        "mutation($i: RecordObservationInput!) { recordObservation(input: $i) { value } }",
        json!({ "i": { "engagementId": s.engagement, "metric": "gmv", "platform": "amazon_jp",
                       "from": "2026-06-16", "to": "2026-06-30", "value": "1" } }),
    )
    .await;
    crate::engagements::open(&app, &s.consultant, "Another client").await;
    let review = app
        .ok(&s.owner, "query($id: UUID!, $li: UUID!) { engagement(id: $id) {
            scorecard(period: \"2026-06\", memberId: $li) { score }
            reviews { status scorecard(memberId: $li) { score } arrivedAfterLock { metric from to value } } } }",
            json!({ "id": s.engagement, "li": s.li }))
        .await;
    let e = &review["engagement"];
    assert_eq!(
        e["reviews"][0]["scorecard"]["score"], "99",
        "the locked result stands: {e}"
    );
    assert_ne!(
        e["scorecard"]["score"], "99",
        "the live card shows the variance: {e}"
    );
    assert_eq!(
        e["reviews"][0]["arrivedAfterLock"],
        json!([{ "metric": "gmv", "from": "2026-06-16", "to": "2026-06-30", "value": "1" }])
    );
    let verification = app
        .ok(&s.owner, "query($id: UUID!, $p: UUID!) { engagement(id: $id) { payoutVerification(payoutId: $p) {
            recordedAmount recomputedAmount identical } } }", json!({ "id": s.engagement, "p": payout_id }))
        .await;
    assert_eq!(
        verification["engagement"]["payoutVerification"],
        json!({ "recordedAmount": "131667", "recomputedAmount": "131667", "identical": true })
    );
    let again = app
        .ok(&s.consultant, CALCULATE, json!({ "i": { "engagementId": s.engagement, "period": "2026-06", "planId": plan_id } }))
        .await;
    assert_eq!(
        again["calculatePayouts"][0]["id"],
        payout_id.as_str(),
        "recalculation finds the same payout"
    );
    assert_eq!(again["calculatePayouts"][0]["amount"], "131667");

    // Approved by the client owner, then paid; a paid payout is only adjusted.
    let pay = |q: &str| q.to_string();
    assert_eq!(
        app.error_code(
            &s.consultant,
            &pay("mutation($i: PayoutInput!) { approvePayout(input: $i) { status } }"),
            json!({ "i": { "engagementId": s.engagement, "payoutId": payout_id } })
        )
        .await,
        "FORBIDDEN"
    );
    let body = app.gql(&s.consultant, "mutation($i: MarkPayoutPaidInput!) { markPayoutPaid(input: $i) { status } }",
        json!({ "i": { "engagementId": s.engagement, "payoutId": payout_id, "paidOn": "2026-07-25" } })).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "INVALID_TRANSITION",
        "unapproved payouts are not paid: {body}"
    );
    app.ok(
        &s.owner,
        "mutation($i: PayoutInput!) { approvePayout(input: $i) { status } }",
        json!({ "i": { "engagementId": s.engagement, "payoutId": payout_id } }),
    )
    .await;
    let paid = app.ok(&s.consultant, "mutation($i: MarkPayoutPaidInput!) { markPayoutPaid(input: $i) { status paidOn } }",
        json!({ "i": { "engagementId": s.engagement, "payoutId": payout_id, "paidOn": "2026-07-25" } })).await;
    assert_eq!(
        paid["markPayoutPaid"],
        json!({ "status": "PAID", "paidOn": "2026-07-25" })
    );
    let adjusted = app.ok(&s.consultant, "mutation($i: AdjustPayoutInput!) { adjustPayout(input: $i) { amount adjustments { amount reason carryInto } } }",
        json!({ "i": { "engagementId": s.engagement, "payoutId": payout_id, "amount": "-5000",
                       "reason": "refunds booked late", "carryInto": "2026-08" } })).await;
    assert_eq!(
        adjusted["adjustPayout"]["amount"], "131667",
        "the paid amount never changes"
    );
    assert_eq!(
        adjusted["adjustPayout"]["adjustments"][0]["amount"],
        "-5000"
    );

    // What if GMV had been ¥60,000,000, or the curve flat at 100 %? Nothing is recorded.
    let events = app.count("events").await;
    let what_if = app
        .ok(&s.owner, "query($id: UUID!, $plan: UUID!, $gmv: UUID!) {
            a: whatIfPayouts(engagementId: $id, period: \"2026-06\", planId: $plan, actuals: [{ kpiId: $gmv, actual: \"60000000\" }]) { score amount }
            b: whatIfPayouts(engagementId: $id, period: \"2026-06\", planId: $plan, curve: [{ score: \"0\", payoutPct: \"100\" }]) { amount } }",
            json!({ "id": s.engagement, "plan": plan_id, "gmv": s.gmv }))
        .await;
    assert_eq!(what_if["a"][0]["score"], "103");
    assert_eq!(what_if["b"][0]["amount"], "133333");
    assert_eq!(
        app.count("events").await,
        events,
        "a what-if records nothing"
    );

    // The statement, as XLSX (read back) and CSV, holds the same figures.
    let statement = "query($id: UUID!, $f: StatementFormat!, $l: StatementLanguage!) { engagement(id: $id) {
        payouts(period: \"2026-06\") { nodes { statement(format: $f, language: $l) { fileName contentType contentBase64 } } } } }";
    let xlsx = app
        .ok(
            &s.owner,
            statement,
            json!({ "id": s.engagement, "f": "XLSX", "l": "EN" }),
        )
        .await;
    let file = &xlsx["engagement"]["payouts"]["nodes"][0]["statement"];
    assert_eq!(
        file["fileName"], "statement-2026-06-li-wei-v1.xlsx",
        "a readable name, distinct per lock version"
    );
    let bytes = base64::engine::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        file["contentBase64"].as_str().unwrap(),
    )
    .unwrap();
    let cells = read_xlsx_cells(bytes, "Statement");
    let find = |label: &str| {
        cells
            .iter()
            .find(|row| row.first() == Some(&XlsxCell::Text(label.into())))
            .cloned()
            .unwrap_or_else(|| panic!("{label} in {cells:?}"))
    };
    // Money is a number (with a yen format), not text; every input appears as used.
    assert_eq!(find("Amount")[1], XlsxCell::Number(131667.0));
    assert_eq!(find("Target bonus")[1], XlsxCell::Number(200000.0));
    assert_eq!(find("Member")[1], XlsxCell::Text("Li Wei".into()));
    assert_eq!(find("Score used")[1], XlsxCell::Number(99.0));
    assert_eq!(find("Payout %")[1], XlsxCell::Number(98.75));
    assert_eq!(find("Active days")[1], XlsxCell::Number(20.0));
    assert_eq!(find("Period days")[1], XlsxCell::Number(30.0));
    assert_eq!(find("Status")[1], XlsxCell::Text("paid".into()));
    assert_eq!(find("Paid on")[1], XlsxCell::Date("2026-07-25".into()));
    assert!(
        matches!(find("Approved on")[1], XlsxCell::Date(_)),
        "the approval date appears once known"
    );
    // Recomputing from the printed figures gives the printed yen.
    let number = |label: &str| match find(label)[1] {
        XlsxCell::Number(n) => n,
        ref other => panic!("{label} is {other:?}"),
    };
    assert_eq!(
        (number("Target bonus") * number("Payout %") * number("Active days")
            / (100.0 * number("Period days")))
        .round(),
        number("Amount")
    );
    let gmv_line = cells
        .iter()
        .find(|row| row.get(1) == Some(&XlsxCell::Text("GMV (gross merchandise value)".into())))
        .unwrap_or_else(|| panic!("a GMV line in {cells:?}"));
    assert_eq!(gmv_line[5], XlsxCell::Number(55000000.0));
    assert_eq!(gmv_line[8], XlsxCell::Number(110.0));
    // A ratio is a percentage, its exact components beside it.
    let acos_line = cells
        .iter()
        .find(|row| {
            row.get(1)
                .is_some_and(|c| matches!(c, XlsxCell::Text(t) if t.starts_with("ACoS")))
        })
        .unwrap();
    assert_eq!(acos_line[3], XlsxCell::Number(0.25), "target 25%");
    assert_eq!(acos_line[5], XlsxCell::Number(0.25), "actual 25%");
    assert_eq!(acos_line[6], XlsxCell::Number(1200000.0));
    assert_eq!(acos_line[7], XlsxCell::Number(4800000.0));
    let csv = app
        .ok(
            &s.owner,
            statement,
            json!({ "id": s.engagement, "f": "CSV", "l": "JA" }),
        )
        .await;
    let file = &csv["engagement"]["payouts"]["nodes"][0]["statement"];
    assert_eq!(file["fileName"], "statement-2026-06-li-wei-v1.csv");
    let text = String::from_utf8(
        base64::engine::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            file["contentBase64"].as_str().unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert!(
        text.contains("支給額,131667\r\n") || text.contains("支給額,131667\n"),
        "{text}"
    );
    assert!(text.contains("在籍日数,20"), "{text}");
    assert!(text.contains("支給率（%）,98.75"), "{text}");
    assert!(text.contains("支払日,2026-07-25"), "{text}");
    assert!(text.contains("状態,支払済み"), "{text}");
    assert!(
        text.contains("流通総額（GMV）") && text.contains("クリック率（CTR）"),
        "Japanese metric names: {text}"
    );
    assert!(
        text.contains(",25%,"),
        "ratios as exact percentages: {text}"
    );
    assert!(text.contains(",0.375%,"), "{text}");
    assert!(
        !text.contains("gmv,"),
        "no metric keys in a Japanese statement: {text}"
    );

    // Li Wei reads his own payout; a client viewer reads none.
    let li = app.token_for_email("li.wei@acme.example").await;
    let own = app
        .ok(
            &li,
            "query($id: UUID!) { engagement(id: $id) { payouts(period: \"2026-06\") { nodes { amount } } } }",
            json!({ "id": s.engagement }),
        )
        .await;
    assert_eq!(
        own["engagement"]["payouts"]["nodes"],
        json!([{ "amount": "131667" }])
    );
}
on_both_backends!(june_is_locked_and_li_wei_is_paid_131667_yen);

async fn a_failed_gate_pays_nothing_and_two_consultants_do_not_lock(app: TestApp) {
    let s = setup(&app).await;
    let odr = app
        .ok(&s.consultant, "mutation($i: DefineKpiInput!) { defineKpi(input: $i) { id } }",
            json!({ "i": { "engagementId": s.engagement, "metric": "order_defect_rate", "weight": "0", "gate": true,
                           "assignee": { "position": "advertising" } } }))
        .await["defineKpi"]["id"].clone();
    app.ok(&s.consultant, "mutation($i: SetTargetInput!) { setTarget(input: $i) { id } }",
        json!({ "i": { "engagementId": s.engagement, "kpiId": odr, "periods": ["2026-06"], "threshold": "0.01", "target": "0.005", "reason": "ceiling" } })).await;
    for (metric, value) in [("defective_orders", "12"), ("orders", "1000")] {
        app.ok(
            &s.consultant,
            "mutation($i: RecordObservationInput!) { recordObservation(input: $i) { value } }",
            json!({ "i": { "engagementId": s.engagement, "metric": metric, "platform": "amazon_jp",
                           "from": "2026-06-01", "to": "2026-06-30", "value": value } }),
        )
        .await;
    }
    let plan_id = plan(&app, &s).await;

    // Two consultants signing do not lock the period.
    add(
        &app,
        &s.consultant,
        &s.engagement,
        "Ken Mori",
        "ken@consultancy.example",
        "CONSULTANT",
    )
    .await;
    let second = app.token_for_email("ken@consultancy.example").await;
    let review = app
        .ok(
            &s.consultant,
            OPEN_REVIEW,
            json!({ "i": { "engagementId": s.engagement, "period": "2026-06" } }),
        )
        .await["openReview"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.ok(
        &s.consultant,
        SIGN,
        json!({ "i": { "engagementId": s.engagement, "reviewId": review } }),
    )
    .await;
    // Decisions are recorded before the lock.
    let body = app.gql(&s.consultant, "mutation($i: CalculatePayoutsInput!) { calculatePayouts(input: $i) { id } }",
        json!({ "i": { "engagementId": s.engagement, "period": "2026-06", "planId": plan_id } })).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "INVALID_TRANSITION"
    );
    accept_rakuten_gap(&app, &s, &review).await;
    let after = app
        .ok(
            &second,
            SIGN,
            json!({ "i": { "engagementId": s.engagement, "reviewId": review } }),
        )
        .await;
    assert_eq!(after["signOffReview"]["status"], "OPEN");
    let again = app
        .gql(
            &s.consultant,
            SIGN,
            json!({ "i": { "engagementId": s.engagement, "reviewId": review } }),
        )
        .await;
    assert_eq!(
        again["errors"][0]["extensions"]["code"], "CONFLICT",
        "one person signs once: {again}"
    );
    let locked = app
        .ok(
            &s.owner,
            SIGN,
            json!({ "i": { "engagementId": s.engagement, "reviewId": review } }),
        )
        .await;
    assert_eq!(locked["signOffReview"]["status"], "LOCKED");

    let payouts = app
        .ok(&s.consultant, CALCULATE, json!({ "i": { "engagementId": s.engagement, "period": "2026-06", "planId": plan_id } }))
        .await["calculatePayouts"].clone();
    assert_eq!(payouts[0]["amount"], "0", "{payouts}");
    assert_eq!(payouts[0]["gatesPassed"], false);

    // Reopening and re-locking makes version 2; the earlier payout stays readable.
    app.ok(&s.consultant, DECIDE, json!({ "i": { "engagementId": s.engagement, "reviewId": review, "kind": "REOPEN", "reason": "defects were returns, not defects" } })).await;
    app.ok(&s.consultant, DECIDE, json!({ "i": { "engagementId": s.engagement, "reviewId": review, "kind": "EXCUSE_KPI", "kpiId": odr, "reason": "misclassified returns" } })).await;
    app.ok(
        &s.consultant,
        SIGN,
        json!({ "i": { "engagementId": s.engagement, "reviewId": review } }),
    )
    .await;
    let relocked = app
        .ok(
            &s.owner,
            SIGN,
            json!({ "i": { "engagementId": s.engagement, "reviewId": review } }),
        )
        .await;
    assert_eq!(relocked["signOffReview"]["version"], 2);
    let payouts = app
        .ok(&s.consultant, CALCULATE, json!({ "i": { "engagementId": s.engagement, "period": "2026-06", "planId": plan_id } }))
        .await["calculatePayouts"].clone();
    assert_eq!(
        payouts[0]["amount"], "131667",
        "the excused gate passes: {payouts}"
    );
    assert_eq!(payouts[0]["lockVersion"], 2);
    let all: Value = app.ok(&s.owner, "query($id: UUID!) { engagement(id: $id) { payouts(period: \"2026-06\") { nodes { amount lockVersion } } } }", json!({ "id": s.engagement })).await;
    assert_eq!(
        all["engagement"]["payouts"]["nodes"],
        json!([{ "amount": "0", "lockVersion": 1 }, { "amount": "131667", "lockVersion": 2 }])
    );
}
on_both_backends!(a_failed_gate_pays_nothing_and_two_consultants_do_not_lock);

/// One cell of a statement sheet, typed as the spreadsheet stores it.
#[derive(Debug, Clone, PartialEq)]
enum XlsxCell {
    Empty,
    Text(String),
    Number(f64),
    /// A date cell, as YYYY-MM-DD.
    Date(String),
}

/// Every cell of a sheet.
fn read_xlsx_cells(bytes: Vec<u8>, sheet: &str) -> Vec<Vec<XlsxCell>> {
    use calamine::{Data, Reader, Xlsx};
    let mut workbook: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).expect("an XLSX file");
    let range = workbook.worksheet_range(sheet).expect("the sheet");
    range
        .rows()
        .map(|row| {
            row.iter()
                .map(|cell| match cell {
                    Data::Empty => XlsxCell::Empty,
                    Data::Float(f) => XlsxCell::Number(*f),
                    Data::Int(i) => XlsxCell::Number(*i as f64),
                    Data::DateTime(d) => {
                        let (y, m, day, ..) = d.to_ymd_hms_milli();
                        XlsxCell::Date(format!("{y:04}-{m:02}-{day:02}"))
                    }
                    other => XlsxCell::Text(other.to_string()),
                })
                .collect()
        })
        .collect()
}

async fn a_period_has_one_review_and_a_relock_takes_the_corrections(app: TestApp) {
    let s = setup(&app).await;
    let plan_id = plan(&app, &s).await;
    let review = lock_june(&app, &s).await;
    let body = app
        .gql(
            &s.consultant,
            OPEN_REVIEW,
            json!({ "i": { "engagementId": s.engagement, "period": "2026-06" } }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "CONFLICT",
        "{body}"
    );

    // Reopen, correct June's GMV target, re-lock: version 2 is scored with the new target.
    app.ok(&s.consultant, DECIDE, json!({ "i": { "engagementId": s.engagement, "reviewId": review, "kind": "REOPEN", "reason": "target agreed wrong" } })).await;
    app.ok(&s.consultant, "mutation($i: SetTargetInput!) { setTarget(input: $i) { id } }",
        json!({ "i": { "engagementId": s.engagement, "kpiId": s.gmv, "periods": ["2026-06"],
                       "threshold": "40000000", "target": "55000000", "stretch": "60000000", "reason": "as signed in the contract" } })).await;
    app.ok(
        &s.consultant,
        SIGN,
        json!({ "i": { "engagementId": s.engagement, "reviewId": review } }),
    )
    .await;
    let relocked = app
        .ok(
            &s.owner,
            SIGN,
            json!({ "i": { "engagementId": s.engagement, "reviewId": review } }),
        )
        .await;
    assert_eq!(relocked["signOffReview"]["version"], 2);
    let payouts = app
        .ok(&s.consultant, CALCULATE, json!({ "i": { "engagementId": s.engagement, "period": "2026-06", "planId": plan_id } }))
        .await["calculatePayouts"].clone();
    // GMV 55M now hits the target exactly: 0.4×100 + 0.2×75 + 0.4×100 = 95.
    assert_eq!(payouts[0]["score"], "95", "{payouts}");
    assert_eq!(payouts[0]["lockVersion"], 2);
}
on_both_backends!(a_period_has_one_review_and_a_relock_takes_the_corrections);

async fn every_lock_version_reads_with_its_own_snapshot_result_and_late_arrivals(app: TestApp) {
    let s = setup(&app).await;
    let review = app
        .ok(
            &s.consultant,
            OPEN_REVIEW,
            json!({ "i": { "engagementId": s.engagement, "period": "2026-06" } }),
        )
        .await["openReview"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    accept_rakuten_gap(&app, &s, &review).await;
    const SIGN_WAITING: &str = "mutation($i: SignOffReviewInput!) { signOffReview(input: $i) {
        status awaitingSignOffFrom signatures { role } } }";
    let first = app
        .ok(
            &s.consultant,
            SIGN_WAITING,
            json!({ "i": { "engagementId": s.engagement, "reviewId": review } }),
        )
        .await;
    assert_eq!(
        first["signOffReview"],
        json!({ "status": "OPEN", "awaitingSignOffFrom": ["CLIENT_OWNER"],
                "signatures": [{ "role": "CONSULTANT" }] }),
        "after the first signature the review says whose it still waits for"
    );
    let locked = app
        .ok(
            &s.owner,
            SIGN_WAITING,
            json!({ "i": { "engagementId": s.engagement, "reviewId": review } }),
        )
        .await;
    assert_eq!(locked["signOffReview"]["status"], "LOCKED");
    assert_eq!(locked["signOffReview"]["awaitingSignOffFrom"], json!([]));

    // After the lock a weight change is accepted, and the live card of the locked period
    // says it is locked and offers the locked result beside the live one.
    let acos = app
        .ok(
            &s.consultant,
            "query($id: UUID!) { engagement(id: $id) { kpis { id metric } } }",
            json!({ "id": s.engagement }),
        )
        .await["engagement"]["kpis"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["metric"] == "acos")
        .unwrap()["id"]
        .clone();
    app.ok(
        &s.consultant,
        "mutation($i: ChangeKpiWeightInput!) { changeKpiWeight(input: $i) { id } }",
        json!({ "i": { "engagementId": s.engagement, "kpiId": acos, "weight": "10",
                       "reason": "ACoS matters less from July" } }),
    )
    .await;
    let live = app
        .ok(
            &s.owner,
            "query($id: UUID!, $li: UUID!) { engagement(id: $id) {
                scorecard(period: \"2026-06\", memberId: $li) {
                    score locked lock { reviewId version }
                    lockedScorecard { score asOfPosition } } } }",
            json!({ "id": s.engagement, "li": s.li }),
        )
        .await["engagement"]["scorecard"]
        .clone();
    assert_eq!(live["locked"], true, "{live}");
    assert_eq!(live["lock"]["reviewId"], review.as_str());
    assert_eq!(live["lock"]["version"], 1);
    assert_eq!(live["lockedScorecard"]["score"], "99", "{live}");
    assert_ne!(live["score"], "99", "the live card moved: {live}");

    // Reopen, new GMV data, and a second dual sign-off: version 2.
    app.ok(
        &s.consultant,
        DECIDE,
        json!({ "i": { "engagementId": s.engagement, "reviewId": review,
        "kind": "REOPEN", "reason": "late GMV restatement" } }),
    )
    .await;
    app.ok(
        &s.consultant,
        "mutation($i: RecordObservationInput!) { recordObservation(input: $i) { value } }",
        json!({ "i": { "engagementId": s.engagement, "metric": "gmv", "platform": "amazon_jp",
                       "from": "2026-06-16", "to": "2026-06-30", "value": "30000000" } }),
    )
    .await;
    let waiting = app
        .ok(
            &s.consultant,
            SIGN_WAITING,
            json!({ "i": { "engagementId": s.engagement, "reviewId": review } }),
        )
        .await;
    assert_eq!(
        waiting["signOffReview"]["awaitingSignOffFrom"],
        json!(["CLIENT_OWNER"]),
        "a reopen asks for both signatures again: {waiting}"
    );
    app.ok(
        &s.owner,
        SIGN,
        json!({ "i": { "engagementId": s.engagement, "reviewId": review } }),
    )
    .await;

    let read = app
        .ok(
            &s.owner,
            "query($id: UUID!, $li: UUID!) { engagement(id: $id) { reviews {
                version snapshotPosition
                scorecard(memberId: $li) { score asOfPosition }
                v1: scorecard(memberId: $li, version: 1) { score asOfPosition }
                arrivedAfterLock { metric from to value }
                locks { version snapshotPosition reopenedAt
                        scorecard(memberId: $li) { score asOfPosition }
                        arrivedAfterLock { metric from to value } } } } }",
            json!({ "id": s.engagement, "li": s.li }),
        )
        .await["engagement"]["reviews"][0]
        .clone();
    let locks = read["locks"].as_array().unwrap();
    assert_eq!(read["version"], 2);
    assert_eq!(locks.len(), 2, "{read}");
    assert_eq!(
        read["snapshotPosition"], locks[1]["snapshotPosition"],
        "the review reports its newest lock's snapshot: {read}"
    );
    assert_ne!(locks[0]["snapshotPosition"], locks[1]["snapshotPosition"]);
    assert!(!locks[0]["reopenedAt"].is_null());
    assert!(locks[1]["reopenedAt"].is_null());
    assert_eq!(
        read["scorecard"]["asOfPosition"],
        locks[1]["snapshotPosition"]
    );
    assert_eq!(
        read["arrivedAfterLock"],
        json!([]),
        "the second lock counts the new GMV: {read}"
    );
    // Version 1 stays readable with its own snapshot, result and late arrivals.
    assert_eq!(read["v1"]["score"], "99", "{read}");
    assert_eq!(read["v1"]["asOfPosition"], locks[0]["snapshotPosition"]);
    assert_eq!(locks[0]["scorecard"], read["v1"]);
    assert_eq!(
        locks[0]["arrivedAfterLock"],
        json!([{ "metric": "gmv", "from": "2026-06-16", "to": "2026-06-30", "value": "30000000" }])
    );
    assert_eq!(locks[1]["scorecard"], read["scorecard"]);
    assert_ne!(read["scorecard"]["score"], "99", "{read}");
}
on_both_backends!(every_lock_version_reads_with_its_own_snapshot_result_and_late_arrivals);

/// A target change and the sign-off that locks its period, sent at the same time, round
/// after round: the log never holds a target change of a period while it is locked. Either
/// the change lands before the lock, or it is refused as LOCKED.
async fn a_lock_and_a_target_change_raced_never_both_win(app: TestApp) {
    let s = setup(&app).await;
    let review = app
        .ok(
            &s.consultant,
            OPEN_REVIEW,
            json!({ "i": { "engagementId": s.engagement, "period": "2026-06" } }),
        )
        .await["openReview"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let sign = json!({ "i": { "engagementId": s.engagement, "reviewId": review } });
    let mut refused = 0;
    for round in 0..12 {
        if round > 0 {
            app.ok(
                &s.consultant,
                DECIDE,
                json!({ "i": { "engagementId": s.engagement,
                "reviewId": review, "kind": "REOPEN", "reason": format!("round {round}") } }),
            )
            .await;
        }
        app.ok(&s.consultant, SIGN, sign.clone()).await;
        let target = json!({ "i": { "engagementId": s.engagement, "kpiId": s.gmv,
            "periods": ["2026-06"], "threshold": "40000000",
            "target": (50_000_000 + round).to_string(), "reason": format!("round {round}") } });
        let (lock, change) = tokio::join!(
            app.gql(&s.owner, SIGN, sign.clone()),
            app.gql(
                &s.consultant,
                "mutation($i: SetTargetInput!) { setTarget(input: $i) { id } }",
                target
            ),
        );
        assert!(
            lock.get("errors").is_none(),
            "the lock always lands: {lock}"
        );
        if let Some(errors) = change.get("errors") {
            assert_eq!(errors[0]["extensions"]["code"], "LOCKED", "{change}");
            refused += 1;
        }
    }
    // The log: every June target change sits where June was unlocked.
    let db = kpi_ledger::store::Db::connect(&app.database.url)
        .await
        .unwrap();
    let rows: Vec<(i64, String, String)> = kpi_ledger::on_db!(&db, pool => {
        sqlx::query_as(
            "SELECT position, aggregate_type, event_type FROM events
              WHERE (aggregate_type = 'review' AND event_type IN ('PeriodLocked', 'PeriodReopened'))
                 OR (aggregate_type = 'kpi' AND event_type = 'TargetSet' AND aggregate_id = $1)
              ORDER BY position",
        )
        .bind(&s.gmv)
        .fetch_all(pool)
        .await
        .unwrap()
    });
    db.close().await;
    let mut locked = false;
    let mut changes = 0;
    for (position, _, event_type) in rows {
        match event_type.as_str() {
            "PeriodLocked" => locked = true,
            "PeriodReopened" => locked = false,
            _ => {
                changes += 1;
                assert!(
                    !locked,
                    "a target change at {position} while June was locked"
                );
            }
        }
    }
    // The worked example set two June targets before the rounds.
    assert_eq!(
        changes - 2 + refused,
        12,
        "every change either landed or was refused"
    );
}
on_both_backends!(a_lock_and_a_target_change_raced_never_both_win);

/// Two openings of a review for one period, at the same time: one review, one refusal.
async fn a_period_gets_one_review_even_when_two_open_it_at_once(app: TestApp) {
    let s = setup(&app).await;
    add(
        &app,
        &s.consultant,
        &s.engagement,
        "Ken Mori",
        "ken@consultancy.example",
        "CONSULTANT",
    )
    .await;
    let second = app.token_for_email("ken@consultancy.example").await;
    for period in ["2026-06", "2026-W23", "2026-Q2"] {
        let open = json!({ "i": { "engagementId": s.engagement, "period": period } });
        let (a, b) = tokio::join!(
            app.gql(&s.consultant, OPEN_REVIEW, open.clone()),
            app.gql(&second, OPEN_REVIEW, open.clone()),
        );
        let opened: Vec<&Value> = [&a, &b]
            .into_iter()
            .filter(|r| r.get("errors").is_none())
            .collect();
        assert_eq!(opened.len(), 1, "{period}: {a} / {b}");
        let refused = if a.get("errors").is_some() { &a } else { &b };
        assert_eq!(
            refused["errors"][0]["extensions"]["code"], "CONFLICT",
            "{refused}"
        );
    }
    let reviews = app
        .ok(
            &s.owner,
            "query($id: UUID!) { engagement(id: $id) { reviews { period } } }",
            json!({ "id": s.engagement }),
        )
        .await;
    assert_eq!(
        reviews["engagement"]["reviews"].as_array().unwrap().len(),
        3,
        "{reviews}"
    );
}
on_both_backends!(a_period_gets_one_review_even_when_two_open_it_at_once);
