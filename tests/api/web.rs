//! The web app over HTTP, as a browser without JavaScript uses it: invitation links,
//! sign-in, sessions and CSRF, pages in three languages, the member's card and bonus,
//! statements as files, and 404 for what a person may not see.

use crate::helpers::TestApp;
use crate::on_both_backends;
use kpi_ledger::app::Context;
use kpi_ledger::auth::AuthSettings;
use kpi_ledger::demo::{seed, DemoTokens};
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// A browser: keeps cookies, follows no redirect by itself.
pub(crate) struct Browser {
    base: String,
    client: reqwest::Client,
    cookies: BTreeMap<String, String>,
    /// The Set-Cookie headers of the last response.
    last_set_cookies: Vec<String>,
}

pub(crate) struct Page {
    pub(crate) status: StatusCode,
    headers: HeaderMap,
    pub(crate) body: String,
}

impl Page {
    pub(crate) fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The value of the first hidden `csrf` field.
    pub(crate) fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .unwrap_or_else(|| panic!("no csrf field in {}", self.body));
        let rest = &self.body[at + 19..];
        rest[..rest.find('"').unwrap()].to_string()
    }

    /// The link to the first href starting with `prefix`.
    fn link(&self, prefix: &str) -> String {
        let needle = format!("href=\"{prefix}");
        let at = self
            .body
            .find(&needle)
            .unwrap_or_else(|| panic!("no link to {prefix}… in {}", self.body));
        let rest = &self.body[at + 6..];
        rest[..rest.find('"').unwrap()].replace("&amp;", "&")
    }
}

