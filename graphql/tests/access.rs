//! Who may see and change what (SPEC §1), as a client meets it: requests run through
//! `schema.execute` against in-memory ports holding one engagement, and the error codes
//! are read from `extensions.code`. The fakes record every command that reaches them, so
//! a refused request can be shown to have changed nothing.

use async_graphql::{Request, Variables};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use kpi_ledger_domain::access::EngagementRole;
use kpi_ledger_domain::engagement::{EngagementCommand, EngagementSettings, EngagementStatus};
use kpi_ledger_domain::ids::{EngagementId, KpiId, MemberId, UserId};
use kpi_ledger_domain::kpi::{Assignee, KpiCommand, KpiDefinition};
use kpi_ledger_domain::metadata::CommandMetadata;
use kpi_ledger_domain::metrics::{builtin_catalogue, Direction, MetricDefinition};
use kpi_ledger_domain::scoring::Curve;
use kpi_ledger_domain::text::Note;
use kpi_ledger_domain::user::Grants;
use kpi_ledger_graphql::access::{CommandPermit, EngagementScope, RequestContext, Viewer};
use kpi_ledger_graphql::ports::{
    AccountView, EngagementPort, EngagementView, IdentityPort, KpiPort, KpiView, MemberView,
    MembershipView, NewMemberRequest, OpenedText, PersonalData, PersonalFields, PortError, Ports,
    TargetChangeView, TargetView, TextPort,
};
use kpi_ledger_graphql::{build_schema, KpiSchema};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use uuid::Uuid;

// ---------------------------------------------------------------------------------------
// The engagement and its people
// ---------------------------------------------------------------------------------------

const ENGAGEMENT: Uuid = Uuid::from_u128(0x00e1_0000_0000_4000_8000_0000_0000_0001);

/// The people of the tests. Each is a login account; all but the outsider hold (or held)
/// a membership of the engagement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Consultant,
    Owner,
    ClientViewer,
    /// A member holding the `advertising` position.
    Aki,
    /// A member holding the `operations` position.
    Ben,
    /// A member whose last day was 2026-04-30.
    Former,
    /// Has an account (and even the consultant grant) but no membership.
    Outsider,
}

use Who::*;

const EVERYONE: [Who; 7] = [Consultant, Owner, ClientViewer, Aki, Ben, Former, Outsider];

impl Who {
    fn n(self) -> u128 {
        EVERYONE.iter().position(|w| *w == self).unwrap() as u128 + 1
    }

    /// Ids whose first eight digits differ, so pseudonyms differ.
    fn user(self) -> UserId {
        UserId(Uuid::from_u128(
            (0xa000 + self.n()) << 96 | 0x4000_8000_0000_0000_0000,
        ))
    }

    fn member(self) -> MemberId {
        MemberId(Uuid::from_u128(
            (0xb000 + self.n()) << 96 | 0x4000_8000_0000_0000_0000,
        ))
    }

    fn grants(self) -> Grants {
        Grants {
            consultant: matches!(self, Consultant | Outsider),
            admin: false,
        }
    }

    fn name(self) -> String {
        format!("{self:?}")
    }

    fn email(self) -> String {
        format!("{}@example.jp", self.name().to_lowercase())
    }

    /// Their membership: role, position and last day.
    fn membership(self) -> Option<(EngagementRole, Option<&'static str>, Option<NaiveDate>)> {
        match self {
            Consultant => Some((EngagementRole::Consultant, None, None)),
            Owner => Some((EngagementRole::ClientOwner, None, None)),
            ClientViewer => Some((EngagementRole::ClientViewer, None, None)),
            Aki => Some((EngagementRole::Member, Some("advertising"), None)),
            Ben => Some((EngagementRole::Member, Some("operations"), None)),
            Former => Some((
                EngagementRole::Member,
                Some("advertising"),
                Some(date("2026-04-30")),
            )),
            Outsider => None,
        }
    }
}

fn date(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

/// When every request arrives: 2026-05-15 noon in Tokyo.
fn received_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 15, 3, 0, 0).unwrap()
}

const CORRELATION: Uuid = Uuid::from_u128(0x00c0_0000_0000_4000_8000_0000_0000_0042);

