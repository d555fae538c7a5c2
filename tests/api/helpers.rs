//! Spawning the real router on port 0 with a fresh database per test, on either backend.

use chrono::{Duration, Utc};
use kpi_ledger::app::{Application, Context};
use kpi_ledger::auth::{AuthSettings, TokenService};
use kpi_ledger_domain::metadata::CommandMetadata;
use kpi_ledger_domain::user::Grants;
use serde_json::{json, Value};
use std::sync::Once;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// The environment variable naming a PostgreSQL server the tests may create databases on,
/// e.g. `postgres://postgres@127.0.0.1:5432/postgres`.
pub const POSTGRES_ENV: &str = "KPI_LEDGER_TEST_POSTGRES_URL";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    Sqlite,
    Postgres,
}

/// A fresh, empty database for one test.
pub struct TestDatabase {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    /// `None` only when PostgreSQL is not configured outside CI; in CI that is a failure.
    pub async fn create(store: Store) -> Option<Self> {
        match store {
            Store::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}/kpi-ledger.db", dir.path().display());
                Some(Self {
                    url,
                    _dir: Some(dir),
                })
            }
            Store::Postgres => {
                let in_ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
                let admin_url = match std::env::var(POSTGRES_ENV) {
                    Ok(url) if !url.trim().is_empty() => url,
                    _ if in_ci => panic!("{POSTGRES_ENV} must be set in CI"),
                    _ => {
                        eprintln!("SKIPPED: PostgreSQL test; set {POSTGRES_ENV} to run it");
                        return None;
                    }
                };
                let name = format!("kpi_test_{}", Uuid::new_v4().simple());
                let admin = sqlx::PgPool::connect(&admin_url)
                    .await
                    .unwrap_or_else(|e| panic!("PostgreSQL at {POSTGRES_ENV} unreachable: {e}"));
                sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
                    .execute(&admin)
                    .await
                    .expect("create test database");
                admin.close().await;
                let base = admin_url
                    .rsplit_once('/')
                    .map(|(base, _)| base.to_string())
                    .expect("database URL with a database name");
                Some(Self {
                    url: format!("{base}/{name}"),
                    _dir: None,
                })
            }
        }
    }
}

impl TestDatabase {
    /// Another handle on a database a test already owns (for a second server on it);
    /// dropping it removes nothing.
    pub fn shared(url: &str) -> Self {
        Self {
            url: url.to_string(),
            _dir: None,
        }
    }
}

pub struct TestApp {
    pub address: String,
    pub database: TestDatabase,
    client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<anyhow::Result<()>>>,
}

fn init_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var("TEST_LOG").is_ok() {
            kpi_ledger::telemetry::init();
        }
    });
}

impl TestApp {
    pub async fn spawn(store: Store) -> Option<Self> {
        let database = TestDatabase::create(store).await?;
        Some(Self::start(database).await)
    }

    /// Starts a server on an existing database.
    pub async fn start(database: TestDatabase) -> Self {
        Self::start_with_upload_limit(database, kpi_ledger::http::DEFAULT_MAX_UPLOAD_BYTES).await
    }

    /// Starts a server whose uploads may carry at most `max_upload_bytes`.
    pub async fn start_with_upload_limit(database: TestDatabase, max_upload_bytes: usize) -> Self {
        Self::start_configured(database, max_upload_bytes, |app| app).await
    }

    /// Starts a server configured by `configure` (production switches, CORS).
    pub async fn start_configured(
        database: TestDatabase,
        max_upload_bytes: usize,
        configure: impl FnOnce(Application) -> Application,
    ) -> Self {
        init_logs();
        let app = Application::build_with_limits(
            &database.url,
            "127.0.0.1:0",
            &AuthSettings::default(),
            max_upload_bytes,
        )
        .await
        .expect("build application");
        let app = configure(app);
        let address = format!("http://{}", app.local_addr().unwrap());
        let (tx, rx) = oneshot::channel();
        let server = tokio::spawn(app.run_until(async {
            let _ = rx.await;
        }));
        Self {
            address,
            database,
            client: reqwest::Client::new(),
            shutdown: Some(tx),
            server: Some(server),
        }
    }

