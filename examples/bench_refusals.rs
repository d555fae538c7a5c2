//! Hostile requests: how long the server takes to refuse each, and how reads fare meanwhile
//! (docs/PERFORMANCE.md, "Refusals").
//!
//! ```sh
//! cargo run --release --example bench_refusals -- sqlite:///tmp/refusals.db
//! cargo run --release --example bench_refusals -- postgres://postgres@127.0.0.1:5432/refusals
//! ```
//!
//! On an empty database: seeds the demo and starts the real server on a free port. Then,
//! `--rounds` times (default 20), interleaved: the 30-level doubling fragment chain, 600
//! aliases of `scorecard(asOf:)`, a multipart upload whose map names the file 50,000 times
//! — each must be refused with its code — and, as the baseline, an ordinary read (the
//! viewer) and one primary-key SELECT on the same database. On PostgreSQL, last: a side
//! transaction holds the append lock while twenty commands wait behind it; each command
//! must answer CONFLICT "busy", and the ordinary read is timed while they wait.

use anyhow::{anyhow, bail, Context as _};
use kpi_ledger::app::{Application, Context};
use kpi_ledger::auth::AuthSettings;
use kpi_ledger::bench::{percentile, primary_key_select};
use kpi_ledger::store::Db;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn fragments(levels: usize) -> String {
    let mut query = String::from("fragment F0 on QueryRoot { metricCatalog { key } }\n");
    for level in 1..=levels {
        let p = level - 1;
        query.push_str(&format!(
            "fragment F{level} on QueryRoot {{ ...F{p} ...F{p} }}\n"
        ));
    }
    query.push_str(&format!("query {{ ...F{levels} }}"));
    query
}

fn aliases(n: usize) -> String {
    let fields: String = (0..n)
        .map(|i| {
            format!(
                "a{i}: scorecard(period: \"2026-06\", asOf: \"2030-01-01T00:00:00Z\") {{ score }} "
            )
        })
        .collect();
    format!("query($id: UUID!) {{ engagement(id: $id) {{ {fields} }} }}")
}

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("(none)")
}

