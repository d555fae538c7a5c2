//! `/metrics` in the Prometheus text format: API request latency per GraphQL operation,
//! each command's latency by kind and outcome, command conflicts and their retries, error
//! answers by code (CONFLICT counts command conflicts, RATE_LIMITED refusals), imports
//! (rows recorded and time spent, by outcome: rows per second is the ratio of their
//! rates), how far the read models lag behind the log (events and seconds) and the
//! connection pool's use. Off unless `--metrics-token` is given; then only a request bearing that token
//! reads it.

use crate::on_db;
use crate::store::{Db, StoreError};
use chrono::{DateTime, Utc};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::collections::HashSet;
use std::sync::atomic::AtomicU64;
use std::sync::Mutex;

/// Distinct operation names kept apart; further names count as `other`.
const MAX_OPERATIONS: usize = 200;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CommandLabels {
    command: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

/// How an import ended, as counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportOutcome {
    Recorded,
    /// The same bytes were imported before: nothing recorded.
    Repeated,
    /// The file had problems: nothing recorded.
    Refused,
    /// The server could not finish it: nothing recorded.
    Failed,
}

impl ImportOutcome {
    fn label(self) -> &'static str {
        match self {
            ImportOutcome::Recorded => "recorded",
            ImportOutcome::Repeated => "repeated",
            ImportOutcome::Refused => "refused",
            ImportOutcome::Failed => "failed",
        }
    }
}

/// The import jobs' counters: kept by the jobs, shown by [`Metrics`].
#[derive(Clone, Debug, Default)]
pub struct ImportMeter {
    rows: Family<OutcomeLabels, Counter>,
    seconds: Family<OutcomeLabels, Counter<f64, AtomicU64>>,
    jobs: Family<OutcomeLabels, Counter>,
}

impl ImportMeter {
    /// One import that read `rows` data rows in `seconds`.
    pub fn record(&self, outcome: ImportOutcome, rows: u64, seconds: f64) {
        let labels = OutcomeLabels {
            outcome: outcome.label(),
        };
        self.rows.get_or_create(&labels).inc_by(rows);
        self.seconds.get_or_create(&labels).inc_by(seconds);
        self.jobs.get_or_create(&labels).inc();
    }
}

fn latency_histogram() -> Histogram {
    // 1 ms … 16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// The server's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<OperationLabels, Histogram, fn() -> Histogram>,
    commands: Family<CommandLabels, Histogram, fn() -> Histogram>,
    retries: Counter,
    errors: Family<ErrorLabels, Counter>,
    lag_events: Gauge,
    lag_seconds: Gauge<f64, AtomicU64>,
    pool_connections: Gauge,
    pool_idle: Gauge,
    known: Mutex<HashSet<String>>,
}