    /// Stops the server gracefully and starts a new one on the same database.
    pub async fn restart(mut self) -> Self {
        self.stop().await;
        let database = std::mem::replace(
            &mut self.database,
            TestDatabase {
                url: String::new(),
                _dir: None,
            },
        );
        Self::start(database).await
    }

    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task").expect("server ran");
        }
    }

    /// Creates a user directly in the database and returns a token for them.
    pub async fn user(&self, email: &str, name: &str, consultant: bool) -> String {
        let context = Context::connect(&self.database.url).await.expect("connect");
        let metadata = CommandMetadata::new(None, Uuid::new_v4());
        let account = context
            .services
            .accounts()
            .add(
                email,
                name,
                Grants {
                    consultant,
                    admin: false,
                },
                &metadata,
            )
            .await
            .expect("add user");
        let token = self.token_for(&context, account.user_id).await;
        context.db.close().await;
        token
    }

    /// A token for an account that already exists (e.g. created by addMember).
    pub async fn token_for_email(&self, email: &str) -> String {
        let context = Context::connect(&self.database.url).await.expect("connect");
        let account = context
            .services
            .accounts()
            .by_email(email)
            .await
            .expect("lookup")
            .expect("account exists");
        let token = self.token_for(&context, account.user_id).await;
        context.db.close().await;
        token
    }

    async fn token_for(
        &self,
        context: &Context,
        user_id: kpi_ledger_domain::ids::UserId,
    ) -> String {
        let tokens =
            TokenService::from_settings(&AuthSettings::default(), &context.db, &context.keyring)
                .await
                .expect("token service");
        let now = Utc::now();
        tokens
            .issue(user_id, now, now + Duration::hours(1))
            .expect("issue token")
    }

    pub async fn post(&self, token: Option<&str>, body: Value) -> reqwest::Response {
        let mut request = self
            .client
            .post(format!("{}/graphql", self.address))
            .json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request sent")
    }

    /// Runs a GraphQL operation and returns the whole response body.
    pub async fn gql(&self, token: &str, query: &str, variables: Value) -> Value {
        let response = self
            .post(
                Some(token),
                json!({ "query": query, "variables": variables }),
            )
            .await;
        assert_eq!(response.status(), 200, "GraphQL over HTTP answers 200");
        response.json().await.expect("JSON body")
    }

    /// Runs an operation that must succeed and returns its `data`.
    pub async fn ok(&self, token: &str, query: &str, variables: Value) -> Value {
        let body = self.gql(token, query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// Runs an operation that must fail and returns the first error's code.
    pub async fn error_code(&self, token: &str, query: &str, variables: Value) -> String {
        let body = self.gql(token, query, variables).await;
        body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("expected an error with a code, got {body}"))
            .to_string()
    }

    /// Rows in a table, for checking that nothing was written.
    pub async fn count(&self, table: &str) -> i64 {
        let db = kpi_ledger::store::Db::connect(&self.database.url)
            .await
            .unwrap();
        let sql = format!("SELECT COUNT(*) FROM {table}");
        let n: i64 = kpi_ledger::on_db!(&db, pool => sqlx::query_scalar(&sql).fetch_one(pool).await.unwrap());
        db.close().await;
        n
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Runs the async test body on SQLite and PostgreSQL as two tests.
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident) => {
        mod $name {
            use $crate::helpers::{Store, TestApp};

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                if let Some(app) = TestApp::spawn(Store::Sqlite).await {
                    super::$name(app).await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = TestApp::spawn(Store::Postgres).await {
                    super::$name(app).await;
                }
            }
        }
    };
}
