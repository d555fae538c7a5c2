//! `kpi-ledger demo`: seeds a living installation — the SPEC worked example "Acme Home JP"
//! and a second engagement with three months of daily data on amazon_jp and rakuten, a
//! locked review and calculated payouts — through the same GraphQL API and import
//! pipeline a user drives, then prints tokens to explore it with.

use crate::app::Context;
use crate::auth::{AuthSettings, TokenService};
use crate::imports::ImportSpec;
use crate::local_api::LocalApi;
use crate::worked_example::CallApi;
use anyhow::{anyhow, Context as _};
use chrono::{Duration, NaiveDate, Utc};
use kpi_ledger_domain::ids::{EngagementId, UserId};
use kpi_ledger_domain::metadata::CommandMetadata;
use kpi_ledger_domain::user::Grants;
use kpi_ledger_graphql::access::Viewer;
use serde_json::{json, Value};
use std::io::Write;
use uuid::Uuid;

pub const CONSULTANT: &str = "aiko.sato@demo.kpi-ledger.test";
pub const OWNER: &str = "hiro.tanaka@demo.kpi-ledger.test";
pub const MEMBER: &str = kpi_ledger_domain::worked_example::MEMBER_EMAIL;

/// Tokens for the three demo roles, and one-time sign-in links (paths) for the web app.
pub struct DemoTokens {
    pub consultant: String,
    pub client_owner: String,
    pub member: String,
    /// `/invitations/…` for the consultant, the client owner and the member.
    pub links: [String; 3],
}

/// The in-process API as the demo runs it: every step must succeed.
struct Api {
    local: LocalApi,
}

impl Api {
    async fn run(&self, viewer: Viewer, query: &str, variables: Value) -> anyhow::Result<Value> {
        self.local
            .run(viewer, query, variables)
            .await
            .map_err(|e| anyhow!("demo step failed: {e}"))
    }
}

/// The API as one demo person calls it.
struct As<'a>(&'a Api, Viewer);

#[async_trait::async_trait]
impl CallApi for As<'_> {
    async fn call(&self, query: &str, variables: Value) -> anyhow::Result<Value> {
        self.0.run(self.1, query, variables).await
    }
}

fn viewer(user_id: UserId, consultant: bool) -> Viewer {
    Viewer {
        user_id,
        grants: Grants {
            consultant,
            admin: false,
        },
    }
}

fn id(value: &Value) -> anyhow::Result<String> {
    value
        .as_str()
        .map(String::from)
        .ok_or_else(|| anyhow!("expected an id, got {value}"))
}

/// Seeds the demo unless it is there already, and returns tokens for it.
pub async fn seed(context: &Context, auth: &AuthSettings) -> anyhow::Result<DemoTokens> {
    let accounts = context.services.accounts();
    if accounts.by_email(CONSULTANT).await?.is_none() {
        populate(context)
            .await
            .context("failed to seed the demo data")?;
    }
    let tokens = TokenService::from_settings(auth, &context.db, &context.keyring).await?;
    let now = Utc::now();
    let sign_in = crate::web::sign_in::SignIn::new(context.db.clone());
    let mut issued = Vec::new();
    let mut links = Vec::new();
    for email in [CONSULTANT, OWNER, MEMBER] {
        let account = accounts.by_email(email).await?.ok_or_else(|| {
            anyhow!("demo user {email} is missing: an earlier seeding stopped half-way; use an empty database")
        })?;
        issued.push(tokens.issue(account.user_id, now, now + Duration::days(30))?);
        links.push(crate::web::invitation_path(accounts, &sign_in, email).await?);
    }
    let links: [String; 3] = links
        .try_into()
        .map_err(|_| anyhow!("three links expected"))?;
    let [consultant, client_owner, member]: [String; 3] = issued
        .try_into()
        .map_err(|_| anyhow!("three tokens expected"))?;
    Ok(DemoTokens {
        consultant,
        client_owner,
        member,
        links,
    })
}

