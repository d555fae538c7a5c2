//! HTTP: POST /graphql (authenticated), GraphiQL on GET /graphql (its assets under
//! /assets/graphiql/), /healthz and /readyz; the web app's pages (`crate::web`) on `/` and below.

use crate::accounts::Accounts;
use crate::auth::TokenService;
use crate::store::Db;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Request, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::Utc;
use kpi_ledger_graphql::access::{RequestContext, Viewer};
use kpi_ledger_graphql::KpiSchema;
use serde_json::json;
use std::sync::Arc;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;
use uuid::Uuid;

pub const CORRELATION_HEADER: &str = "x-correlation-id";
/// Largest JSON GraphQL request body accepted.
const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Largest uploaded file accepted by default (`--max-upload-bytes`).
pub const DEFAULT_MAX_UPLOAD_BYTES: usize = 512 * 1024 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub schema: KpiSchema,
    pub tokens: Arc<TokenService>,
    pub accounts: Accounts,
    pub db: Db,
    /// Largest file an upload may carry.
    pub max_upload_bytes: usize,
    /// Whether `GET /graphql` serves GraphiQL.
    pub graphiql: bool,
    /// Origins allowed to call the API from a browser (CORS); none by default.
    pub cors_origins: Vec<HeaderValue>,
    /// API requests per user and per client address.
    pub rate_limits: Arc<RateLimits>,
    /// How long one GraphQL request may run.
    pub request_budget: std::time::Duration,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The bearer token `/metrics` asks for; without one `/metrics` is not served.
    pub metrics_token: Option<String>,
}

/// How long one GraphQL request may run by default.
pub const DEFAULT_REQUEST_BUDGET: std::time::Duration = std::time::Duration::from_secs(30);

/// Requests to `/graphql` allowed per user (after authentication) and per client address
/// (before it): a sustained rate with a burst. Beyond, 429 with `Retry-After`. Counted in
/// this process; several servers each count their own.
pub struct RateLimits {
    per_user: governor::DefaultKeyedRateLimiter<uuid::Uuid>,
    per_address: governor::DefaultKeyedRateLimiter<std::net::IpAddr>,
}

/// The default: 20 requests a second per user with bursts of 200, and 100 a second per
/// address with bursts of 1,000 (an office behind one address).
pub const DEFAULT_RATE_PER_USER: (u32, u32) = (20, 200);
pub const DEFAULT_RATE_PER_ADDRESS: (u32, u32) = (100, 1_000);

impl RateLimits {
    /// `(per second, burst)` for users and for addresses; zeros are read as one.
    pub fn new(per_user: (u32, u32), per_address: (u32, u32)) -> Self {
        let quota = |(rate, burst): (u32, u32)| {
            governor::Quota::per_second(
                std::num::NonZeroU32::new(rate.max(1)).unwrap_or(std::num::NonZeroU32::MIN),
            )
            .allow_burst(
                std::num::NonZeroU32::new(burst.max(1)).unwrap_or(std::num::NonZeroU32::MIN),
            )
        };
        Self {
            per_user: governor::RateLimiter::keyed(quota(per_user)),
            per_address: governor::RateLimiter::keyed(quota(per_address)),
        }
    }

    /// How long to wait when `key` is over its limit.
    fn wait<K: std::hash::Hash + Eq + Clone>(
        limiter: &governor::DefaultKeyedRateLimiter<K>,
        key: &K,
    ) -> Option<std::time::Duration> {
        limiter.check_key(key).err().map(|not_until| {
            not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ))
        })
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        Self::new(DEFAULT_RATE_PER_USER, DEFAULT_RATE_PER_ADDRESS)
    }
}

