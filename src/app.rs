//! Building and running the server.

use crate::auth::{AuthSettings, TokenService};
use crate::http::{router, AppState, DEFAULT_MAX_UPLOAD_BYTES};
use crate::keyring::Keyring;
use crate::projector::Projector;
use crate::services::Services;
use crate::store::Db;
use anyhow::Context as _;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// How often each server checks for events another server (or a crashed request)
/// left unprojected.
const PROJECTION_POLL: Duration = Duration::from_secs(2);
/// How soon a token revoked by another process is refused.
const REVOCATION_POLL: Duration = Duration::from_secs(1);
/// How often counted personal-data reads are written.
const READ_LOG_FLUSH: Duration = Duration::from_secs(5);

/// Everything the server needs, connected and migrated.
pub struct Context {
    pub db: Db,
    pub projector: Arc<Projector>,
    pub services: Arc<Services>,
    /// Wraps the keys the database stores (the installation's key file).
    pub keyring: Keyring,
    /// The migrations this connection applied (`0006 lock versions`), oldest first.
    pub migrations_applied: Vec<String>,
}

impl Context {
    /// Connects to the database, applies pending migrations and catches the read models
    /// up with the log.
    pub async fn connect(database_url: &str) -> anyhow::Result<Self> {
        let db = Db::connect(database_url).await.with_context(|| {
            format!(
                "failed to connect to {}",
                crate::store::redact(database_url)
            )
        })?;
        let migrations_applied = db.migrate().await.context("failed to apply migrations")?;
        for migration in &migrations_applied {
            tracing::info!(%migration, "applied migration");
        }
        let keyring = Keyring::open(&db, database_url)
            .await
            .context("failed to open the installation's key file")?;
        let projector = Arc::new(Projector::new(db.clone()));
        projector
            .catch_up()
            .await
            .context("failed to bring the read models up to date")?;
        let services = Arc::new(Services::new(
            db.clone(),
            projector.clone(),
            keyring.clone(),
        ));
        match services.accounts().seal_plaintext().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(accounts = n, "sealed the emails and names of accounts"),
            Err(error) => return Err(error).context("failed to seal login accounts"),
        }
        // Imports a stopped server or command left behind: marked failed, staging cleared.
        match services.jobs().clean_up_interrupted().await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(jobs = n, "marked interrupted imports as failed"),
            Err(error) => tracing::warn!(%error, "cannot clean up interrupted imports"),
        }
        Ok(Self {
            db,
            projector,
            services,
            keyring,
            migrations_applied,
        })
    }
}

/// A server bound to its address, ready to run.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    services: Arc<Services>,
    projector: Arc<Projector>,
    /// How often to sign an audit checkpoint, if at all.
    checkpoint_every: Option<Duration>,
    keyring: Keyring,
}

impl Application {
    pub async fn build(
        database_url: &str,
        listen: &str,
        auth: &AuthSettings,
    ) -> anyhow::Result<Self> {
        Self::build_with_limits(database_url, listen, auth, DEFAULT_MAX_UPLOAD_BYTES).await
    }

