//! One authorization matrix over every entry point (SPEC §1, docs/ARCHITECTURE.md
//! "Security model"): every GraphQL operation, the engagement fields that take arguments
//! or return personal data, every web route, the statement downloads and the command
//! line's one identity check, each asked by every kind of caller — the four roles of an
//! engagement, an outsider, another engagement's client, an administrator, an expired and
//! a revoked token, and nobody.
//!
//! The table below is the specification. The test runs every row against a live server,
//! fails when docs/schema.graphql or the routers have an operation or route the table
//! does not list, and generates docs/AUTHORIZATION.md from the table
//! (`UPDATE_MATRIX=1 cargo test --test api matrix`; without it a stale file fails).
//!
//! "allow" means the request got past authorization: data, or an error whose code is not
//! UNAUTHENTICATED, FORBIDDEN or NOT_FOUND (a VALIDATION or CONFLICT from the domain is
//! fine: an earlier allowed row may have changed the state). INTERNAL errors and 5xx
//! answers always fail. Mutations run the denied callers first, then the allowed ones.
//! A row whose expected cell is the correct outcome but the code disagrees is marked
//! `// DEFECT:` and keeps failing until the code is fixed. `MATRIX_TRACE=text` prints the
//! answers of the rows whose name contains `text`.

use crate::engagements::{add, open};
use crate::helpers::{Store, TestApp, TestDatabase};
use crate::settlement::{CALCULATE, DECIDE, OPEN_REVIEW, SIGN};
use crate::web::Browser;
use chrono::{Duration, Utc};
use kpi_ledger::app::Context;
use kpi_ledger::auth::{AuthSettings, TokenService};
use kpi_ledger_domain::metadata::CommandMetadata;
use kpi_ledger_domain::user::Grants;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use uuid::Uuid;

// ---------------------------------------------------------------------------------------
// Who asks

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Who {
    Consultant,
    Owner,
    Viewer,
    Member,
    Outsider,
    OtherClient,
    Admin,
    Former,
    Expired,
    Revoked,
    Anonymous,
}

use Who::*;

/// Every caller of the GraphQL API, in the order of the table's columns.
const EVERYONE: [Who; 11] = [
    Consultant,
    Owner,
    Viewer,
    Member,
    Outsider,
    OtherClient,
    Admin,
    Former,
    Expired,
    Revoked,
    Anonymous,
];

/// The callers of the web app: whoever can sign in, and nobody.
const WEB: [Who; 9] = [
    Consultant,
    Owner,
    Viewer,
    Member,
    Outsider,
    OtherClient,
    Admin,
    Former,
    Anonymous,
];

/// The accounts the command line can be told to act as (`--user EMAIL`).
const CLI: [Who; 8] = [
    Consultant,
    Owner,
    Viewer,
    Member,
    Outsider,
    OtherClient,
    Admin,
    Former,
];

impl Who {
    fn heading(self) -> &'static str {
        match self {
            Consultant => "consultant",
            Owner => "client owner",
            Viewer => "client viewer",
            Member => "member",
            Outsider => "outsider consultant",
            OtherClient => "other client",
            Admin => "admin",
            Former => "former client owner",
            Expired => "expired token",
            Revoked => "revoked token",
            Anonymous => "anonymous",
        }
    }

    fn described(self) -> &'static str {
        match self {
            Consultant => "Aiko Sato, consultant of the engagement (Acme Home JP, SPEC §7's worked example), who opened it",
            Owner => "Hiro Tanaka, client owner of the engagement",
            Viewer => "Mika Ito, client viewer of the engagement",
            Member => "Li Wei, the scored member of the worked example (another member, Sora Kato, holds the same position)",
            Outsider => "Ken Mori, a user with the installation's consultant grant who is not a member of the engagement",
            OtherClient => "Ren Other, client owner of another engagement (opened by the same consultant)",
            Admin => "Ada Admin, a user with the installation's admin grant and no membership",
            Former => "Fumi Former, client owner of the engagement until yesterday (`removeMember` with `activeUntil` the day before today)",
            Expired => "a token of the consultant whose expiry has passed",
            Revoked => "a token of Rei Revoked, a consultant of the engagement, issued before `token revoke`",
            Anonymous => "no token, no session",
        }
    }

    fn email(self) -> &'static str {
        match self {
            Consultant => "aiko@consultancy.example",
            Owner => "hiro@acme.example",
            Viewer => "mika@acme.example",
            Member => "li.wei@acme.example",
            Outsider => "ken@elsewhere.example",
            OtherClient => "ren@other.example",
            Admin => "ada@operator.example",
            Former => "fumi@acme.example",
            Expired => "aiko@consultancy.example",
            Revoked => "rei@consultancy.example",
            Anonymous => "",
        }
    }
}

// ---------------------------------------------------------------------------------------
// The ids the rows name

/// Ids of what the rows work on; placeholders when the table is built only to be checked
/// for completeness and written out.
#[derive(Debug, Clone, Default)]
struct Fixture {
    /// The engagement (Acme Home JP).
    a: String,
    /// Another engagement, of the other client.
    b: String,
    /// An id no engagement has.
    missing: String,
    /// Member ids: Li Wei, Sora Kato (same position), a member of the other engagement.
    li: String,
    sora: String,
    b_member: String,
    /// Members the mutations change (role, removal, erasure).
    role_target: String,
    removal_target: String,
    /// The member the web form removes.
    web_removal_target: String,
    erasure_target: String,
    /// KPIs: gmv of the worked example (on Li Wei's card), Sora's personal KPI, a team
    /// KPI the mutations change, and a KPI of the other engagement.
    gmv: String,
    sora_kpi: String,
    scratch_kpi: String,
    b_kpi: String,
    /// The approved plan paying Li and Sora for June, and an unapproved draft.
    plan: String,
    scratch_plan: String,
    /// June is locked; May's review is open.
    june_review: String,
    may_review: String,
    li_payout: String,
    sora_payout: String,
    /// An instant after the set-up, for as-of reads.
    as_of: String,
    /// An unused invitation link (`/invitations/…`).
    invitation: String,
    /// Li Wei's payout amount as the API and the pages write it.
    payout_amounts: Vec<String>,
    /// Text each caller must never get back (others' names, emails, user ids, the other
    /// engagement): checked on every answer that got past authorization.
    never_shown: Vec<(Who, Vec<String>)>,
}

impl Fixture {
    fn placeholder() -> Self {
        let nil = Uuid::nil().to_string();
        Fixture {
            a: nil.clone(),
            b: nil.clone(),
            missing: nil.clone(),
            li: nil.clone(),
            sora: nil.clone(),
            b_member: nil.clone(),
            role_target: nil.clone(),
            removal_target: nil.clone(),
            web_removal_target: nil.clone(),
            erasure_target: nil.clone(),
            gmv: nil.clone(),
            sora_kpi: nil.clone(),
            scratch_kpi: nil.clone(),
            b_kpi: nil.clone(),
            plan: nil.clone(),
            scratch_plan: nil.clone(),
            june_review: nil.clone(),
            may_review: nil.clone(),
            li_payout: nil.clone(),
            sora_payout: nil,
            as_of: "2026-07-01T00:00:00Z".into(),
            invitation: "/invitations/placeholder".into(),
            payout_amounts: Vec::new(),
            never_shown: Vec::new(),
        }
    }

    fn never_shown(&self, who: Who) -> &[String] {
        self.never_shown
            .iter()
            .find(|(w, _)| *w == who)
            .map(|(_, t)| t.as_slice())
            .unwrap_or_default()
    }
}

// ---------------------------------------------------------------------------------------
// GraphQL rows

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Queries,
    Fields,
    Nested,
    Mutations,
}

const ALLOW: &str = "allow";

struct GqlRow {
    section: Section,
    /// `Type.field`, then a bracketed variant: `Engagement.scorecard [own card]`.
    name: String,
    query: String,
    variables: Value,
    /// One cell per [`EVERYONE`]: `allow` or the `extensions.code`.
    expect: Vec<&'static str>,
    /// Beyond the code: (caller, what, text that must be absent from their answer).
    hidden: Vec<(Who, &'static str, Vec<String>)>,
    /// Sent as a GraphQL multipart request with a small CSV as `variables.file`.
    upload: bool,
    /// Why the code disagrees with the expected (correct) outcome.
    defect: Option<&'static str>,
}

/// A, F, N, U per caller of [`EVERYONE`] (spaces ignored).
fn codes(letters: &str, columns: usize) -> Vec<&'static str> {
    let cells: Vec<&'static str> = letters
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            'A' => ALLOW,
            'F' => "FORBIDDEN",
            'N' => "NOT_FOUND",
            'U' => "UNAUTHENTICATED",
            other => panic!("unknown cell `{other}` in `{letters}`"),
        })
        .collect();
    assert_eq!(cells.len(), columns, "`{letters}` needs {columns} cells");
    cells
}

fn row(section: Section, name: &str, query: String, variables: Value, letters: &str) -> GqlRow {
    GqlRow {
        section,
        name: name.to_string(),
        query,
        variables,
        expect: codes(letters, EVERYONE.len()),
        hidden: Vec::new(),
        upload: false,
        defect: None,
    }
}

impl GqlRow {
    fn hide(mut self, who: Who, what: &'static str, text: &[&String]) -> Self {
        self.hidden
            .push((who, what, text.iter().map(|t| t.to_string()).collect()));
        self
    }

    fn upload(mut self) -> Self {
        self.upload = true;
        self
    }

    /// Marks a row whose expected cells the code does not meet yet (a defect found by
    /// the matrix): listed under Defects in the document, failing until fixed.
    #[allow(dead_code)]
    fn defect(mut self, why: &'static str) -> Self {
        self.defect = Some(why);
        self
    }

    fn expected(&self, who: Who) -> &'static str {
        self.expect[EVERYONE.iter().position(|w| *w == who).unwrap()]
    }
}

/// A query of one engagement's field: `$id` is the engagement, `params` more variables.
fn eng(params: &str, selection: &str) -> String {
    format!("query($id: UUID!{params}) {{ engagement(id: $id) {{ {selection} }} }}")
}

/// `{ "id": engagement, …more }`.
fn with_id(engagement: &str, more: Value) -> Value {
    let mut variables = json!({ "id": engagement });
    if let (Some(target), Value::Object(more)) = (variables.as_object_mut(), more) {
        target.extend(more);
    }
    variables
}

fn mutation(name: &str, input: &str, selection: &str, value: Value, letters: &str) -> GqlRow {
    row(
        Section::Mutations,
        &format!("MutationRoot.{name}"),
        format!("mutation($i: {input}!) {{ {name}(input: $i) {{ {selection} }} }}"),
        json!({ "i": value }),
        letters,
    )
}

const MEMBERS_SELECTION: &str =
    "members(includeFormer: true, first: 200) { totalCount nodes { id role displayName email pseudonym isViewer } }";