const OPEN: &str = "mutation($i: OpenEngagementInput!) { openEngagement(input: $i) { id } }";
const ADD: &str = "mutation($i: AddMemberInput!) { addMember(input: $i) { id } }";
const DEFINE: &str = "mutation($i: DefineKpiInput!) { defineKpi(input: $i) { id } }";
const TARGET: &str = "mutation($i: SetTargetInput!) { setTarget(input: $i) { id } }";
const STATUS: &str =
    "mutation($i: ChangeEngagementStatusInput!) { changeEngagementStatus(input: $i) { status } }";
const REVIEW: &str = "mutation($i: OpenReviewInput!) { openReview(input: $i) { id } }";
const DECIDE: &str = "mutation($i: RecordDecisionInput!) { recordDecision(input: $i) { id } }";
const FINDING: &str = "mutation($i: RecordFindingInput!) { recordFinding(input: $i) { id } }";
const SIGN: &str = "mutation($i: SignOffReviewInput!) { signOffReview(input: $i) { status } }";
const DRAFT: &str =
    "mutation($i: DraftIncentivePlanInput!) { draftIncentivePlan(input: $i) { id } }";
const APPROVE_PLAN: &str =
    "mutation($i: ApproveIncentivePlanInput!) { approveIncentivePlan(input: $i) { approved } }";
const CALCULATE: &str =
    "mutation($i: CalculatePayoutsInput!) { calculatePayouts(input: $i) { id amount } }";
const APPROVE_PAYOUT: &str = "mutation($i: PayoutInput!) { approvePayout(input: $i) { status } }";

async fn populate(context: &Context) -> anyhow::Result<()> {
    let accounts = context.services.accounts();
    let metadata = CommandMetadata::new(None, Uuid::new_v4()).with_reason(Some("demo".into()));
    let aiko = accounts
        .add(
            CONSULTANT,
            "Aiko Sato",
            Grants {
                consultant: true,
                admin: false,
            },
            &metadata,
        )
        .await?;
    let api = Api {
        local: LocalApi::new(context),
    };
    let consultant = viewer(aiko.user_id, true);

    // 1. The SPEC §7 worked example.
    let example = crate::worked_example::record(&As(&api, consultant), &["amazon_jp"]).await?;
    let acme = example.engagement.clone();
    let li = example.li.clone();
    api.run(consultant, ADD, json!({ "i": { "engagementId": acme, "displayName": "Hiro Tanaka", "email": OWNER, "role": "CLIENT_OWNER" } })).await?;
    let hiro = viewer(
        accounts
            .by_email(OWNER)
            .await?
            .ok_or_else(|| anyhow!("owner missing"))?
            .user_id,
        false,
    );
    for status in ["TRIAL", "ACTIVE"] {
        api.run(
            consultant,
            STATUS,
            json!({ "i": { "engagementId": acme, "status": status, "reason": "demo" } }),
        )
        .await?;
    }
    lock_and_pay(
        &api,
        consultant,
        hiro,
        &acme,
        "2026-06",
        &[(li.as_str(), kpi_ledger_domain::worked_example::TARGET_BONUS)],
    )
    .await?;

    // 2. Three months of daily data on two platforms.
    let sakura = id(&api
        .run(consultant, OPEN, json!({ "i": { "name": "Sakura Kitchen JP", "clientName": "Sakura Kitchenware K.K.", "platforms": ["amazon_jp", "rakuten"] } }))
        .await?["openEngagement"]["id"])?;
    api.run(consultant, ADD, json!({ "i": { "engagementId": sakura, "displayName": "Hiro Tanaka", "email": OWNER, "role": "CLIENT_OWNER" } })).await?;
    let mei = id(&api
        .run(consultant, ADD, json!({ "i": { "engagementId": sakura, "displayName": "Mei Suzuki", "email": "mei.suzuki@demo.kpi-ledger.test", "role": "MEMBER", "position": "advertising", "activeFrom": "2026-04-01" } }))
        .await?["addMember"]["id"])?;
    let ren = id(&api
        .run(consultant, ADD, json!({ "i": { "engagementId": sakura, "displayName": "Ren Kobayashi", "email": "ren.kobayashi@demo.kpi-ledger.test", "role": "MEMBER", "position": "operations", "activeFrom": "2026-04-01" } }))
        .await?["addMember"]["id"])?;
    for status in ["TRIAL", "ACTIVE"] {
        api.run(
            consultant,
            STATUS,
            json!({ "i": { "engagementId": sakura, "status": status, "reason": "demo" } }),
        )
        .await?;
    }
    let months = ["2026-04", "2026-05", "2026-06"];
    for (metric, weight, assignee, levels) in [
        (
            "gmv",
            "50",
            json!({ "team": true }),
            ("24000000", "30000000", Some("36000000")),
        ),
        (
            "conversion_rate",
            "50",
            json!({ "team": true }),
            ("0.04", "0.05", Some("0.06")),
        ),
        (
            "acos",
            "60",
            json!({ "position": "advertising" }),
            ("0.30", "0.22", Some("0.18")),
        ),
        (
            "roas",
            "40",
            json!({ "position": "advertising" }),
            ("3", "4.5", Some("5.5")),
        ),
        (
            "gmv",
            "50",
            json!({ "position": "operations" }),
            ("24000000", "30000000", Some("36000000")),
        ),
        (
            "conversion_rate",
            "50",
            json!({ "position": "operations" }),
            ("0.04", "0.05", Some("0.06")),
        ),
    ] {
        let kpi = id(&api
            .run(consultant, DEFINE, json!({ "i": { "engagementId": sakura, "metric": metric, "weight": weight, "assignee": assignee } }))
            .await?["defineKpi"]["id"])?;
        api.run(consultant, TARGET, json!({ "i": { "engagementId": sakura, "kpiId": kpi, "periods": months,
            "threshold": levels.0, "target": levels.1, "stretch": levels.2, "reason": "quarterly plan" } })).await?;
    }
    import_daily(context, &sakura, aiko.user_id).await?;
    lock_and_pay(
        &api,
        consultant,
        hiro,
        &sakura,
        "2026-04",
        &[(mei.as_str(), "150000"), (ren.as_str(), "120000")],
    )
    .await?;
    Ok(())
}