fn too_many(wait: std::time::Duration) -> Response {
    let seconds = wait.as_secs().max(1);
    let body = json!({ "errors": [{
        "message": format!("too many requests; retry in {seconds} s"),
        "extensions": { "code": "RATE_LIMITED" } }] });
    let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

pub fn router(state: AppState) -> Router {
    // A multipart upload carries one file of up to `max_upload_bytes`, plus `operations`
    // and `map` of up to `MAX_BODY_BYTES` each.
    let body_limit = state.max_upload_bytes.saturating_add(2 * MAX_BODY_BYTES);
    let pages = crate::web::router(&state);
    let cors = (!state.cors_origins.is_empty()).then(|| {
        tower_http::cors::CorsLayer::new()
            .allow_origin(state.cors_origins.clone())
            .allow_methods([axum::http::Method::POST, axum::http::Method::OPTIONS])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static(CORRELATION_HEADER),
            ])
            .expose_headers([HeaderName::from_static(CORRELATION_HEADER)])
    });
    let graphql_route = if state.graphiql {
        get(crate::graphiql::page).post(graphql)
    } else {
        axum::routing::post(graphql)
    };
    let mut api = Router::new()
        .route("/graphql", graphql_route)
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics));
    if state.graphiql {
        api = api.route("/assets/graphiql/{file}", get(crate::graphiql::asset));
    }
    let api = match cors {
        Some(cors) => api.layer(cors),
        None => api,
    };
    api.with_state(state)
        .merge(pages)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(RequestBodyLimitLayer::new(body_limit))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                tracing::info_span!(
                    "request",
                    method = %request.method(),
                    path = %request.uri().path(),
                    correlation_id = %correlation_id(request.headers()),
                )
            }),
        )
        .layer(middleware::from_fn(assign_correlation_id))
        .layer(middleware::from_fn(security_headers))
}

/// Headers every response carries, whatever produced it: no MIME sniffing, no framing by
/// other sites, no referrer beyond this origin. Pages add their own content policy.
async fn security_headers(request: Request<Body>, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers
        .entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    headers
        .entry(header::X_FRAME_OPTIONS)
        .or_insert(HeaderValue::from_static("DENY"));
    headers
        .entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("same-origin"));
    response
}

/// Keeps the caller's correlation id if it is a UUID, else assigns a fresh one, so the
/// request span, the recorded events and the response all carry the same id.
async fn assign_correlation_id(mut request: Request<Body>, next: Next) -> Response {
    let id = request
        .headers()
        .get(CORRELATION_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| Uuid::parse_str(v.trim()).ok())
        .unwrap_or_else(Uuid::new_v4);
    if let Ok(value) = HeaderValue::from_str(&id.to_string()) {
        request
            .headers_mut()
            .insert(HeaderName::from_static(CORRELATION_HEADER), value);
    }
    with_correlation(next.run(request).await, id)
}

/// The correlation id [`assign_correlation_id`] put on the request.
fn correlation_id(headers: &HeaderMap) -> Uuid {
    headers
        .get(CORRELATION_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| Uuid::parse_str(v).ok())
        .unwrap_or_default()
}

async fn healthz() -> &'static str {
    "ok"
}

/// Ready when a connection can be had and used within a second: a pool exhausted by
/// stalled work reads as not ready, as the requests it would get would fail.
/// `/metrics` for a request bearing the configured token; 404 when none is configured.
async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    use sha2::{Digest, Sha256};
    let Some(expected) = &state.metrics_token else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    // Compared as digests: equal length, no early exit on the secret's bytes.
    if Sha256::digest(given.as_bytes()) != Sha256::digest(expected.as_bytes()) {
        return (StatusCode::UNAUTHORIZED, "a metrics token is required").into_response();
    }
    match state.metrics.render(&state.db).await {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(error) => {
            tracing::warn!(%error, "cannot read the metrics");
            (StatusCode::SERVICE_UNAVAILABLE, "metrics unavailable").into_response()
        }
    }
}

async fn readyz(State(state): State<AppState>) -> Response {
    match tokio::time::timeout(std::time::Duration::from_secs(1), state.db.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ready").into_response(),
        Ok(Err(error)) => {
            tracing::warn!(%error, "database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
        Err(_) => {
            tracing::warn!("no database connection within a second");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "busy: no database connection within a second",
            )
                .into_response()
        }
    }
}

fn unauthenticated(message: &str) -> Response {
    let body = json!({
        "errors": [{ "message": message, "extensions": { "code": "UNAUTHENTICATED" } }]
    });
    let mut response = (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"kpi-ledger\""),
    );
    response
}