/// The roster as the read model holds it, in the order the members were added.
fn roster() -> Vec<MemberView> {
    EVERYONE
        .iter()
        .filter_map(|who| {
            let (role, position, active_until) = who.membership()?;
            Some(MemberView {
                member_id: who.member(),
                user_id: who.user(),
                role,
                position: position.map(str::to_string),
                active_from: date("2026-04-01"),
                active_until,
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// In-memory ports
// ---------------------------------------------------------------------------------------

fn not_in_this_fake<T>() -> Result<T, PortError> {
    Err(PortError::Internal("not in this fake".into()))
}

/// Accounts and memberships of the people above.
struct Directory;

#[async_trait]
impl IdentityPort for Directory {
    async fn account(&self, user_id: UserId) -> Result<Option<AccountView>, PortError> {
        Ok(EVERYONE
            .iter()
            .find(|w| w.user() == user_id)
            .map(|who| AccountView {
                user_id,
                email: who.email(),
                display_name: who.name(),
                grants: who.grants(),
            }))
    }

    async fn memberships(&self, user_id: UserId) -> Result<Vec<MembershipView>, PortError> {
        Ok(EVERYONE
            .iter()
            .filter(|w| w.user() == user_id)
            .filter_map(|who| {
                let (role, _, active_until) = who.membership()?;
                Some(MembershipView {
                    engagement_id: EngagementId(ENGAGEMENT),
                    member_id: who.member(),
                    role,
                    time_zone: "Asia/Tokyo".into(),
                    active_until,
                    opened_position: 1,
                })
            })
            .collect())
    }
}

/// What reached the engagement port.
#[derive(Default)]
struct EngagementCalls {
    commands: Vec<(CommandPermit, EngagementCommand, CommandMetadata)>,
    /// Every member whose personal fields were decrypted.
    decrypted: Vec<MemberId>,
    opened: usize,
    added: usize,
}

/// The one engagement, its roster and the members' personal fields.
struct Engagements {
    view: Mutex<EngagementView>,
    members: Vec<MemberView>,
    calls: Mutex<EngagementCalls>,
}

impl Engagements {
    fn new(status: EngagementStatus) -> Self {
        let mut settings = EngagementSettings::with_defaults("Spring push", "Sakura Foods");
        settings.platforms = vec!["amazon_jp".into()];
        Engagements {
            view: Mutex::new(EngagementView {
                id: EngagementId(ENGAGEMENT),
                name: settings.name,
                client_name: settings.client_name,
                market: settings.market,
                time_zone: settings.time_zone,
                fiscal_year_start_month: settings.fiscal_year_start_month,
                currency: settings.currency,
                platforms: settings.platforms,
                status,
                opened_at: Utc.with_ymd_and_hms(2026, 4, 1, 0, 0, 0).unwrap(),
                opened_position: 1,
                head: None,
            }),
            members: roster(),
            calls: Mutex::default(),
        }
    }

    fn calls(&self) -> std::sync::MutexGuard<'_, EngagementCalls> {
        self.calls.lock().unwrap()
    }

    fn check(&self, scope: &EngagementScope) -> Result<(), PortError> {
        if scope.engagement_id() == EngagementId(ENGAGEMENT) {
            Ok(())
        } else {
            Err(PortError::not_found("engagement"))
        }
    }
}

#[async_trait]
impl EngagementPort for Engagements {
    async fn engagement(&self, scope: &EngagementScope) -> Result<EngagementView, PortError> {
        self.check(scope)?;
        Ok(self.view.lock().unwrap().clone())
    }

    async fn engagements(
        &self,
        scopes: &[EngagementScope],
    ) -> Result<Vec<EngagementView>, PortError> {
        let mut views = Vec::new();
        for scope in scopes {
            views.push(self.engagement(scope).await?);
        }
        Ok(views)
    }

    async fn members(&self, scope: &EngagementScope) -> Result<Vec<MemberView>, PortError> {
        self.check(scope)?;
        Ok(self.members.clone())
    }

    async fn member_personal_data(
        &self,
        scope: &EngagementScope,
        members: &[MemberId],
    ) -> Result<HashMap<MemberId, PersonalData>, PortError> {
        self.check(scope)?;
        self.calls().decrypted.extend_from_slice(members);
        Ok(EVERYONE
            .iter()
            .filter(|w| members.contains(&w.member()))
            .map(|who| {
                let fields = PersonalFields {
                    display_name: who.name(),
                    email: who.email(),
                };
                (who.member(), PersonalData::Present(fields))
            })
            .collect())
    }

    async fn metric_catalogue(
        &self,
        scope: &EngagementScope,
    ) -> Result<Vec<MetricDefinition>, PortError> {
        self.check(scope)?;
        Ok(builtin_catalogue())
    }

    async fn open_engagement(
        &self,
        _permit: &CommandPermit,
        _settings: EngagementSettings,
        _founded_on: NaiveDate,
        _metadata: &CommandMetadata,
    ) -> Result<(), PortError> {
        self.calls().opened += 1;
        not_in_this_fake()
    }

    async fn add_member(
        &self,
        _permit: &CommandPermit,
        _member: NewMemberRequest,
        _metadata: &CommandMetadata,
    ) -> Result<MemberId, PortError> {
        self.calls().added += 1;
        not_in_this_fake()
    }

    async fn personal_data_reads(
        &self,
        _: &EngagementScope,
        _: MemberId,
    ) -> Result<Vec<kpi_ledger_graphql::ports::PersonalDataReadView>, PortError> {
        Ok(Vec::new())
    }

    async fn erase_personal_data(
        &self,
        permit: &CommandPermit,
        member_id: MemberId,
        metadata: &CommandMetadata,
    ) -> Result<(), PortError> {
        self.execute_engagement(
            permit,
            EngagementCommand::ErasePersonalData { member_id },
            metadata,
        )
        .await
    }

    async fn execute_engagement(
        &self,
        permit: &CommandPermit,
        command: EngagementCommand,
        metadata: &CommandMetadata,
    ) -> Result<(), PortError> {
        if let EngagementCommand::ChangeStatus { to } = &command {
            self.view.lock().unwrap().status = *to;
        }
        self.calls()
            .commands
            .push((permit.clone(), command, metadata.clone()));
        Ok(())
    }
}

/// Three KPIs: the team's GMV, the advertising position's ACoS, and one of Ben's own.
struct Kpis {
    kpis: Vec<KpiView>,
    executed: Mutex<Vec<(CommandPermit, KpiId, KpiCommand, CommandMetadata)>>,
}

fn team_kpi() -> KpiId {
    KpiId(Uuid::from_u128(0x00d1_0000_0000_4000_8000_0000_0000_0001))
}
fn advertising_kpi() -> KpiId {
    KpiId(Uuid::from_u128(0x00d2_0000_0000_4000_8000_0000_0000_0002))
}
fn bens_kpi() -> KpiId {
    KpiId(Uuid::from_u128(0x00d3_0000_0000_4000_8000_0000_0000_0003))
}

fn kpi(id: KpiId, metric: &str, assignee: Assignee) -> KpiView {
    KpiView {
        kpi_id: id,
        definition: KpiDefinition {
            engagement_id: EngagementId(ENGAGEMENT),
            name: metric.to_uppercase(),
            metric: metric.into(),
            platform: None,
            scope: None,
            assignee,
            weight: Decimal::from(30),
            direction: Direction::Higher,
            curve: Curve::default(),
            gate: None,
        },
        retired_from: None,
        defined_at: Utc.with_ymd_and_hms(2026, 4, 2, 0, 0, 0).unwrap(),
    }
}

impl Kpis {
    fn new() -> Self {
        Kpis {
            kpis: vec![
                kpi(team_kpi(), "gmv", Assignee::Team),
                kpi(
                    advertising_kpi(),
                    "acos",
                    Assignee::Position("advertising".into()),
                ),
                kpi(bens_kpi(), "orders", Assignee::Member(Ben.member())),
            ],
            executed: Mutex::default(),
        }
    }

    fn executed(&self) -> usize {
        self.executed.lock().unwrap().len()
    }
}

#[async_trait]
impl KpiPort for Kpis {
    async fn kpis(&self, _scope: &EngagementScope) -> Result<Vec<KpiView>, PortError> {
        Ok(self.kpis.clone())
    }

    async fn targets(
        &self,
        _scope: &EngagementScope,
        _kpis: &[KpiId],
    ) -> Result<Vec<TargetView>, PortError> {
        Ok(Vec::new())
    }

    async fn target_history(
        &self,
        _scope: &EngagementScope,
        _kpi: KpiId,
    ) -> Result<Vec<TargetChangeView>, PortError> {
        not_in_this_fake()
    }

    async fn execute_kpi(
        &self,
        permit: &CommandPermit,
        kpi: KpiId,
        command: KpiCommand,
        metadata: &CommandMetadata,
    ) -> Result<(), PortError> {
        self.executed
            .lock()
            .unwrap()
            .push((permit.clone(), kpi, command, metadata.clone()));
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Running requests
// ---------------------------------------------------------------------------------------

/// The fakes of one test and the schema over them.
struct World {
    engagements: Arc<Engagements>,
    kpis: Arc<Kpis>,
    texts: Arc<Texts>,
    schema: KpiSchema,
}

/// A vault for free text that keeps what it seals in memory.
#[derive(Default)]
struct Texts(Mutex<HashMap<Uuid, String>>);

impl Texts {
    /// The text a sealed note stands for.
    fn text(&self, note: Option<&Note>) -> Option<String> {
        let id = note?.sealed_id()?;
        self.0.lock().unwrap().get(&id).cloned()
    }
}

#[async_trait]
impl TextPort for Texts {
    async fn seal(&self, _: &CommandPermit, text: &str) -> Result<Note, PortError> {
        let id = Uuid::new_v4();
        self.0.lock().unwrap().insert(id, text.trim().to_string());
        Ok(Note::Sealed {
            id,
            digest: String::new(),
        })
    }

    async fn open(
        &self,
        _: &EngagementScope,
        notes: &[Note],
    ) -> Result<HashMap<Uuid, OpenedText>, PortError> {
        let texts = self.0.lock().unwrap();
        Ok(notes
            .iter()
            .filter_map(|n| n.sealed_id())
            .filter_map(|id| Some((id, OpenedText::Text(texts.get(&id)?.clone()))))
            .collect())
    }
}

impl World {
    /// Identity, engagements and KPIs set; every other port unset.
    fn new(status: EngagementStatus) -> Self {
        Self::with(status, |ports| ports)
    }

    /// The ports [`World::new`] sets, passed through `ports` (which may drop some).
    fn with(status: EngagementStatus, ports: impl FnOnce(Ports) -> Ports) -> Self {
        let engagements = Arc::new(Engagements::new(status));
        let kpis = Arc::new(Kpis::new());
        let texts = Arc::new(Texts::default());
        let all = Ports::default()
            .with_identity(Arc::new(Directory))
            .with_engagements(engagements.clone())
            .with_kpis(kpis.clone())
            .with_texts(texts.clone());
        World {
            schema: build_schema(ports(all)),
            engagements,
            kpis,
            texts,
        }
    }

    fn active() -> Self {
        Self::new(EngagementStatus::Active)
    }

    /// Runs `query` as `who` (or with no viewer) and returns the response as JSON.
    async fn run(&self, who: Option<Who>, query: &str, variables: Value) -> Value {
        let mut request = Request::new(query)
            .variables(Variables::from_json(variables))
            .data(RequestContext {
                correlation_id: CORRELATION,
                received_at: received_at(),
            });
        if let Some(who) = who {
            request = request.data(Viewer {
                user_id: who.user(),
                grants: who.grants(),
            });
        }
        serde_json::to_value(self.schema.execute(request).await).unwrap()
    }

    async fn as_(&self, who: Who, query: &str, variables: Value) -> Value {
        self.run(Some(who), query, variables).await
    }
}

/// The `extensions.code` of every error of a response.
fn codes(response: &Value) -> Vec<String> {
    response["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["extensions"]["code"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn no_errors(response: &Value) {
    assert!(response.get("errors").is_none(), "{response:#}");
}

/// The single error of a response, which must have code `code`.
fn the_error(response: &Value, code: &str) -> Value {
    assert_eq!(codes(response), [code], "{response:#}");
    response["errors"][0].clone()
}

const ENGAGEMENT_NAME: &str = "query ($id: UUID!) { engagement(id: $id) { name viewerRole } }";

fn id_of(engagement: Uuid) -> Value {
    json!({ "id": engagement })
}

// ---------------------------------------------------------------------------------------
// Who is asking
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_request_without_a_viewer_is_unauthenticated() {
    let world = World::active();

    for query in [
        "{ viewer { email } }",
        "{ engagements { totalCount } }",
        ENGAGEMENT_NAME,
    ] {
        let response = world.run(None, query, id_of(ENGAGEMENT)).await;
        assert_eq!(codes(&response), ["UNAUTHENTICATED"], "{query}");
        assert_eq!(response["data"], Value::Null, "{query}");
    }
}

#[tokio::test]
async fn a_viewer_reads_their_own_account() {
    let world = World::active();

    let response = world
        .as_(
            Aki,
            "{ viewer { email displayName consultant } }",
            json!({}),
        )
        .await;

    no_errors(&response);
    assert_eq!(
        response["data"]["viewer"],
        json!({ "email": "aki@example.jp", "displayName": "Aki", "consultant": false })
    );
}

// ---------------------------------------------------------------------------------------
// Which engagements exist for whom
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_member_reads_the_engagement_with_their_role() {
    let world = World::active();

    let response = world.as_(Aki, ENGAGEMENT_NAME, id_of(ENGAGEMENT)).await;

    no_errors(&response);
    assert_eq!(
        response["data"]["engagement"],
        json!({ "name": "Spring push", "viewerRole": "MEMBER" })
    );
}

#[tokio::test]
async fn an_outsider_asking_for_an_engagement_gets_not_found_exactly_as_for_a_missing_one() {
    let world = World::active();
    let missing = Uuid::from_u128(0x00e2_0000_0000_4000_8000_0000_0000_0002);

    let existing = world
        .as_(Outsider, ENGAGEMENT_NAME, id_of(ENGAGEMENT))
        .await;
    let nowhere = world.as_(Outsider, ENGAGEMENT_NAME, id_of(missing)).await;
    let members_miss = world.as_(Consultant, ENGAGEMENT_NAME, id_of(missing)).await;

    the_error(&existing, "NOT_FOUND");
    // Nothing in the answer tells an engagement the outsider may not see from none at all,
    // even for someone who holds the consultant grant.
    assert_eq!(existing, nowhere);
    assert_eq!(existing, members_miss);
}

#[tokio::test]
async fn an_outsider_lists_no_engagements() {
    let world = World::active();

    let response = world
        .as_(
            Outsider,
            "{ engagements { totalCount nodes { name } } }",
            json!({}),
        )
        .await;

    no_errors(&response);
    assert_eq!(
        response["data"]["engagements"],
        json!({ "totalCount": 0, "nodes": [] })
    );
}

#[tokio::test]
async fn a_former_member_is_an_outsider_after_their_last_day() {
    let world = World::active();

    let one = world.as_(Former, ENGAGEMENT_NAME, id_of(ENGAGEMENT)).await;
    let list = world
        .as_(Former, "{ engagements { totalCount } }", json!({}))
        .await;

    the_error(&one, "NOT_FOUND");
    assert_eq!(list["data"]["engagements"]["totalCount"], 0);
}

// ---------------------------------------------------------------------------------------
// Personal scorecards
// ---------------------------------------------------------------------------------------

const MEMBER_SCORECARD: &str = "query ($id: UUID!, $member: UUID!) {
  engagement(id: $id) { scorecard(period: \"2026-05\", memberId: $member) { score } }
}";

fn card_of(member: Uuid) -> Value {
    json!({ "id": ENGAGEMENT, "member": member })
}

#[tokio::test]
async fn a_member_asking_for_another_members_scorecard_is_told_it_does_not_exist() {
    let world = World::active();
    let nobody = Uuid::from_u128(0x00b9_0000_0000_4000_8000_0000_0000_0009);

    let bens = world
        .as_(Aki, MEMBER_SCORECARD, card_of(Ben.member().as_uuid()))
        .await;
    let no_ones = world.as_(Aki, MEMBER_SCORECARD, card_of(nobody)).await;

    the_error(&bens, "NOT_FOUND");
    assert_eq!(bens, no_ones);
    assert_eq!(world.engagements.calls().decrypted, []);
}

#[tokio::test]
async fn a_client_viewer_asking_for_a_members_scorecard_is_forbidden() {
    let world = World::active();

    let response = world
        .as_(
            ClientViewer,
            MEMBER_SCORECARD,
            card_of(Ben.member().as_uuid()),
        )
        .await;

    let error = the_error(&response, "FORBIDDEN");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("team scorecards"),
        "{error}"
    );
}

#[tokio::test]
async fn a_consultant_passes_the_scorecard_check_and_meets_the_unset_observation_port() {
    // The consultant may read Ben's card; computing it needs observations, and this
    // schema has no observation port: the answer is INTERNAL, not NOT_FOUND or FORBIDDEN.
    let world = World::active();

    let response = world
        .as_(
            Consultant,
            MEMBER_SCORECARD,
            card_of(Ben.member().as_uuid()),
        )
        .await;

    let error = the_error(&response, "INTERNAL");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("no observation service"),
        "{error}"
    );
}

// ---------------------------------------------------------------------------------------
// The member directory
// ---------------------------------------------------------------------------------------

const MEMBERS: &str = "query ($id: UUID!, $first: Int) {
  engagement(id: $id) {
    members(first: $first) {
      totalCount
      pageInfo { hasNextPage }
      nodes { id role position pseudonym displayName email isViewer }
    }
  }
}";

fn members_page(first: Option<i32>) -> Value {
    json!({ "id": ENGAGEMENT, "first": first })
}

fn nodes(response: &Value) -> Vec<Value> {
    response["data"]["engagement"]["members"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("no members in {response:#}"))
        .clone()
}

#[tokio::test]
async fn a_client_viewer_sees_members_by_pseudonym_without_names_or_emails() {
    let world = World::active();

    let response = world.as_(ClientViewer, MEMBERS, members_page(None)).await;

    no_errors(&response);
    let nodes = nodes(&response);
    // Everyone current; the former member's last day has passed.
    assert_eq!(nodes.len(), 5, "{nodes:#?}");
    let mut pseudonyms = Vec::new();
    for node in &nodes {
        let pseudonym = node["pseudonym"].as_str().unwrap().to_string();
        assert!(pseudonym.starts_with("Member "), "{pseudonym}");
        pseudonyms.push(pseudonym);
        if node["isViewer"] == true {
            assert_eq!(node["displayName"], "ClientViewer");
        } else {
            assert_eq!(node["displayName"], Value::Null, "{node}");
            assert_eq!(node["email"], Value::Null, "{node}");
        }
    }
    pseudonyms.sort();
    pseudonyms.dedup();
    assert_eq!(pseudonyms.len(), 5, "pseudonyms are distinct");
    // No one else's personal fields were even decrypted.
    assert_eq!(world.engagements.calls().decrypted, [ClientViewer.member()]);
}

#[tokio::test]
async fn a_consultant_sees_every_members_name_and_email() {
    let world = World::active();

    let response = world.as_(Consultant, MEMBERS, members_page(None)).await;

    no_errors(&response);
    let seen: Vec<(Value, Value)> = nodes(&response)
        .iter()
        .map(|n| (n["displayName"].clone(), n["email"].clone()))
        .collect();
    let current: Vec<(Value, Value)> = [Consultant, Owner, ClientViewer, Aki, Ben]
        .iter()
        .map(|who| (json!(who.name()), json!(who.email())))
        .collect();
    assert_eq!(seen, current);
}

#[tokio::test]
async fn a_member_sees_only_themselves_in_the_member_list_and_its_count() {
    let world = World::active();

    let everyone = world.as_(Aki, MEMBERS, members_page(None)).await;
    // Aki is fourth on the roster: a page of one must still hold Aki.
    let first_page = world.as_(Aki, MEMBERS, members_page(Some(1))).await;

    for response in [&everyone, &first_page] {
        no_errors(response);
        let members = &response["data"]["engagement"]["members"];
        assert_eq!(members["totalCount"], 1, "{members:#}");
        assert_eq!(members["pageInfo"]["hasNextPage"], false, "{members:#}");
        let nodes = nodes(response);
        assert_eq!(nodes.len(), 1, "{nodes:#?}");
        assert_eq!(nodes[0]["id"], json!(Aki.member().as_uuid()));
        assert_eq!(nodes[0]["displayName"], "Aki");
    }
    assert!(world
        .engagements
        .calls()
        .decrypted
        .iter()
        .all(|m| *m == Aki.member()));
}

// ---------------------------------------------------------------------------------------
// KPIs a member may see
// ---------------------------------------------------------------------------------------

const KPIS: &str = "query ($id: UUID!) { engagement(id: $id) { kpis { id } } }";

fn kpi_ids(response: &Value) -> Vec<Value> {
    no_errors(response);
    response["data"]["engagement"]["kpis"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].clone())
        .collect()
}

#[tokio::test]
async fn a_member_sees_the_team_kpis_and_those_on_their_own_card_only() {
    let world = World::active();

    let akis = world.as_(Aki, KPIS, id_of(ENGAGEMENT)).await;
    let bens = world.as_(Ben, KPIS, id_of(ENGAGEMENT)).await;
    let viewers = world.as_(ClientViewer, KPIS, id_of(ENGAGEMENT)).await;

    let id = |k: KpiId| json!(k.as_uuid());
    assert_eq!(kpi_ids(&akis), [id(team_kpi()), id(advertising_kpi())]);
    assert_eq!(kpi_ids(&bens), [id(team_kpi()), id(bens_kpi())]);
    assert_eq!(kpi_ids(&viewers).len(), 3);
}

// ---------------------------------------------------------------------------------------
// Changes
// ---------------------------------------------------------------------------------------

const CHANGE_STATUS: &str = "mutation ($id: UUID!) {
  changeEngagementStatus(input: { engagementId: $id, status: PAUSED, reason: \"  summer break \" }) {
    status
  }
}";

#[tokio::test]
async fn a_member_may_not_change_the_engagement_status_and_no_command_is_sent() {
    let world = World::active();

    let response = world.as_(Aki, CHANGE_STATUS, id_of(ENGAGEMENT)).await;

    the_error(&response, "FORBIDDEN");
    assert!(world.engagements.calls().commands.is_empty());
}

#[tokio::test]
async fn an_outsider_changing_the_engagement_status_gets_not_found() {
    let world = World::active();

    let response = world.as_(Outsider, CHANGE_STATUS, id_of(ENGAGEMENT)).await;

    the_error(&response, "NOT_FOUND");
    assert!(world.engagements.calls().commands.is_empty());
}

#[tokio::test]
async fn a_consultant_changes_the_status_as_the_actor_of_the_command() {
    let world = World::active();

    let response = world
        .as_(Consultant, CHANGE_STATUS, id_of(ENGAGEMENT))
        .await;

    no_errors(&response);
    assert_eq!(
        response["data"]["changeEngagementStatus"]["status"],
        "PAUSED"
    );
    let calls = world.engagements.calls();
    let [(permit, command, metadata)] = calls.commands.as_slice() else {
        panic!("expected one command, got {}", calls.commands.len());
    };
    assert_eq!(permit.engagement_id(), EngagementId(ENGAGEMENT));
    assert_eq!(permit.actor(), Consultant.user());
    assert_eq!(
        *command,
        EngagementCommand::ChangeStatus {
            to: EngagementStatus::Paused
        }
    );
    assert_eq!(metadata.actor, Some(Consultant.user()));
    assert_eq!(metadata.correlation_id, CORRELATION);
    assert_eq!(
        world.texts.text(metadata.reason.as_ref()).as_deref(),
        Some("summer break")
    );
}

#[tokio::test]
async fn a_client_owner_may_not_add_members() {
    let world = World::active();

    let response = world
        .as_(
            Owner,
            "mutation ($id: UUID!) {
              addMember(input: { engagementId: $id, displayName: \"Chika\",
                                 email: \"chika@example.jp\", role: MEMBER }) { id }
            }",
            id_of(ENGAGEMENT),
        )
        .await;

    the_error(&response, "FORBIDDEN");
    assert_eq!(world.engagements.calls().added, 0);
}

#[tokio::test]
async fn only_users_with_the_consultant_grant_open_engagements() {
    let world = World::active();
    let open = "mutation { openEngagement(input: { name: \"Autumn\", clientName: \"Sakura Foods\" }) { id } }";

    let response = world.as_(Owner, open, json!({})).await;

    the_error(&response, "FORBIDDEN");
    assert_eq!(world.engagements.calls().opened, 0);
}

const DEFINE_KPI: &str = "mutation ($id: UUID!) {
  defineKpi(input: { engagementId: $id, metric: \"gmv\", assignee: { team: true }, weight: \"40\" }) {
    id
  }
}";

const CHANGE_WEIGHT: &str = "mutation ($id: UUID!, $kpi: UUID!) {
  changeKpiWeight(input: { engagementId: $id, kpiId: $kpi, weight: \"12.5\" }) { id }
}";

fn weight_of(kpi: KpiId) -> Value {
    json!({ "id": ENGAGEMENT, "kpi": kpi.as_uuid() })
}

#[tokio::test]
async fn a_member_may_not_define_a_kpi_and_no_command_reaches_the_kpi_port() {
    let world = World::active();

    let define = world.as_(Aki, DEFINE_KPI, id_of(ENGAGEMENT)).await;
    let weight = world.as_(Aki, CHANGE_WEIGHT, weight_of(team_kpi())).await;

    the_error(&define, "FORBIDDEN");
    the_error(&weight, "FORBIDDEN");
    assert_eq!(world.kpis.executed(), 0);
}

#[tokio::test]
async fn a_client_owner_may_not_define_a_kpi_either() {
    let world = World::active();

    let response = world.as_(Owner, DEFINE_KPI, id_of(ENGAGEMENT)).await;

    the_error(&response, "FORBIDDEN");
    assert_eq!(world.kpis.executed(), 0);
}

#[tokio::test]
async fn a_consultant_changes_a_kpi_weight_through_the_kpi_port() {
    let world = World::active();

    let response = world
        .as_(Consultant, CHANGE_WEIGHT, weight_of(advertising_kpi()))
        .await;

    no_errors(&response);
    let executed = world.kpis.executed.lock().unwrap();
    let [(permit, kpi, command, metadata)] = executed.as_slice() else {
        panic!("expected one command, got {}", executed.len());
    };
    assert_eq!(permit.actor(), Consultant.user());
    assert_eq!(*kpi, advertising_kpi());
    assert_eq!(
        *command,
        KpiCommand::ChangeWeight {
            weight: "12.5".parse().unwrap()
        }
    );
    assert_eq!(metadata.actor, Some(Consultant.user()));
}

#[tokio::test]
async fn a_kpi_change_on_a_closed_engagement_is_locked() {
    let world = World::new(EngagementStatus::Closed);

    let define = world.as_(Consultant, DEFINE_KPI, id_of(ENGAGEMENT)).await;
    let weight = world
        .as_(Consultant, CHANGE_WEIGHT, weight_of(team_kpi()))
        .await;

    the_error(&define, "LOCKED");
    the_error(&weight, "LOCKED");
    assert_eq!(world.kpis.executed(), 0);
}

#[tokio::test]
async fn on_a_closed_engagement_a_members_change_is_forbidden_and_an_outsiders_not_found() {
    // The checks run in order: membership, role, then the engagement's status.
    let world = World::new(EngagementStatus::Closed);

    let member = world.as_(Aki, CHANGE_WEIGHT, weight_of(team_kpi())).await;
    let outsider = world
        .as_(Outsider, CHANGE_WEIGHT, weight_of(team_kpi()))
        .await;

    the_error(&member, "FORBIDDEN");
    the_error(&outsider, "NOT_FOUND");
    assert_eq!(world.kpis.executed(), 0);
}

#[tokio::test]
async fn a_kpi_of_another_engagement_or_none_is_not_found_to_a_consultant() {
    let world = World::active();
    let stranger = KpiId(Uuid::from_u128(0x00d9_0000_0000_4000_8000_0000_0000_0009));

    let response = world
        .as_(Consultant, CHANGE_WEIGHT, weight_of(stranger))
        .await;

    the_error(&response, "NOT_FOUND");
    assert_eq!(world.kpis.executed(), 0);
}

// ---------------------------------------------------------------------------------------
// Ports the server did not set, and ports that fail
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_port_the_server_did_not_set_answers_internal() {
    let world = World::with(EngagementStatus::Active, |_| {
        Ports::default().with_identity(Arc::new(Directory))
    });

    let response = world
        .as_(Consultant, ENGAGEMENT_NAME, id_of(ENGAGEMENT))
        .await;

    let error = the_error(&response, "INTERNAL");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("no engagement service"),
        "{error}"
    );
}

#[tokio::test]
async fn a_target_is_not_set_without_reading_the_locked_periods() {
    // setTarget decides on the periods locked now, which the review port answers; this
    // schema has none, so nothing reaches the KPI port.
    let world = World::active();

    let response = world
        .as_(
            Consultant,
            "mutation ($id: UUID!, $kpi: UUID!) {
              setTarget(input: { engagementId: $id, kpiId: $kpi, periods: [\"2026-06\"],
                                 threshold: \"900\", target: \"1000\", reason: \"June plan\" }) { id }
            }",
            weight_of(team_kpi()),
        )
        .await;

    let error = the_error(&response, "INTERNAL");
    assert!(
        error["message"].as_str().unwrap().contains("review"),
        "{error}"
    );
    assert_eq!(world.kpis.executed(), 0);
}

#[tokio::test]
async fn a_ports_internal_failure_is_reported_without_its_detail() {
    let world = World::active();

    let response = world
        .as_(
            Consultant,
            "query ($id: UUID!, $kpi: UUID!) {
              engagement(id: $id) { targetHistory(kpiId: $kpi) { totalCount } }
            }",
            weight_of(team_kpi()),
        )
        .await;

    let error = the_error(&response, "INTERNAL");
    assert!(
        !error["message"].as_str().unwrap().contains("fake"),
        "{error}"
    );
}