    /// [`Application::build`] with an upload size limit.
    pub async fn build_with_limits(
        database_url: &str,
        listen: &str,
        auth: &AuthSettings,
        max_upload_bytes: usize,
    ) -> anyhow::Result<Self> {
        let context = Context::connect(database_url).await?;
        let tokens = TokenService::from_settings(auth, &context.db, &context.keyring)
            .await
            .context("failed to set up token verification")?;
        let metrics = Arc::new(crate::metrics::Metrics::new(
            context.services.jobs().meter(),
        ));
        let state = AppState {
            schema: kpi_ledger_graphql::build_schema_with(
                context.services.ports(),
                true,
                Some(metrics.clone()),
            ),
            tokens: Arc::new(tokens),
            accounts: context.services.accounts().clone(),
            db: context.db.clone(),
            max_upload_bytes,
            graphiql: true,
            cors_origins: Vec::new(),
            rate_limits: Arc::new(crate::http::RateLimits::default()),
            request_budget: crate::http::DEFAULT_REQUEST_BUDGET,
            metrics,
            metrics_token: None,
        };
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("failed to listen on {listen}"))?;
        Ok(Self {
            listener,
            state,
            services: context.services,
            projector: context.projector,
            checkpoint_every: None,
            keyring: context.keyring,
        })
    }

    /// Serves `/metrics` to requests bearing `token` (at least 16 characters).
    pub fn with_metrics_token(mut self, token: Option<String>) -> anyhow::Result<Self> {
        if let Some(token) = &token {
            if token.trim().len() < 16 {
                anyhow::bail!("--metrics-token must be at least 16 characters");
            }
        }
        self.state.metrics_token = token.map(|t| t.trim().to_string());
        Ok(self)
    }

    /// How long one GraphQL request may run before it is stopped.
    pub fn with_request_budget(mut self, budget: Duration) -> Self {
        self.state.request_budget = budget;
        self
    }

    /// Requests to the API allowed per user and per address: `(per second, burst)`.
    pub fn with_rate_limits(mut self, per_user: (u32, u32), per_address: (u32, u32)) -> Self {
        self.state.rate_limits = Arc::new(crate::http::RateLimits::new(per_user, per_address));
        self
    }

    /// Production switches: GraphiQL served or not, introspection answered or refused.
    pub fn with_exploration(mut self, graphiql: bool, introspection: bool) -> Self {
        self.state.graphiql = graphiql;
        if !introspection {
            self.state.schema = kpi_ledger_graphql::build_schema_with(
                self.services.ports(),
                false,
                Some(self.state.metrics.clone()),
            );
        }
        self
    }

    /// Origins whose pages may call the API from a browser (CORS). Invalid ones are
    /// refused with an error naming them.
    pub fn with_cors_origins(mut self, origins: &[String]) -> anyhow::Result<Self> {
        self.state.cors_origins = origins
            .iter()
            .map(|origin| {
                let trimmed = origin.trim().trim_end_matches('/');
                if !(trimmed.starts_with("https://") || trimmed.starts_with("http://")) {
                    anyhow::bail!("--cors-origin `{origin}`: give a scheme and host, like https://app.example.jp");
                }
                axum::http::HeaderValue::from_str(trimmed)
                    .with_context(|| format!("--cors-origin `{origin}` is not a valid origin"))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(self)
    }

    /// Signs an audit checkpoint every `every` (docs/AUDIT.md). With several servers, a
    /// server skips its turn when another signed one within the interval.
    pub fn with_audit_checkpoints(mut self, every: Option<Duration>) -> Self {
        self.checkpoint_every = every;
        self
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests and closes the
    /// database.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let db = self.state.db.clone();
        let projector = self.projector.clone();
        let poller = tokio::spawn(async move {
            let mut interval = tokio::time::interval(PROJECTION_POLL);
            loop {
                interval.tick().await;
                if let Err(error) = projector.catch_up().await {
                    tracing::warn!(%error, "background projection failed; will retry");
                }
            }
        });
        // Revoked token ids, kept in memory so that checking a token reads no table.
        let revocations = {
            let db = self.state.db.clone();
            let tokens = self.state.tokens.clone();
            tokio::spawn(async move {
                let mut interval = tokio::time::interval(REVOCATION_POLL);
                loop {
                    interval.tick().await;
                    if let Err(error) = tokens.refresh_revocations(&db).await {
                        tracing::warn!(%error, "cannot read revoked tokens; will retry");
                    }
                }
            })
        };
        // Personal-data reads, counted in memory, written in batches.
        let reads = self.services.reads().clone();
        let read_log = {
            let reads = reads.clone();
            tokio::spawn(async move {
                let mut interval = tokio::time::interval(READ_LOG_FLUSH);
                loop {
                    interval.tick().await;
                    if let Err(error) = reads.flush().await {
                        tracing::warn!(%error, "cannot write the personal-data read log; will retry");
                    }
                }
            })
        };
        let checkpoints = self.checkpoint_every.map(|every| {
            let db = self.state.db.clone();
            let projector = self.projector.clone();
            let keyring = self.keyring.clone();
            tokio::spawn(async move {
                let mut interval = tokio::time::interval(every);
                interval.tick().await;
                loop {
                    interval.tick().await;
                    if let Err(error) = sign_checkpoint(&db, &keyring, &projector, every).await {
                        tracing::warn!(%error, "cannot sign an audit checkpoint; will retry");
                    }
                }
            })
        });
        let result = axum::serve(
            self.listener,
            router(self.state).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
        .context("server failed");
        poller.abort();
        revocations.abort();
        read_log.abort();
        if let Err(error) = reads.flush().await {
            tracing::warn!(%error, "cannot write the personal-data read log at shutdown");
        }
        if let Some(task) = checkpoints {
            task.abort();
        }
        db.close().await;
        result
    }
}

/// Signs a checkpoint unless one was signed within `every`.
async fn sign_checkpoint(
    db: &Db,
    keyring: &Keyring,
    projector: &Projector,
    every: Duration,
) -> anyhow::Result<()> {
    use crate::audit::checkpoint;
    if let Some(latest) = checkpoint::latest(db).await? {
        let signed: chrono::DateTime<chrono::Utc> = latest.created_at.parse()?;
        if chrono::Utc::now() - signed < chrono::Duration::from_std(every)? {
            return Ok(());
        }
    }
    projector.catch_up().await?;
    let signed = checkpoint::create(db, keyring).await?;
    tracing::info!(checkpoint = %signed.id, position = signed.log_position, "signed an audit checkpoint");
    Ok(())
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
