//! The web app: pages for consultants, clients and members, served by the same binary
//! (`/` and below; GraphQL stays at `/graphql`).
//!
//! Every page reads and changes data through the GraphQL schema, executed in-process as
//! the signed-in person: the one access path. A page shows nothing the API would refuse
//! the same person, and what the API answers NOT_FOUND or FORBIDDEN is a 404 page.
//! Sessions live in HttpOnly, SameSite=Lax cookies (Secure behind TLS); every form that
//! changes something carries the session's CSRF token.

mod actions;
pub mod charts;
mod entry;
mod forms;
pub mod i18n;
mod pages;
pub mod sign_in;
pub mod templates;
mod views;

pub use entry::invitation_path;
use entry::*;
use forms::*;
use pages::*;

use crate::accounts::Accounts;
use crate::http::AppState;
use crate::local_api::{ApiError, LocalApi};
use axum::extract::{ConnectInfo, Form, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use kpi_ledger_domain::language::Language;
use kpi_ledger_graphql::access::Viewer;
use minijinja::{context, Environment, Value};
use serde::Deserialize;
use serde_json::json;
use sign_in::{LinkPurpose, Session, SignIn, SignInError};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

const SESSION_COOKIE: &str = "kpi_session";
/// The CSRF token of forms shown before sign-in (sign-in, invitation links).
const FORM_COOKIE: &str = "kpi_form";
const LANGUAGE_COOKIE: &str = "kpi_lang";
/// What the last action did, shown once on the page it returns to.
const FLASH_COOKIE: &str = "kpi_flash";

/// Message keys the code (not the templates) names; tests check they exist.
pub const CODE_KEYS: &[&str] = &[
    "status_diagnosing",
    "status_trial",
    "status_active",
    "status_paused",
    "status_closed",
    "role_consultant",
    "role_client_owner",
    "role_client_viewer",
    "role_member",
    "kpi_status_no_data",
    "kpi_status_zero_denominator",
    "kpi_status_no_target",
    "kpi_status_overridden",
    "higher_is_better",
    "lower_is_better",
    "payout_status_calculated",
    "payout_status_approved",
    "payout_status_paid",
    "sign_in_failed",
    "sign_in_throttled",
    "session_expired",
    "form_expired",
    "password_too_short",
    "password_too_long",
    "passwords_differ",
    "link_invalid",
    "not_found_title",
    "not_found_body",
    "error_title",
    "error_body",
    "invalid_period",
    "team_scorecard",
    "my_scorecard",
    "chart_title",
    "unit_stars",
    "unit_hours",
    "unit_ratio",
    "unit_count",
    "unit_currency",
    "decision_reopen",
    "decision_action_item_done",
    "decision_action_item",
    "decision_revise_future_target",
    "decision_accept_data_gap",
    "decision_override_score",
    "decision_excuse_kpi",
    "decision_accept",
    "import_status_queued",
];

/// What the web pages share.
pub struct Web {
    api: LocalApi,
    /// Largest file an upload may carry.
    max_upload_bytes: usize,
    accounts: Accounts,
    sign_in: SignIn,
    templates: Environment<'static>,
    /// Sign-in attempts per account (email) and per client address.
    per_account: DefaultKeyedRateLimiter<String>,
    per_address: DefaultKeyedRateLimiter<IpAddr>,
}

type Shared = Arc<Web>;

impl Web {
    pub fn new(state: &AppState) -> Self {
        // An account: 5 attempts at once, then one every 3 minutes. An address: 30 at once
        // (an office behind one NAT), then one every 10 seconds.
        let per_account = Quota::with_period(Duration::from_secs(180))
            .expect("non-zero period")
            .allow_burst(NonZeroU32::new(5).expect("non-zero"));
        let per_address = Quota::with_period(Duration::from_secs(10))
            .expect("non-zero period")
            .allow_burst(NonZeroU32::new(30).expect("non-zero"));
        Self {
            api: LocalApi::from_schema(state.schema.clone()),
            max_upload_bytes: state.max_upload_bytes,
            accounts: state.accounts.clone(),
            sign_in: SignIn::new(state.db.clone()),
            templates: templates::environment(),
            per_account: RateLimiter::keyed(per_account),
            per_address: RateLimiter::keyed(per_address),
        }
    }
}

pub fn router(state: &AppState) -> Router {
    let web: Shared = Arc::new(Web::new(state));
    Router::new()
        .route("/", get(portfolio))
        .route("/sign-in", get(sign_in_form).post(sign_in_submit))
        .route("/sign-out", post(sign_out))
        .route(
            "/invitations/{token}",
            get(invitation_form).post(invitation_submit),
        )
        .route("/engagements", post(open_engagement))
        .route("/engagements/{id}", get(engagement_page))
        .route("/engagements/{id}/kpis", get(kpis_page))
        .route("/engagements/{id}/kpis/{kpi}", get(kpi_page))
        .route("/engagements/{id}/reviews", get(reviews_page))
        .route("/engagements/{id}/payouts", get(payouts_page))
        .route("/engagements/{id}/changes", get(changes_page))
        .route("/engagements/{id}/audit", get(audit_page))
        .route("/engagements/{id}/people", get(people_page))
        .route("/engagements/{id}/imports", get(imports_page).post(upload))
        .route("/engagements/{id}/actions/{action}", post(action))
        .route("/engagements/{id}/members/{member}", get(member_page))
        .route(
            "/engagements/{id}/payouts/{payout}/{file}",
            get(statement_download),
        )
        .route("/assets/web/app.css", get(stylesheet))
        .route("/assets/web/app.js", get(script))
        .fallback(not_found_page)
        .with_state(web)
}

/// One request's person, language and the query to keep when switching language.
struct Page {
    viewer: Option<(Viewer, Session, Value)>,
    language: Language,
    keep_query: BTreeMap<String, String>,
    secure: bool,
    /// A language cookie to set, when the request chose one.
    set_language: Option<Language>,
    /// The outcome of the last action, shown once: (ok, text).
    flash: Option<(bool, String)>,
}

#[derive(Debug, Deserialize, Default)]
struct PageQuery {
    lang: Option<String>,
    period: Option<String>,
    from: Option<String>,
    after: Option<String>,
    #[serde(rename = "asOf")]
    as_of: Option<String>,
    kind: Option<String>,
}

/// Whether the browser reached us over TLS (directly or through a proxy saying so).
fn over_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

fn language_code(language: Language) -> &'static str {
    match language {
        Language::Ja => "ja",
        Language::Zh => "zh",
        Language::En => "en",
    }
}