const PERSON: &str = "{ memberId name display pseudonym }";

fn graphql_rows(f: &Fixture) -> Vec<GqlRow> {
    use Section::*;
    let a = &f.a;
    // The rows that carry people: the check names what the consultant's answer shows.
    let strangers_to_viewer: Vec<&String> = f.never_shown(Viewer).iter().collect();
    let strangers_to_member: Vec<&String> = f.never_shown(Member).iter().collect();
    let people_to_viewer = "anyone else's name, email or user id";
    let people_to_member = "anyone else's name or email";
    let payout_amounts: Vec<&String> = f.payout_amounts.iter().collect();
    let review_fields = format!(
        "id period status signatures {{ signedBy role signedByPerson {PERSON} }}
         entries(first: 200) {{ nodes {{ kind detail recordedBy sentence recordedByPerson {PERSON} }} }}"
    );
    vec![
        // ---- QueryRoot
        row(Queries, "QueryRoot.viewer", "{ viewer { id email displayName consultant admin } }".into(), json!({}), "AAAA AAAA UUU"),
        row(Queries, "QueryRoot.engagements", "{ engagements(first: 100) { totalCount nodes { id name clientName } } }".into(), json!({}), "AAAA AAAA UUU")
            .hide(Owner, "the other engagement", &[&f.b])
            .hide(Viewer, "the other engagement", &[&f.b])
            .hide(Member, "the other engagement", &[&f.b])
            .hide(Outsider, "every engagement", &[a, &f.b])
            .hide(Admin, "every engagement", &[a, &f.b])
            .hide(OtherClient, "this engagement", &[a]),
        row(Queries, "QueryRoot.engagement", eng("", "id name clientName status viewerRole viewerMayImport platforms openedAt"), with_id(a, json!({})), "AAAA NNNN UUU"),
        row(Queries, "QueryRoot.engagement [an id no engagement has]", eng("", "id name"), with_id(&f.missing, json!({})), "NNNN NNNN UUU"),
        row(Queries, "QueryRoot.metricCatalog", "{ metricCatalog { key unit } }".into(), json!({}), "AAAA AAAA UUU"),
        row(Queries, "QueryRoot.whatIfPayouts",
            "query($id: UUID!, $plan: UUID!) { whatIfPayouts(engagementId: $id, period: \"2026-06\", planId: $plan) { memberId score amount } }".into(),
            with_id(a, json!({ "plan": f.plan })), "AAFF NNNN UUU"),
        row(Queries, "QueryRoot.auditVerification",
            "query($id: UUID!) { auditVerification(engagementId: $id) { engagementId verified events headPosition } }".into(),
            with_id(a, json!({})), "AAAF NNNN UUU"),

        // ---- Engagement fields
        row(Fields, "Engagement.metrics", eng("", "metrics { key custom }"), with_id(a, json!({})), "AAAA NNNN UUU"),
        row(Fields, "Engagement.kpis", eng("", "kpis(includeRetired: true) { id name metric assignee { kind position memberId } targets { period target } }"), with_id(a, json!({})), "AAAA NNNN UUU")
            .hide(Member, "another member's KPI", &[&f.sora_kpi, &f.sora]),
        row(Fields, "Engagement.kpis [asOf]", eng(", $at: DateTime", "kpis(includeRetired: true, asOf: $at) { id weight assignee { memberId } targets { period target } }"), with_id(a, json!({ "at": f.as_of })), "AAAA NNNN UUU")
            .hide(Member, "another member's KPI", &[&f.sora_kpi, &f.sora]),
        row(Fields, "Engagement.changes", eng("", &format!(
            "changes(from: {{ lastLock: true }}) {{ fromPosition toPosition periods
               targets {{ kpiId kpiName events {{ kind actor {PERSON} reason sentence }} }}
               kpis {{ kpiId kpiName }} plans {{ planId name }}
               observations(first: 50) {{ totalCount }}
               scores {{ period memberId kpiId scoreAfter }}
               events(first: 200) {{ nodes {{ kind aggregateId reason actor {PERSON} sentence }} }} }}")),
            with_id(a, json!({})), "AAAF NNNN UUU")
            .hide(Viewer, people_to_viewer, &strangers_to_viewer)
            .hide(Viewer, "members' personal score lines", &[&f.sora])
            .hide(Viewer, "members' payout amounts", &payout_amounts),
        row(Fields, "Engagement.scorecard [team]", eng("", "scorecard(period: \"2026-06\") { memberId score complete kpis { kpi { id name } score } }"), with_id(a, json!({})), "AAAA NNNN UUU"),
        row(Fields, "Engagement.scorecard [Li Wei's card]", eng(", $m: UUID", "scorecard(period: \"2026-06\", memberId: $m) { memberId score kpis { kpi { id } score } }"), with_id(a, json!({ "m": f.li })), "AAFA NNNN UUU"),
        row(Fields, "Engagement.scorecard [another member's card]", eng(", $m: UUID", "scorecard(period: \"2026-06\", memberId: $m) { memberId score }"), with_id(a, json!({ "m": f.sora })), "AAFN NNNN UUU"),
        row(Fields, "Engagement.scorecard [member of another engagement]", eng(", $m: UUID", "scorecard(period: \"2026-06\", memberId: $m) { memberId score }"), with_id(a, json!({ "m": f.b_member })), "NNFN NNNN UUU"),
        row(Fields, "Engagement.scorecard [asOf, team]", eng(", $at: DateTime", "scorecard(period: \"2026-06\", asOf: $at) { score asOfPosition }"), with_id(a, json!({ "at": f.as_of })), "AAAA NNNN UUU"),
        row(Fields, "Engagement.scorecard [asOf, Li Wei's card]", eng(", $m: UUID, $at: DateTime", "scorecard(period: \"2026-06\", memberId: $m, asOf: $at) { score asOfPosition }"), with_id(a, json!({ "m": f.li, "at": f.as_of })), "AAFA NNNN UUU"),
        row(Fields, "Engagement.scorecard [asOf, another member's card]", eng(", $m: UUID, $at: DateTime", "scorecard(period: \"2026-06\", memberId: $m, asOf: $at) { score asOfPosition }"), with_id(a, json!({ "m": f.sora, "at": f.as_of })), "AAFN NNNN UUU"),
        row(Fields, "Engagement.targetHistory", eng(", $kpi: UUID!", &format!("targetHistory(kpiId: $kpi, first: 200) {{ totalCount nodes {{ period reason changedBy changedByPerson {PERSON} }} }}")), with_id(a, json!({ "kpi": f.gmv })), "AAAA NNNN UUU")
            .hide(Viewer, people_to_viewer, &strangers_to_viewer)
            .hide(Member, people_to_member, &strangers_to_member),
        row(Fields, "Engagement.targetHistory [another member's KPI]", eng(", $kpi: UUID!", "targetHistory(kpiId: $kpi) { totalCount nodes { period } }"), with_id(a, json!({ "kpi": f.sora_kpi })), "AAAN NNNN UUU"),
        row(Fields, "Engagement.targetHistory [KPI of another engagement]", eng(", $kpi: UUID!", "targetHistory(kpiId: $kpi) { totalCount }"), with_id(a, json!({ "kpi": f.b_kpi })), "NNNN NNNN UUU"),
        row(Fields, "Engagement.observations", eng("", "observations(metric: \"gmv\", from: \"2026-06-01\", to: \"2026-06-30\", first: 200) { totalCount nodes { platform from to value source } }"), with_id(a, json!({})), "AAAF NNNN UUU"),
        row(Fields, "Engagement.auditLog", eng("", &format!("auditLog(first: 200) {{ edges {{ node {{ position kind aggregateType aggregateId reason correlationId actor {PERSON} sentence sentences {{ ja zh en }} }} }} }}")), with_id(a, json!({})), "AAAF NNNN UUU")
            .hide(Viewer, people_to_viewer, &strangers_to_viewer)
            .hide(Viewer, "members' payout amounts", &payout_amounts),
        row(Fields, "Engagement.reviews", eng("", &format!("reviews {{ {review_fields} }}")), with_id(a, json!({})), "AAAF NNNN UUU")
            .hide(Viewer, people_to_viewer, &strangers_to_viewer),
        row(Fields, "Engagement.incentivePlans", eng("", &format!("incentivePlans {{ id name version approved approvedBy approvedByPerson {PERSON} participants {{ memberId targetBonus }} }}")), with_id(a, json!({})), "AAFF NNNN UUU"),
        row(Fields, "Engagement.payouts", eng("", "payouts(first: 200) { totalCount nodes { id memberId period status amount } }"), with_id(a, json!({})), "AAFA NNNN UUU")
            .hide(Member, "another member's payout", &[&f.sora_payout, &f.sora]),
        row(Fields, "Engagement.payouts [period]", eng("", "payouts(period: \"2026-06\") { totalCount nodes { id memberId amount } }"), with_id(a, json!({})), "AAFA NNNN UUU")
            .hide(Member, "another member's payout", &[&f.sora_payout, &f.sora]),
        row(Fields, "Engagement.summary", eng("", "summary { period score complete trend { period score } late { platform } }"), with_id(a, json!({})), "AAAA NNNN UUU"),
        row(Fields, "Engagement.payout [Li Wei's payout]", eng(", $p: UUID!", "payout(id: $p) { id memberId amount status }"), with_id(a, json!({ "p": f.li_payout })), "AAFA NNNN UUU"),
        row(Fields, "Engagement.payout [another member's payout]", eng(", $p: UUID!", "payout(id: $p) { id memberId amount }"), with_id(a, json!({ "p": f.sora_payout })), "AAFN NNNN UUU"),
        row(Fields, "Engagement.payoutVerification [Li Wei's payout]", eng(", $p: UUID!", "payoutVerification(payoutId: $p) { payoutId recordedAmount identical }"), with_id(a, json!({ "p": f.li_payout })), "AAFA NNNN UUU"),
        row(Fields, "Engagement.payoutVerification [another member's payout]", eng(", $p: UUID!", "payoutVerification(payoutId: $p) { payoutId recordedAmount }"), with_id(a, json!({ "p": f.sora_payout })), "AAFN NNNN UUU"),
        row(Fields, "Engagement.personalDataReads [Li Wei's]", eng(", $m: UUID!", "personalDataReads(memberId: $m) { day kind reads readerRole readerPseudonym readerName }"), with_id(a, json!({ "m": f.li })), "AAFA NNNN UUU"),
        row(Fields, "Engagement.personalDataReads [another member's]", eng(", $m: UUID!", "personalDataReads(memberId: $m) { day kind reads readerPseudonym readerName }"), with_id(a, json!({ "m": f.sora })), "AAFN NNNN UUU"),
        row(Fields, "Engagement.personalDataReads [member of another engagement]", eng(", $m: UUID!", "personalDataReads(memberId: $m) { day reads }"), with_id(a, json!({ "m": f.b_member })), "NNFN NNNN UUU"),
        row(Fields, "Engagement.imports", eng("", "imports(first: 50) { totalCount nodes { id status fileName } }"), with_id(a, json!({})), "AAAF NNNN UUU"),
        row(Fields, "Engagement.members", eng("", MEMBERS_SELECTION), with_id(a, json!({})), "AAAA NNNN UUU")
            .hide(Member, "other members", &[&f.sora, &f.role_target])
            .hide(Viewer, people_to_viewer, &strangers_to_viewer)
            .hide(Member, people_to_member, &strangers_to_member),

        // ---- Fields of what an engagement returns
        row(Nested, "Payout.statement [Li Wei's payout]", eng(", $p: UUID!", "payout(id: $p) { statement(format: CSV, language: EN) { fileName contentType contentBase64 } }"), with_id(a, json!({ "p": f.li_payout })), "AAFA NNNN UUU"),
        row(Nested, "Payout.statement [another member's payout]", eng(", $p: UUID!", "payout(id: $p) { statement(format: XLSX) { fileName } }"), with_id(a, json!({ "p": f.sora_payout })), "AAFN NNNN UUU"),
        row(Nested, "Review.scorecard [team]", eng("", "reviews { id scorecard { score } }"), with_id(a, json!({})), "AAAF NNNN UUU"),
        row(Nested, "Review.scorecard [Li Wei's card]", eng(", $m: UUID", "reviews { id scorecard(memberId: $m) { memberId score } }"), with_id(a, json!({ "m": f.li })), "AAFF NNNN UUU"),
        row(Nested, "Review.arrivedAfterLock", eng("", "reviews { id arrivedAfterLock { metric value } }"), with_id(a, json!({})), "AAAF NNNN UUU"),
        row(Nested, "ReviewLock.scorecard [Li Wei's card]", eng(", $m: UUID", "reviews { locks { version scorecard(memberId: $m) { memberId score } } }"), with_id(a, json!({ "m": f.li })), "AAFF NNNN UUU"),
        row(Nested, "Kpi.targets [asOf]", eng(", $at: DateTime", "kpis { id targets(asOf: $at) { period target } }"), with_id(a, json!({ "at": f.as_of })), "AAAA NNNN UUU")
            .hide(Member, "another member's KPI", &[&f.sora_kpi]),

        // ---- MutationRoot
        mutation("openEngagement", "OpenEngagementInput", "id viewerRole",
            json!({ "name": "Matrix Probe", "clientName": "Probe K.K.", "platforms": ["amazon_jp"] }), "AFFF AFFF UUU"),
        mutation("changeEngagementStatus", "ChangeEngagementStatusInput", "status",
            json!({ "engagementId": a, "status": "TRIAL", "reason": "trial starts" }), "AFFF NNNN UUU"),
        mutation("addMember", "AddMemberInput", "id role",
            json!({ "engagementId": a, "displayName": "Added Person", "email": "added.person@acme.example",
                    "role": "MEMBER", "position": "operations", "activeFrom": "2026-06-01" }), "AFFF NNNN UUU"),
        mutation("changeMemberRole", "ChangeMemberRoleInput", "id role",
            json!({ "engagementId": a, "memberId": f.role_target, "role": "CLIENT_VIEWER", "reason": "now audits" }), "AFFF NNNN UUU"),
        mutation("eraseMemberPersonalData", "EraseMemberPersonalDataInput", "id erased",
            json!({ "engagementId": a, "memberId": f.erasure_target, "reason": "their request" }), "FAFF NNNN UUU"),
        mutation("removeMember", "RemoveMemberInput", "id activeUntil",
            json!({ "engagementId": a, "memberId": f.removal_target, "activeUntil": "2099-12-31", "reason": "leaves" }), "AFFF NNNN UUU"),
        mutation("defineMetric", "DefineMetricInput", "key custom",
            json!({ "engagementId": a, "key": "matrix_probe", "label": "Matrix probe", "unit": "COUNT", "aggregation": "SUM" }), "AFFF NNNN UUU"),
        mutation("defineKpi", "DefineKpiInput", "id",
            json!({ "engagementId": a, "metric": "sessions", "assignee": { "team": true }, "weight": "0" }), "AFFF NNNN UUU"),
        mutation("changeKpiWeight", "ChangeKpiWeightInput", "id weight",
            json!({ "engagementId": a, "kpiId": f.scratch_kpi, "weight": "2" }), "AFFF NNNN UUU"),
        mutation("setTarget", "SetTargetInput", "id",
            json!({ "engagementId": a, "kpiId": f.scratch_kpi, "periods": ["2027-01"], "threshold": "1", "target": "2", "reason": "matrix" }), "AFFF NNNN UUU"),
        mutation("setTarget", "SetTargetInput", "id",
            json!({ "engagementId": a, "kpiId": f.b_kpi, "periods": ["2027-01"], "threshold": "1", "target": "2", "reason": "matrix" }), "NFFF NNNN UUU")
            .renamed("MutationRoot.setTarget [KPI of another engagement]"),
        mutation("retireKpi", "RetireKpiInput", "id retiredFrom",
            json!({ "engagementId": a, "kpiId": f.scratch_kpi, "from": "2099-01-01" }), "AFFF NNNN UUU"),
        mutation("recordObservation", "RecordObservationInput", "value",
            json!({ "engagementId": a, "metric": "sessions", "platform": "amazon_jp", "date": "2027-01-15", "value": "7" }), "AFFF NNNN UUU"),
        mutation("correctObservation", "CorrectObservationInput", "value source",
            json!({ "engagementId": a, "metric": "sessions", "platform": "amazon_jp", "date": "2027-02-01", "value": "6", "reason": "typo" }), "AFFF NNNN UUU"),
        row(Mutations, "MutationRoot.importMetrics",
            "mutation($input: ImportMetricsInput!, $file: Upload!) { importMetrics(input: $input, file: $file) { id status } }".into(),
            json!({ "input": { "engagementId": a, "format": "GENERIC_CSV" }, "file": null }), "AFFF NNNN UUU")
            .upload(),
        mutation("openReview", "OpenReviewInput", "id status",
            json!({ "engagementId": a, "period": "2026-08" }), "AFFF NNNN UUU"),
        mutation("recordFinding", "RecordFindingInput", "id",
            json!({ "engagementId": a, "reviewId": f.may_review, "deviation": "sessions down", "cause": "listing suppressed" }), "AFFF NNNN UUU"),
        mutation("recordDecision", "RecordDecisionInput", "id",
            json!({ "engagementId": a, "reviewId": f.may_review, "kind": "ACCEPT" }), "AFFF NNNN UUU"),
        mutation("signOffReview", "SignOffReviewInput", "id status",
            json!({ "engagementId": a, "reviewId": f.may_review }), "AAFF NNNN UUU"),
        mutation("draftIncentivePlan", "DraftIncentivePlanInput", "id version",
            json!({ "engagementId": a, "terms": { "name": "Probe plan", "period": "MONTH",
                    "participants": [{ "memberId": f.li, "targetBonus": "1000" }] } }), "AFFF NNNN UUU"),
        mutation("approveIncentivePlan", "ApproveIncentivePlanInput", "id approved",
            json!({ "engagementId": a, "planId": f.scratch_plan, "version": 1 }), "FAFF NNNN UUU"),
        mutation("reviseIncentivePlan", "ReviseIncentivePlanInput", "id version",
            json!({ "engagementId": a, "planId": f.scratch_plan, "terms": { "name": "Scratch plan", "period": "MONTH",
                    "participants": [{ "memberId": f.li, "targetBonus": "2000" }] } }), "AFFF NNNN UUU"),
        mutation("calculatePayouts", "CalculatePayoutsInput", "id",
            json!({ "engagementId": a, "period": "2026-06", "planId": f.plan }), "AFFF NNNN UUU"),
        mutation("approvePayout", "PayoutInput", "id status",
            json!({ "engagementId": a, "payoutId": f.li_payout }), "FAFF NNNN UUU"),
        mutation("markPayoutPaid", "MarkPayoutPaidInput", "id status",
            json!({ "engagementId": a, "payoutId": f.li_payout, "paidOn": "2026-07-25" }), "AAFF NNNN UUU"),
        mutation("adjustPayout", "AdjustPayoutInput", "id",
            json!({ "engagementId": a, "payoutId": f.li_payout, "amount": "1000", "reason": "late data", "carryInto": "2026-07" }), "AFFF NNNN UUU"),
    ]
}

