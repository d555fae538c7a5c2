//! `kpi-ledger bench`: the load harness (docs/PERFORMANCE.md, "Load"). It seeds the demo
//! into the given (scratch) database, starts the real server on a free port, and runs each
//! scenario beside its raw-database baseline on the same database, interleaved: half the
//! time baseline, half kpi-ledger, twice over. Every response is checked; one error fails
//! the run. It prints one table: throughput, p50 and p99 of each side and their ratio.
//!
//! - B1 `recordObservation` at 1, 8 and 32 clients (each client its own series), against a
//!   single-row INSERT into a scratch table, autocommit, at the same concurrency.
//! - B7 the team scorecard of a month at 1, 8 and 64 connections, against a primary-key
//!   SELECT.
//! - B10 the team scorecard as of instants scattered over the demo engagement's history
//!   (after B1, its observations too) at 1 and 8 connections, against one ordered read of
//!   the engagement's events. `examples/bench_as_of.rs` does the same on an engagement of
//!   any size, beside other engagements.
//! - B11 a consultant's portfolio of 40 engagements (the demo's and as many new ones, each
//!   with a team KPI) with their current team scores, at 1 and 8 connections, against one
//!   GROUP BY over the same engagements' stored summaries.
//! - Web pages (each page of the web app a consultant or a member opens) at one client,
//!   against a primary-key SELECT.
//! - B6 the lag from a command's answer on this server to its effect being readable through
//!   a second server on the same database (no baseline).
//! - B3 an import of a generated `generic_csv` file (`--import-rows`, 100,000 by default)
//!   through the upload of a server in its own process, whose peak RSS is noted, against
//!   COPY of the same file into a plain table (PostgreSQL) or one prepared INSERT per row in
//!   one transaction (SQLite).
//! - B5 every read model rebuilt from the log (`projections rebuild`, into shadow tables
//!   while the server serves), against one ordered read of the whole log.
//!
//! Before the first scenario and after the last, the disk's rate of durable 4 KiB writes
//! (write + fdatasync) is noted: it bounds every durable commit.
//!
//! `--smoke` runs every scenario for a moment at one and two clients: the test suite does
//! that so the harness cannot rot. Its timings are never asserted.

mod disk;
pub mod import;
mod pages;
mod servers;

use crate::app::{Application, Context};
use crate::auth::AuthSettings;
use crate::on_db;
use crate::store::Db;
use anyhow::{anyhow, bail, Context as _};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What to run.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Seconds per scenario and client count (split between kpi-ledger and the baseline).
    #[arg(long, default_value_t = 8.0)]
    pub seconds: f64,
    /// A moment of every scenario at one and two clients (what the tests run).
    #[arg(long)]
    pub smoke: bool,
    /// Only these scenarios (b1, b7, b10, b11, pages, b6, b3, b5); all by default.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Rows of each B3 import (a generated `generic_csv` file per size).
    #[arg(long, value_delimiter = ',', default_value = "100000")]
    pub import_rows: Vec<u64>,
}

impl BenchArgs {
    fn runs(&self, scenario: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|s| s.eq_ignore_ascii_case(scenario))
    }
}

/// One line of the table.
#[derive(Debug, Clone)]
pub struct Line {
    pub scenario: String,
    pub clients: usize,
    pub ours: Sample,
    /// None where the scenario has no raw-database counterpart (B6's lag).
    pub baseline: Option<Sample>,
    /// What the throughput columns count.
    pub unit: &'static str,
}

/// What a run prints: the table, then notes on what a table cannot hold (peak memory, the
/// disk's durable-write rate).
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub lines: Vec<Line>,
    pub notes: Vec<String>,
}

/// Throughput and latency of one side.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    pub per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
}

impl Line {
    /// kpi-ledger's throughput over the baseline's, where there is a baseline.
    pub fn ratio(&self) -> Option<f64> {
        let baseline = self.baseline.as_ref()?;
        (baseline.per_second > 0.0).then(|| self.ours.per_second / baseline.per_second)
    }
}