impl Web {
    /// Who is asking (if signed in) and in which language.
    async fn page(
        &self,
        jar: &CookieJar,
        headers: &HeaderMap,
        query: &PageQuery,
    ) -> Result<Page, Response> {
        let mut viewer = None;
        if let Some(cookie) = jar.get(SESSION_COOKIE) {
            match self.sign_in.session(cookie.value()).await {
                Ok(Some(session)) => match self.accounts.by_id(session.user_id).await {
                    Ok(Some(account)) if !account.disabled => {
                        let person = Value::from_serialize(json!({
                            "displayName": account.display_name,
                            "email": account.email,
                        }));
                        viewer = Some((
                            Viewer {
                                user_id: account.user_id,
                                grants: account.grants,
                            },
                            session,
                            person,
                        ))
                    }
                    Ok(_) => {}
                    Err(error) => return Err(self.failure(Language::En, &error.to_string())),
                },
                Ok(None) => {}
                Err(error) => return Err(self.failure(Language::En, &error.to_string())),
            }
        }
        let explicit = query
            .lang
            .as_deref()
            .and_then(|l| l.parse::<Language>().ok());
        let chosen = match (&explicit, &viewer) {
            (Some(language), Some((v, _, _))) => {
                if let Err(error) = self.sign_in.set_language(v.user_id, *language).await {
                    tracing::warn!(%error, "cannot remember the language");
                }
                Some(*language)
            }
            (Some(language), None) => Some(*language),
            (None, Some((v, _, _))) => self.sign_in.language(v.user_id).await.ok().flatten(),
            (None, None) => None,
        };
        let cookie = jar.get(LANGUAGE_COOKIE).map(|c| c.value().to_string());
        let language = i18n::negotiate(
            chosen.map(language_code).or(cookie.as_deref()),
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok()),
        );
        let mut keep_query = BTreeMap::new();
        if let Some(period) = &query.period {
            keep_query.insert("period".to_string(), period.clone());
        }
        let flash = jar.get(FLASH_COOKIE).and_then(|c| read_flash(c.value()));
        Ok(Page {
            viewer,
            language,
            keep_query,
            secure: over_tls(headers),
            set_language: explicit,
            flash,
        })
    }

    fn render(&self, page: &Page, template: &str, values: Value) -> Response {
        let (viewer, csrf) = match &page.viewer {
            Some((_, session, person)) => (person.clone(), session.csrf_token.clone()),
            None => (Value::from(()), String::new()),
        };
        let flash = page
            .flash
            .as_ref()
            .map(|(ok, text)| context! { ok => *ok, text => text.clone() });
        let base = context! {
            lang => language_code(page.language),
            lang_tag => page.language.tag(),
            viewer => viewer,
            csrf => csrf,
            keep_query => page.keep_query.clone(),
            flash => flash,
        };
        let rendered = self
            .templates
            .get_template(template)
            .and_then(|t| t.render(context! { ..values, ..base }));
        match rendered {
            Ok(html) => {
                let mut response = Html(html).into_response();
                secure_headers(response.headers_mut());
                if page.flash.is_some() {
                    let gone = Cookie::build((FLASH_COOKIE, ""))
                        .path("/")
                        .max_age(time::Duration::ZERO)
                        .build();
                    if let Ok(value) = HeaderValue::from_str(&gone.to_string()) {
                        response.headers_mut().append(header::SET_COOKIE, value);
                    }
                }
                if let Some(language) = page.set_language {
                    let cookie = Cookie::build((LANGUAGE_COOKIE, language_code(language)))
                        .path("/")
                        .http_only(true)
                        .same_site(SameSite::Lax)
                        .secure(page.secure)
                        .max_age(time::Duration::days(365))
                        .build();
                    if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
                        response.headers_mut().append(header::SET_COOKIE, value);
                    }
                }
                response
            }
            Err(error) => {
                tracing::error!(%error, template, "cannot render a page");
                self.failure(page.language, &error.to_string())
            }
        }
    }

    /// A 500 page naming a reference the log has.
    fn failure(&self, language: Language, error: &str) -> Response {
        let reference = Uuid::new_v4();
        tracing::error!(%reference, error, "web page failed");
        let body = i18n::message(language, "error_body", &[("id", reference.to_string())]);
        let html = self
            .templates
            .get_template("message.html")
            .and_then(|t| {
                t.render(context! {
                    lang => language_code(language), lang_tag => language.tag(),
                    heading => "error_title", body => body, keep_query => BTreeMap::<String, String>::new(),
                })
            })
            .unwrap_or_else(|_| "internal error".to_string());
        (StatusCode::INTERNAL_SERVER_ERROR, Html(html)).into_response()
    }

    fn not_found(&self, page: &Page) -> Response {
        let body = i18n::message(page.language, "not_found_body", &[]);
        let mut response = self.render(
            page,
            "message.html",
            context! { heading => "not_found_title", body => body },
        );
        *response.status_mut() = StatusCode::NOT_FOUND;
        response
    }

    /// The answer of an API call as a page: data, or 404 for what the caller may not see.
    fn api_failure(&self, page: &Page, error: ApiError) -> Response {
        match error.code.as_deref() {
            Some("NOT_FOUND") | Some("FORBIDDEN") => self.not_found(page),
            _ => self.failure(page.language, &error.message),
        }
    }
}