impl GqlRow {
    fn renamed(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }
}

// ---------------------------------------------------------------------------------------
// Web rows

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WebSection {
    Pages,
    Downloads,
}

enum WebRequest {
    Get(String),
    /// A form; `{csrf}` stands for the caller's session token.
    Post(String, Vec<(String, String)>),
    /// The import form: multipart, the session token first, then a small CSV.
    Upload(String),
}

struct WebRow {
    section: WebSection,
    /// `METHOD /path/{param}` as the router names it.
    route: String,
    /// Which case of the route.
    case: String,
    request: WebRequest,
    /// One cell per [`WEB`]: a status, or `303→sign-in`.
    expect: Vec<String>,
    /// The page shows the person it is for (an invitation): names are not checked.
    names_shown: bool,
    /// Beyond the status: (caller, what, text that must be absent from their page).
    hidden: Vec<(Who, &'static str, Vec<String>)>,
    /// Why the code disagrees with the expected (correct) outcome.
    defect: Option<&'static str>,
}

impl WebRow {
    fn hide(mut self, who: Who, what: &'static str, text: &[&String]) -> Self {
        self.hidden
            .push((who, what, text.iter().map(|t| t.to_string()).collect()));
        self
    }

    /// Marks a row whose expected cells the code does not meet yet (a defect found by
    /// the matrix): listed under Defects in the document, failing until fixed.
    #[allow(dead_code)]
    fn defect(mut self, why: &'static str) -> Self {
        self.defect = Some(why);
        self
    }
}

const SIGN_IN: &str = "303→sign-in";

fn statuses(cells: &str) -> Vec<String> {
    let cells: Vec<String> = cells
        .split_whitespace()
        .map(|c| {
            if c == "SI" {
                SIGN_IN.to_string()
            } else {
                c.to_string()
            }
        })
        .collect();
    assert_eq!(cells.len(), WEB.len(), "{cells:?}");
    cells
}

fn get(route: &str, case: &str, path: String, cells: &str) -> WebRow {
    WebRow {
        section: WebSection::Pages,
        route: format!("GET {route}"),
        case: case.to_string(),
        request: WebRequest::Get(path),
        expect: statuses(cells),
        names_shown: false,
        hidden: Vec::new(),
        defect: None,
    }
}

fn post(route: &str, case: &str, path: String, fields: &[(&str, &str)], cells: &str) -> WebRow {
    WebRow {
        section: WebSection::Pages,
        route: format!("POST {route}"),
        case: case.to_string(),
        request: WebRequest::Post(
            path,
            fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ),
        expect: statuses(cells),
        names_shown: false,
        hidden: Vec::new(),
        defect: None,
    }
}

/// The actions of `/engagements/{id}/actions/{action}`: (action, form fields, who may).
/// The fields are valid, so that the API (not a form check) decides.
type Action = (&'static str, Vec<(String, String)>, &'static str);

fn actions(f: &Fixture) -> Vec<Action> {
    let consultant = "303 404 404 404 404 404 404 404 SI";
    let owner = "404 303 404 404 404 404 404 404 SI";
    let both = "303 303 404 404 404 404 404 404 SI";
    let form = |fields: &[(&str, &str)]| -> Vec<(String, String)> {
        fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let bonus = format!("bonus_{}", f.li);
    vec![
        (
            "add_member",
            form(&[
                ("name", "Web Added"),
                ("email", "web.added@acme.example"),
                ("role", "MEMBER"),
                ("position", "operations"),
                ("active_from", "2026-06-01"),
            ]),
            consultant,
        ),
        (
            "record_finding",
            form(&[
                ("review", &f.may_review),
                ("deviation", "web finding"),
                ("cause", "web cause"),
            ]),
            consultant,
        ),
        (
            "record_decision",
            form(&[("review", &f.may_review), ("kind", "ACCEPT")]),
            consultant,
        ),
        (
            "adjust_payout",
            form(&[
                ("payout", &f.li_payout),
                ("amount", "500"),
                ("reason", "web adjustment"),
                ("carry_into", "2026-08"),
            ]),
            consultant,
        ),
        (
            "change_role",
            form(&[("member", &f.role_target), ("role", "MEMBER")]),
            consultant,
        ),
        (
            "remove_member",
            form(&[("member", &f.web_removal_target), ("until", "2099-12-31")]),
            consultant,
        ),
        (
            "erase_personal_data",
            form(&[("member", &f.erasure_target), ("reason", "their request")]),
            owner,
        ),
        (
            "retire_kpi",
            form(&[("kpi", &f.scratch_kpi), ("from", "2099-06-01")]),
            consultant,
        ),
        (
            "correct_observation",
            form(&[
                ("metric", "sessions"),
                ("platform", "amazon_jp"),
                ("from", "2027-02-01"),
                ("to", "2027-02-01"),
                ("value", "6"),
                ("reason", "web correction"),
            ]),
            consultant,
        ),
        (
            "define_kpi",
            form(&[
                ("metric", "sessions"),
                ("assignee", "team"),
                ("weight", "0"),
            ]),
            consultant,
        ),
        (
            "change_weight",
            form(&[("kpi", &f.scratch_kpi), ("weight", "3")]),
            consultant,
        ),
        (
            "draft_plan",
            form(&[
                ("name", "Web plan"),
                ("period_kind", "MONTH"),
                (&bonus, "1000"),
            ]),
            consultant,
        ),
        (
            "set_target",
            form(&[
                ("kpi", &f.scratch_kpi),
                ("periods", "2027-02"),
                ("threshold", "1"),
                ("target", "2"),
                ("reason", "web target"),
            ]),
            consultant,
        ),
        (
            "record_observation",
            form(&[
                ("metric", "sessions"),
                ("platform", "amazon_jp"),
                ("from", "2027-01-20"),
                ("to", "2027-01-20"),
                ("value", "3"),
            ]),
            consultant,
        ),
        ("open_review", form(&[("period", "2026-09")]), consultant),
        ("sign_off", form(&[("review", &f.may_review)]), both),
        ("approve_payout", form(&[("payout", &f.li_payout)]), owner),
        (
            "mark_paid",
            form(&[("payout", &f.li_payout), ("paid_on", "2026-07-25")]),
            both,
        ),
        (
            "approve_plan",
            form(&[("plan", &f.scratch_plan), ("version", "1")]),
            owner,
        ),
        (
            "calculate_payouts",
            form(&[("period", "2026-06"), ("plan", &f.plan)]),
            consultant,
        ),
        ("invite", form(&[("member", &f.li)]), consultant),
        (
            "no_such_action",
            Vec::new(),
            "404 404 404 404 404 404 404 404 SI",
        ),
    ]
}

fn web_rows(f: &Fixture) -> Vec<WebRow> {
    let a = &f.a;
    let e = format!("/engagements/{a}");
    let members = "200 200 200 200 404 404 404 404 SI";
    let readers = "200 200 200 404 404 404 404 404 SI";
    let personal = "200 200 404 404 404 404 404 404 SI";
    let payout_amounts: Vec<&String> = f.payout_amounts.iter().collect();
    let mut rows = vec![
        get("/", "", "/".into(), "200 200 200 200 200 200 200 200 SI"),
        get(
            "/sign-in",
            "",
            "/sign-in".into(),
            "303 303 303 303 303 303 303 303 200",
        ),
        post(
            "/sign-in",
            "[without the form's token]",
            "/sign-in".into(),
            &[
                ("csrf", "forged"),
                ("email", "li.wei@acme.example"),
                ("password", "not-the-password"),
            ],
            "403 403 403 403 403 403 403 403 403",
        ),
        post(
            "/sign-out",
            "[forged token]",
            "/sign-out".into(),
            &[("csrf", "forged")],
            "403 403 403 403 403 403 403 403 SI",
        ),
        WebRow {
            names_shown: true,
            ..get(
                "/invitations/{token}",
                "[unused link]",
                f.invitation.clone(),
                "200 200 200 200 200 200 200 200 200",
            )
        },
        get(
            "/invitations/{token}",
            "[unknown link]",
            "/invitations/no-such-link".into(),
            "404 404 404 404 404 404 404 404 404",
        ),
        post(
            "/invitations/{token}",
            "[unknown link]",
            "/invitations/no-such-link".into(),
            &[
                ("csrf", "forged"),
                ("password", "a long enough password"),
                ("password_again", "a long enough password"),
            ],
            "404 404 404 404 404 404 404 404 404",
        ),
        post(
            "/engagements",
            "[open an engagement]",
            "/engagements".into(),
            &[
                ("csrf", "{csrf}"),
                ("name", "Web Probe"),
                ("client_name", "Web Probe K.K."),
                ("platform_amazon_jp", "on"),
            ],
            "303 404 404 404 303 404 404 404 SI",
        ),
        get(
            "/engagements/{id}",
            "",
            format!("{e}?period=2026-06"),
            members,
        ),
        get(
            "/engagements/{id}",
            "[asOf]",
            format!("{e}?period=2026-06&asOf=2030-01-01T00:00"),
            members,
        ),
        get(
            "/engagements/{id}",
            "[an id no engagement has]",
            format!("/engagements/{}", f.missing),
            "404 404 404 404 404 404 404 404 SI",
        ),
        get("/engagements/{id}/kpis", "", format!("{e}/kpis"), members),
        get(
            "/engagements/{id}/kpis/{kpi}",
            "[Li Wei's KPI]",
            format!("{e}/kpis/{}", f.gmv),
            members,
        ),
        get(
            "/engagements/{id}/kpis/{kpi}",
            "[another member's KPI]",
            format!("{e}/kpis/{}", f.sora_kpi),
            readers,
        ),
        get(
            "/engagements/{id}/reviews",
            "",
            format!("{e}/reviews"),
            readers,
        ),
        get(
            "/engagements/{id}/payouts",
            "",
            format!("{e}/payouts?period=2026-06"),
            personal,
        ),
        get(
            "/engagements/{id}/changes",
            "",
            format!("{e}/changes"),
            readers,
        ),
        get("/engagements/{id}/audit", "", format!("{e}/audit"), readers).hide(
            Viewer,
            "members' payout amounts",
            &payout_amounts,
        ),
        get(
            "/engagements/{id}/people",
            "",
            format!("{e}/people"),
            members,
        ),
        get(
            "/engagements/{id}/imports",
            "",
            format!("{e}/imports"),
            readers,
        ),
        WebRow {
            section: WebSection::Pages,
            route: "POST /engagements/{id}/imports".into(),
            case: "[upload a file]".into(),
            request: WebRequest::Upload(format!("{e}/imports")),
            expect: statuses("303 404 404 404 404 404 404 404 SI"),
            names_shown: false,
            hidden: Vec::new(),
            defect: None,
        },
        get(
            "/engagements/{id}/members/{member}",
            "[Li Wei's card]",
            format!("{e}/members/{}?period=2026-06", f.li),
            "200 200 404 200 404 404 404 404 SI",
        ),
        get(
            "/engagements/{id}/members/{member}",
            "[another member's card]",
            format!("{e}/members/{}?period=2026-06", f.sora),
            personal,
        ),
        get(
            "/assets/web/app.css",
            "",
            "/assets/web/app.css".into(),
            "200 200 200 200 200 200 200 200 200",
        ),
        get(
            "/assets/web/app.js",
            "",
            "/assets/web/app.js".into(),
            "200 200 200 200 200 200 200 200 200",
        ),
        get(
            "/graphql",
            "[GraphiQL]",
            "/graphql".into(),
            "200 200 200 200 200 200 200 200 200",
        ),
        get(
            "/assets/graphiql/{file}",
            "",
            "/assets/graphiql/graphiql.min.js".into(),
            "200 200 200 200 200 200 200 200 200",
        ),
        get(
            "/healthz",
            "",
            "/healthz".into(),
            "200 200 200 200 200 200 200 200 200",
        ),
        get(
            "/readyz",
            "",
            "/readyz".into(),
            "200 200 200 200 200 200 200 200 200",
        ),
        // Only the operator's metrics token opens it, not a session of any role.
        get(
            "/metrics",
            "",
            "/metrics".into(),
            "401 401 401 401 401 401 401 401 401",
        ),
    ];
    // The forms' actions, after the import form they sit beside in the table.
    let mut forms = Vec::new();
    for (action, fields, cells) in actions(f) {
        let mut form = vec![("csrf".to_string(), "{csrf}".to_string())];
        form.extend(fields);
        forms.push(WebRow {
            section: WebSection::Pages,
            route: "POST /engagements/{id}/actions/{action}".into(),
            case: format!("[{action}]"),
            request: WebRequest::Post(format!("{e}/actions/{action}"), form),
            expect: statuses(cells),
            names_shown: false,
            hidden: Vec::new(),
            defect: None,
        });
    }
    let after_upload = rows
        .iter()
        .position(|r| r.route == "POST /engagements/{id}/imports")
        .map_or(rows.len(), |at| at + 1);
    rows.splice(after_upload..after_upload, forms);
    for (case, payout, file, cells) in [
        (
            "[Li Wei's statement, CSV]",
            &f.li_payout,
            "statement.csv",
            "200 200 404 200 404 404 404 404 SI",
        ),
        (
            "[Li Wei's statement, XLSX]",
            &f.li_payout,
            "statement.xlsx",
            "200 200 404 200 404 404 404 404 SI",
        ),
        (
            "[another member's statement]",
            &f.sora_payout,
            "statement.csv",
            personal,
        ),
        (
            "[a payout that does not exist]",
            &f.missing,
            "statement.csv",
            "404 404 404 404 404 404 404 404 SI",
        ),
    ] {
        rows.push(WebRow {
            section: WebSection::Downloads,
            ..get(
                "/engagements/{id}/payouts/{payout}/{file}",
                case,
                format!("{e}/payouts/{payout}/{file}"),
                cells,
            )
        });
    }
    rows
}

// ---------------------------------------------------------------------------------------
// The command line

/// `kpi-ledger import --user EMAIL` without `--server`: the one command that acts as a
/// person, through the same mutation and access checks as an upload.
const CLI_IMPORT: &str = "kpi-ledger import --engagement ID --format generic_csv --user EMAIL FILE";
const CLI_IMPORT_EXPECT: &str = "AFFF NNNN";

const CLI_COMMANDS: &[(&str, &str, &str)] = &[
    ("`import --engagement ID --user EMAIL FILE`", "records observations of one engagement", "runs `importMetrics` as EMAIL: the row above (its result is the role matrix of `MutationRoot.importMetrics`; the account's revocation or disabling is not consulted)"),
    ("`import --engagement ID --server URL --token TOKEN FILE`", "the same, through a running server", "the bearer token: `MutationRoot.importMetrics` above"),
    ("`audit verify [--engagement ID]`", "reads every chain, or one engagement's", "none"),
    ("`audit export --engagement ID --out DIR`", "writes one engagement's events and inclusion proof to disk", "none"),
    ("`audit checkpoint [--out FILE]`", "signs the heads of every chain", "none"),
    ("`projections list`, `projections rebuild [NAME]`", "rebuilds the read models of every engagement", "none"),
    ("`compact`", "rewrites the tables that held personal data", "none"),
    ("`demo`, `serve --demo`", "seeds demo engagements and prints tokens for them", "none"),
    ("`user add / list / grant / disable / enable`", "accounts and installation grants", "none"),
    ("`user invite --email EMAIL`", "prints a password-setting link for any account, members included", "none"),
    (
        "`token issue --user EMAIL`, `token revoke --user EMAIL` (or `--token-id ID`, `--token TOKEN`), `token rotate-key`",
        "bearer tokens of any user, and the signing keys",
        "none",
    ),
    ("`migrate`, `schema`, `serve`", "the database schema and the server", "none"),
];

// ---------------------------------------------------------------------------------------
// Completeness: the schema and the routers against the table

/// (field, takes arguments) of one type of the SDL.
fn schema_fields(sdl: &str, type_name: &str) -> Vec<(String, bool)> {
    let head = format!("type {type_name} {{");
    let start = sdl
        .find(&head)
        .unwrap_or_else(|| panic!("docs/schema.graphql has no `{head}`"));
    let body = &sdl[start + head.len()..];
    let body = &body[..body.find("\n}").unwrap_or(body.len())];
    let mut fields = Vec::new();
    let mut in_doc = false;
    for line in body.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("\"\"\"") {
            let single = trimmed.len() >= 6 && trimmed.ends_with("\"\"\"");
            if !single {
                in_doc = !in_doc;
            }
            continue;
        }
        if in_doc || trimmed.is_empty() || !line.starts_with('\t') || line.starts_with("\t\t") {
            continue;
        }
        let name: String = trimmed
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() {
            continue;
        }
        let takes_arguments = trimmed[name.len()..].starts_with('(');
        fields.push((name, takes_arguments));
    }
    fields
}

/// The operations the table must have a row for.
fn required_operations(sdl: &str) -> BTreeSet<String> {
    let mut required = BTreeSet::new();
    for root in ["QueryRoot", "MutationRoot"] {
        for (field, _) in schema_fields(sdl, root) {
            required.insert(format!("{root}.{field}"));
        }
    }
    // Every field of an engagement that takes arguments, and those without arguments that
    // return personal data or people (reviews name signers, plans name approvers).
    for (field, takes_arguments) in schema_fields(sdl, "Engagement") {
        if takes_arguments || ["reviews", "incentivePlans", "summary"].contains(&field.as_str()) {
            required.insert(format!("Engagement.{field}"));
        }
    }
    // Fields below an engagement that take a member or replay the log.
    for (type_name, field) in [
        ("Payout", "statement"),
        ("Review", "scorecard"),
        ("Review", "arrivedAfterLock"),
        ("ReviewLock", "scorecard"),
        ("Kpi", "targets"),
    ] {
        assert!(
            schema_fields(sdl, type_name)
                .iter()
                .any(|(f, args)| f == field && *args),
            "{type_name}.{field} no longer takes arguments: update the matrix"
        );
        required.insert(format!("{type_name}.{field}"));
    }
    required
}

fn operation_of(name: &str) -> &str {
    name.split(" [").next().unwrap_or(name).trim()
}

/// `METHOD /path` of every route a router file declares.
fn routes_in(source: &str) -> BTreeSet<String> {
    let mut routes = BTreeSet::new();
    let pieces: Vec<&str> = source.split(".route(").skip(1).collect();
    for piece in pieces {
        let piece = piece.split(".fallback(").next().unwrap_or(piece);
        let Some(open) = piece.find('"') else {
            continue;
        };
        let rest = &piece[open + 1..];
        let Some(close) = rest.find('"') else {
            continue;
        };
        let path = &rest[..close];
        let handlers = &rest[close..];
        let calls = |method: &str| {
            handlers
                .match_indices(&format!("{method}("))
                .any(|(at, _)| {
                    at == 0
                        || !handlers[..at]
                            .chars()
                            .next_back()
                            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                })
        };
        let both = handlers.contains("graphql_route");
        if calls("get") || both {
            routes.insert(format!("GET {path}"));
        }
        if calls("post") || both {
            routes.insert(format!("POST {path}"));
        }
    }
    routes
}

fn completeness_problems(graphql: &[GqlRow], web: &[WebRow]) -> Vec<String> {
    let root = env!("CARGO_MANIFEST_DIR");
    let sdl = std::fs::read_to_string(format!("{root}/docs/schema.graphql"))
        .expect("read docs/schema.graphql");
    let required = required_operations(&sdl);
    let listed: BTreeSet<String> = graphql
        .iter()
        .map(|r| operation_of(&r.name).to_string())
        .collect();
    let mut problems = Vec::new();
    for missing in required.difference(&listed) {
        problems.push(format!(
            "{missing} (docs/schema.graphql) has no row in tests/api/matrix.rs"
        ));
    }
    for name in &listed {
        let (type_name, field) = name.split_once('.').unwrap_or((name, ""));
        if !schema_fields(&sdl, type_name)
            .iter()
            .any(|(f, _)| f == field)
        {
            problems.push(format!(
                "the matrix has a row for {name}, which docs/schema.graphql does not have"
            ));
        }
    }
    let mut declared = BTreeSet::new();
    for file in ["src/web/mod.rs", "src/http.rs"] {
        let source = std::fs::read_to_string(format!("{root}/{file}"))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        declared.extend(routes_in(&source));
    }
    // The GraphQL endpoint's POST is every row of the GraphQL sections.
    declared.remove("POST /graphql");
    let covered: BTreeSet<String> = web.iter().map(|r| r.route.clone()).collect();
    for missing in declared.difference(&covered) {
        problems.push(format!(
            "route {missing} (src/web/mod.rs, src/http.rs) has no row in tests/api/matrix.rs"
        ));
    }
    for stale in covered.difference(&declared) {
        problems.push(format!(
            "the matrix has a row for route {stale}, which the routers do not declare"
        ));
    }
    problems
}

// ---------------------------------------------------------------------------------------
// docs/AUTHORIZATION.md

fn table_head(out: &mut String, first: &str, columns: &[Who], last: Option<&str>) {
    let mut head = format!("| {first} |");
    let mut rule = "| --- |".to_string();
    for who in columns {
        let _ = write!(head, " {} |", who.heading());
        rule.push_str(" --- |");
    }
    if let Some(last) = last {
        let _ = write!(head, " {last} |");
        rule.push_str(" --- |");
    }
    let _ = writeln!(out, "{head}\n{rule}");
}

fn cell(text: &str) -> String {
    if text == ALLOW {
        "allow".into()
    } else {
        format!("`{text}`")
    }
}

/// "client viewer: without A, B; member: without C", callers in the order of the checks.
fn hidden_notes(hidden: &[(Who, &'static str, Vec<String>)]) -> Vec<String> {
    let mut grouped: Vec<(Who, Vec<&str>)> = Vec::new();
    for (who, what, _) in hidden {
        match grouped.iter_mut().find(|(w, _)| w == who) {
            Some((_, whats)) => whats.push(what),
            None => grouped.push((*who, vec![what])),
        }
    }
    grouped
        .into_iter()
        .map(|(who, whats)| format!("{}: without {}", who.heading(), whats.join(", ")))
        .collect()
}

fn graphql_notes(row: &GqlRow) -> String {
    let mut notes = hidden_notes(&row.hidden);
    if row.defect.is_some() {
        notes.push("**DEFECT** (below)".to_string());
    }
    notes.join("; ")
}

fn web_notes(row: &WebRow) -> String {
    let mut notes = hidden_notes(&row.hidden);
    if row.defect.is_some() {
        notes.push("**DEFECT** (below)".to_string());
    }
    notes.join("; ")
}

fn document(graphql: &[GqlRow], web: &[WebRow]) -> String {
    let mut out = String::new();
    out.push_str("# Authorization matrix\n\n");
    out.push_str(
        "<!-- Generated by tests/api/matrix.rs from its table; do not edit by hand. -->\n\n",
    );
    out.push_str(
        "Who may call what, for every entry point of kpi-ledger: every GraphQL query and \
mutation, the fields of an engagement that take arguments or return personal data, every \
web route, the statement downloads and the command line. This file is generated from the \
table in `tests/api/matrix.rs`, which also runs every row against a live server (SQLite, \
and PostgreSQL when `KPI_LEDGER_TEST_POSTGRES_URL` is set) and fails on any cell that \
differs, on any operation of `docs/schema.graphql` or route of `src/web/mod.rs` and \
`src/http.rs` without a row, and when this file is stale. Regenerate it with:\n\n\
```sh\nUPDATE_MATRIX=1 cargo test --test api matrix\n```\n\n",
    );
    out.push_str("## Callers\n\n");
    for who in EVERYONE {
        let _ = writeln!(out, "- **{}**: {}.", who.heading(), who.described());
    }
    out.push_str(
        "\n## Reading the cells\n\n\
- `allow`: the request got past authorization: data, or an error from the domain \
(`VALIDATION`, `CONFLICT`, `INVALID_TRANSITION`, `LOCKED`, `INCOMPLETE`) because an earlier \
row changed the state. An `INTERNAL` error or a 5xx answer always fails the test.\n\
- `UNAUTHENTICATED`: no valid token (HTTP 401).\n\
- `NOT_FOUND`: the caller may not know the thing exists. Another engagement's ids, and \
another member's card or payout asked by a member, read exactly like ids that exist \
nowhere (SPEC §1: \"not found, never forbidden\").\n\
- `FORBIDDEN`: the caller belongs to the engagement, so its existence is no secret, but \
their role lacks the capability (`domain/src/access.rs`).\n\
- Web cells are HTTP statuses; `303→sign-in` sends the browser to `/sign-in`. A page \
shows a 404 for whatever the API answers `NOT_FOUND` or `FORBIDDEN`.\n\n\
Beyond the codes, every answer that gets past authorization (GraphQL bodies and web \
pages alike) is searched for what its caller must never see: the client viewer, no name, \
email or user id of anyone else (positions and pseudonyms only); the member, no name or \
email of anyone else; every caller, nothing of an engagement they do not belong to. \
The last column lists the further checks of a row. Mutations run the denied callers \
first, then the allowed ones.\n\n",
    );
    let sections = [
        (
            Section::Queries,
            "GraphQL queries (`QueryRoot`)",
            "operation",
        ),
        (
            Section::Fields,
            "Engagement fields (`engagement(id) { … }`)",
            "field",
        ),
        (Section::Nested, "Fields below an engagement", "field"),
        (
            Section::Mutations,
            "GraphQL mutations (`MutationRoot`)",
            "operation",
        ),
    ];
    for (section, title, first) in sections {
        let _ = writeln!(out, "## {title}\n");
        table_head(&mut out, first, &EVERYONE, Some("also checked"));
        for row in graphql.iter().filter(|r| r.section == section) {
            let operation = operation_of(&row.name);
            let case = row.name[operation.len()..].trim();
            let mut line = if case.is_empty() {
                format!("| `{operation}` |")
            } else {
                format!("| `{operation}` {case} |")
            };
            for who in EVERYONE {
                let _ = write!(line, " {} |", cell(row.expected(who)));
            }
            let _ = writeln!(out, "{line} {} |", graphql_notes(row));
        }
        out.push('\n');
    }
    for (section, title) in [
        (WebSection::Pages, "Web routes"),
        (WebSection::Downloads, "File downloads"),
    ] {
        let _ = writeln!(out, "## {title}\n");
        if section == WebSection::Downloads {
            out.push_str(
                "Payout statements as files (the web route; the API's is `Payout.statement` \
above, base64 in JSON).\n\n",
            );
        }
        table_head(&mut out, "route", &WEB, Some("also checked"));
        for row in web.iter().filter(|r| r.section == section) {
            let case = if row.case.is_empty() {
                String::new()
            } else {
                format!(" {}", row.case)
            };
            let mut line = format!("| `{}`{case} |", row.route);
            for status in &row.expect {
                let _ = write!(line, " {status} |");
            }
            let _ = writeln!(out, "{line} {} |", web_notes(row));
        }
        out.push('\n');
    }
    let mut defects: Vec<(&str, Vec<String>)> = Vec::new();
    let found = graphql
        .iter()
        .filter_map(|r| r.defect.map(|d| (d, format!("`{}`", r.name))))
        .chain(web.iter().filter_map(|r| {
            r.defect.map(|d| {
                (
                    d,
                    format!("web `{}` {}", r.route, r.case).trim().to_string(),
                )
            })
        }));
    for (defect, place) in found {
        match defects.iter_mut().find(|(d, _)| *d == defect) {
            Some((_, places)) => places.push(place),
            None => defects.push((defect, vec![place])),
        }
    }
    if !defects.is_empty() {
        out.push_str(
            "## Defects\n\nThe cells above say what must happen; the test fails until the code \
does it. Found so far:\n\n",
        );
        for (defect, places) in defects {
            let _ = writeln!(out, "- {defect}. Rows: {}.", places.join(", "));
        }
        out.push('\n');
    }
    out.push_str("## Command line\n\n");
    out.push_str(
        "The command line acts on the database it is given (`--database-url` or \
`DATABASE_URL`): whoever can run it against the installation's database — the operator, \
with host access or the database URL — can do everything below, for every engagement. \
Only one command acts as a person, and the test runs it for each account (token callers \
do not apply):\n\n",
    );
    table_head(&mut out, "command", &CLI, None);
    let mut line = format!("| `{CLI_IMPORT}` |");
    for code in codes(CLI_IMPORT_EXPECT, CLI.len()) {
        let _ = write!(line, " {} |", cell(code));
    }
    let _ = writeln!(out, "{line}\n");
    out.push_str("| command | touches | identity check |\n| --- | --- | --- |\n");
    for (command, touches, check) in CLI_COMMANDS {
        let _ = writeln!(out, "| {command} | {touches} | {check} |");
    }
    out
}

#[test]
fn the_matrix_covers_every_operation_and_route_and_its_document_is_current() {
    let fixture = Fixture::placeholder();
    let graphql = graphql_rows(&fixture);
    let web = web_rows(&fixture);
    let problems = completeness_problems(&graphql, &web);
    assert!(
        problems.is_empty(),
        "the authorization matrix is incomplete:\n  {}",
        problems.join("\n  ")
    );
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/AUTHORIZATION.md");
    let generated = document(&graphql, &web);
    if std::env::var("UPDATE_MATRIX").is_ok_and(|v| v == "1") {
        std::fs::write(path, &generated).expect("write docs/AUTHORIZATION.md");
        return;
    }
    let written = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        written == generated,
        "docs/AUTHORIZATION.md is stale; regenerate it with \
         `UPDATE_MATRIX=1 cargo test --test api matrix`"
    );
}

// ---------------------------------------------------------------------------------------
// The fixture on a live server

struct Callers {
    tokens: Vec<(Who, Option<String>)>,
}

impl Callers {
    fn token(&self, who: Who) -> Option<&str> {
        self.tokens
            .iter()
            .find(|(w, _)| *w == who)
            .and_then(|(_, t)| t.as_deref())
    }
}

fn id_of(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("expected an id, got {value}"))
        .to_string()
}

async fn member_id(
    app: &TestApp,
    consultant: &str,
    engagement: &str,
    name: &str,
    email: &str,
    role: &str,
) -> String {
    id_of(&add(app, consultant, engagement, name, email, role).await["id"])
}

const CSV: &str = "date,platform,metric,value\n2027-03-01,amazon_jp,sessions,10\n";

async fn set_up(app: &TestApp) -> (Fixture, Callers) {
    let (a, li, gmv, aiko) = crate::scoring::worked_example(app).await;
    let mut f = Fixture {
        a: a.clone(),
        li: li.clone(),
        gmv,
        missing: Uuid::new_v4().to_string(),
        ..Fixture::default()
    };
    member_id(app, &aiko, &a, "Hiro Tanaka", Owner.email(), "CLIENT_OWNER").await;
    member_id(app, &aiko, &a, "Mika Ito", Viewer.email(), "CLIENT_VIEWER").await;
    f.sora = member_id(app, &aiko, &a, "Sora Kato", "sora@acme.example", "MEMBER").await;
    f.role_target = member_id(
        app,
        &aiko,
        &a,
        "Role Target",
        "role.target@acme.example",
        "MEMBER",
    )
    .await;
    f.removal_target = member_id(
        app,
        &aiko,
        &a,
        "Removal Target",
        "removal.target@acme.example",
        "MEMBER",
    )
    .await;
    f.web_removal_target = member_id(
        app,
        &aiko,
        &a,
        "Web Removal Target",
        "web.removal.target@acme.example",
        "MEMBER",
    )
    .await;
    f.erasure_target = member_id(
        app,
        &aiko,
        &a,
        "Erasure Target",
        "erasure.target@acme.example",
        "MEMBER",
    )
    .await;
    let revoked = app.user(Revoked.email(), "Rei Revoked", true).await;
    member_id(app, &aiko, &a, "Rei Revoked", Revoked.email(), "CONSULTANT").await;
    let outsider = app.user(Outsider.email(), "Ken Mori", true).await;
    // A client owner whose membership ended yesterday (in the engagement's time zone).
    let yesterday = (Utc::now().with_timezone(&chrono_tz::Asia::Tokyo) - Duration::days(1))
        .date_naive()
        .to_string();
    let former_member = id_of(
        &app.ok(
            &aiko,
            crate::engagements::ADD,
            json!({ "input": { "engagementId": a, "displayName": "Fumi Former", "email": Former.email(),
                               "role": "CLIENT_OWNER", "activeFrom": "2020-01-01" } }),
        )
        .await["addMember"]["id"],
    );
    app.ok(
        &aiko,
        "mutation($i: RemoveMemberInput!) { removeMember(input: $i) { id } }",
        json!({ "i": { "engagementId": a, "memberId": former_member, "activeUntil": yesterday } }),
    )
    .await;
    let former = app.token_for_email(Former.email()).await;

    // The other engagement, with its own client and a KPI.
    f.b = open(app, &aiko, "Other Client JP").await;
    member_id(
        app,
        &aiko,
        &f.b,
        "Ren Other",
        OtherClient.email(),
        "CLIENT_OWNER",
    )
    .await;
    f.b_member = member_id(
        app,
        &aiko,
        &f.b,
        "Bea Member",
        "bea@other.example",
        "MEMBER",
    )
    .await;
    f.b_kpi = id_of(
        &app.ok(
            &aiko,
            "mutation($i: DefineKpiInput!) { defineKpi(input: $i) { id } }",
            json!({ "i": { "engagementId": f.b, "metric": "gmv", "weight": "1", "assignee": { "team": true } } }),
        )
        .await["defineKpi"]["id"],
    );

    let owner = app.token_for_email(Owner.email()).await;
    let viewer = app.token_for_email(Viewer.email()).await;
    let member = app.token_for_email(Member.email()).await;
    let other_client = app.token_for_email(OtherClient.email()).await;

    // The plan paying Li and Sora, approved; a second plan left as a draft.
    let draft = "mutation($i: DraftIncentivePlanInput!) { draftIncentivePlan(input: $i) { id } }";
    let approve =
        "mutation($i: ApproveIncentivePlanInput!) { approveIncentivePlan(input: $i) { approved } }";
    f.plan = id_of(
        &app.ok(
            &aiko,
            draft,
            json!({ "i": { "engagementId": a, "terms": {
            "name": "Advertising bonus", "period": "MONTH",
            "participants": [{ "memberId": li, "targetBonus": "200000" },
                             { "memberId": f.sora, "targetBonus": "200000" }] } } }),
        )
        .await["draftIncentivePlan"]["id"],
    );
    app.ok(
        &owner,
        approve,
        json!({ "i": { "engagementId": a, "planId": f.plan, "version": 1 } }),
    )
    .await;
    f.scratch_plan = id_of(
        &app.ok(
            &aiko,
            draft,
            json!({ "i": { "engagementId": a, "terms": {
            "name": "Scratch plan", "period": "MONTH",
            "participants": [{ "memberId": li, "targetBonus": "1000" }] } } }),
        )
        .await["draftIncentivePlan"]["id"],
    );

    // June locked by both signatures; payouts calculated for Li and Sora.
    f.june_review = id_of(
        &app.ok(
            &aiko,
            OPEN_REVIEW,
            json!({ "i": { "engagementId": a, "period": "2026-06" } }),
        )
        .await["openReview"]["id"],
    );
    app.ok(
        &aiko,
        DECIDE,
        json!({ "i": { "engagementId": a, "reviewId": f.june_review,
        "kind": "ACCEPT_DATA_GAP", "platform": "rakuten", "reason": "no Rakuten sales in June" } }),
    )
    .await;
    app.ok(
        &aiko,
        SIGN,
        json!({ "i": { "engagementId": a, "reviewId": f.june_review } }),
    )
    .await;
    app.ok(
        &owner,
        SIGN,
        json!({ "i": { "engagementId": a, "reviewId": f.june_review } }),
    )
    .await;
    let payouts = app
        .ok(
            &aiko,
            CALCULATE,
            json!({ "i": { "engagementId": a, "period": "2026-06", "planId": f.plan } }),
        )
        .await["calculatePayouts"]
        .clone();
    let payout_of = |member: &str| {
        payouts
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["memberId"] == member)
            .map(|p| id_of(&p["id"]))
            .unwrap_or_else(|| panic!("no payout for {member}: {payouts}"))
    };
    f.li_payout = payout_of(&li);
    let amount = payouts[0]["amount"]
        .as_str()
        .expect("an amount")
        .to_string();
    let grouped = amount
        .parse::<u64>()
        .map(|n| {
            let digits = n.to_string();
            let mut out = String::new();
            for (i, c) in digits.chars().enumerate() {
                if i > 0 && (digits.len() - i) % 3 == 0 {
                    out.push(',');
                }
                out.push(c);
            }
            out
        })
        .unwrap_or_else(|_| amount.clone());
    f.payout_amounts = vec![amount, grouped];
    f.sora_payout = payout_of(&f.sora);

