//! Logging: human-readable lines by default, JSON with `KPI_LEDGER_LOG_FORMAT=json`;
//! filtered by `RUST_LOG` (default `info`). Logs go to stderr so that commands such as
//! `token issue` keep stdout for their output; colours only when stderr is a terminal.
//! While a command shows a progress bar ([`show_progress`]), log lines are printed above
//! it instead of through it.

use indicatif::ProgressBar;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// The progress bar on screen, if any.
static BAR: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Log lines go above `bar` while it is shown.
pub fn show_progress(bar: &ProgressBar) {
    if let Ok(mut slot) = BAR.lock() {
        *slot = Some(bar.clone());
    }
}

/// The bar is gone; log lines go straight to stderr again.
pub fn hide_progress() {
    if let Ok(mut slot) = BAR.lock() {
        *slot = None;
    }
}

/// Writes each log line to stderr, suspending the progress bar around it.
struct AboveProgress;

impl Write for AboveProgress {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let bar = BAR.lock().ok().and_then(|slot| slot.clone());
        match bar {
            Some(bar) => bar.suspend(|| std::io::stderr().write_all(buf))?,
            None => std::io::stderr().write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

struct MakeAboveProgress;

impl<'a> MakeWriter<'a> for MakeAboveProgress {
    type Writer = AboveProgress;
    fn make_writer(&'a self) -> Self::Writer {
        AboveProgress
    }
}

pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(MakeAboveProgress);
    let result = if std::env::var("KPI_LEDGER_LOG_FORMAT").as_deref() == Ok("json") {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    // A second init (tests spawning several servers in one process) is harmless.
    let _ = result;
}