/// A flash cookie's value: `ok:` or `err:` and the text, base64url-encoded.
fn write_flash(ok: bool, text: &str) -> String {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text.as_bytes());
    format!("{}:{encoded}", if ok { "ok" } else { "err" })
}

fn read_flash(value: &str) -> Option<(bool, String)> {
    use base64::Engine as _;
    let (kind, encoded) = value.split_once(':')?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded)
        .ok()?;
    let text: String = String::from_utf8(bytes).ok()?.chars().take(500).collect();
    Some((kind == "ok", text))
}

impl Page {
    /// Whether a state-changing request carries this session's CSRF token and comes from
    /// this site.
    fn form_is_ours(&self, headers: &HeaderMap, sent: &str) -> bool {
        let expected = self
            .viewer
            .as_ref()
            .map(|(_, session, _)| session.csrf_token.as_str())
            .unwrap_or_default();
        same_origin(headers) && !expected.is_empty() && constant_time_eq(expected, sent)
    }

    /// Back to `target`, with `flash` to show there once.
    fn flash_redirect(&self, jar: CookieJar, flash: String, target: &str) -> Response {
        let cookie = Cookie::build((FLASH_COOKIE, flash))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.secure)
            .build();
        (jar.add(cookie), Redirect::to(target)).into_response()
    }
}