/// A rate: whole numbers, except below 10 (a rebuild runs less than once a second).
fn rate(per_second: f64) -> String {
    if per_second < 10.0 {
        format!("{per_second:.2}")
    } else {
        format!("{per_second:.0}")
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// The `p` quantile (0 … 1) of `samples`, nearest rank; sorts them.
pub fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() as f64 - 1.0) * p).round() as usize]
}

/// The raw-database baseline of reads: one primary-key SELECT of an engagement's row.
pub async fn primary_key_select(db: &Db, engagement: &str) -> anyhow::Result<()> {
    let row: Option<(String,)> = on_db!(db, pool => {
        sqlx::query_as("SELECT name FROM engagements WHERE engagement_id = $1")
            .bind(engagement)
            .fetch_optional(pool)
            .await?
    });
    row.ok_or_else(|| anyhow!("no engagement row"))?;
    Ok(())
}

/// The table as Markdown, then the notes.
pub fn table(report: &Report) -> String {
    let mut out = String::from(
        "| scenario | clients | unit | kpi-ledger | p50 ms | p99 ms | baseline | p50 ms | p99 ms | ratio |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for l in &report.lines {
        let baseline = match &l.baseline {
            Some(b) => format!("{} | {} | {}", rate(b.per_second), ms(b.p50), ms(b.p99)),
            None => "— | — | —".into(),
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
            l.scenario,
            l.clients,
            l.unit,
            rate(l.ours.per_second),
            ms(l.ours.p50),
            ms(l.ours.p99),
            baseline,
            l.ratio().map_or("—".into(), |r| format!("{r:.4}")),
        ));
    }
    if !report.notes.is_empty() {
        out.push('\n');
        for note in &report.notes {
            out.push_str(&format!("- {note}\n"));
        }
    }
    out
}

/// One operation of a scenario, by client number and sequence.
pub type Operation = Arc<
    dyn Fn(usize, u64) -> futures::future::BoxFuture<'static, anyhow::Result<()>> + Send + Sync,
>;

/// Numbers every operation of the run once (the baseline's keys, B1's days).
static SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// Runs `operation` with `clients` concurrent loops for `time`; the latencies and the
/// time until the last operation ended (an operation started before `time` ran out is
/// finished and counted: a long one, such as a rebuild, may take far longer).
async fn drive(
    operation: Operation,
    clients: usize,
    time: Duration,
) -> anyhow::Result<(Vec<Duration>, Duration)> {
    let sequence = &SEQUENCE;
    let started = Instant::now();
    let until = started + time;
    let loops: Vec<_> = (0..clients)
        .map(|client| {
            let operation = operation.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while Instant::now() < until {
                    let n = sequence.fetch_add(1, Ordering::Relaxed);
                    let started = Instant::now();
                    operation(client, n).await?;
                    latencies.push(started.elapsed());
                }
                anyhow::Ok(latencies)
            })
        })
        .collect();
    let mut all = Vec::new();
    for handle in loops {
        all.extend(handle.await??);
    }
    Ok((all, started.elapsed()))
}

fn sample(mut latencies: Vec<Duration>, time: Duration) -> Sample {
    if latencies.is_empty() {
        return Sample::default();
    }
    Sample {
        per_second: latencies.len() as f64 / time.as_secs_f64(),
        p50: percentile(&mut latencies, 0.5),
        p99: percentile(&mut latencies, 0.99),
    }
}

/// Interleaved: baseline, ours, baseline, ours.
pub async fn compare(
    scenario: &str,
    clients: usize,
    seconds: f64,
    ours: Operation,
    baseline: Operation,
) -> anyhow::Result<Line> {
    let quarter = Duration::from_secs_f64(seconds / 4.0);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let (mut a_time, mut b_time) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..2 {
        let (latencies, took) = drive(baseline.clone(), clients, quarter).await?;
        b.extend(latencies);
        b_time += took;
        let (latencies, took) = drive(ours.clone(), clients, quarter).await?;
        a.extend(latencies);
        a_time += took;
    }
    Ok(Line {
        scenario: scenario.to_string(),
        clients,
        ours: sample(a, a_time),
        baseline: Some(sample(b, b_time)),
        unit: "ops/s",
    })
}