    // May's review stays open, with free text that names people (client viewers must not
    // read it).
    f.may_review = id_of(
        &app.ok(
            &aiko,
            OPEN_REVIEW,
            json!({ "i": { "engagementId": a, "period": "2026-05" } }),
        )
        .await["openReview"]["id"],
    );
    app.ok(
        &aiko,
        "mutation($i: RecordFindingInput!) { recordFinding(input: $i) { id } }",
        json!({ "i": { "engagementId": a, "reviewId": f.may_review, "memberId": f.sora,
                       "deviation": "ACoS 31% against a 25% target", "cause": "Sora Kato paused the brand campaign" } }),
    )
    .await;
    app.ok(
        &aiko,
        DECIDE,
        json!({ "i": { "engagementId": a, "reviewId": f.may_review,
        "kind": "ACTION_ITEM", "owner": "Li Wei", "due": "2026-06-30",
        "description": "Li Wei rebalances the budget with Sora Kato" } }),
    )
    .await;

    // A team KPI for the mutations to change, and a KPI on Sora's card only.
    let define = "mutation($i: DefineKpiInput!) { defineKpi(input: $i) { id } }";
    f.scratch_kpi = id_of(
        &app.ok(
            &aiko,
            define,
            json!({ "i": { "engagementId": a, "metric": "sessions", "weight": "1",
            "assignee": { "team": true } } }),
        )
        .await["defineKpi"]["id"],
    );
    f.sora_kpi = id_of(
        &app.ok(
            &aiko,
            define,
            json!({ "i": { "engagementId": a, "metric": "orders", "weight": "1",
            "name": "Personal orders", "assignee": { "memberId": f.sora } } }),
        )
        .await["defineKpi"]["id"],
    );
    app.ok(
        &aiko,
        "mutation($i: SetTargetInput!) { setTarget(input: $i) { id } }",
        json!({ "i": { "engagementId": a, "kpiId": f.sora_kpi, "periods": ["2026-07"],
                       "threshold": "100", "target": "120", "reason": "Sora's first target" } }),
    )
    .await;
    app.ok(
        &aiko,
        "mutation($i: RecordObservationInput!) { recordObservation(input: $i) { value } }",
        json!({ "i": { "engagementId": a, "metric": "sessions", "platform": "amazon_jp",
                       "date": "2027-02-01", "value": "5" } }),
    )
    .await;