impl Browser {
    pub(crate) fn new(app: &TestApp) -> Self {
        Self {
            base: app.address.clone(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
            last_set_cookies: Vec::new(),
        }
    }

    pub(crate) fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn absorb(&mut self, response: reqwest::Response) -> Page {
        self.last_set_cookies.clear();
        for value in response.headers().get_all(SET_COOKIE) {
            let text = value.to_str().unwrap().to_string();
            let pair = text.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            let removed = text.contains("Max-Age=0") || value.is_empty();
            if removed {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
            self.last_set_cookies.push(text);
        }
        Page {
            status: response.status(),
            headers: response.headers().clone(),
            body: response.text().await.unwrap(),
        }
    }

    pub(crate) async fn get(&mut self, path: &str) -> Page {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .header("accept-language", "en")
            .send()
            .await
            .unwrap();
        self.absorb(response).await
    }

    async fn get_bytes(&mut self, path: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        (
            response.status(),
            response.headers().clone(),
            response.bytes().await.unwrap().to_vec(),
        )
    }

    pub(crate) async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .header("accept-language", "en")
            .form(form)
            .send()
            .await
            .unwrap();
        self.absorb(response).await
    }

    /// Sets a password through a one-time link and signs in.
    pub(crate) async fn accept_invitation(&mut self, link: &str, password: &str) {
        let form = self.get(link).await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.body);
        let csrf = form.csrf();
        let done = self
            .post(
                link,
                &[
                    ("csrf", &csrf),
                    ("password", password),
                    ("password_again", password),
                ],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        assert_eq!(done.location(), "/");
    }
}

async fn seeded(app: &TestApp) -> DemoTokens {
    let context = Context::connect(&app.database.url).await.unwrap();
    let tokens = seed(&context, &AuthSettings::default()).await.unwrap();
    context.db.close().await;
    tokens
}

async fn engagement_ids(app: &TestApp, tokens: &DemoTokens) -> (String, String) {
    let data = app
        .ok(
            &tokens.consultant,
            "{ engagements(first: 10) { nodes { id name } } }",
            json!({}),
        )
        .await;
    let id = |name: &str| {
        data["engagements"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    (id("Acme Home JP"), id("Sakura Kitchen JP"))
}

async fn a_member_signs_in_from_an_invitation_and_sees_their_bonus_and_nothing_else(app: TestApp) {
    let tokens = seeded(&app).await;
    let (acme, sakura) = engagement_ids(&app, &tokens).await;
    let mut browser = Browser::new(&app);

    // Signed out, every page sends the browser to sign in and back.
    let page = browser.get("/").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/sign-in?next=/");
    let page = browser.get(&format!("/engagements/{acme}")).await;
    assert_eq!(
        page.location(),
        format!("/sign-in?next=/engagements/{acme}")
    );

    // The invitation link: the form needs its own token…
    let link = &tokens.links[2];
    let form = browser.get(link).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        form.body.contains("Welcome to kpi-ledger, Li Wei"),
        "{}",
        form.body
    );
    let refused = browser
        .post(
            link,
            &[
                ("csrf", "forged"),
                ("password", "a long enough password"),
                ("password_again", "a long enough password"),
            ],
        )
        .await;
    assert!(
        refused.body.contains("This form has expired"),
        "{}",
        refused.body
    );
    // …both passwords must agree and be long enough…
    let csrf = form.csrf();
    let differ = browser
        .post(
            link,
            &[
                ("csrf", &csrf),
                ("password", "a long enough password"),
                ("password_again", "another long password"),
            ],
        )
        .await;
    assert_eq!(differ.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(differ.body.contains("The two passwords differ."));
    let short = browser
        .post(
            link,
            &[
                ("csrf", &csrf),
                ("password", "short"),
                ("password_again", "short"),
            ],
        )
        .await;
    assert!(
        short.body.contains("at least 10 characters"),
        "{}",
        short.body
    );
    // …then it signs the member in with an HttpOnly, SameSite cookie.
    let done = browser
        .post(
            link,
            &[
                ("csrf", &csrf),
                ("password", "li-wei-password"),
                ("password_again", "li-wei-password"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let session = browser
        .last_set_cookies
        .iter()
        .find(|c| c.starts_with("kpi_session="))
        .expect("a session cookie");
    assert!(session.contains("HttpOnly"), "{session}");
    assert!(session.contains("SameSite=Lax"), "{session}");
    assert!(!session.contains("Secure"), "plain HTTP: {session}");

    // The link is used up.
    let mut stranger = Browser::new(&app);
    let again = stranger.get(link).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert!(again.body.contains("already used"), "{}", again.body);

    // The portfolio: only their engagement.
    let portfolio = browser.get("/").await;
    assert_eq!(portfolio.status, StatusCode::OK);
    assert!(portfolio.body.contains("Acme Home JP"));
    assert!(!portfolio.body.contains("Sakura Kitchen JP"));
    assert_eq!(
        portfolio.headers["x-frame-options"], "DENY",
        "pages carry security headers"
    );

    // Their own card for June 2026 and how the score became the bonus.
    let overview = browser
        .get(&format!("/engagements/{acme}?period=2026-06"))
        .await;
    assert_eq!(overview.status, StatusCode::OK, "{}", overview.body);
    let own = overview.link(&format!("/engagements/{acme}/members/"));
    let card = browser.get(&own).await;
    assert_eq!(card.status, StatusCode::OK, "{}", card.body);
    assert!(card.body.contains("My scorecard"), "{}", card.body);
    assert!(card.body.contains("June 2026"));
    assert!(card.body.contains("<svg class=\"bullet\""), "bullet charts");
    assert!(card.body.contains("<title>ACoS"), "charts have titles");
    assert!(
        card.body
            .contains(r#"data-testid="payout-amount">¥131,667<"#),
        "{}",
        card.body
    );
    assert!(card.body.contains("¥200,000"), "the target bonus");
    assert!(card.body.contains("20 &#x2f; 30") || card.body.contains("20 of 30 days"));

    // The statement downloads as a real file.
    let xlsx = card.link(&format!("/engagements/{acme}/payouts/"));
    assert!(xlsx.contains("statement.xlsx"), "{xlsx}");
    let (status, headers, bytes) = browser.get_bytes(&xlsx).await;
    assert_eq!(status, StatusCode::OK);
    let disposition = headers["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"statement-2026-06-"),
        "{disposition}"
    );
    assert!(disposition.ends_with(".xlsx"), "{disposition}");
    assert_eq!(&bytes[..2], b"PK", "an XLSX is a zip");

    // In Japanese and Chinese.
    let ja = browser.get(&format!("{own}&lang=ja")).await;
    assert!(ja.body.contains("<html lang=\"ja\">"));
    assert!(ja.body.contains("私のスコアカード") && ja.body.contains("2026年6月"));
    assert!(
        ja.body.contains("流通総額（GMV）"),
        "metric names in Japanese"
    );
    let zh = browser.get(&format!("{own}&lang=zh")).await;
    assert!(zh.body.contains("<html lang=\"zh-CN\">"));
    assert!(zh.body.contains("我的计分卡") && zh.body.contains("总得分"));
    // The choice sticks to the person.
    let still_zh = browser.get("/").await;
    assert!(still_zh.body.contains("项目组合"), "{}", still_zh.body);
    browser.get("/?lang=en").await;

    // Another member's card, another engagement, a payout not theirs: 404, not 403.
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
    for path in [
        format!("/engagements/{acme}/members/{owner_member}?period=2026-06"),
        format!("/engagements/{sakura}"),
        format!("/engagements/{sakura}/members/{owner_member}"),
        format!("/engagements/{acme}/payouts/{owner_member}/statement.xlsx"),
        "/engagements/not-a-uuid".to_string(),
        "/no-such-page".to_string(),
    ] {
        let page = browser.get(&path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}: {}", page.body);
        assert!(page.body.contains("Page not found"), "{path}");
    }

    // Sign-out needs the session's token, then ends the session.
    let forged = browser.post("/sign-out", &[("csrf", "forged")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let csrf = browser.get("/").await.csrf();
    let out = browser.post("/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(browser.get("/").await.status, StatusCode::SEE_OTHER);

    // Signing in again with the password; wrong ones are refused, then throttled.
    let form = browser.get("/sign-in").await;
    let csrf = form.csrf();
    let wrong = browser
        .post(
            "/sign-in",
            &[
                ("csrf", &csrf),
                ("email", "li.wei@acme.example"),
                ("password", "not-the-password"),
                ("next", "/"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("The email or password is not correct."));
    let right = browser
        .post(
            "/sign-in",
            &[
                ("csrf", &csrf),
                ("email", "LI.WEI@acme.example "),
                ("password", "li-wei-password"),
                ("next", &format!("/engagements/{acme}")),
            ],
        )
        .await;
    assert_eq!(right.status, StatusCode::SEE_OTHER, "{}", right.body);
    assert_eq!(right.location(), format!("/engagements/{acme}"));
    assert_eq!(browser.get("/").await.status, StatusCode::OK);

    // An open redirect is not offered.
    let mut other = Browser::new(&app);
    let csrf = other.get("/sign-in").await.csrf();
    let offsite = other
        .post(
            "/sign-in",
            &[
                ("csrf", &csrf),
                ("email", "li.wei@acme.example"),
                ("password", "li-wei-password"),
                ("next", "//evil.example/"),
            ],
        )
        .await;
    assert_eq!(offsite.location(), "/");

    // Five wrong passwords for one account, then even the right one waits.
    let mut attacker = Browser::new(&app);
    let csrf = attacker.get("/sign-in").await.csrf();
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let page = attacker
            .post(
                "/sign-in",
                &[
                    ("csrf", &csrf),
                    ("email", "hiro.tanaka@demo.kpi-ledger.test"),
                    ("password", "guess-guess-guess"),
                ],
            )
            .await;
        statuses.push(page.status);
    }
    assert_eq!(statuses[..5], [StatusCode::UNAUTHORIZED; 5]);
    assert_eq!(statuses[5], StatusCode::TOO_MANY_REQUESTS);
}

on_both_backends!(a_member_signs_in_from_an_invitation_and_sees_their_bonus_and_nothing_else);

async fn a_consultant_sees_the_team_card_with_charts_and_every_member(app: TestApp) {
    let tokens = seeded(&app).await;
    let (_, sakura) = engagement_ids(&app, &tokens).await;
    let mut browser = Browser::new(&app);
    browser
        .accept_invitation(&tokens.links[0], "aiko-password-1")
        .await;
    let portfolio = browser.get("/").await;
    assert!(
        portfolio.body.contains("Acme Home JP") && portfolio.body.contains("Sakura Kitchen JP")
    );
    let overview = browser
        .get(&format!("/engagements/{sakura}?period=2026-05"))
        .await;
    assert_eq!(overview.status, StatusCode::OK, "{}", overview.body);
    assert!(
        overview.body.contains("Team scorecard — May 2026"),
        "{}",
        overview.body
    );
    assert!(
        overview.body.contains("<svg class=\"bullet\""),
        "{}",
        overview.body
    );
    assert!(
        overview.body.contains("<table class=\"data\">"),
        "a data table beside the charts"
    );
    assert!(overview.body.contains("Data freshness"));
    assert!(
        overview.body.contains("View scorecard"),
        "consultants open members' cards"
    );
    // Each KPI over the last twelve months, with a data table for screen readers.
    assert!(
        overview.body.contains("The last 12 months"),
        "{}",
        overview.body
    );
    assert!(overview.body.contains("<svg class=\"trend\""));
    assert!(overview.body.contains("month by month</caption>"));
    // The card as it stood at an instant (engagement time), and what changed since.
    let tokyo =
        chrono::Utc::now().with_timezone(&chrono_tz::Asia::Tokyo) + chrono::Duration::minutes(1);
    let typed = tokyo.format("%Y-%m-%dT%H:%M").to_string();
    let then = browser
        .get(&format!(
            "/engagements/{sakura}?period=2026-05&asOf={typed}"
        ))
        .await;
    assert_eq!(then.status, StatusCode::OK, "{}", then.body);
    assert!(
        then.body
            .contains(r#"data-testid="as-of">The scorecard as it stood at "#),
        "{}",
        then.body
    );
    assert!(
        then.body.contains(&tokyo.format(" %H:%M.").to_string()),
        "{}",
        then.body
    );
    assert!(then.body.contains("/changes?from="), "{}", then.body);
    assert!(
        then.body.contains("111.7"),
        "the same card as now: {}",
        then.body
    );
    let before = browser
        .get(&format!(
            "/engagements/{sakura}?period=2026-05&asOf=2025-01-01T00:00"
        ))
        .await;
    assert_eq!(before.status, StatusCode::OK, "{}", before.body);
    assert!(before
        .body
        .contains("The engagement did not exist yet at that instant."));
    // A period the API cannot read is named, and the current month shown.
    let bad = browser
        .get(&format!("/engagements/{sakura}?period=2026-13"))
        .await;
    assert_eq!(bad.status, StatusCode::OK);
    assert!(bad
        .body
        .contains("The period “2026-13” is not one kpi-ledger reads."));
}

on_both_backends!(a_consultant_sees_the_team_card_with_charts_and_every_member);

/// The form on `page` whose action ends with `action`, and its hidden fields.
fn form_fields(page: &Page, action: &str) -> Vec<(String, String)> {
    let at = page
        .body
        .find(&format!("/actions/{action}\""))
        .unwrap_or_else(|| panic!("no {action} form in {}", page.body));
    let rest = &page.body[at..];
    let form = &rest[..rest.find("</form>").unwrap()];
    let mut fields = Vec::new();
    for input in form.split("<input").skip(1) {
        let attr = |name: &str| {
            let key = format!("{name}=\"");
            input.find(&key).map(|i| {
                let v = &input[i + key.len()..];
                v[..v.find('"').unwrap()]
                    .replace("&#x2f;", "/")
                    .replace("&amp;", "&")
            })
        };
        if let (Some(name), Some(value)) = (attr("name"), attr("value")) {
            fields.push((name, value));
        }
    }
    // A menu submits its first option.
    for select in form.split("<select").skip(1) {
        let value_of = |text: &str, key: &str| {
            text.find(key).map(|i| {
                let v = &text[i + key.len()..];
                v[..v.find('"').unwrap()].to_string()
            })
        };
        let name = value_of(select, "name=\"").unwrap();
        let value = value_of(select, "<option value=\"").unwrap_or_default();
        fields.push((name, value));
    }
    fields
}

impl Browser {
    /// Submits the `action` form of `page` with its own fields plus `extra`; returns the
    /// page it lands on.
    async fn act(&mut self, page: &Page, action: &str, extra: &[(&str, &str)]) -> Page {
        let mut fields = form_fields(page, action);
        for (name, value) in extra {
            fields.retain(|(n, _)| n != name);
            fields.push((name.to_string(), value.to_string()));
        }
        let path = format!(
            "{}/actions/{action}",
            page.body
                .split(&format!("/actions/{action}\""))
                .next()
                .unwrap()
                .rsplit("action=\"")
                .next()
                .unwrap()
        );
        let borrowed: Vec<(&str, &str)> = fields
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let done = self.post(&path, &borrowed).await;
        assert_eq!(
            done.status,
            StatusCode::SEE_OTHER,
            "{action}: {}",
            done.body
        );
        let back = done.location().to_string();
        self.get(&back).await
    }
}

async fn a_period_goes_from_review_to_payment_through_the_pages(app: TestApp) {
    let tokens = seeded(&app).await;
    let (acme, sakura) = engagement_ids(&app, &tokens).await;
    let mut consultant = Browser::new(&app);
    consultant
        .accept_invitation(&tokens.links[0], "aiko-password-1")
        .await;
    let mut owner = Browser::new(&app);
    owner
        .accept_invitation(&tokens.links[1], "hiro-password-1")
        .await;

    // Targets for three periods at once, typed as people type them.
    let kpis = consultant.get(&format!("/engagements/{sakura}/kpis")).await;
    assert_eq!(kpis.status, StatusCode::OK, "{}", kpis.body);
    let kpi_page = kpis.link(&format!("/engagements/{sakura}/kpis/"));
    let kpi = consultant.get(&kpi_page).await;
    let revised = consultant
        .act(
            &kpi,
            "set_target",
            &[
                ("periods", "2026-07, 2026-08 2026-09"),
                ("threshold", "¥24,000,000"),
                ("target", "30,000,000"),
                ("stretch", "36000000"),
                ("reason", "Prime Day moved to July"),
            ],
        )
        .await;
    assert!(
        revised.body.contains(r#"data-testid="flash">Saved."#),
        "{}",
        revised.body
    );
    for month in ["July 2026", "August 2026", "September 2026"] {
        assert!(revised.body.contains(month), "{month}: {}", revised.body);
    }
    assert!(revised.body.contains("“Prime Day moved to July”"));
    assert!(revised.body.contains("Aiko Sato"), "the timeline names who");
    // A refused change says why and changes nothing.
    let refused = consultant
        .act(
            &kpi,
            "set_target",
            &[
                ("periods", "2026-10"),
                ("threshold", "lots"),
                ("target", "1"),
                ("reason", "x"),
            ],
        )
        .await;
    assert!(
        refused.body.contains("“lots” is not a number (threshold)."),
        "{}",
        refused.body
    );
    let no_reason = consultant
        .act(
            &kpi,
            "set_target",
            &[
                ("periods", "2026-10"),
                ("threshold", "1"),
                ("target", "2"),
                ("reason", ""),
            ],
        )
        .await;
    assert!(
        no_reason.body.contains("Not accepted:"),
        "{}",
        no_reason.body
    );
    assert!(
        !no_reason.body.contains("October 2026:"),
        "{}",
        no_reason.body
    );

    // The owner sees the timeline but has no form to change targets.
    let seen = owner.get(&kpi_page).await;
    assert!(seen.body.contains("“Prime Day moved to July”"));
    assert!(!seen.body.contains("/actions/set_target"));
    // A forged form is refused; an action the role may not take reads as not found.
    let csrf = seen.csrf();
    let forged = owner
        .post(
            &format!("/engagements/{sakura}/actions/set_target"),
            &[("csrf", "forged")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let kpi_id = kpi_page.rsplit('/').next().unwrap();
    let denied = owner
        .post(
            &format!("/engagements/{sakura}/actions/set_target"),
            &[
                ("csrf", &csrf),
                ("kpi", kpi_id),
                ("periods", "2026-10"),
                ("threshold", "1"),
                ("target", "2"),
                ("reason", "owner tries"),
            ],
        )
        .await;
    assert_eq!(denied.status, StatusCode::NOT_FOUND, "{}", denied.body);

    // May 2026: the consultant opens the review and signs, the owner co-signs.
    let reviews = consultant
        .get(&format!("/engagements/{sakura}/reviews"))
        .await;
    let opened = consultant
        .act(&reviews, "open_review", &[("period", "2026-05")])
        .await;
    assert!(opened.body.contains("May 2026"), "{}", opened.body);
    let found = consultant
        .act(
            &opened,
            "record_finding",
            &[
                ("kpi", ""),
                ("member", ""),
                ("deviation", "GMV 12% over target"),
                ("cause", "Golden Week sale"),
            ],
        )
        .await;
    assert!(found.body.contains("GMV 12% over target"), "{}", found.body);
    let decided = consultant
        .act(
            &found,
            "record_decision",
            &[
                ("kind", "ACCEPT"),
                ("kpi", ""),
                ("member", ""),
                ("platform", ""),
                ("score", ""),
                ("owner", ""),
                ("due", ""),
                ("description", ""),
                ("reason", ""),
            ],
        )
        .await;
    assert!(
        decided.body.contains(r#"data-testid="flash">Saved."#),
        "{}",
        decided.body
    );
    let signed = consultant.act(&decided, "sign_off", &[]).await;
    assert!(
        signed.body.contains("Awaiting sign-off from: Client owner"),
        "{}",
        signed.body
    );
    let waiting = owner.get("/").await;
    assert!(
        waiting.body.contains("Sign the review of May 2026"),
        "{}",
        waiting.body
    );
    let owner_reviews = owner.get(&format!("/engagements/{sakura}/reviews")).await;
    let locked = owner.act(&owner_reviews, "sign_off", &[]).await;
    assert!(locked.body.contains("v1 — locked"), "{}", locked.body);

    // Payouts: calculated by the consultant, approved by the owner, marked paid.
    let payouts = consultant
        .get(&format!("/engagements/{sakura}/payouts?period=2026-05"))
        .await;
    assert!(payouts
        .body
        .contains("No payouts have been calculated for this period."));
    let calculated = consultant.act(&payouts, "calculate_payouts", &[]).await;
    assert!(
        calculated.body.contains("Calculated (awaiting approval)"),
        "{}",
        calculated.body
    );
    assert!(calculated.body.contains("Mei Suzuki") && calculated.body.contains("Ren Kobayashi"));
    let waiting = owner.get("/").await;
    assert!(
        waiting.body.contains("Approve 2 payouts of May 2026"),
        "{}",
        waiting.body
    );
    let mut owner_page = owner
        .get(&format!("/engagements/{sakura}/payouts?period=2026-05"))
        .await;
    for _ in 0..2 {
        owner_page = owner.act(&owner_page, "approve_payout", &[]).await;
    }
    assert!(
        !owner_page.body.contains("approve-payout"),
        "{}",
        owner_page.body
    );
    let approved = consultant
        .get(&format!("/engagements/{sakura}/payouts?period=2026-05"))
        .await;
    let paid = consultant
        .act(&approved, "mark_paid", &[("paid_on", "2026-06-25")])
        .await;
    assert!(paid.body.contains("Paid (25 Jun 2026)"), "{}", paid.body);

    // What changed since May's lock, and the audit log, read as sentences.
    let changes = owner
        .get(&format!("/engagements/{sakura}/changes?from=lock:2026-05"))
        .await;
    assert_eq!(changes.status, StatusCode::OK, "{}", changes.body);
    let audit = owner.get(&format!("/engagements/{sakura}/audit")).await;
    assert!(
        audit.body.contains("opened the engagement"),
        "{}",
        audit.body
    );
    let ja = owner
        .get(&format!("/engagements/{sakura}/audit?lang=ja"))
        .await;
    assert!(ja.body.contains("監査ログ"));

    // The member has none of these pages.
    let mut member = Browser::new(&app);
    member
        .accept_invitation(&tokens.links[2], "li-wei-password")
        .await;
    for tab in ["kpis", "reviews", "payouts", "audit", "changes"] {
        let page = member.get(&format!("/engagements/{acme}/{tab}")).await;
        assert!(
            page.status == StatusCode::NOT_FOUND || tab == "kpis",
            "{tab}: {}",
            page.status
        );
    }
}

on_both_backends!(a_period_goes_from_review_to_payment_through_the_pages);

async fn a_client_viewer_sees_pseudonyms_and_no_personal_cards(app: TestApp) {
    let tokens = seeded(&app).await;
    let (acme, _) = engagement_ids(&app, &tokens).await;
    app.ok(
        &tokens.consultant,
        "mutation($i: AddMemberInput!) { addMember(input: $i) { id } }",
        json!({ "i": { "engagementId": acme, "displayName": "Kenji Mori", "email": "kenji.mori@acme.example",
                       "role": "CLIENT_VIEWER", "activeFrom": "2026-04-01" } }),
    )
    .await;
    let context = Context::connect(&app.database.url).await.unwrap();
    let sign_in = kpi_ledger::web::sign_in::SignIn::new(context.db.clone());
    let link = kpi_ledger::web::invitation_path(
        context.services.accounts(),
        &sign_in,
        "kenji.mori@acme.example",
    )
    .await
    .unwrap();
    context.db.close().await;
    let mut viewer = Browser::new(&app);
    viewer.accept_invitation(&link, "kenji-password-1").await;

    let overview = viewer
        .get(&format!("/engagements/{acme}?period=2026-06"))
        .await;
    assert_eq!(overview.status, StatusCode::OK, "{}", overview.body);
    assert!(
        !overview.body.contains("View scorecard"),
        "no personal cards for viewers"
    );
    assert!(!overview.body.contains("Li Wei"), "{}", overview.body);
    for tab in ["reviews", "audit", "kpis/"] {
        let path = if tab == "kpis/" {
            let kpis = viewer.get(&format!("/engagements/{acme}/kpis")).await;
            kpis.link(&format!("/engagements/{acme}/kpis/"))
        } else {
            format!("/engagements/{acme}/{tab}")
        };
        let page = viewer.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
        assert!(
            page.body.contains("Member "),
            "{path} shows pseudonyms: {}",
            page.body
        );
        for name in ["Li Wei", "Aiko Sato", "Hiro Tanaka"] {
            assert!(!page.body.contains(name), "{path} names {name}");
        }
    }
    // Personal cards and payouts: not found.
    let li = app
        .ok(
            &tokens.consultant,
            "query($id: UUID!) { engagement(id: $id) { members(first: 50) { nodes { id role } } } }",
            json!({ "id": acme }),
        )
        .await["engagement"]["members"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "MEMBER")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    for path in [
        format!("/engagements/{acme}/members/{li}?period=2026-06"),
        format!("/engagements/{acme}/payouts"),
    ] {
        assert_eq!(
            viewer.get(&path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
}

on_both_backends!(a_client_viewer_sees_pseudonyms_and_no_personal_cards);

/// threshold, target, stretch and reason, as typed.
type Levels = (&'static str, &'static str, &'static str, &'static str);

/// The one-time link in an invitation flash message.
fn invitation_in(page: &Page) -> String {
    let body = page.body.replace("&#x2f;", "/");
    let at = body
        .find("/invitations/")
        .unwrap_or_else(|| panic!("no invitation link in {}", page.body));
    let rest = &body[at..];
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || "/-_".contains(c)))
        .unwrap();
    rest[..end].to_string()
}

async fn the_worked_example_runs_from_an_empty_installation_to_the_bonus_through_the_pages(
    app: TestApp,
) {
    // A consultant with an account made on the command line, invited by link.
    app.user("mika.chen@consult.example", "Mika Chen", true)
        .await;
    let context = Context::connect(&app.database.url).await.unwrap();
    let sign_in = kpi_ledger::web::sign_in::SignIn::new(context.db.clone());
    let link = kpi_ledger::web::invitation_path(
        context.services.accounts(),
        &sign_in,
        "mika.chen@consult.example",
    )
    .await
    .unwrap();
    context.db.close().await;
    let mut consultant = Browser::new(&app);
    consultant.accept_invitation(&link, "mika-password-1").await;

    // Open the engagement.
    let portfolio = consultant.get("/").await;
    assert!(portfolio.body.contains("Open an engagement"));
    let csrf = portfolio.csrf();
    let opened = consultant
        .post(
            "/engagements",
            &[
                ("csrf", &csrf),
                ("name", "Acme Home JP"),
                ("client_name", "Acme Home K.K."),
                ("platform_amazon_jp", "on"),
            ],
        )
        .await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER, "{}", opened.body);
    let e = opened.location().split('/').nth(2).unwrap().to_string();

    // People: the client owner and Li Wei, each with a link to send.
    let people = consultant.get(&format!("/engagements/{e}/people")).await;
    let added = consultant
        .act(
            &people,
            "add_member",
            &[
                ("name", "Hiro Tanaka"),
                ("email", "hiro@acme.example"),
                ("role", "CLIENT_OWNER"),
                ("position", ""),
                ("active_from", "2026-04-01"),
            ],
        )
        .await;
    assert!(
        added
            .body
            .contains("Send hiro@acme.example this one-time link"),
        "{}",
        added.body
    );
    let owner_link = invitation_in(&added);
    let added = consultant
        .act(
            &added,
            "add_member",
            &[
                ("name", "Li Wei"),
                ("email", "li.wei@acme.example"),
                ("role", "MEMBER"),
                ("position", "advertising"),
                ("active_from", "2026-06-11"),
            ],
        )
        .await;
    let member_link = invitation_in(&added);

    // The three KPIs of the worked example, and their targets for June.
    let mut kpis = consultant.get(&format!("/engagements/{e}/kpis")).await;
    for (metric, weight) in [("acos", "40"), ("ctr", "20"), ("gmv", "40")] {
        kpis = consultant
            .act(
                &kpis,
                "define_kpi",
                &[
                    ("metric", metric),
                    ("name", ""),
                    ("assignee", "position"),
                    ("position", "advertising"),
                    ("weight", weight),
                    ("member", ""),
                ],
            )
            .await;
        assert!(
            kpis.body.contains(r#"data-testid="flash">Saved."#),
            "{metric}: {}",
            kpis.body
        );
    }
    let targets: [(&str, &[Levels]); 3] = [
        ("ACoS", &[("35%", "25%", "20%", "baseline")]),
        (
            "Click-through rate",
            &[("0.3%", "0.45%", "0.6%", "baseline")],
        ),
        (
            "GMV",
            &[
                ("40,000,000", "48,000,000", "60,000,000", "baseline"),
                (
                    "¥40,000,000",
                    "¥50,000,000",
                    "¥60,000,000",
                    "summer campaign budget approved",
                ),
            ],
        ),
    ];
    for (name, revisions) in targets {
        let at = kpis
            .body
            .find(&format!(">{name}"))
            .unwrap_or_else(|| panic!("{name}: {}", kpis.body));
        let before = &kpis.body[..at];
        let href = before[before.rfind("href=\"").unwrap() + 6..]
            .split('"')
            .next()
            .unwrap()
            .to_string();
        let mut kpi = consultant.get(&href).await;
        for (threshold, target, stretch, reason) in revisions.iter() {
            kpi = consultant
                .act(
                    &kpi,
                    "set_target",
                    &[
                        ("periods", "2026-06"),
                        ("threshold", threshold),
                        ("target", target),
                        ("stretch", stretch),
                        ("reason", reason),
                    ],
                )
                .await;
            assert!(
                kpi.body.contains(r#"data-testid="flash">Saved."#),
                "{name}: {}",
                kpi.body
            );
        }
    }

    // June's data, typed into the form.
    for (metric, from, to, value) in [
        ("ad_spend", "2026-06-01", "2026-06-30", "1,200,000"),
        ("ad_sales", "2026-06-01", "2026-06-30", "4,800,000"),
        ("clicks", "2026-06-01", "2026-06-30", "9000"),
        ("impressions", "2026-06-01", "2026-06-30", "2,400,000"),
        ("gmv", "2026-06-01", "2026-06-15", "30,000,000"),
        ("gmv", "2026-06-16", "2026-06-30", "25,000,000"),
    ] {
        kpis = consultant
            .act(
                &kpis,
                "record_observation",
                &[
                    ("metric", metric),
                    ("platform", "amazon_jp"),
                    ("from", from),
                    ("to", to),
                    ("value", value),
                    ("reason", ""),
                ],
            )
            .await;
        assert!(
            kpis.body.contains(r#"data-testid="flash">Saved."#),
            "{metric}: {}",
            kpis.body
        );
    }

    // The review: opened and signed by the consultant, co-signed by the owner.
    let reviews = consultant.get(&format!("/engagements/{e}/reviews")).await;
    let reviews = consultant
        .act(&reviews, "open_review", &[("period", "2026-06")])
        .await;
    consultant.act(&reviews, "sign_off", &[]).await;
    let mut owner = Browser::new(&app);
    owner
        .accept_invitation(&owner_link, "hiro-password-1")
        .await;
    let owner_reviews = owner.get(&format!("/engagements/{e}/reviews")).await;
    let locked = owner.act(&owner_reviews, "sign_off", &[]).await;
    assert!(locked.body.contains("v1 — locked"), "{}", locked.body);

    // The plan: drafted by the consultant, approved by the owner; payouts calculated and approved.
    let payouts = consultant
        .get(&format!("/engagements/{e}/payouts?period=2026-06"))
        .await;
    let li_field = {
        let at = payouts.body.find("name=\"bonus_").unwrap();
        payouts.body[at + 6..]
            .split('"')
            .next()
            .unwrap()
            .to_string()
    };
    let drafted = consultant
        .act(
            &payouts,
            "draft_plan",
            &[
                ("name", "Monthly bonus 2026"),
                ("period_kind", "MONTH"),
                ("team_weight", ""),
                ("curve", ""),
                (li_field.as_str(), "200,000"),
            ],
        )
        .await;
    assert!(
        drafted.body.contains("Monthly bonus 2026"),
        "{}",
        drafted.body
    );
    let owner_payouts = owner
        .get(&format!("/engagements/{e}/payouts?period=2026-06"))
        .await;
    owner.act(&owner_payouts, "approve_plan", &[]).await;
    let approved_plan = consultant
        .get(&format!("/engagements/{e}/payouts?period=2026-06"))
        .await;
    let calculated = consultant
        .act(&approved_plan, "calculate_payouts", &[])
        .await;
    assert!(
        calculated
            .body
            .contains(r#"data-testid="amount">¥131,667<"#),
        "{}",
        calculated.body
    );
    let owner_payouts = owner
        .get(&format!("/engagements/{e}/payouts?period=2026-06"))
        .await;
    let approved = owner.act(&owner_payouts, "approve_payout", &[]).await;
    assert!(approved.body.contains("Approved"), "{}", approved.body);

    // Li Wei signs in and sees the bonus and how it came about.
    let mut member = Browser::new(&app);
    member
        .accept_invitation(&member_link, "li-wei-password")
        .await;
    let overview = member
        .get(&format!("/engagements/{e}?period=2026-06"))
        .await;
    let own = overview.link(&format!("/engagements/{e}/members/"));
    let card = member.get(&own).await;
    assert!(
        card.body
            .contains(r#"data-testid="payout-amount">¥131,667<"#),
        "{}",
        card.body
    );
    assert!(
        card.body.contains(r#"data-testid="total-score">99<"#),
        "{}",
        card.body
    );
    assert!(card.body.contains("98.75%"), "the payout rate");
    assert!(
        card.body.contains("20 &#x2f; 30") || card.body.contains("20 of 30 days"),
        "{}",
        card.body
    );

    // The GMV target's timeline shows the revision with who and why.
    let kpis = owner.get(&format!("/engagements/{e}/kpis")).await;
    let at = kpis.body.find(">GMV").unwrap();
    let before = &kpis.body[..at];
    let href = before[before.rfind("href=\"").unwrap() + 6..]
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let gmv = owner.get(&href).await;
    assert!(gmv.body.contains("¥48,000,000 &#x2f; ¥60,000,000 → <strong>¥40,000,000 &#x2f; ¥50,000,000 &#x2f; ¥60,000,000</strong>")
        || gmv.body.contains("“summer campaign budget approved”"), "{}", gmv.body);
    assert!(gmv.body.contains("Mika Chen"));
}

on_both_backends!(
    the_worked_example_runs_from_an_empty_installation_to_the_bonus_through_the_pages
);

impl Browser {
    async fn upload(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        file_name: &str,
        content: Vec<u8>,
    ) -> Page {
        let mut form = reqwest::multipart::Form::new();
        for (name, value) in fields {
            form = form.text(name.to_string(), value.to_string());
        }
        form = form.part(
            "file",
            reqwest::multipart::Part::bytes(content).file_name(file_name.to_string()),
        );
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .multipart(form)
            .send()
            .await
            .unwrap();
        self.absorb(response).await
    }

    /// The imports page once no import is running any more.
    async fn settled_imports(&mut self, path: &str) -> Page {
        for _ in 0..100 {
            let page = self.get(path).await;
            if !page.body.contains("http-equiv=\"refresh\"") {
                return page;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("the import did not finish");
    }
}

async fn a_consultant_uploads_a_marketplace_file_and_sees_every_bad_row(app: TestApp) {
    let tokens = seeded(&app).await;
    let (_, sakura) = engagement_ids(&app, &tokens).await;
    let mut consultant = Browser::new(&app);
    consultant
        .accept_invitation(&tokens.links[0], "aiko-password-1")
        .await;
    let path = format!("/engagements/{sakura}/imports");
    let page = consultant.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Upload a marketplace file"));
    let csrf = page.csrf();

    // Without this session's token the file is not taken.
    let forged = consultant
        .upload(
            &path,
            &[("csrf", "forged"), ("format", "GENERIC_CSV")],
            "data.csv",
            b"x".to_vec(),
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    // A file with bad rows: nothing recorded, every problem listed with its line.
    let bad = "date,platform,metric,value\n2026-07-01,amazon_jp,gmv,1000\n2026-07-02,amazon_jp,gmv,lots\n2026-07-03,amazon_jp,no_such_metric,5\n";
    let sent = consultant
        .upload(
            &path,
            &[("csrf", &csrf), ("format", "GENERIC_CSV"), ("platform", "")],
            "july.csv",
            bad.as_bytes().to_vec(),
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let refused = consultant.settled_imports(&path).await;
    assert!(refused.body.contains("july.csv"), "{}", refused.body);
    assert!(refused.body.contains("refused"), "{}", refused.body);
    assert!(
        refused.body.contains("2 problems (nothing was recorded)"),
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("<td>3</td>") && refused.body.contains("<td>4</td>"),
        "lines 3 and 4: {}",
        refused.body
    );

    // A good file goes through.
    let good = "date,platform,metric,value\n2026-07-01,amazon_jp,gmv,1000\n2026-07-02,amazon_jp,gmv,2000\n";
    consultant
        .upload(
            &path,
            &[("csrf", &csrf), ("format", "GENERIC_CSV")],
            "july-fixed.csv",
            good.as_bytes().to_vec(),
        )
        .await;
    let done = consultant.settled_imports(&path).await;
    assert!(
        done.body.contains("2 values recorded, 0 restated."),
        "{}",
        done.body
    );

    // The client owner watches but has no upload form; the member has no imports page.
    let mut owner = Browser::new(&app);
    owner
        .accept_invitation(&tokens.links[1], "hiro-password-1")
        .await;
    let seen = owner.get(&path).await;
    assert!(
        seen.body.contains("july-fixed.csv") && !seen.body.contains("Upload a marketplace file")
    );
    let owner_csrf = seen.csrf();
    let denied = owner
        .upload(
            &path,
            &[("csrf", &owner_csrf), ("format", "GENERIC_CSV")],
            "x.csv",
            good.as_bytes().to_vec(),
        )
        .await;
    assert_eq!(denied.status, StatusCode::NOT_FOUND, "{}", denied.body);
}

on_both_backends!(a_consultant_uploads_a_marketplace_file_and_sees_every_bad_row);

async fn the_portfolio_reads_stored_summaries_until_an_engagement_changes(app: TestApp) {
    let tokens = seeded(&app).await;
    let (_, sakura) = engagement_ids(&app, &tokens).await;
    let query = "{ engagements(first: 10) { nodes { name summary { period score trend { period score } late { platform completeThrough } } } } }";
    let first = app.ok(&tokens.consultant, query, json!({})).await;
    let node = first["engagements"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "Sakura Kitchen JP")
        .unwrap()
        .clone();
    let trend = node["summary"]["trend"].as_array().unwrap();
    assert_eq!(trend.len(), 12);
    let may = trend.iter().find(|p| p["period"] == "2026-05");
    if let Some(may) = may {
        assert!(may["score"].as_str().unwrap().starts_with("111.7"), "{may}");
    }
    let late: Vec<&str> = node["summary"]["late"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["platform"].as_str().unwrap())
        .collect();
    assert!(
        late.contains(&"rakuten") && late.contains(&"amazon_jp"),
        "{late:?}"
    );
    assert_eq!(
        app.count("engagement_summaries").await,
        2,
        "one line per engagement"
    );

    // Read again: the stored lines answer, and they are the same; so they do through the
    // connection's edges.
    let again = app.ok(&tokens.consultant, query, json!({})).await;
    assert_eq!(again, first);
    let by_edges = app
        .ok(
            &tokens.consultant,
            "{ engagements(first: 10) { edges { node { name summary { period score trend { period score } late { platform completeThrough } } } } } }",
            json!({}),
        )
        .await;
    let nodes: Vec<Value> = by_edges["engagements"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect();
    assert_eq!(Value::Array(nodes), first["engagements"]["nodes"]);
    let position = |app: &TestApp| {
        let url = app.database.url.clone();
        let sakura = sakura.clone();
        async move {
            let db = kpi_ledger::store::Db::connect(&url).await.unwrap();
            let position: i64 = kpi_ledger::on_db!(&db, pool => {
                sqlx::query_scalar("SELECT position FROM engagement_summaries WHERE engagement_id = $1")
                    .bind(&sakura)
                    .fetch_one(pool)
                    .await
                    .unwrap()
            });
            db.close().await;
            position
        }
    };
    let before = position(&app).await;

    // A change to the engagement: its line is computed again, the other engagement's not.
    app.ok(
        &tokens.consultant,
        "mutation($i: RecordObservationInput!) { recordObservation(input: $i) { value } }",
        json!({ "i": { "engagementId": sakura, "metric": "gmv", "platform": "rakuten",
                       "from": "2026-07-01", "to": "2026-07-01", "value": "1000" } }),
    )
    .await;
    app.ok(&tokens.consultant, query, json!({})).await;
    assert!(position(&app).await > before);

    // The web portfolio shows the score, the trend and the late platforms.
    let mut consultant = Browser::new(&app);
    consultant
        .accept_invitation(&tokens.links[0], "aiko-password-1")
        .await;
    let portfolio = consultant.get("/").await;
    assert!(
        portfolio.body.contains("<svg class=\"spark\""),
        "{}",
        portfolio.body
    );
    assert!(
        portfolio.body.contains("Team score by month:"),
        "{}",
        portfolio.body
    );
    assert!(
        portfolio.body.contains("rakuten: data through"),
        "{}",
        portfolio.body
    );
}

on_both_backends!(the_portfolio_reads_stored_summaries_until_an_engagement_changes);

async fn consultants_correct_values_retire_kpis_and_end_memberships(app: TestApp) {
    let tokens = seeded(&app).await;
    let (_, sakura) = engagement_ids(&app, &tokens).await;
    let mut consultant = Browser::new(&app);
    consultant
        .accept_invitation(&tokens.links[0], "aiko-password-1")
        .await;

    // A wrongly recorded value, corrected with a reason that the audit log keeps.
    let kpis = consultant.get(&format!("/engagements/{sakura}/kpis")).await;
    let recorded = consultant
        .act(
            &kpis,
            "record_observation",
            &[
                ("metric", "gmv"),
                ("platform", "rakuten"),
                ("from", "2026-07-01"),
                ("to", "2026-07-01"),
                ("value", "1,000"),
                ("reason", ""),
            ],
        )
        .await;
    let corrected = consultant
        .act(
            &recorded,
            "correct_observation",
            &[
                ("metric", "gmv"),
                ("platform", "rakuten"),
                ("from", "2026-07-01"),
                ("to", "2026-07-01"),
                ("value", "10,000"),
                ("reason", "typo: one zero missing"),
            ],
        )
        .await;
    assert!(
        corrected.body.contains(r#"data-testid="flash">Saved."#),
        "{}",
        corrected.body
    );
    let audit = consultant
        .get(&format!(
            "/engagements/{sakura}/audit?kind=ObservationCorrected"
        ))
        .await;
    assert!(
        audit.body.contains("typo: one zero missing"),
        "{}",
        audit.body
    );

    // A KPI retired from a date.
    let kpi_page = corrected.link(&format!("/engagements/{sakura}/kpis/"));
    let kpi = consultant.get(&kpi_page).await;
    let retired = consultant
        .act(
            &kpi,
            "retire_kpi",
            &[("from", "2026-08-01"), ("reason", "replaced by net sales")],
        )
        .await;
    assert!(retired.body.contains(">retired<"), "{}", retired.body);

    // A member's role changed, another's membership ended.
    let members = app
        .ok(
            &tokens.consultant,
            "query($id: UUID!) { engagement(id: $id) { members(first: 50) { nodes { id displayName } } } }",
            json!({ "id": sakura }),
        )
        .await;
    let member = |name: &str| {
        members["engagement"]["members"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["displayName"] == name)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (mei, ren) = (member("Mei Suzuki"), member("Ren Kobayashi"));
    let people = consultant
        .get(&format!("/engagements/{sakura}/people"))
        .await;
    let csrf = people.csrf();
    let back = format!("/engagements/{sakura}/people");
    let changed = consultant
        .post(
            &format!("/engagements/{sakura}/actions/change_role"),
            &[
                ("csrf", &csrf),
                ("back", &back),
                ("member", &mei),
                ("role", "CLIENT_VIEWER"),
                ("reason", "moved to head office"),
            ],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER);
    let after = consultant.get(&back).await;
    assert!(
        after.body.contains(r#"data-testid="flash">Saved."#),
        "{}",
        after.body
    );
    consultant
        .post(
            &format!("/engagements/{sakura}/actions/remove_member"),
            &[
                ("csrf", &csrf),
                ("back", &back),
                ("member", &ren),
                ("until", "2026-09-30"),
                ("reason", "left the company"),
            ],
        )
        .await;
    let after = consultant.get(&back).await;
    assert!(
        after.body.contains(r#"data-testid="flash">Saved."#),
        "{}",
        after.body
    );
    assert!(
        after.body.contains("30 Sep 2026"),
        "the last day shows: {}",
        after.body
    );
}

on_both_backends!(consultants_correct_values_retire_kpis_and_end_memberships);

async fn a_client_owner_erases_a_members_personal_data_from_the_people_page(app: TestApp) {
    let tokens = seeded(&app).await;
    let (acme, _) = engagement_ids(&app, &tokens).await;
    let members = app
        .ok(
            &tokens.client_owner,
            "query($id: UUID!) { engagement(id: $id) { members(first: 50) { nodes { id displayName } } } }",
            json!({ "id": acme }),
        )
        .await;
    let li = members["engagement"]["members"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["displayName"] == "Li Wei")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Consultants do not get the form; the client owner does.
    let mut consultant = Browser::new(&app);
    consultant
        .accept_invitation(&tokens.links[0], "aiko-password-1")
        .await;
    let back = format!("/engagements/{acme}/people");
    let seen = consultant.get(&back).await;
    assert!(
        !seen.body.contains("actions/erase_personal_data"),
        "{}",
        seen.body
    );
    let mut owner = Browser::new(&app);
    owner
        .accept_invitation(&tokens.links[1], "hiro-password-1")
        .await;
    let people = owner.get(&back).await;
    assert!(
        people.body.contains("actions/erase_personal_data"),
        "{}",
        people.body
    );
    let csrf = people.csrf();
    let erased = owner
        .post(
            &format!("/engagements/{acme}/actions/erase_personal_data"),
            &[
                ("csrf", &csrf),
                ("back", &back),
                ("member", &li),
                ("reason", "request of 2026-11-30"),
            ],
        )
        .await;
    assert_eq!(erased.status, StatusCode::SEE_OTHER, "{}", erased.body);
    let after = owner.get(&back).await;
    assert!(
        after.body.contains(r#"data-testid="flash">Saved."#),
        "{}",
        after.body
    );
    assert!(
        after.body.contains("personal data erased"),
        "{}",
        after.body
    );
    assert!(
        !after.body.contains("Li Wei") && !after.body.contains("li.wei@"),
        "{}",
        after.body
    );
    // Every page of the engagement the consultant opens names her no more.
    for tab in [
        "", "/people", "/audit", "/payouts", "/reviews", "/changes", "/kpis",
    ] {
        let page = consultant.get(&format!("/engagements/{acme}{tab}")).await;
        assert!(!page.body.contains("Li Wei"), "{tab}: {}", page.body);
    }
}

on_both_backends!(a_client_owner_erases_a_members_personal_data_from_the_people_page);
