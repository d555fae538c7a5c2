//! B3: a generated `generic_csv` file imported through the upload of a server running in a
//! process of its own (so its peak RSS is the import's, not the harness's), against the
//! same file's rows written into a plain table by the database's own bulk path: COPY on
//! PostgreSQL, multi-row INSERTs in one transaction on SQLite. Each side runs twice,
//! interleaved; each import goes into a new engagement, so none is a repeat.

use super::{graphql, Bench, Line, Sample};
use crate::on_db;
use crate::store::Db;
use anyhow::{anyhow, bail, Context as _};
use serde_json::{json, Value};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Writes a `generic_csv` file of `rows` rows: daily GMV of `rows / 1,000` SKUs over 1,000
/// days from 2023-01-01, every key unique.
pub fn write_generic_csv(rows: u64, out: &mut impl Write) -> std::io::Result<()> {
    let days = 1_000u64.min(rows.max(1));
    let skus = rows.div_ceil(days);
    let start = chrono::NaiveDate::from_ymd_opt(2023, 1, 1).expect("valid date");
    writeln!(out, "date,platform,metric,value,scope")?;
    let mut written = 0u64;
    'outer: for sku in 0..skus {
        for day in 0..days {
            if written == rows {
                break 'outer;
            }
            let date = start + chrono::Duration::days(day as i64);
            let value = 1_000 + (sku * 7919 + day * 104_729) % 90_000;
            writeln!(out, "{date},amazon_jp,gmv,{value},SKU-{sku:06}")?;
            written += 1;
        }
    }
    out.flush()
}

pub async fn run(bench: &Bench<'_>) -> anyhow::Result<(Vec<Line>, Vec<String>)> {
    let sizes: Vec<u64> = if bench.args.smoke {
        vec![2_000]
    } else {
        bench.args.import_rows.clone()
    };
    let dir = tempfile::tempdir()?;
    let (mut lines, mut notes) = (Vec::new(), Vec::new());
    for rows in sizes {
        let file = dir.path().join(format!("rows-{rows}.csv"));
        {
            let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&file)?);
            write_generic_csv(rows, &mut out)?;
        }
        let mut ours = Vec::new();
        let mut baseline = Vec::new();
        let mut peaks = Vec::new();
        for _ in 0..2 {
            let started = Instant::now();
            bulk_write(bench.db, &file).await?;
            baseline.push(started.elapsed());
            let server = ChildServer::start(bench.database_url, dir.path()).await?;
            let outcome = import(bench, &server, &file, rows).await;
            let peak = server.peak_rss_kib();
            server.stop().await;
            ours.push(outcome?);
            peaks.push(peak?);
        }
        let bulk = match bench.db {
            Db::Postgres(_) => "COPY",
            Db::Sqlite(_) => "bulk INSERT",
        };
        lines.push(Line {
            scenario: format!("B3 import of {rows} rows vs {bulk} into a plain table"),
            clients: 1,
            ours: rows_per_second(rows, ours),
            baseline: Some(rows_per_second(rows, baseline)),
            unit: "rows/s",
        });
        notes.push(format!(
            "B3 peak RSS of the server importing {rows} rows: {} MiB (the larger of two runs; \
             the server process from its start)",
            peaks.iter().max().copied().unwrap_or(0) / 1024
        ));
    }
    on_db!(bench.db, pool => {
        sqlx::query("DROP TABLE IF EXISTS bench_copy").execute(pool).await?;
    });
    Ok((lines, notes))
}

/// Rows per second over all runs; p50 and p99 are of the runs' durations.
fn rows_per_second(rows: u64, mut runs: Vec<Duration>) -> Sample {
    let total: Duration = runs.iter().sum();
    Sample {
        per_second: (rows * runs.len() as u64) as f64 / total.as_secs_f64(),
        p50: super::percentile(&mut runs, 0.5),
        p99: super::percentile(&mut runs, 0.99),
    }
}

/// The same rows into a fresh plain table by the database's bulk path.
async fn bulk_write(db: &Db, file: &Path) -> anyhow::Result<()> {
    const CREATE: &str = "CREATE TABLE bench_copy (day DATE NOT NULL, platform TEXT NOT NULL, \
                          metric TEXT NOT NULL, value NUMERIC NOT NULL, scope TEXT)";
    on_db!(db, pool => {
        sqlx::query("DROP TABLE IF EXISTS bench_copy").execute(pool).await?;
        sqlx::query(CREATE).execute(pool).await?;
    });
    match db {
        Db::Postgres(pool) => {
            let mut connection = pool.acquire().await?;
            let mut copy = connection
                .copy_in_raw("COPY bench_copy FROM STDIN WITH (FORMAT csv, HEADER true)")
                .await?;
            copy.read_from(tokio::fs::File::open(file).await?).await?;
            copy.finish().await?;
        }
        Db::Sqlite(pool) => {
            // 100 rows per statement (500 positional parameters), one transaction.
            const BATCH: usize = 100;
            let reader = std::io::BufReader::new(std::fs::File::open(file)?);
            let mut tx = pool.begin().await?;
            let mut batch: Vec<[String; 5]> = Vec::with_capacity(BATCH);
            for line in reader.lines().skip(1) {
                let line = line?;
                let mut fields = line.splitn(5, ',').map(str::to_string);
                let mut next = || fields.next().ok_or_else(|| anyhow!("short row: {line}"));
                batch.push([next()?, next()?, next()?, next()?, next()?]);
                if batch.len() == BATCH {
                    insert_batch(&mut tx, &batch).await?;
                    batch.clear();
                }
            }
            if !batch.is_empty() {
                insert_batch(&mut tx, &batch).await?;
            }
            tx.commit().await?;
        }
    }
    Ok(())
}