fn with_correlation(mut response: Response, correlation: Uuid) -> Response {
    if let Ok(value) = HeaderValue::from_str(&correlation.to_string()) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(CORRELATION_HEADER), value);
    }
    response
}

/// Why a request could not be authenticated.
enum AuthFailure {
    /// The token is missing, invalid, expired or names no user: 401.
    Rejected(&'static str),
    /// The accounts could not be read: 503, so clients keep their token.
    Unavailable,
}

impl From<&'static str> for AuthFailure {
    fn from(message: &'static str) -> Self {
        AuthFailure::Rejected(message)
    }
}

/// Resolves the bearer token to a viewer, or says why not.
async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Viewer, AuthFailure> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or("missing bearer token: send `Authorization: Bearer <token>`")?;
    let claims = state.tokens.verify(token).await.map_err(|error| {
        tracing::info!(%error, "token rejected");
        "invalid or expired token"
    })?;
    let by_id = match claims.sub.parse() {
        Ok(user_id) => state.accounts.by_id(user_id).await,
        Err(_) => Ok(None),
    };
    // An email names an account only if the identity provider verified it; anyone can
    // register an unverified address that belongs to someone else.
    // Self-signed tokens name their user by id; only an external provider's may name
    // one by an email address it verified.
    let verified_email = claims
        .email
        .as_ref()
        .filter(|_| claims.email_verified == Some(true) && state.tokens.external());
    let account = match (by_id, verified_email) {
        (Ok(Some(account)), _) => Some(account),
        (Ok(None), Some(email)) => match state.accounts.by_email(email).await {
            Ok(account) => account,
            Err(error) => {
                tracing::error!(%error, "cannot look up the token's user");
                return Err(AuthFailure::Unavailable);
            }
        },
        (Ok(None), None) => None,
        (Err(error), _) => {
            tracing::error!(%error, "cannot look up the token's user");
            return Err(AuthFailure::Unavailable);
        }
    };
    let account = account.ok_or("the token's user does not exist")?;
    if account.disabled {
        return Err("the account is disabled".into());
    }
    if account
        .tokens_revoked_before
        .is_some_and(|before| claims.iat <= before)
    {
        return Err("the token was revoked".into());
    }
    Ok(Viewer {
        user_id: account.user_id,
        grants: account.grants,
    })
}

fn bad_request(status: StatusCode, message: String) -> Response {
    let code = match status {
        StatusCode::NOT_FOUND => "NOT_FOUND",
        StatusCode::FORBIDDEN => "FORBIDDEN",
        _ => "VALIDATION",
    };
    let body = json!({
        "errors": [{ "message": message, "extensions": { "code": code } }]
    });
    (status, Json(body)).into_response()
}

/// Before an upload's bytes are read: the operation names an engagement whose imports the
/// caller may make, asked through the schema (the one access path). Otherwise 404, with
/// nothing spooled.
async fn may_import(
    schema: &KpiSchema,
    viewer: Viewer,
    engagement: Option<async_graphql::Value>,
) -> Result<(), crate::upload::Refusal> {
    let not_found = || {
        (
            StatusCode::NOT_FOUND,
            "engagement not found: give `input.engagementId` of an engagement you import data into"
                .to_string(),
        )
    };
    let engagement = engagement.ok_or_else(not_found)?;
    let request = async_graphql::Request::new(
        "query($id: UUID!) { engagement(id: $id) { viewerMayImport } }",
    )
    .variables(async_graphql::Variables::from_value(
        async_graphql::Value::from_json(
            json!({ "id": engagement.into_json().unwrap_or_default() }),
        )
        .unwrap_or_default(),
    ))
    .data(viewer)
    .data(RequestContext {
        correlation_id: Uuid::new_v4(),
        received_at: Utc::now(),
    });
    let answer = schema.execute(request).await;
    if !answer.errors.is_empty() {
        return Err(not_found());
    }
    let may = answer
        .data
        .into_json()
        .ok()
        .and_then(|d| d["engagement"]["viewerMayImport"].as_bool());
    match may {
        Some(true) => Ok(()),
        Some(false) => Err((
            StatusCode::FORBIDDEN,
            "your role may not import data into this engagement".to_string(),
        )),
        None => Err(not_found()),
    }
}

