//! The web app in a real browser: Chromium driven through ChromeDriver (Debian's
//! `chromium` and `chromium-driver`, installed by `.ci/run`). Without them the tests print
//! SKIPPED and pass, except under `CI=true`, where they fail.
//!
//! Screenshots of each main page go to `target/browser-screenshots/<backend>/`.

use crate::helpers::TestApp;
use crate::on_both_backends;
use fantoccini::{Client, Locator};
use kpi_ledger::app::Context;
use kpi_ledger::auth::AuthSettings;
use kpi_ledger::demo::{seed, DemoTokens};
use serde_json::json;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// ChromeDriver on a free port, stopped on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn browser_available() -> bool {
    if std::path::Path::new(CHROMEDRIVER).exists() && std::path::Path::new(CHROMIUM).exists() {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{CHROMEDRIVER} or {CHROMIUM} is missing: install Debian's chromium and chromium-driver (.ci/run does)");
    }
    eprintln!("SKIPPED: the browser tests need {CHROMIUM} and {CHROMEDRIVER}");
    false
}

async fn driver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Driver { child, url }
}

/// A headless Chromium of the given width whose preferred language is `language`.
async fn browser(driver: &Driver, width: u32, language: &str) -> Client {
    browser_downloading_to(driver, width, language, None).await
}

/// The same, saving downloads into `downloads`.
async fn browser_downloading_to(
    driver: &Driver,
    width: u32,
    language: &str,
    downloads: Option<&std::path::Path>,
) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                format!("--window-size={width},900"), format!("--lang={language}"),
                // Nothing may come from the network: only the test server is reachable.
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            ],
            "prefs": {
                "intl.accept_languages": language,
                "download.default_directory": downloads.map(|d| d.display().to_string()).unwrap_or_default(),
                "download.prompt_for_download": false,
            },
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    Client::with_capabilities_and_connector(&driver.url, &capabilities, connector)
        .await
        .expect("open a Chromium session")
}