    // The administrator, the expired token, the revoked one, an unused invitation.
    let context = Context::connect(&app.database.url).await.expect("connect");
    let accounts = context.services.accounts();
    let admin = accounts
        .add(
            Admin.email(),
            "Ada Admin",
            Grants {
                consultant: false,
                admin: true,
            },
            &CommandMetadata::new(None, Uuid::new_v4()),
        )
        .await
        .expect("add the administrator");
    let tokens =
        TokenService::from_settings(&AuthSettings::default(), &context.db, &context.keyring)
            .await
            .expect("token service");
    let now = Utc::now();
    let admin_token = tokens
        .issue(admin.user_id, now, now + Duration::hours(1))
        .expect("issue");
    let user_id = |email: &'static str| async move {
        accounts
            .by_email(email)
            .await
            .expect("lookup")
            .unwrap_or_else(|| panic!("no account {email}"))
            .user_id
    };
    let aiko_id = user_id(Consultant.email()).await;
    let expired = tokens
        .issue(aiko_id, now - Duration::hours(2), now - Duration::hours(1))
        .expect("issue");
    accounts
        .revoke_tokens(user_id(Revoked.email()).await)
        .await
        .expect("revoke");
    f.invitation = kpi_ledger::web::invitation_path(
        accounts,
        &kpi_ledger::web::sign_in::SignIn::new(context.db.clone()),
        "role.target@acme.example",
    )
    .await
    .expect("invitation");
    let mut user_ids = Vec::new();
    for email in [
        Consultant.email(),
        Owner.email(),
        Member.email(),
        "sora@acme.example",
    ] {
        user_ids.push(user_id(email).await.to_string());
    }
    context.db.close().await;

    // What nobody but the engagement's consultants and client owners reads.
    let people = |skip: &str| -> Vec<String> {
        [
            ("Aiko Sato", Consultant.email()),
            ("Hiro Tanaka", Owner.email()),
            ("Mika Ito", Viewer.email()),
            ("Li Wei", Member.email()),
            ("Sora Kato", "sora@acme.example"),
            ("Rei Revoked", Revoked.email()),
            ("Role Target", "role.target@acme.example"),
            ("Removal Target", "removal.target@acme.example"),
            ("Web Removal Target", "web.removal.target@acme.example"),
            ("Fumi Former", Former.email()),
            ("Erasure Target", "erasure.target@acme.example"),
        ]
        .into_iter()
        .filter(|(name, _)| *name != skip)
        .flat_map(|(name, email)| [name.to_string(), email.to_string()])
        .collect()
    };
    let other_engagement: Vec<String> = [
        "Other Client JP",
        "Ren Other",
        OtherClient.email(),
        "Bea Member",
        "bea@other.example",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    let this_engagement = |mut list: Vec<String>| {
        list.push(kpi_ledger_domain::worked_example::ENGAGEMENT.to_string());
        list
    };
    let mut for_viewer = people("Mika Ito");
    for_viewer.extend(user_ids);
    for_viewer.extend(other_engagement.clone());
    let mut for_member = people("Li Wei");
    for_member.extend(other_engagement.clone());
    let mut strangers = this_engagement(people(""));
    strangers.extend(other_engagement.clone());
    f.never_shown = vec![
        (Owner, other_engagement.clone()),
        (Viewer, for_viewer),
        (Member, for_member),
        (Outsider, strangers.clone()),
        (OtherClient, this_engagement(people(""))),
        (Admin, strangers.clone()),
        (Former, {
            let mut former = this_engagement(people("Fumi Former"));
            former.extend(other_engagement.clone());
            former
        }),
        (Expired, strangers.clone()),
        (Revoked, strangers.clone()),
        (Anonymous, strangers),
    ];
    f.as_of = Utc::now().to_rfc3339();

    let callers = Callers {
        tokens: vec![
            (Consultant, Some(aiko)),
            (Owner, Some(owner)),
            (Viewer, Some(viewer)),
            (Member, Some(member)),
            (Outsider, Some(outsider)),
            (OtherClient, Some(other_client)),
            (Admin, Some(admin_token)),
            (Former, Some(former)),
            (Expired, Some(expired)),
            (Revoked, Some(revoked)),
            (Anonymous, None),
        ],
    };
    (f, callers)
}