/// Reads one GraphQL request: JSON, or a GraphQL multipart request (one file, at most
/// `max_upload_bytes`; the file is spooled to a temporary file, not held in memory).
async fn read_request(
    state: &AppState,
    viewer: Viewer,
    headers: &HeaderMap,
    body: Body,
) -> Result<async_graphql::Request, Response> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if content_type.starts_with("multipart/form-data") {
        let limits = crate::upload::UploadLimits {
            max_file_bytes: state.max_upload_bytes,
            max_field_bytes: MAX_BODY_BYTES,
            max_files: 1,
        };
        let authorize = |operation: &async_graphql::Request| {
            let engagement = operation
                .variables
                .get("input")
                .and_then(|input| match input {
                    async_graphql::Value::Object(fields) => fields.get("engagementId").cloned(),
                    _ => None,
                });
            let schema = state.schema.clone();
            async move { may_import(&schema, viewer, engagement).await }
        };
        return crate::upload::read(&content_type, body, limits, authorize)
            .await
            .map_err(|(status, message)| bad_request(status, message));
    }
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| {
            bad_request(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the request is larger than {MAX_BODY_BYTES} bytes"),
            )
        })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        bad_request(
            StatusCode::BAD_REQUEST,
            format!("the body is not a GraphQL request (JSON with `query`): {e}"),
        )
    })
}

async fn graphql(
    State(state): State<AppState>,
    connect: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let correlation = correlation_id(&headers);
    if let Some(connect) = &connect {
        if let Some(wait) = RateLimits::wait(&state.rate_limits.per_address, &connect.0 .0.ip()) {
            state.metrics.error("RATE_LIMITED");
            return too_many(wait);
        }
    }
    // Authenticate before reading the body, so unauthenticated uploads are not spooled.
    let viewer = match authenticate(&state, &headers).await {
        Ok(viewer) => viewer,
        Err(AuthFailure::Rejected(message)) => {
            state.metrics.error("UNAUTHENTICATED");
            return unauthenticated(message);
        }
        Err(AuthFailure::Unavailable) => return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                json!({ "errors": [{ "message": "the server cannot verify tokens right now; retry",
                                          "extensions": { "code": "INTERNAL" } }] }),
            ),
        )
            .into_response(),
    };
    if let Some(wait) = RateLimits::wait(&state.rate_limits.per_user, &viewer.user_id.as_uuid()) {
        state.metrics.error("RATE_LIMITED");
        return too_many(wait);
    }
    let request = match read_request(&state, viewer, &headers, body).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    let context = RequestContext {
        correlation_id: correlation,
        received_at: Utc::now(),
    };
    let request = request.data(viewer).data(context);
    let operation = request.operation_name.clone();
    let started = std::time::Instant::now();
    // A time budget per request: work past it is dropped (as it is when the client goes
    // away, which drops this future), and the client told to ask for less.
    match tokio::time::timeout(state.request_budget, state.schema.execute(request)).await {
        Ok(response) => {
            let codes: Vec<String> = response
                .errors
                .iter()
                .filter_map(|e| match e.extensions.as_ref()?.get("code")? {
                    async_graphql::Value::String(code) => Some(code.clone()),
                    _ => None,
                })
                .collect();
            state.metrics.observe(
                operation.as_deref(),
                started.elapsed().as_secs_f64(),
                codes.iter().map(String::as_str),
            );
            Json(response).into_response()
        }
        Err(_) => {
            state.metrics.observe(
                operation.as_deref(),
                started.elapsed().as_secs_f64(),
                ["TOO_COMPLEX"],
            );
            tracing::warn!(budget = ?state.request_budget, "request stopped at its time budget");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "errors": [{
                    "message": format!("the request ran longer than {} s and was stopped; ask for less in one request", state.request_budget.as_secs()),
                    "extensions": { "code": "TOO_COMPLEX" } }] })),
            )
                .into_response()
        }
    }
}