impl Metrics {
    /// The server's metrics, with the imports counted by `imports`.
    pub fn new(imports: &ImportMeter) -> Self {
        let mut registry = Registry::with_prefix("kpi_ledger");
        let requests =
            Family::<OperationLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                latency_histogram,
            );
        let commands = Family::<CommandLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        let retries = Counter::default();
        let errors = Family::<ErrorLabels, Counter>::default();
        let lag_events = Gauge::default();
        let lag_seconds = Gauge::<f64, AtomicU64>::default();
        let pool_connections = Gauge::default();
        let pool_idle = Gauge::default();
        registry.register(
            "graphql_request_duration_seconds",
            "GraphQL requests by operation name (anonymous when unnamed)",
            requests.clone(),
        );
        registry.register(
            "command_duration_seconds",
            "Commands (a mutation's root fields) by kind and outcome (recorded, or refused when the answer held an error)",
            commands.clone(),
        );
        registry.register(
            "command_conflict_retries",
            "Commands decided again after another command on the same aggregate was appended first",
            retries.clone(),
        );
        registry.register(
            "import_rows",
            "Data rows read by finished imports, by outcome",
            imports.rows.clone(),
        );
        registry.register(
            "import_duration_seconds",
            "Time spent by finished imports, by outcome (import_rows over this is rows per second)",
            imports.seconds.clone(),
        );
        registry.register(
            "imports",
            "Finished imports by outcome",
            imports.jobs.clone(),
        );
        registry.register(
            "graphql_errors",
            "Error answers by code: CONFLICT counts commands that lost a race or found the ledger busy",
            errors.clone(),
        );
        registry.register(
            "projection_lag_events",
            "Events recorded but not yet in every read model",
            lag_events.clone(),
        );
        registry.register(
            "projection_lag_seconds",
            "Age of the oldest event not yet in every read model",
            lag_seconds.clone(),
        );
        registry.register(
            "db_pool_connections",
            "Open database connections",
            pool_connections.clone(),
        );
        registry.register(
            "db_pool_idle_connections",
            "Idle database connections",
            pool_idle.clone(),
        );
        Self {
            registry,
            requests,
            commands,
            retries,
            errors,
            lag_events,
            lag_seconds,
            pool_connections,
            pool_idle,
            known: Mutex::new(HashSet::new()),
        }
    }

    /// Records one GraphQL request: its duration and the codes of its errors.
    pub fn observe<'a>(
        &self,
        operation: Option<&str>,
        seconds: f64,
        codes: impl IntoIterator<Item = &'a str>,
    ) {
        let operation = self.label(operation);
        self.requests
            .get_or_create(&OperationLabels { operation })
            .observe(seconds);
        for code in codes {
            self.error(code);
        }
    }

    /// Counts an error answer given outside the schema (429, 401).
    pub fn error(&self, code: &str) {
        let code: String = code
            .chars()
            .filter(|c| c.is_ascii_uppercase() || *c == '_')
            .take(40)
            .collect();
        self.errors.get_or_create(&ErrorLabels { code }).inc();
    }

    /// A client-chosen operation name as a label: well-formed and among the first
    /// [`MAX_OPERATIONS`], or `other`.
    fn label(&self, operation: Option<&str>) -> String {
        let Some(name) = operation.filter(|n| !n.is_empty()) else {
            return "anonymous".into();
        };
        if name.len() > 64 || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return "other".into();
        }
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        if known.contains(name) || known.len() < MAX_OPERATIONS {
            known.insert(name.to_string());
            name.to_string()
        } else {
            "other".into()
        }
    }

    /// The metrics as text, with the lag and pool gauges read now.
    pub async fn render(&self, db: &Db) -> Result<String, StoreError> {
        let (head, behind): (Option<i64>, Option<i64>) = on_db!(db, pool => {
            sqlx::query_as(
                "SELECT (SELECT MAX(position) FROM events),
                        (SELECT MIN(position) FROM projection_checkpoints)",
            )
            .fetch_one(pool)
            .await?
        });
        let (head, behind) = (head.unwrap_or(0), behind.unwrap_or(0));
        let lag = (head - behind).max(0);
        self.lag_events.set(lag);
        let oldest: Option<DateTime<Utc>> = if lag == 0 {
            None
        } else {
            on_db!(db, pool => {
                sqlx::query_scalar("SELECT recorded_at FROM events WHERE position > $1 ORDER BY position LIMIT 1")
                    .bind(behind)
                    .fetch_optional(pool)
                    .await?
            })
        };
        self.lag_seconds.set(
            oldest
                .map(|at| (Utc::now() - at).num_milliseconds() as f64 / 1000.0)
                .unwrap_or(0.0),
        );
        let retried = crate::store::events::conflict_retries();
        self.retries
            .inc_by(retried.saturating_sub(self.retries.get()));
        let (size, idle) = on_db!(db, pool => (pool.size(), pool.num_idle()));
        self.pool_connections.set(i64::from(size));
        self.pool_idle.set(idle as i64);
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .map_err(|e| StoreError::Corrupt(format!("metrics: {e}")))?;
        Ok(out)
    }
}

impl kpi_ledger_graphql::timing::CommandClock for Metrics {
    fn observe(&self, command: &str, seconds: f64, refused: bool) {
        self.commands
            .get_or_create(&CommandLabels {
                command: command.to_string(),
                outcome: if refused { "refused" } else { "recorded" },
            })
            .observe(seconds);
    }
}