/// Posts a GraphQL request and fails on any error in the answer.
pub async fn graphql(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    body: Value,
) -> anyhow::Result<Value> {
    let answer: Value = client
        .post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await?
        .json()
        .await?;
    if let Some(errors) = answer.get("errors") {
        bail!("the server answered an error: {errors}");
    }
    Ok(answer)
}

/// What every scenario is given: the scratch database, the server started on it, the
/// demo consultant's token and engagement.
pub struct Bench<'a> {
    pub database_url: &'a str,
    pub context: &'a Context,
    pub db: &'a Db,
    /// The server's GraphQL address.
    pub url: String,
    pub client: reqwest::Client,
    pub token: String,
    /// The demo member's token (Li Wei of Acme Home JP).
    pub member_token: String,
    /// The demo's Sakura Kitchen JP.
    pub engagement: String,
    pub args: &'a BenchArgs,
}

impl Bench<'_> {
    /// Seconds per scenario and client count.
    pub fn seconds(&self) -> f64 {
        if self.args.smoke {
            0.4
        } else {
            self.args.seconds
        }
    }

    /// The server's base address (no path).
    pub fn base(&self) -> &str {
        self.url.trim_end_matches("/graphql")
    }
}

/// Seeds the demo into `database_url` (a scratch database), starts the server and runs
/// every scenario.
pub async fn run(database_url: &str, args: &BenchArgs) -> anyhow::Result<Report> {
    let context = Context::connect(database_url).await?;
    // A scratch database only: never seed the demo into an installation's data.
    let recorded = crate::store::events::chained_through(&context.db).await?;
    let demo = context
        .services
        .accounts()
        .by_email(crate::demo::CONSULTANT)
        .await?
        .is_some();
    if recorded > 0 && !demo {
        context.db.close().await;
        bail!(
            "the database holds events that are not the demo's: bench seeds the demo and \
             writes scratch rows, so give it an empty database of its own"
        );
    }
    let disk = disk::directory(database_url);
    let mut notes = vec![disk::rate("at the start", &disk, args.smoke).await?];
    let tokens = crate::demo::seed(&context, &AuthSettings::default()).await?;
    let app = Application::build(database_url, "127.0.0.1:0", &AuthSettings::default())
        .await?
        .with_rate_limits((1_000_000, 1_000_000), (1_000_000, 1_000_000));
    let url = format!("http://{}/graphql", app.local_addr()?);
    let server = tokio::spawn(app.run_until(std::future::pending()));
    let result = async {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(128)
            .build()?;
        let engagement = demo_engagement(&client, &url, &tokens.consultant).await?;
        let bench = Bench {
            database_url,
            context: &context,
            db: &context.db,
            url: url.clone(),
            client,
            token: tokens.consultant.clone(),
            member_token: tokens.member.clone(),
            engagement,
            args,
        };
        let mut lines = scenarios(&bench).await?;
        if args.runs("pages") {
            lines.extend(pages::run(&bench).await.context("pages")?);
        }
        if args.runs("b6") {
            lines.extend(servers::lag(&bench).await.context("B6")?);
        }
        if args.runs("b3") {
            let (measured, said) = import::run(&bench).await.context("B3")?;
            lines.extend(measured);
            notes.extend(said);
        }
        if args.runs("b5") {
            lines.push(rebuild(&bench).await.context("B5")?);
        }
        anyhow::Ok(lines)
    }
    .await;
    server.abort();
    drop_scratch(&context.db).await?;
    context.db.close().await;
    let lines = result?;
    notes.push(disk::rate("at the end", &disk, args.smoke).await?);
    Ok(Report { lines, notes })
}

async fn drop_scratch(db: &Db) -> anyhow::Result<()> {
    on_db!(db, pool => {
        sqlx::query("DROP TABLE IF EXISTS bench_baseline").execute(pool).await?;
        sqlx::query("DROP TABLE IF EXISTS bench_copy").execute(pool).await?;
    });
    Ok(())
}

/// The id of the demo's Sakura Kitchen JP.
async fn demo_engagement(
    client: &reqwest::Client,
    url: &str,
    token: &str,
) -> anyhow::Result<String> {
    let engagements = graphql(
        client,
        url,
        token,
        json!({ "query": "{ engagements(first: 10) { nodes { id name } } }" }),
    )
    .await?;
    Ok(engagements["data"]["engagements"]["nodes"]
        .as_array()
        .and_then(|nodes| nodes.iter().find(|e| e["name"] == "Sakura Kitchen JP"))
        .and_then(|e| e["id"].as_str())
        .ok_or_else(|| anyhow!("the demo engagement is missing: {engagements}"))?
        .to_string())
}