async fn insert_batch(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    rows: &[[String; 5]],
) -> anyhow::Result<()> {
    let mut sql = String::from("INSERT INTO bench_copy VALUES ");
    for i in 0..rows.len() {
        sql.push_str(if i == 0 {
            "(?,?,?,?,?)"
        } else {
            ",(?,?,?,?,?)"
        });
    }
    let mut query = sqlx::query(&sql);
    for row in rows {
        for field in row {
            query = query.bind(field.as_str());
        }
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

/// Opens a new engagement, uploads `file` and waits until its import job ends; the time
/// from the upload's start to the job's success.
async fn import(
    bench: &Bench<'_>,
    server: &ChildServer,
    file: &Path,
    rows: u64,
) -> anyhow::Result<Duration> {
    let opened = graphql(
        &bench.client,
        &server.url,
        &bench.token,
        json!({ "query": "mutation($i: OpenEngagementInput!) { openEngagement(input: $i) { id } }",
                "variables": { "i": { "name": format!("Import bench {}", uuid::Uuid::new_v4()),
                                      "clientName": "Import bench KK",
                                      "platforms": ["amazon_jp"] } } }),
    )
    .await?;
    let engagement = opened["data"]["openEngagement"]["id"]
        .as_str()
        .ok_or_else(|| anyhow!("no engagement: {opened}"))?
        .to_string();
    let started = Instant::now();
    let operations = json!({
        "query": "mutation($input: ImportMetricsInput!, $file: Upload!) { importMetrics(input: $input, file: $file) { id } }",
        "variables": { "input": { "engagementId": engagement, "format": "GENERIC_CSV" }, "file": null } });
    let length = tokio::fs::metadata(file).await?.len();
    let body = reqwest::Body::from(tokio::fs::File::open(file).await?);
    let form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({ "0": ["variables.file"] }).to_string())
        .part(
            "0",
            reqwest::multipart::Part::stream_with_length(body, length).file_name("rows.csv"),
        );
    let answer: Value = bench
        .client
        .post(&server.url)
        .bearer_auth(&bench.token)
        .multipart(form)
        .send()
        .await?
        .json()
        .await?;
    if let Some(errors) = answer.get("errors") {
        bail!("the upload was refused: {errors}");
    }
    let job = answer["data"]["importMetrics"]["id"]
        .as_str()
        .ok_or_else(|| anyhow!("no import job: {answer}"))?
        .to_string();
    let jobs = json!({
        "query": "query($id: UUID!) { engagement(id: $id) { imports { nodes { id status message observationsRecorded } } } }",
        "variables": { "id": engagement } });
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let answer = graphql(&bench.client, &server.url, &bench.token, jobs.clone()).await?;
        let found = answer["data"]["engagement"]["imports"]["nodes"]
            .as_array()
            .and_then(|nodes| nodes.iter().find(|j| j["id"] == job.as_str()))
            .cloned()
            .ok_or_else(|| anyhow!("import job {job} is not listed: {answer}"))?;
        match found["status"].as_str() {
            Some("SUCCEEDED") => {
                let took = started.elapsed();
                if found["observationsRecorded"].as_u64() != Some(rows) {
                    bail!("the import recorded other than {rows} observations: {found}");
                }
                return Ok(took);
            }
            Some("FAILED") => bail!("the import failed: {found}"),
            _ => {}
        }
    }
}

/// `kpi-ledger serve` in a process of its own, on the same database and key file.
struct ChildServer {
    child: std::process::Child,
    url: String,
    log: PathBuf,
}

impl ChildServer {
    async fn start(database_url: &str, dir: &Path) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let log = dir.join("server.log");
        let child = std::process::Command::new(std::env::current_exe()?)
            .args(["--database-url", database_url, "serve", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .spawn()
            .context("cannot start a server process")?;
        let server = Self {
            child,
            url: format!("http://127.0.0.1:{port}/graphql"),
            log,
        };
        let ready = format!("http://127.0.0.1:{port}/readyz");
        for _ in 0..300 {
            if let Ok(response) = reqwest::get(&ready).await {
                if response.status().is_success() {
                    return Ok(server);
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let said = std::fs::read_to_string(&server.log).unwrap_or_default();
        bail!("the server process did not become ready: {said}")
    }

    /// The process's peak resident set (VmHWM), in KiB.
    fn peak_rss_kib(&self) -> anyhow::Result<u64> {
        let pid = self.child.id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| anyhow!("no VmHWM in /proc/{pid}/status"))
    }

    async fn stop(mut self) {
        let _ = self.child.kill();
        let _ = tokio::task::spawn_blocking(move || self.child.wait()).await;
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        // A run that failed half-way leaves no server behind.
        let _ = self.child.kill();
    }
}