fn screenshots(app: &TestApp) -> PathBuf {
    let backend = if app.database.url.starts_with("postgres") {
        "postgres"
    } else {
        "sqlite"
    };
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/browser-screenshots")
        .join(backend);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn shoot(client: &Client, dir: &std::path::Path, name: &str) {
    let png = client.screenshot().await.expect("screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

async fn text(client: &Client, css: &str) -> String {
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .text()
        .await
        .unwrap()
}

/// Clicks the element and waits for the page it leads to.
async fn click(client: &Client, css: &str) {
    let before = client.find(Locator::Css("html")).await.unwrap();
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .click()
        .await
        .unwrap();
    // The old document goes stale once the next one has loaded.
    for _ in 0..100 {
        if before.tag_name().await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("main"))
        .await
        .unwrap();
}

async fn body(client: &Client) -> String {
    text(client, "body").await
}

/// Follows a one-time link, sets a password and lands on the portfolio.
async fn accept_invitation(client: &Client, base: &str, link: &str, password: &str) {
    client.goto(&format!("{base}{link}")).await.unwrap();
    client
        .find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(password)
        .await
        .unwrap();
    client
        .find(Locator::Id("password2"))
        .await
        .unwrap()
        .send_keys(password)
        .await
        .unwrap();
    client
        .find(Locator::Css("form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("ul.tiles, p.card"))
        .await
        .expect("the portfolio after setting the password");
}

async fn seeded(app: &TestApp) -> DemoTokens {
    let context = Context::connect(&app.database.url).await.unwrap();
    let tokens = seed(&context, &AuthSettings::default()).await.unwrap();
    context.db.close().await;
    tokens
}

async fn people_use_the_web_app_in_a_real_browser(app: TestApp) {
    if !browser_available() {
        return;
    }
    let tokens = seeded(&app).await;
    let dir = screenshots(&app);
    let driver = driver().await;
    let base = app.address.clone();

    // The member, on a phone-sized screen, in Japanese (from the browser's language).
    let downloads = tempfile::tempdir().unwrap();
    let member = browser_downloading_to(&driver, 375, "ja", Some(downloads.path())).await;
    accept_invitation(&member, &base, &tokens.links[2], "li-wei-password").await;
    assert!(body(&member).await.contains("ポートフォリオ"));
    shoot(&member, &dir, "member-portfolio-ja").await;
    member
        .find(Locator::LinkText("Acme Home JP"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // Pick June 2026 in the period form.
    let period = member
        .wait()
        .for_element(Locator::Id("period"))
        .await
        .unwrap();
    period.clear().await.unwrap();
    period.send_keys("2026-06").await.unwrap();
    click(&member, "form.period-picker button").await;
    click(&member, "a[href*='/members/']").await;
    assert_eq!(
        text(&member, "[data-testid=payout-amount]").await,
        "¥131,667"
    );
    let card = body(&member).await;
    assert!(
        card.contains("私のスコアカード") && card.contains("2026年6月"),
        "{card}"
    );
    assert!(
        card.contains("基準賞与額") && card.contains("¥200,000"),
        "{card}"
    );
    let charts = member.find_all(Locator::Css("svg.bullet")).await.unwrap();
    assert_eq!(charts.len(), 3, "a bullet chart per KPI");
    let download = member
        .find(Locator::Css("a[href$='statement.xlsx?lang=ja']"))
        .await
        .expect("the statement link");
    assert!(download.attr("download").await.unwrap().is_some());
    download.click().await.unwrap();
    let mut saved = None;
    for _ in 0..100 {
        saved = std::fs::read_dir(downloads.path())
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "xlsx"));
        if saved.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let saved = saved.expect("the statement is saved as an .xlsx file");
    let name = saved.file_name().unwrap().to_string_lossy().to_string();
    assert!(name.starts_with("statement-2026-06-"), "{name}");
    let bytes = std::fs::read(&saved).unwrap();
    assert_eq!(&bytes[..2], b"PK", "an XLSX file");
    // Nothing is wider than the phone.
    let overflow = member
        .execute(
            "return document.documentElement.scrollWidth > window.innerWidth + 1",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        overflow,
        json!(false),
        "the page scrolls sideways at 375 px"
    );
    shoot(&member, &dir, "member-card-ja").await;
    let own_card = member.current_url().await.unwrap();

    // The language menu switches to Chinese, then English, and the choice sticks.
    member
        .find(Locator::Css("#lang-select option[value=zh]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    member
        .wait()
        .for_element(Locator::XPath("//h1[contains(., '我的计分卡')]"))
        .await
        .expect("the card in Chinese");
    assert!(body(&member).await.contains("总得分"));
    shoot(&member, &dir, "member-card-zh").await;
    member
        .find(Locator::Css("#lang-select option[value=en]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    member
        .wait()
        .for_element(Locator::XPath("//h1[contains(., 'My scorecard')]"))
        .await
        .expect("the card in English");
    let english = body(&member).await;
    assert!(english.contains("From score to bonus"), "{english}");

    // Another member's card: not found, and nothing of theirs shown.
    let acme = own_card
        .path_segments()
        .unwrap()
        .nth(1)
        .unwrap()
        .to_string();
    let owner_member = app
        .ok(
            &tokens.consultant,
            "query($id: UUID!) { engagement(id: $id) { members(first: 50) { nodes { id role } } } }",
            json!({ "id": acme }),
        )
        .await["engagement"]["members"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "CLIENT_OWNER")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    member
        .goto(&format!(
            "{base}/engagements/{acme}/members/{owner_member}?period=2026-06"
        ))
        .await
        .unwrap();
    let refused = body(&member).await;
    assert!(refused.contains("Page not found"), "{refused}");
    assert!(!refused.contains("Hiro"), "{refused}");
    member.close().await.unwrap();

    // The consultant, on a desktop screen in English: the team card of a real engagement.
    let consultant = browser(&driver, 1280, "en-US").await;
    accept_invitation(&consultant, &base, &tokens.links[0], "aiko-password-1").await;
    let portfolio = body(&consultant).await;
    assert!(portfolio.contains("Sakura Kitchen JP") && portfolio.contains("Acme Home JP"));
    shoot(&consultant, &dir, "consultant-portfolio").await;
    consultant
        .find(Locator::LinkText("Sakura Kitchen JP"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    consultant
        .wait()
        .for_element(Locator::Css("nav.periods"))
        .await
        .unwrap();
    let url = consultant.current_url().await.unwrap();
    consultant
        .goto(&format!("{url}?period=2026-05"))
        .await
        .unwrap();
    let overview = body(&consultant).await;
    assert!(overview.contains("Team scorecard — May 2026"), "{overview}");
    assert!(overview.contains("Data freshness"), "{overview}");
    assert!(
        !consultant
            .find_all(Locator::Css("svg.bullet title"))
            .await
            .unwrap()
            .is_empty(),
        "charts with titles"
    );
    shoot(&consultant, &dir, "consultant-engagement").await;
    // Every tab renders in the browser; screenshots for the tour.
    let engagement = url.as_str().trim_end_matches('/').to_string();
    for (tab, expected, name) in [
        ("kpis", "Targets by period", "kpis"),
        ("reviews", "Findings and decisions", "reviews"),
        ("payouts?period=2026-04", "Payout curve", "payouts"),
        ("changes?from=lock:2026-04", "Scores that moved", "changes"),
        ("audit", "opened the engagement", "audit-log"),
        ("imports", "Upload a marketplace file", "imports"),
        ("people", "Add a person", "people"),
    ] {
        consultant
            .goto(&format!("{engagement}/{tab}"))
            .await
            .unwrap();
        let page = body(&consultant).await;
        assert!(page.contains(expected), "{tab}: {page}");
        shoot(&consultant, &dir, name).await;
    }
    consultant
        .goto(&format!("{engagement}/kpis"))
        .await
        .unwrap();
    consultant
        .find(Locator::Css("table.data a[href*='/kpis/']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let timeline = text(&consultant, "[data-testid=timeline]").await;
    assert!(timeline.contains("quarterly plan"), "{timeline}");
    shoot(&consultant, &dir, "target-timeline").await;
    // May 2026 through review and payment by clicking: the consultant opens the review
    // and signs, the client owner (signed in from their invitation) co-signs, the
    // consultant calculates the payouts and the owner approves them.
    consultant
        .goto(&format!("{engagement}/reviews"))
        .await
        .unwrap();
    let period = consultant.find(Locator::Id("review-period")).await.unwrap();
    period.send_keys("2026-05").await.unwrap();
    click(&consultant, "form[action$='/actions/open_review'] button").await;
    click(&consultant, "[data-testid=sign-off]").await;
    let waiting = text(&consultant, "[data-testid=flash]").await;
    assert_eq!(waiting, "Saved.");
    assert!(body(&consultant)
        .await
        .contains("Awaiting sign-off from: Client owner"));

    let owner = browser(&driver, 1280, "zh-CN").await;
    accept_invitation(&owner, &base, &tokens.links[1], "hiro-password-1").await;
    let todo = text(&owner, "[data-testid=todo]").await;
    assert!(todo.contains("签署 2026年5月 的评审"), "{todo}");
    owner
        .find(Locator::Css("[data-testid=todo] a"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    click(&owner, "[data-testid=sign-off]").await;
    assert!(body(&owner).await.contains("已锁定"), "locked, in Chinese");
    shoot(&owner, &dir, "owner-review-zh").await;

    consultant
        .goto(&format!("{engagement}/payouts?period=2026-05"))
        .await
        .unwrap();
    click(
        &consultant,
        "form[action$='/actions/calculate_payouts'] button",
    )
    .await;
    assert!(body(&consultant)
        .await
        .contains("Calculated (awaiting approval)"));
    owner
        .goto(&format!("{engagement}/payouts?period=2026-05"))
        .await
        .unwrap();
    for _ in 0..2 {
        click(&owner, "[data-testid=approve-payout]").await;
    }
    let approved = body(&owner).await;
    assert!(
        approved.contains("已审批") && !approved.contains("审批方案"),
        "{approved}"
    );
    shoot(&owner, &dir, "owner-payouts-zh").await;
    owner.close().await.unwrap();

    // A client viewer: pseudonyms everywhere, no personal cards.
    let acme_id = acme.clone();
    app.ok(
        &tokens.consultant,
        "mutation($i: AddMemberInput!) { addMember(input: $i) { id } }",
        json!({ "i": { "engagementId": acme_id, "displayName": "Kenji Mori", "email": "kenji.mori@acme.example",
                       "role": "CLIENT_VIEWER", "activeFrom": "2026-04-01" } }),
    )
    .await;
    let context = Context::connect(&app.database.url).await.unwrap();
    let sign_in = kpi_ledger::web::sign_in::SignIn::new(context.db.clone());
    let viewer_link = kpi_ledger::web::invitation_path(
        context.services.accounts(),
        &sign_in,
        "kenji.mori@acme.example",
    )
    .await
    .unwrap();
    context.db.close().await;
    let viewer = browser(&driver, 1280, "en").await;
    accept_invitation(&viewer, &base, &viewer_link, "kenji-password-1").await;
    viewer
        .goto(&format!("{base}/engagements/{acme_id}/audit"))
        .await
        .unwrap();
    let log = text(&viewer, "[data-testid=audit-log]").await;
    assert!(log.contains("Member "), "{log}");
    for name in ["Li Wei", "Aiko Sato", "Hiro Tanaka"] {
        assert!(!log.contains(name), "the viewer reads {name}: {log}");
    }
    shoot(&viewer, &dir, "viewer-audit-log").await;
    viewer
        .goto(&format!("{base}/engagements/{acme_id}?period=2026-06"))
        .await
        .unwrap();
    let overview = body(&viewer).await;
    assert!(
        !overview.contains("View scorecard") && !overview.contains("Li Wei"),
        "{overview}"
    );
    viewer.close().await.unwrap();

    // Sign out: back to the sign-in page.
    consultant
        .find(Locator::Css("header form button.link"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    consultant
        .wait()
        .for_element(Locator::Id("email"))
        .await
        .expect("the sign-in form after signing out");
    shoot(&consultant, &dir, "sign-in").await;
    consultant.close().await.unwrap();
}

on_both_backends!(people_use_the_web_app_in_a_real_browser);
