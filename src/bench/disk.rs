//! The disk's rate of durable writes: 4 KiB written at the start of a scratch file and
//! flushed with fdatasync, again and again. Every durable commit waits for at least one
//! such flush, so this rate bounds a single client's commits per second; measured at the
//! start and the end of a run, it shows whether the disk changed under the run.

use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Where the database's files are: beside an SQLite database; for a server database, the
/// temporary directory (its data directory is not known here, and on one machine it is
/// usually the same disk).
pub fn directory(database_url: &str) -> PathBuf {
    let file = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .map(|rest| rest.split('?').next().unwrap_or(rest))
        .filter(|path| !path.is_empty() && !path.starts_with(":memory:"));
    match file.and_then(|f| Path::new(f).parent().map(Path::to_path_buf)) {
        Some(dir) if dir.as_os_str().is_empty() => PathBuf::from("."),
        Some(dir) => dir,
        None => std::env::temp_dir(),
    }
}

/// The rate in `dir`, as a note for the report.
pub async fn rate(when: &str, dir: &Path, smoke: bool) -> anyhow::Result<String> {
    let time = Duration::from_millis(if smoke { 100 } else { 1_000 });
    let owned = dir.to_path_buf();
    let (flushes, took) = tokio::task::spawn_blocking(move || flushes(&owned, time)).await??;
    Ok(format!(
        "fdatasync {when}: {:.0} durable 4 KiB writes/s in {} ({flushes} in {:.2} s)",
        flushes as f64 / took.as_secs_f64(),
        dir.display(),
        took.as_secs_f64()
    ))
}

fn flushes(dir: &Path, time: Duration) -> anyhow::Result<(u64, Duration)> {
    let mut file = tempfile::tempfile_in(dir)?;
    let block = [0x5au8; 4096];
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < time || n == 0 {
        file.seek(SeekFrom::Start(0))?;
        file.write_all(&block)?;
        file.sync_data()?;
        n += 1;
    }
    Ok((n, started.elapsed()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_directory_is_the_sqlite_database_s_or_the_temporary_one() {
        assert_eq!(
            directory("sqlite:///var/lib/kpi/ledger.db?mode=rwc"),
            PathBuf::from("/var/lib/kpi")
        );
        assert_eq!(directory("sqlite://ledger.db"), PathBuf::from("."));
        assert_eq!(directory("sqlite::memory:"), std::env::temp_dir());
        assert_eq!(
            directory("postgres://postgres@127.0.0.1/kpi"),
            std::env::temp_dir()
        );
    }
}