// ---------------------------------------------------------------------------------------
// Running the rows

/// What an answer says about authorization: `allow`, the denying code, or a failure.
fn verdict(status: u16, body: &Value) -> String {
    if status >= 500 {
        return format!("HTTP {status}: {body}");
    }
    let errors = body["errors"].as_array().cloned().unwrap_or_default();
    let code = |e: &Value| e["extensions"]["code"].as_str().unwrap_or("").to_string();
    if let Some(denied) = errors
        .iter()
        .map(code)
        .find(|c| ["UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND"].contains(&c.as_str()))
    {
        return denied;
    }
    if let Some(internal) = errors
        .iter()
        .find(|e| code(e) == "INTERNAL" || code(e).is_empty())
    {
        return format!("INTERNAL: {internal}");
    }
    if status == 429 {
        return format!("HTTP 429: {body}");
    }
    ALLOW.to_string()
}

async fn send(app: &TestApp, token: Option<&str>, row: &GqlRow) -> (u16, Value) {
    let response = if row.upload {
        let operations = json!({ "query": row.query, "variables": row.variables });
        let form = reqwest::multipart::Form::new()
            .text("operations", operations.to_string())
            .text("map", json!({ "0": ["variables.file"] }).to_string())
            .part(
                "0",
                reqwest::multipart::Part::bytes(CSV.as_bytes().to_vec()).file_name("matrix.csv"),
            );
        let mut request = reqwest::Client::new()
            .post(format!("{}/graphql", app.address))
            .multipart(form);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request sent")
    } else {
        app.post(
            token,
            json!({ "query": row.query, "variables": row.variables }),
        )
        .await
    };
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

/// The callers of a row in the order to ask them: for mutations, the denied first.
fn order(columns: &[Who], expected: impl Fn(Who) -> bool, mutation: bool) -> Vec<Who> {
    let mut callers = columns.to_vec();
    if mutation {
        callers.sort_by_key(|who| expected(*who));
    }
    callers
}

fn leaks<'a>(text: &str, forbidden: impl IntoIterator<Item = &'a String>) -> Vec<String> {
    forbidden
        .into_iter()
        .filter(|t| !t.is_empty() && text.contains(t.as_str()))
        .cloned()
        .collect()
}

