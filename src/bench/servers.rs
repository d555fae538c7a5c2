//! B6: two servers on one database. A client records an observation through the first
//! server; from its answer, a second client reads the engagement's observations of that day
//! through the second server until the value shows. The time from the answer to the read
//! that shows it is the lag. There is no raw-database counterpart.

use super::{graphql, percentile, Bench, Line, Sample};
use crate::app::Application;
use crate::auth::AuthSettings;
use anyhow::bail;
use serde_json::json;
use std::time::{Duration, Instant};

/// Longest wait for one command's effect before the run fails.
const GIVE_UP: Duration = Duration::from_secs(10);

pub async fn lag(bench: &Bench<'_>) -> anyhow::Result<Vec<Line>> {
    let second = Application::build(bench.database_url, "127.0.0.1:0", &AuthSettings::default())
        .await?
        .with_rate_limits((1_000_000, 1_000_000), (1_000_000, 1_000_000));
    let second_url = format!("http://{}/graphql", second.local_addr()?);
    let server = tokio::spawn(second.run_until(std::future::pending()));
    let result = measure(bench, &second_url).await;
    server.abort();
    Ok(vec![result?])
}

async fn measure(bench: &Bench<'_>, second_url: &str) -> anyhow::Result<Line> {
    let time = Duration::from_secs_f64(bench.seconds());
    let started = Instant::now();
    let mut lags = Vec::new();
    let mut n = 0u64;
    while started.elapsed() < time || lags.len() < 2 {
        n += 1;
        // A day of its own each time, on a scope of its own: the value is new.
        let day = chrono::NaiveDate::from_ymd_opt(1900, 1, 1).expect("a date")
            + chrono::Duration::days(n as i64);
        let value = (5_000 + n).to_string();
        graphql(
            &bench.client,
            &bench.url,
            &bench.token,
            json!({
                "query": "mutation($i: RecordObservationInput!) { recordObservation(input: $i) { value } }",
                "variables": { "i": { "engagementId": bench.engagement, "metric": "gmv",
                    "platform": "amazon_jp", "scope": "BENCH-LAG", "date": day.to_string(),
                    "value": value } } }),
        )
        .await?;
        let answered = Instant::now();
        let read = json!({
            "query": "query($id: UUID!, $day: Date!) { engagement(id: $id) { observations(metric: \"gmv\", from: $day, to: $day, platform: \"amazon_jp\", first: 50) { nodes { scope value } } } }",
            "variables": { "id": bench.engagement, "day": day.to_string() } });
        loop {
            let answer = graphql(&bench.client, second_url, &bench.token, read.clone()).await?;
            let shown = answer["data"]["engagement"]["observations"]["nodes"]
                .as_array()
                .is_some_and(|nodes| {
                    nodes.iter().any(|o| {
                        o["scope"] == "BENCH-LAG"
                            && o["value"].as_str().is_some_and(|v| same_number(v, &value))
                    })
                });
            if shown {
                lags.push(answered.elapsed());
                break;
            }
            if answered.elapsed() > GIVE_UP {
                bail!("the second server did not show observation {n} within {GIVE_UP:?}");
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    let took = started.elapsed();
    let count = lags.len();
    Ok(Line {
        scenario: "B6 lag to a second server on the same database".into(),
        clients: 1,
        ours: Sample {
            per_second: count as f64 / took.as_secs_f64(),
            p50: percentile(&mut lags, 0.5),
            p99: percentile(&mut lags, 0.99),
        },
        baseline: None,
        unit: "commands/s",
    })
}

/// "5001" and "5001.00" are the same figure.
fn same_number(shown: &str, expected: &str) -> bool {
    match (
        shown.parse::<rust_decimal::Decimal>(),
        expected.parse::<rust_decimal::Decimal>(),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => shown == expected,
    }
}