/// Reviews a period, locks it with both signatures, and pays a plan on it.
async fn lock_and_pay(
    api: &Api,
    consultant: Viewer,
    owner: Viewer,
    engagement: &str,
    period: &str,
    participants: &[(&str, &str)],
) -> anyhow::Result<()> {
    let review = id(&api
        .run(
            consultant,
            REVIEW,
            json!({ "i": { "engagementId": engagement, "period": period } }),
        )
        .await?["openReview"]["id"])?;
    api.run(
        consultant,
        FINDING,
        json!({ "i": { "engagementId": engagement, "reviewId": review,
        "deviation": "ad efficiency ahead of target", "cause": "search-term pruning in week 2" } }),
    )
    .await?;
    api.run(
        consultant,
        DECIDE,
        json!({ "i": { "engagementId": engagement, "reviewId": review, "kind": "ACCEPT" } }),
    )
    .await?;
    api.run(consultant, DECIDE, json!({ "i": { "engagementId": engagement, "reviewId": review, "kind": "ACTION_ITEM",
        "owner": "Aiko Sato", "due": "2026-07-15", "description": "extend negative keywords to the new listings" } })).await?;
    api.run(
        consultant,
        SIGN,
        json!({ "i": { "engagementId": engagement, "reviewId": review } }),
    )
    .await?;
    api.run(
        owner,
        SIGN,
        json!({ "i": { "engagementId": engagement, "reviewId": review } }),
    )
    .await?;
    let participants: Vec<Value> = participants
        .iter()
        .map(|(member, bonus)| json!({ "memberId": member, "targetBonus": bonus }))
        .collect();
    let plan = id(&api
        .run(consultant, DRAFT, json!({ "i": { "engagementId": engagement, "terms": {
            "name": format!("Monthly bonus {}", &period[..4]), "period": "MONTH", "participants": participants } } }))
        .await?["draftIncentivePlan"]["id"])?;
    api.run(
        owner,
        APPROVE_PLAN,
        json!({ "i": { "engagementId": engagement, "planId": plan, "version": 1 } }),
    )
    .await?;
    let payouts = api
        .run(
            consultant,
            CALCULATE,
            json!({ "i": { "engagementId": engagement, "period": period, "planId": plan } }),
        )
        .await?;
    for payout in payouts["calculatePayouts"].as_array().into_iter().flatten() {
        api.run(
            owner,
            APPROVE_PAYOUT,
            json!({ "i": { "engagementId": engagement, "payoutId": payout["id"] } }),
        )
        .await?;
    }
    Ok(())
}