async fn run_graphql(app: &TestApp, f: &Fixture, callers: &Callers, failures: &mut Vec<String>) {
    for row in graphql_rows(f) {
        let mutation = row.section == Section::Mutations;
        let mut consultant_body = None;
        for who in order(&EVERYONE, |w| row.expected(w) == ALLOW, mutation) {
            let (status, body) = send(app, callers.token(who), &row).await;
            let seen = verdict(status, &body);
            trace(&row.name, who, &body.to_string());
            let expected = row.expected(who);
            if seen != expected {
                failures.push(format!(
                    "{} as {}: expected {expected}, got {seen}{}\n      answer: {}",
                    row.name,
                    who.heading(),
                    known_defect(row.defect),
                    abbreviated(&body)
                ));
                continue;
            }
            if seen != ALLOW {
                continue;
            }
            if body["errors"].is_array() {
                eprintln!(
                    "matrix: {} as {} got past authorization with {}",
                    row.name,
                    who.heading(),
                    abbreviated(&body["errors"])
                );
            }
            let text = readable(&body);
            let mut leaked = leaks(&text, f.never_shown(who));
            for (hidden_from, _, items) in &row.hidden {
                if *hidden_from == who {
                    leaked.extend(leaks(&text, items));
                }
            }
            if !leaked.is_empty() {
                leaked.dedup();
                failures.push(format!(
                    "{} as {}: the answer shows {leaked:?}{}\n      answer: {}",
                    row.name,
                    who.heading(),
                    known_defect(row.defect),
                    abbreviated(&body)
                ));
            }
            if who == Consultant {
                consultant_body = Some(text);
            }
        }
        // A hiding check means something only if the data is there for those who may see it.
        if let Some(shown) = consultant_body {
            for (who, what, items) in &row.hidden {
                if row.expected(*who) == ALLOW && leaks(&shown, items).is_empty() {
                    failures.push(format!(
                        "{}: the check \"{}: without {what}\" is vacuous: the consultant's answer shows none of {items:?}",
                        row.name,
                        who.heading()
                    ));
                }
            }
        }
    }
}