impl Web {
    /// The page context of a signed-in person, or the way to sign in.
    async fn signed_in(
        &self,
        jar: &CookieJar,
        headers: &HeaderMap,
        query: &PageQuery,
        path: &str,
    ) -> Result<(Page, Viewer), Response> {
        let page = self.page(jar, headers, query).await?;
        match &page.viewer {
            Some((viewer, _, _)) => {
                let viewer = *viewer;
                Ok((page, viewer))
            }
            None => Err(to_sign_in(path)),
        }
    }

    /// A page from what a view read: rendered, or 404 for what the API refuses.
    fn answer(&self, page: &Page, template: &str, read: Result<Value, ApiError>) -> Response {
        match read {
            Ok(values) => self.render(page, template, values),
            Err(error) => self.api_failure(page, error),
        }
    }
}

/// Headers every page carries: no framing, no sniffing, no referrer beyond the origin,
/// and scripts and styles only from this server.
fn secure_headers(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// Sends a signed-out browser to sign in, coming back to `path` afterwards.
fn to_sign_in(path: &str) -> Response {
    let target = format!("/sign-in?next={}", urlencode(path));
    Redirect::to(&target).into_response()
}

fn urlencode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(byte as char)
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// A path on this site to return to after sign-in; anything else goes to `/`.
fn local_path(next: Option<&str>) -> String {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => {
            path.to_string()
        }
        _ => "/".to_string(),
    }
}

/// A state-changing request must come from our own pages: its Origin (when the browser
/// sends one) names this host.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    origin
        .split_once("://")
        .is_some_and(|(_, rest)| rest == host)
}

fn session_cookie(token: String, secure: bool) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, token))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .build()
}

/// A fresh pre-sign-in form token, set as a cookie and put in the form.
fn form_token(jar: CookieJar, secure: bool) -> (CookieJar, String) {
    if let Some(existing) = jar.get(FORM_COOKIE) {
        let value = existing.value().to_string();
        if value.len() == 43 {
            return (jar, value);
        }
    }
    let token = sign_in::random_token();
    let cookie = Cookie::build((FORM_COOKIE, token.clone()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .build();
    (jar.add(cookie), token)
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../assets/web/app.css"),
    )
        .into_response()
}

/// The app's own script: small and optional (every form works without it).
async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../assets/web/app.js"),
    )
        .into_response()
}

async fn not_found_page(
    State(web): State<Shared>,
    jar: CookieJar,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
) -> Response {
    match web.page(&jar, &headers, &query).await {
        Ok(page) => web.not_found(&page),
        Err(response) => response,
    }
}