/// Deterministic, plausible daily figures for April–June 2026, imported as generic_csv.
async fn import_daily(context: &Context, engagement: &str, actor: UserId) -> anyhow::Result<()> {
    let mut file = tempfile_path()?;
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&file)?);
        writeln!(out, "date,platform,metric,value")?;
        let mut day = NaiveDate::from_ymd_opt(2026, 4, 1).expect("valid date");
        let mut n: u64 = 0;
        while day <= NaiveDate::from_ymd_opt(2026, 6, 30).expect("valid date") {
            for (platform, scale) in [("amazon_jp", 700_000u64), ("rakuten", 320_000u64)] {
                n += 1;
                let wave = n * 7919 % 200;
                let gmv = scale + wave * 1_700;
                let sessions = gmv / 380 + wave * 3;
                let orders = sessions * (45 + wave % 15) / 1000;
                let ad_spend = gmv * (8 + wave % 4) / 100;
                let ad_sales = ad_spend * (40 + wave % 12) / 10;
                for (metric, value) in [
                    ("gmv", gmv),
                    ("sessions", sessions),
                    ("orders", orders),
                    ("ad_spend", ad_spend),
                    ("ad_sales", ad_sales),
                ] {
                    writeln!(out, "{day},{platform},{metric},{value}")?;
                }
            }
            day = day.succ_opt().expect("valid date");
        }
        out.flush()?;
    }
    let spec = ImportSpec {
        engagement_id: engagement.parse::<EngagementId>()?,
        format: kpi_ledger_import::Format::GenericCsv,
        platform: None,
        range: None,
        encoding: kpi_ledger_import::EncodingChoice::Auto,
        file_name: Some("sakura-kitchen-q2.csv".into()),
        conversion: None,
    };
    let metadata =
        CommandMetadata::new(Some(actor), Uuid::new_v4()).with_reason(Some("demo data".into()));
    let (_, outcome) = context
        .services
        .jobs()
        .run_here(spec, actor, &file, metadata, &|_| {})
        .await?;
    std::fs::remove_file(&file).ok();
    file.clear();
    outcome
        .map(|_| ())
        .map_err(|e| anyhow!("demo import failed: {e}"))
}

fn tempfile_path() -> anyhow::Result<std::path::PathBuf> {
    let folder = crate::imports::spool_dir();
    std::fs::create_dir_all(&folder)?;
    Ok(folder.join(format!("demo-{}.csv", Uuid::new_v4())))
}

/// Prints how to explore the seeded installation: on the server at `serving`, or, when no
/// server runs yet, how to start one.
pub fn print(tokens: &DemoTokens, serving: Option<&str>) {
    let base = match serving {
        Some(address) => {
            println!("kpi-ledger demo is ready: the web app on http://{address}/, GraphiQL on http://{address}/graphql");
            format!("http://{address}")
        }
        None => {
            println!("kpi-ledger demo data is seeded. No server is running yet: start one with");
            println!(
                "  kpi-ledger serve   (same --database-url; the web app on http://127.0.0.1:8080/)"
            );
            "http://127.0.0.1:8080".to_string()
        }
    };
    println!(
        "Sign in to the web app with these one-time links (each sets a password; valid 72 hours):"
    );
    println!("  consultant   ({CONSULTANT}): {base}{}", tokens.links[0]);
    println!("  client owner ({OWNER}): {base}{}", tokens.links[1]);
    println!("  member       ({MEMBER}): {base}{}", tokens.links[2]);
    println!("Paste one of these into GraphiQL's Headers tab as {{\"Authorization\": \"Bearer <token>\"}}:");
    println!("  consultant   ({CONSULTANT}): {}", tokens.consultant);
    println!("  client owner ({OWNER}): {}", tokens.client_owner);
    println!("  member       ({MEMBER}): {}", tokens.member);
    println!("Try: {{ engagements(first: 10) {{ edges {{ node {{ id name status }} }} }} }}");
}