/// An answer as text to search, with downloaded files (base64 in `contentBase64`)
/// decoded.
fn readable(body: &Value) -> String {
    use base64::Engine as _;
    fn files(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(fields) => {
                for (key, field) in fields {
                    match (key.as_str(), field.as_str()) {
                        ("contentBase64", Some(encoded)) => out.push(encoded.to_string()),
                        _ => files(field, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|item| files(item, out)),
            _ => {}
        }
    }
    let mut encoded = Vec::new();
    files(body, &mut encoded);
    let mut text = body.to_string();
    for file in encoded {
        if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(file) {
            text.push('\n');
            text.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
    text
}

/// `MATRIX_TRACE=text` prints the answers of the rows whose name contains `text`.
fn trace(name: &str, who: Who, answer: &str) {
    if let Ok(wanted) = std::env::var("MATRIX_TRACE") {
        if !wanted.is_empty() && name.contains(&wanted) {
            eprintln!("matrix trace: {name} as {}:\n{answer}\n", who.heading());
        }
    }
}

fn abbreviated(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 600 {
        format!("{}…", text.chars().take(600).collect::<String>())
    } else {
        text
    }
}

/// A signed-in browser per web caller (nobody's has no session), with its CSRF token.
async fn browsers(app: &TestApp) -> Vec<(Who, Browser, String)> {
    let context = Context::connect(&app.database.url).await.expect("connect");
    let sign_in = kpi_ledger::web::sign_in::SignIn::new(context.db.clone());
    let mut browsers = Vec::new();
    for who in WEB {
        let mut browser = Browser::new(app);
        if who == Anonymous {
            browsers.push((who, browser, "none".to_string()));
            continue;
        }
        let link =
            kpi_ledger::web::invitation_path(context.services.accounts(), &sign_in, who.email())
                .await
                .expect("invitation");
        browser.accept_invitation(&link, "matrix-password-1").await;
        let csrf = browser.get("/").await.csrf();
        browsers.push((who, browser, csrf));
    }
    context.db.close().await;
    browsers
}

async fn upload(app: &TestApp, browser: &Browser, path: &str, csrf: &str) -> (u16, String, String) {
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf.to_string())
        .text("format", "GENERIC_CSV")
        .part(
            "file",
            reqwest::multipart::Part::bytes(CSV.as_bytes().to_vec()).file_name("matrix.csv"),
        );
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}{path}", app.address))
        .header("cookie", browser.cookie_header())
        .header("accept-language", "en")
        .multipart(form)
        .send()
        .await
        .expect("upload sent");
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, location, response.text().await.unwrap_or_default())
}

fn web_verdict(status: u16, location: &str) -> String {
    if status == 303 && location.starts_with("/sign-in") {
        SIGN_IN.to_string()
    } else {
        status.to_string()
    }
}

async fn run_web(app: &TestApp, f: &Fixture, failures: &mut Vec<String>) {
    let mut browsers = browsers(app).await;
    for row in web_rows(f) {
        let expected = |who: Who| row.expect[WEB.iter().position(|w| *w == who).unwrap()].clone();
        let changes = !matches!(row.request, WebRequest::Get(_));
        let mut consultant_page = None;
        for who in order(&WEB, |w| expected(w) != "404", changes) {
            let (_, browser, csrf) = browsers.iter_mut().find(|(w, _, _)| *w == who).unwrap();
            let (status, location, body) = match &row.request {
                WebRequest::Get(path) => {
                    let page = browser.get(path).await;
                    (page.status.as_u16(), page.location().to_string(), page.body)
                }
                WebRequest::Post(path, fields) => {
                    let fields: Vec<(String, String)> = fields
                        .iter()
                        .map(|(k, v)| (k.clone(), v.replace("{csrf}", csrf)))
                        .collect();
                    let form: Vec<(&str, &str)> = fields
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect();
                    let page = browser.post(path, &form).await;
                    (page.status.as_u16(), page.location().to_string(), page.body)
                }
                WebRequest::Upload(path) => upload(app, browser, path, csrf).await,
            };
            let seen = web_verdict(status, &location);
            trace(&format!("{} {}", row.route, row.case), who, &body);
            let wanted = expected(who);
            if seen != wanted {
                let excerpt: String = body.chars().take(300).collect();
                failures.push(format!(
                    "web {} {} as {}: expected {wanted}, got {seen} (location {location:?})\n      page: {excerpt}",
                    row.route,
                    row.case,
                    who.heading()
                ));
                continue;
            }
            if status != 200 {
                continue;
            }
            let mut leaked = Vec::new();
            if !row.names_shown {
                leaked.extend(leaks(&body, f.never_shown(who)));
            }
            for (hidden_from, _, items) in &row.hidden {
                if *hidden_from == who {
                    leaked.extend(leaks(&body, items));
                }
            }
            if !leaked.is_empty() {
                failures.push(format!(
                    "web {} {} as {}: the page shows {leaked:?}{}",
                    row.route,
                    row.case,
                    who.heading(),
                    known_defect(row.defect)
                ));
            }
            if who == Consultant {
                consultant_page = Some(body);
            }
        }
        if let Some(shown) = consultant_page {
            for (who, what, items) in &row.hidden {
                if leaks(&shown, items).is_empty() {
                    failures.push(format!(
                        "web {} {}: the check \"{}: without {what}\" is vacuous: the consultant's page shows none of {items:?}",
                        row.route,
                        row.case,
                        who.heading()
                    ));
                }
            }
        }
    }
}

fn known_defect(defect: Option<&str>) -> String {
    defect
        .map(|d| format!(" (known DEFECT: {d})"))
        .unwrap_or_default()
}

async fn run_cli(app: &TestApp, f: &Fixture, failures: &mut Vec<String>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("matrix-cli.csv");
    std::fs::write(&file, CSV).expect("write the CSV");
    let expected = codes(CLI_IMPORT_EXPECT, CLI.len());
    for (who, expected) in CLI.into_iter().zip(expected) {
        let args: Vec<String> = [
            "--database-url",
            &app.database.url,
            "import",
            "--engagement",
            &f.a,
            "--format",
            "generic_csv",
            "--user",
            who.email(),
        ]
        .into_iter()
        .map(String::from)
        .chain([file.display().to_string()])
        .collect();
        let output = tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_kpi-ledger"))
                .args(&args)
                .env_remove("DATABASE_URL")
                .env_remove("KPI_LEDGER_SERVER")
                .env_remove("KPI_LEDGER_TOKEN")
                .output()
                .expect("run kpi-ledger")
        })
        .await
        .expect("the command ran");
        let said = String::from_utf8_lossy(&output.stderr).to_string();
        let seen = if output.status.success() {
            ALLOW.to_string()
        } else if said.contains("does not allow") {
            "FORBIDDEN".to_string()
        } else if said.contains("not found") {
            "NOT_FOUND".to_string()
        } else {
            format!("failed: {said}")
        };
        if seen != expected {
            failures.push(format!(
                "{CLI_IMPORT} as {}: expected {expected}, got {seen}\n      stderr: {said}",
                who.heading()
            ));
        }
    }
}

async fn spawn(store: Store) -> Option<TestApp> {
    let database = TestDatabase::create(store).await?;
    // The matrix sends well over a thousand requests from one address.
    let relaxed = (100_000, 100_000);
    Some(
        TestApp::start_configured(
            database,
            kpi_ledger::http::DEFAULT_MAX_UPLOAD_BYTES,
            |app| {
                app.with_rate_limits(relaxed, relaxed)
                    .with_metrics_token(Some("matrix-metrics-token-0123".into()))
                    .unwrap()
            },
        )
        .await,
    )
}

async fn every_caller_gets_what_the_matrix_says(app: TestApp) {
    let started = std::time::Instant::now();
    let (fixture, callers) = set_up(&app).await;
    let mut failures = Vec::new();
    run_graphql(&app, &fixture, &callers, &mut failures).await;
    run_web(&app, &fixture, &mut failures).await;
    run_cli(&app, &fixture, &mut failures).await;
    eprintln!("matrix: ran in {:.1} s", started.elapsed().as_secs_f64());
    assert!(
        failures.is_empty(),
        "{} cells of the authorization matrix disagree:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    if let Some(app) = spawn(Store::Sqlite).await {
        every_caller_gets_what_the_matrix_says(app).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    if let Some(app) = spawn(Store::Postgres).await {
        every_caller_gets_what_the_matrix_says(app).await;
    }
}
