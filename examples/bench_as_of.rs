//! As-of reads against the size of OTHER engagements (docs/PERFORMANCE.md).
//!
//! ```sh
//! cargo run --release --example bench_as_of -- sqlite:///tmp/as-of.db --events 10000 --others 10
//! cargo run --release --example bench_as_of -- postgres://postgres@127.0.0.1:5432/asof …
//! ```
//!
//! On an empty database: opens one engagement with a team KPI and its targets, records
//! `--events` observations in it through the API (one event each, one series per SKU and
//! day), then times `scorecard(asOf:)` through the in-process GraphQL API, interleaved with
//! the raw baseline: one ordered read of that engagement's events with the same index.
//! Then it adds `--others` copies of the engagement's events as other engagements (fresh
//! ids, appended through the same position trigger, chained and projected by the projector
//! as a server would) and times both again. The ratio as-of ÷ raw read should stay where it
//! was: an as-of read touches only its own engagement's events.

use anyhow::{anyhow, Context as _};
use chrono::Utc;
use kpi_ledger::app::Context;
use kpi_ledger::bench::percentile;
use kpi_ledger::local_api::{data, LocalApi};
use kpi_ledger::on_db;
use kpi_ledger::store::{Backend, Db};
use kpi_ledger_domain::metadata::CommandMetadata;
use kpi_ledger_domain::user::Grants;
use kpi_ledger_graphql::access::Viewer;
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};
use uuid::Uuid;

struct Args {
    url: String,
    events: usize,
    others: usize,
    reads: usize,
}

fn args() -> anyhow::Result<Args> {
    let mut args = std::env::args().skip(1);
    let url = args.next().ok_or_else(|| {
        anyhow!("usage: bench_as_of DATABASE_URL [--events N] [--others K] [--reads R]")
    })?;
    let mut parsed = Args {
        url,
        events: 10_000,
        others: 10,
        reads: 15,
    };
    while let Some(flag) = args.next() {
        let value: usize = args
            .next()
            .ok_or_else(|| anyhow!("{flag} needs a number"))?
            .parse()
            .with_context(|| format!("{flag} needs a number"))?;
        match flag.as_str() {
            "--events" => parsed.events = value,
            "--others" => parsed.others = value,
            "--reads" => parsed.reads = value,
            _ => return Err(anyhow!("unknown flag {flag}")),
        }
    }
    Ok(parsed)
}

const AS_OF: &str = r#"query($id: UUID!, $at: DateTime!) {
  engagement(id: $id) { scorecard(period: "2026-01", asOf: $at) { score asOfPosition complete } } }"#;

const RAW_POSTGRES: &str = "SELECT e.position, e.aggregate_type, e.aggregate_id, e.sequence,
       e.event_type, e.event_version, e.payload::text, e.metadata::text, e.recorded_at::text
  FROM event_chain c JOIN events e ON e.position = c.position
 WHERE c.chain = $1 ORDER BY c.position";

const RAW_SQLITE: &str = "SELECT e.position, e.aggregate_type, e.aggregate_id, e.sequence,
       e.event_type, e.event_version, e.payload, e.metadata, e.recorded_at
  FROM event_chain c JOIN events e ON e.position = c.position
 WHERE c.chain = $1 ORDER BY c.position";

type RawRow = (
    i64,
    String,
    String,
    i64,
    String,
    String,
    String,
    String,
    String,
);

/// The baseline: one ordered read of every event of the engagement.
async fn raw_read(db: &Db, engagement: &str) -> anyhow::Result<usize> {
    let sql = match db.backend() {
        Backend::Postgres => RAW_POSTGRES,
        Backend::Sqlite => RAW_SQLITE,
    };
    let rows: Vec<RawRow> = on_db!(db, pool => {
        sqlx::query_as(sql).bind(engagement).fetch_all(pool).await?
    });
    Ok(rows.len())
}

/// What one round of reads measured.
struct Measured {
    /// The first as-of read at the newest instant (from scratch, unless snapshots of an
    /// earlier round exist).
    first: Duration,
    /// Reads at that instant again: from the snapshot the first one left.
    repeated: Duration,
    /// Reads at instants spread over the engagement's history, each from the nearest
    /// snapshot at or below it: p50 and p99.
    spread: (Duration, Duration),
    /// The raw ordered read of the engagement's events: p50.
    raw: Duration,
    events: usize,
}