struct Bench {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Bench {
    async fn gql(&self, query: &str, variables: Value) -> anyhow::Result<(Duration, Value)> {
        let started = Instant::now();
        let body: Value = self
            .client
            .post(format!("{}/graphql", self.base))
            .bearer_auth(&self.token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await?
            .json()
            .await?;
        Ok((started.elapsed(), body))
    }

    async fn refused(
        &self,
        query: &str,
        variables: Value,
        expected: &str,
    ) -> anyhow::Result<Duration> {
        let (took, body) = self.gql(query, variables).await?;
        if code(&body) != expected {
            bail!("expected {expected}, got {body}");
        }
        Ok(took)
    }

    async fn read(&self) -> anyhow::Result<Duration> {
        let (took, body) = self.gql("{ viewer { id } }", json!({})).await?;
        if body.get("errors").is_some() {
            bail!("the ordinary read failed: {body}");
        }
        Ok(took)
    }

    async fn huge_map(&self, engagement: &str) -> anyhow::Result<Duration> {
        let operations = json!({
            "query": "mutation($input: ImportMetricsInput!, $file: Upload!) { importMetrics(input: $input, file: $file) { id } }",
            "variables": { "input": { "engagementId": engagement, "format": "GENERIC_CSV",
                                      "platform": "amazon_jp" }, "file": null } });
        let map = json!({ "0": vec!["variables.file"; 50_000] });
        let form = reqwest::multipart::Form::new()
            .text("operations", operations.to_string())
            .text("map", map.to_string())
            .part(
                "0",
                reqwest::multipart::Part::bytes(b"date,platform,metric,value\n".to_vec())
                    .file_name("x.csv"),
            );
        let started = Instant::now();
        let response = self
            .client
            .post(format!("{}/graphql", self.base))
            .bearer_auth(&self.token)
            .multipart(form)
            .send()
            .await?;
        let status = response.status();
        let _ = response.bytes().await?;
        if !status.is_client_error() {
            bail!("a 50,000-entry map answered {status}");
        }
        Ok(started.elapsed())
    }
}

async fn raw(db: &Db, engagement: &str) -> anyhow::Result<Duration> {
    let started = Instant::now();
    primary_key_select(db, engagement).await?;
    Ok(started.elapsed())
}

fn line(name: &str, samples: &mut [Duration], baseline: Duration) {
    let p50 = percentile(samples, 0.5);
    let p99 = percentile(samples, 0.99);
    println!(
        "| {name} | {} | {} | {:.1} |",
        ms(p50),
        ms(p99),
        p50.as_secs_f64() / baseline.as_secs_f64()
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .ok_or_else(|| anyhow!("usage: bench_refusals DATABASE_URL [--rounds N]"))?;
    let rounds: usize = match (args.next().as_deref(), args.next()) {
        (Some("--rounds"), Some(n)) => n.parse().context("--rounds")?,
        _ => 20,
    };
    let context = Context::connect(&url).await?;
    let tokens = kpi_ledger::demo::seed(&context, &AuthSettings::default()).await?;
    // Generous rate limits: the benchmark is one user sending many requests on purpose.
    let app = Application::build(&url, "127.0.0.1:0", &AuthSettings::default())
        .await?
        .with_rate_limits((10_000, 10_000), (10_000, 10_000));
    let base = format!("http://{}", app.local_addr()?);
    let server = tokio::spawn(app.run_until(std::future::pending()));
    let bench = Bench {
        client: reqwest::Client::new(),
        base,
        token: tokens.consultant.clone(),
    };
    let (_, engagements) = bench
        .gql("{ engagements(first: 10) { nodes { id } } }", json!({}))
        .await?;
    let engagement = engagements["data"]["engagements"]["nodes"][0]["id"]
        .as_str()
        .ok_or_else(|| anyhow!("no demo engagement: {engagements}"))?
        .to_string();

    let chain = fragments(30);
    let many = aliases(600);
    let (mut fragment, mut alias, mut map, mut read, mut baseline) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        fragment.push(bench.refused(&chain, json!({}), "TOO_COMPLEX").await?);
        read.push(bench.read().await?);
        alias.push(
            bench
                .refused(&many, json!({ "id": engagement }), "TOO_COMPLEX")
                .await?,
        );
        baseline.push(raw(&context.db, &engagement).await?);
        map.push(bench.huge_map(&engagement).await?);
    }
    let base_p50 = percentile(&mut baseline, 0.5);
    println!(
        "\n{} rounds on {}\n",
        rounds,
        kpi_ledger::store::redact(&url)
    );
    println!("| request | p50 | p99 | p50 ÷ raw SELECT p50 |");
    println!("| --- | --- | --- | --- |");
    line("raw primary-key SELECT (baseline)", &mut baseline, base_p50);
    line("ordinary read `{ viewer { id } }`", &mut read, base_p50);
    line(
        "30-level fragment chain (1.9 KB) → TOO_COMPLEX",
        &mut fragment,
        base_p50,
    );
    line(
        "600 `scorecard(asOf:)` aliases → TOO_COMPLEX",
        &mut alias,
        base_p50,
    );
    line(
        "multipart map naming the file 50,000 times → 4xx",
        &mut map,
        base_p50,
    );

    if let Db::Postgres(_) = &context.db {
        let (release_tx, release) = tokio::sync::oneshot::channel::<()>();
        let (locked_tx, locked) = tokio::sync::oneshot::channel::<()>();
        let holder_url = url.clone();
        let holder = tokio::spawn(async move {
            let pool = sqlx::PgPool::connect(&holder_url).await?;
            let mut tx = pool.begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock(7305810240)")
                .execute(&mut *tx)
                .await?;
            let _ = locked_tx.send(());
            let _ = release.await;
            tx.rollback().await?;
            anyhow::Ok(())
        });
        locked.await?;
        let record =
            "mutation($i: RecordObservationInput!) { recordObservation(input: $i) { value } }";
        let input = json!({ "i": { "engagementId": engagement, "metric": "gmv",
                                   "platform": "amazon_jp", "date": "2026-06-01", "value": "100" } });
        let waiting: Vec<_> = (0..20)
            .map(|_| {
                let (client, base, token) = (
                    bench.client.clone(),
                    bench.base.clone(),
                    bench.token.clone(),
                );
                let body = json!({ "query": record, "variables": input });
                tokio::spawn(async move {
                    let started = Instant::now();
                    let answer: Value = client
                        .post(format!("{base}/graphql"))
                        .bearer_auth(token)
                        .json(&body)
                        .send()
                        .await?
                        .json()
                        .await?;
                    anyhow::Ok((started.elapsed(), answer))
                })
            })
            .collect();
        let mut reads = Vec::new();
        let until = Instant::now() + Duration::from_secs(4);
        while Instant::now() < until {
            reads.push(bench.read().await?);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut refusals = Vec::new();
        for command in waiting {
            let (took, answer) = command.await??;
            if code(&answer) != "CONFLICT" {
                bail!("a command behind the held lock answered {answer}");
            }
            refusals.push(took);
        }
        let _ = release_tx.send(());
        holder.await??;
        line(
            "ordinary read while 20 commands wait behind a held append lock",
            &mut reads,
            base_p50,
        );
        line(
            "command behind the held lock → CONFLICT busy (lock timeout 5 s; queued for a write slot 3 s)",
            &mut refusals,
            base_p50,
        );
    }
    server.abort();
    context.db.close().await;
    Ok(())
}