/// B1, B7, B10 and B11.
async fn scenarios(bench: &Bench<'_>) -> anyhow::Result<Vec<Line>> {
    let (db, url, token, args) = (
        bench.db,
        bench.url.as_str(),
        bench.token.as_str(),
        bench.args,
    );
    let client = bench.client.clone();
    let engagement = bench.engagement.clone();
    drop_scratch(db).await?;
    on_db!(db, pool => {
        sqlx::query("CREATE TABLE bench_baseline (id BIGINT PRIMARY KEY, payload TEXT NOT NULL)")
            .execute(pool)
            .await?;
    });
    let (seconds, b1_clients, b7_clients, b10_clients): (f64, &[usize], &[usize], &[usize]) =
        if args.smoke {
            (0.4, &[1, 2], &[1, 2], &[1])
        } else {
            (args.seconds, &[1, 8, 32], &[1, 8, 64], &[1, 8])
        };
    let mut lines = Vec::new();

    // B1: a manual observation, each client on its own series (a scope of its own).
    let record: Operation = {
        let (client, url, token, engagement) = (
            client.clone(),
            url.to_string(),
            token.to_string(),
            engagement.clone(),
        );
        Arc::new(move |who, n| {
            let (client, url, token) = (client.clone(), url.clone(), token.clone());
            // A new day each time: every request records, none restates.
            let day = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("a date")
                + chrono::Duration::days((n % 36_500) as i64);
            let body = json!({
                "query": "mutation($i: RecordObservationInput!) { recordObservation(input: $i) { value } }",
                "variables": { "i": { "engagementId": engagement, "metric": "gmv",
                    "platform": "amazon_jp", "scope": format!("BENCH-{who}"),
                    "date": day.to_string(), "value": (1000 + n).to_string() } } });
            Box::pin(async move { graphql(&client, &url, &token, body).await.map(|_| ()) })
        })
    };
    let insert: Operation = {
        let db = db.clone();
        Arc::new(move |_, n| {
            let db = db.clone();
            Box::pin(async move {
                on_db!(&db, pool => {
                    sqlx::query("INSERT INTO bench_baseline (id, payload) VALUES ($1, $2)")
                        .bind(n as i64)
                        .bind(format!("{{\"value\": {n}}}"))
                        .execute(pool)
                        .await?;
                });
                Ok(())
            })
        })
    };
    for &clients in b1_clients.iter().filter(|_| args.runs("b1")) {
        lines.push(
            compare(
                "B1 recordObservation vs INSERT",
                clients,
                seconds,
                record.clone(),
                insert.clone(),
            )
            .await
            .context("B1")?,
        );
    }

    // B7: the team scorecard of a month against a primary-key SELECT.
    let card: Operation = {
        let (client, url, token, engagement) = (
            client.clone(),
            url.to_string(),
            token.to_string(),
            engagement.clone(),
        );
        Arc::new(move |_, _| {
            let (client, url, token) = (client.clone(), url.clone(), token.clone());
            let body = json!({
                "query": "query($id: UUID!) { engagement(id: $id) { scorecard(period: \"2026-06\") { score kpis { score } } } }",
                "variables": { "id": engagement } });
            Box::pin(async move {
                let answer = graphql(&client, &url, &token, body).await?;
                if answer["data"]["engagement"]["scorecard"].is_null() {
                    bail!("no scorecard: {answer}");
                }
                Ok(())
            })
        })
    };
    let select: Operation = {
        let (db, engagement) = (db.clone(), engagement.clone());
        Arc::new(move |_, _| {
            let (db, engagement) = (db.clone(), engagement.clone());
            Box::pin(async move { primary_key_select(&db, &engagement).await })
        })
    };
    for &clients in b7_clients.iter().filter(|_| args.runs("b7")) {
        lines.push(
            compare(
                "B7 team scorecard vs primary-key SELECT",
                clients,
                seconds,
                card.clone(),
                select.clone(),
            )
            .await
            .context("B7")?,
        );
    }

    // B10: the team scorecard as of instants scattered over the engagement's history
    // (after B1, its observations too), against one ordered read of its events.
    if args.runs("b10") {
        let mut instants = Vec::new();
        let mut after = 0;
        loop {
            let events =
                crate::store::events::chained_events(db, &engagement, after, i64::MAX, 5_000)
                    .await?;
            let Some(last) = events.last() else { break };
            after = last.position;
            instants.extend(events.iter().map(|e| e.recorded_at.to_rfc3339()));
        }
        if instants.is_empty() {
            bail!("the demo engagement has no events");
        }
        let instants = Arc::new(instants);
        let as_of: Operation = {
            let (client, url, token, engagement) = (
                client.clone(),
                url.to_string(),
                token.to_string(),
                engagement.clone(),
            );
            Arc::new(move |_, n| {
                let (client, url, token) = (client.clone(), url.clone(), token.clone());
                // A scattered walk over the history: every instant once before any twice.
                let at = &instants[(n as usize).wrapping_mul(7919) % instants.len()];
                let body = json!({
                    "query": "query($id: UUID!, $at: DateTime!) { engagement(id: $id) { scorecard(period: \"2026-06\", asOf: $at) { score asOfPosition } } }",
                    "variables": { "id": engagement, "at": at } });
                Box::pin(async move {
                    let answer = graphql(&client, &url, &token, body).await?;
                    if answer["data"]["engagement"]["scorecard"]["asOfPosition"].is_null() {
                        bail!("no as-of scorecard: {answer}");
                    }
                    Ok(())
                })
            })
        };
        let ordered: Operation = {
            let (db, engagement) = (db.clone(), engagement.clone());
            Arc::new(move |_, _| {
                let (db, engagement) = (db.clone(), engagement.clone());
                Box::pin(async move { ordered_read(&db, &engagement).await })
            })
        };
        for &clients in b10_clients {
            lines.push(
                compare(
                    "B10 as-of scorecard vs ordered read of its events",
                    clients,
                    seconds,
                    as_of.clone(),
                    ordered.clone(),
                )
                .await
                .context("B10")?,
            );
        }
    }
    // B11: a consultant's portfolio of 40 engagements with their current team scores,
    // against one GROUP BY over the same engagements' stored summaries.
    if args.runs("b11") {
        let portfolio_size = if args.smoke { 4 } else { 40 };
        let viewer = graphql(&client, url, token, json!({ "query": "{ viewer { id } }" })).await?
            ["data"]["viewer"]["id"]
            .as_str()
            .ok_or_else(|| anyhow!("no viewer"))?
            .to_string();
        let listed = graphql(
            &client,
            url,
            token,
            json!({ "query": "{ engagements(first: 100) { totalCount } }" }),
        )
        .await?["data"]["engagements"]["totalCount"]
            .as_u64()
            .unwrap_or(0) as usize;
        for n in listed..portfolio_size {
            let opened = graphql(
                &client,
                url,
                token,
                json!({ "query": "mutation($i: OpenEngagementInput!) { openEngagement(input: $i) { id } }",
                        "variables": { "i": { "name": format!("Portfolio client {n}"),
                                              "clientName": format!("Client {n} KK") } } }),
            )
            .await?;
            let id = opened["data"]["openEngagement"]["id"].clone();
            graphql(
                &client,
                url,
                token,
                json!({ "query": "mutation($i: DefineKpiInput!) { defineKpi(input: $i) { id } }",
                        "variables": { "i": { "engagementId": id, "metric": "gmv", "weight": "1",
                                              "assignee": { "team": true } } } }),
            )
            .await?;
        }
        let portfolio: Operation = {
            let (client, url, token) = (client.clone(), url.to_string(), token.to_string());
            Arc::new(move |_, _| {
                let (client, url, token) = (client.clone(), url.clone(), token.clone());
                let body = json!({ "query": "{ engagements(first: 100) { nodes { id summary { period score complete } } } }" });
                Box::pin(async move {
                    let answer = graphql(&client, &url, &token, body).await?;
                    let shown = answer["data"]["engagements"]["nodes"]
                        .as_array()
                        .map_or(0, Vec::len);
                    if shown < portfolio_size {
                        bail!("the portfolio lists {shown} engagements, not {portfolio_size}");
                    }
                    Ok(())
                })
            })
        };
        let group_by: Operation = {
            let (db, viewer) = (db.clone(), viewer.clone());
            Arc::new(move |_, _| {
                let (db, viewer) = (db.clone(), viewer.clone());
                Box::pin(async move {
                    let rows: Vec<(String, i64)> = on_db!(&db, pool => {
                        sqlx::query_as(
                            "SELECT m.engagement_id, COUNT(s.period)
                               FROM engagement_members m
                               LEFT JOIN engagement_summaries s ON s.engagement_id = m.engagement_id
                              WHERE m.user_id = $1
                              GROUP BY m.engagement_id",
                        )
                        .bind(&viewer)
                        .fetch_all(pool)
                        .await?
                    });
                    if rows.len() < portfolio_size {
                        bail!("the baseline found {} engagements", rows.len());
                    }
                    Ok(())
                })
            })
        };
        for &clients in b10_clients {
            lines.push(
                compare(
                    "B11 portfolio with team scores vs GROUP BY",
                    clients,
                    seconds,
                    portfolio.clone(),
                    group_by.clone(),
                )
                .await
                .context("B11")?,
            );
        }
    }

    Ok(lines)
}