/// `reads` as-of reads of each kind and as many raw reads, interleaved.
async fn measure(
    api: &LocalApi,
    viewer: Viewer,
    db: &Db,
    engagement: &str,
    reads: usize,
    round: usize,
) -> anyhow::Result<Measured> {
    let read = |at: String| async move {
        let started = Instant::now();
        let card = data(
            api.run(viewer, AS_OF, json!({ "id": engagement, "at": at }))
                .await,
            "as-of scorecard",
        )?;
        if card["engagement"]["scorecard"]["asOfPosition"].is_null() {
            return Err(anyhow!("the as-of read answered no position: {card}"));
        }
        Ok::<_, anyhow::Error>(started.elapsed())
    };
    // Instants spread evenly over the engagement's events, visited in a scattered order.
    // They are the instants events were recorded at, so they name positions exactly.
    let mut instants = Vec::new();
    let mut after = 0;
    loop {
        let events =
            kpi_ledger::store::events::chained_events(db, engagement, after, i64::MAX, 5_000)
                .await?;
        let Some(last) = events.last() else { break };
        after = last.position;
        instants.extend(events.iter().map(|e| e.recorded_at));
    }
    let step = (instants.len() / reads.max(1)).max(1);
    // Each round reads between the instants of the round before, which left snapshots.
    let mut spread_at: Vec<String> = instants
        .iter()
        .skip(round * step / 2)
        .step_by(step)
        .map(|at| at.to_rfc3339())
        .collect();
    spread_at.sort_by_key(|at| {
        let mut hasher = std::hash::DefaultHasher::new();
        std::hash::Hash::hash(at, &mut hasher);
        std::hash::Hasher::finish(&hasher)
    });
    let now = Utc::now().to_rfc3339();
    let first = read(now.clone()).await?;
    let (mut repeated, mut spread, mut raw) = (Vec::new(), Vec::new(), Vec::new());
    let mut events = 0;
    for i in 0..reads {
        repeated.push(read(now.clone()).await?);
        spread.push(read(spread_at[i % spread_at.len()].clone()).await?);
        let started = Instant::now();
        events = raw_read(db, engagement).await?;
        raw.push(started.elapsed());
    }
    Ok(Measured {
        first,
        repeated: percentile(&mut repeated, 0.5),
        spread: (percentile(&mut spread, 0.5), percentile(&mut spread, 0.99)),
        raw: percentile(&mut raw, 0.5),
        events,
    })
}

/// Every UUID in `text`.
fn uuids(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i + 36 <= bytes.len() {
        if text.is_char_boundary(i)
            && text.is_char_boundary(i + 36)
            && bytes[i + 8] == b'-'
            && Uuid::parse_str(&text[i..i + 36]).is_ok()
        {
            found.push(&text[i..i + 36]);
            i += 36;
        } else {
            i += 1;
        }
    }
    found
}

