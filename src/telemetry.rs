//! Logging: human-readable lines by default, JSON with `KPI_LEDGER_LOG_FORMAT=json`;
//! filtered by `RUST_LOG` (default `info`). Logs go to stderr so that commands such as
//! `token issue` keep stdout for their output.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = if std::env::var("KPI_LEDGER_LOG_FORMAT").as_deref() == Ok("json") {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    // A second init (tests spawning several servers in one process) is harmless.
    let _ = result;
}