/// B5: every read model rebuilt from the log (into shadow tables, swapped in, while the
/// server serves), against one ordered read of the whole log.
async fn rebuild(bench: &Bench<'_>) -> anyhow::Result<Line> {
    let db = bench.db;
    let projector = Arc::new(crate::projector::Projector::new(db.clone()));
    let rebuild: Operation = {
        let projector = projector.clone();
        Arc::new(move |_, _| {
            let projector = projector.clone();
            Box::pin(async move {
                projector.rebuild(None).await?;
                Ok(())
            })
        })
    };
    let read_log: Operation = {
        let db = db.clone();
        Arc::new(move |_, _| {
            let db = db.clone();
            Box::pin(async move { ordered_log_read(&db).await })
        })
    };
    compare(
        "B5 rebuild of every read model vs ordered read of the log",
        1,
        bench.seconds(),
        rebuild,
        read_log,
    )
    .await
}

/// The raw-database baseline of a rebuild: every event of the log, in order, with its
/// payload and metadata.
pub async fn ordered_log_read(db: &Db) -> anyhow::Result<()> {
    use futures::TryStreamExt;
    // Streamed, as a rebuild reads it: the log may not fit in memory.
    let rows: usize = on_db!(db, pool => {
        sqlx::query_as::<_, (i64, String, String)>(match db.backend() {
            crate::store::Backend::Postgres => {
                "SELECT position, payload::text, metadata::text FROM events ORDER BY position"
            }
            crate::store::Backend::Sqlite => {
                "SELECT position, payload, metadata FROM events ORDER BY position"
            }
        })
        .fetch(pool)
        .try_fold(0, |n, _| async move { Ok(n + 1) })
        .await?
    });
    if rows == 0 {
        bail!("the log is empty");
    }
    Ok(())
}

/// The raw-database baseline of a replay: every event of one engagement, in order, with
/// its payload, through the engagement index.
pub async fn ordered_read(db: &Db, engagement: &str) -> anyhow::Result<()> {
    let rows: Vec<(i64, String)> = on_db!(db, pool => {
        sqlx::query_as(match db.backend() {
            crate::store::Backend::Postgres => {
                "SELECT e.position, e.payload::text FROM event_chain c
                   JOIN events e ON e.position = c.position
                  WHERE c.chain = $1 ORDER BY c.position"
            }
            crate::store::Backend::Sqlite => {
                "SELECT e.position, e.payload FROM event_chain c
                   JOIN events e ON e.position = c.position
                  WHERE c.chain = $1 ORDER BY c.position"
            }
        })
        .bind(engagement)
        .fetch_all(pool)
        .await?
    });
    if rows.is_empty() {
        bail!("the engagement's events are missing");
    }
    Ok(())
}