/// Appends `copies` copies of the engagement's events with fresh ids (user ids kept).
async fn copy_engagement(db: &Db, engagement: &str, copies: usize) -> anyhow::Result<usize> {
    let sql = match db.backend() {
        Backend::Postgres => RAW_POSTGRES,
        Backend::Sqlite => RAW_SQLITE,
    };
    let rows: Vec<RawRow> = on_db!(db, pool => {
        sqlx::query_as(sql).bind(engagement).fetch_all(pool).await?
    });
    let users: Vec<String> = on_db!(db, pool => {
        sqlx::query_scalar("SELECT user_id FROM users").fetch_all(pool).await?
    });
    let users: HashSet<String> = users.into_iter().collect();
    let insert = match db.backend() {
        Backend::Postgres => {
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                                 payload, metadata)
             VALUES ($1, $2, $3, $4, $5, CAST($6 AS JSON), CAST($7 AS JSON))"
        }
        Backend::Sqlite => {
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                                 payload, metadata)
             VALUES ($1, $2, $3, $4, $5, $6, $7)"
        }
    };
    let mut written = 0;
    for _ in 0..copies {
        let mut fresh: HashMap<String, String> = HashMap::new();
        let mut remap = |text: &str| -> String {
            let mut out = text.to_string();
            for id in uuids(text) {
                if users.contains(id) {
                    continue;
                }
                let new = fresh
                    .entry(id.to_string())
                    .or_insert_with(|| Uuid::new_v4().to_string())
                    .clone();
                out = out.replace(id, &new);
            }
            out
        };
        for chunk in rows.chunks(500) {
            let copied: Vec<_> = chunk
                .iter()
                .map(
                    |(_, kind, id, sequence, event_type, version, payload, metadata, _)| {
                        (
                            kind.clone(),
                            remap(id),
                            *sequence,
                            event_type.clone(),
                            version.clone(),
                            remap(payload),
                            remap(metadata),
                        )
                    },
                )
                .collect();
            on_db!(db, pool => {
                let mut tx = pool.begin().await?;
                for row in copied {
                    sqlx::query(insert)
                        .bind(row.0)
                        .bind(row.1)
                        .bind(row.2)
                        .bind(row.3)
                        .bind(row.4)
                        .bind(row.5)
                        .bind(row.6)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
            });
            written += chunk.len();
        }
    }
    Ok(written)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    let context = Context::connect(&args.url).await?;
    let metadata = CommandMetadata::new(None, Uuid::new_v4());
    let consultant = context
        .services
        .accounts()
        .add(
            "bench@example.jp",
            "Bench",
            Grants {
                consultant: true,
                admin: false,
            },
            &metadata,
        )
        .await
        .context("use an empty database")?;
    let viewer = Viewer {
        user_id: consultant.user_id,
        grants: Grants {
            consultant: true,
            admin: false,
        },
    };
    let api = LocalApi::new(&context);
    let run = |query: &'static str, variables: serde_json::Value| {
        let api = &api;
        async move { data(api.run(viewer, query, variables).await, query) }
    };
    let engagement = run(
        "mutation { openEngagement(input: { name: \"As-of\", clientName: \"As-of K.K.\", platforms: [\"amazon_jp\"] }) { id } }",
        json!({}),
    )
    .await?["openEngagement"]["id"]
        .as_str()
        .ok_or_else(|| anyhow!("no engagement id"))?
        .to_string();
    let kpi = run(
        "mutation($e: UUID!) { defineKpi(input: { engagementId: $e, metric: \"gmv\", weight: \"100\", assignee: { team: true } }) { id } }",
        json!({ "e": engagement }),
    )
    .await?["defineKpi"]["id"]
        .clone();
    let months: Vec<String> = (1..=12).map(|m| format!("2026-{m:02}")).collect();
    run(
        "mutation($e: UUID!, $k: UUID!, $p: [Period!]!) { setTarget(input: { engagementId: $e, kpiId: $k, periods: $p, threshold: \"1000\", target: \"2000\", stretch: \"3000\", reason: \"plan\" }) { id } }",
        json!({ "e": engagement, "k": kpi, "p": months }),
    )
    .await?;
    let started = Instant::now();
    let skus = 200;
    for i in 0..args.events {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
            + chrono::Duration::days((i / skus) as i64 % 365);
        let scope = format!("sku-{:04}-{}", i % skus, i / (skus * 365));
        run(
            "mutation($i: RecordObservationInput!) { recordObservation(input: $i) { value } }",
            json!({ "i": { "engagementId": engagement, "metric": "gmv", "platform": "amazon_jp",
                "scope": scope, "from": day, "to": day, "value": format!("{}", 100 + i % 900) } }),
        )
        .await?;
    }
    eprintln!(
        "recorded {} observations in {:.1?}",
        args.events,
        started.elapsed()
    );

    let backend = match context.db.backend() {
        Backend::Postgres => "PostgreSQL",
        Backend::Sqlite => "SQLite",
    };
    println!(
        "| backend | events in the log | of this engagement | first as-of | repeated p50 | other instants p50 / p99 | ordered read p50 | other instants p50 ÷ read |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let row = |total: i64, m: &Measured| {
        println!(
            "| {backend} | {total} | {} | {:.1} ms | {:.1} ms | {:.1} / {:.1} ms | {:.1} ms | {:.2} |",
            m.events,
            ms(m.first),
            ms(m.repeated),
            ms(m.spread.0),
            ms(m.spread.1),
            ms(m.raw),
            m.spread.0.as_secs_f64() / m.raw.as_secs_f64()
        );
    };
    let alone = measure(&api, viewer, &context.db, &engagement, args.reads, 0).await?;
    row(
        kpi_ledger::store::events::head_position(&context.db).await?,
        &alone,
    );

    let started = Instant::now();
    let copied = copy_engagement(&context.db, &engagement, args.others).await?;
    context.projector.catch_up().await?;
    eprintln!(
        "appended {copied} events of {} other engagements, chained and projected them in {:.1?}",
        args.others,
        started.elapsed()
    );
    let crowded = measure(&api, viewer, &context.db, &engagement, args.reads, 1).await?;
    row(
        kpi_ledger::store::events::head_position(&context.db).await?,
        &crowded,
    );
    println!(
        "\nas-of at other instants with {} other engagements ÷ alone (p50): {:.2}",
        args.others,
        crowded.spread.0.as_secs_f64() / alone.spread.0.as_secs_f64()
    );
    context.db.close().await;
    Ok(())
}
