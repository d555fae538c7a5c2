//! Web pages: server time per page on the demo data, against the raw database
//! (docs/PERFORMANCE.md).
//!
//! ```sh
//! cargo run --release --example bench_pages -- sqlite:///tmp/pages.db
//! cargo run --release --example bench_pages -- postgres://postgres@127.0.0.1:5432/pages
//! ```
//!
//! On an empty database: seeds the demo, starts the real server on a free port, opens a
//! session for the consultant and the member, then requests each page `--requests` times
//! (default 200) over HTTP on one keep-alive connection, checking every answer is a 200
//! page, interleaved with the raw baseline: one primary-key SELECT of the engagement's row
//! on the same database. Prints p50 and p99 per page and the ratio of the p50s.

use anyhow::{anyhow, Context as _};
use kpi_ledger::app::{Application, Context};
use kpi_ledger::auth::AuthSettings;
use kpi_ledger::bench::{percentile, primary_key_select};
use kpi_ledger::web::sign_in::SignIn;
use std::time::{Duration, Instant};

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .ok_or_else(|| anyhow!("usage: bench_pages DATABASE_URL [--requests N]"))?;
    let requests: usize = match (args.next().as_deref(), args.next()) {
        (Some("--requests"), Some(n)) => n.parse().context("--requests")?,
        _ => 200,
    };
    let context = Context::connect(&url).await?;
    let tokens = kpi_ledger::demo::seed(&context, &AuthSettings::default()).await?;
    let app = Application::build(&url, "127.0.0.1:0", &AuthSettings::default()).await?;
    let base = format!("http://{}", app.local_addr()?);
    let server = tokio::spawn(app.run_until(std::future::pending()));

    let sign_in = SignIn::new(context.db.clone());
    let accounts = context.services.accounts();
    let session = |email: &'static str| {
        let sign_in = sign_in.clone();
        async move {
            let account = accounts
                .by_email(email)
                .await?
                .ok_or_else(|| anyhow!("no {email}"))?;
            anyhow::Ok(sign_in.open_session(account.user_id).await?.token)
        }
    };
    let consultant = session(kpi_ledger::demo::CONSULTANT).await?;
    let member = session(kpi_ledger::demo::MEMBER).await?;
    let client = reqwest::Client::new();
    let engagements: serde_json::Value = {
        client
            .post(format!("{base}/graphql"))
            .bearer_auth(&tokens.consultant)
            .json(
                &serde_json::json!({ "query": "{ engagements(first: 10) { nodes { id name } } }" }),
            )
            .send()
            .await?
            .json()
            .await?
    };
    let id = |name: &str| -> anyhow::Result<String> {
        engagements["data"]["engagements"]["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["name"] == name)
            .and_then(|e| e["id"].as_str())
            .map(str::to_string)
            .ok_or_else(|| anyhow!("no {name}"))
    };
    let sakura = id("Sakura Kitchen JP")?;
    let acme = id("Acme Home JP")?;
    let members: serde_json::Value = {
        client
            .post(format!("{base}/graphql"))
            .bearer_auth(&tokens.member)
            .json(&serde_json::json!({ "query": format!("{{ engagement(id: \"{acme}\") {{ members {{ nodes {{ id isViewer }} }} }} }}") }))
            .send()
            .await?
            .json()
            .await?
    };
    let li = members["data"]["engagement"]["members"]["nodes"][0]["id"]
        .as_str()
        .ok_or_else(|| anyhow!("no member id: {members}"))?
        .to_string();

    let pages: Vec<(&str, String, &str)> = vec![
        ("portfolio (consultant)", "/".into(), consultant.as_str()),
        (
            "engagement overview, team card + 12-month trends",
            format!("/engagements/{sakura}?period=2026-05"),
            consultant.as_str(),
        ),
        (
            "engagement as of now",
            format!("/engagements/{sakura}?period=2026-05&asOf=2030-01-01T00:00"),
            consultant.as_str(),
        ),
        (
            "KPIs and targets",
            format!("/engagements/{sakura}/kpis"),
            consultant.as_str(),
        ),
        (
            "reviews",
            format!("/engagements/{sakura}/reviews"),
            consultant.as_str(),
        ),
        (
            "plans and payouts",
            format!("/engagements/{sakura}/payouts?period=2026-04"),
            consultant.as_str(),
        ),
        (
            "audit log",
            format!("/engagements/{sakura}/audit"),
            consultant.as_str(),
        ),
        (
            "member card + payout breakdown",
            format!("/engagements/{acme}/members/{li}?period=2026-06"),
            member.as_str(),
        ),
    ];
    println!("| page | p50 | p99 | raw SELECT p50 | ratio (p50 ÷ raw) |");
    println!("| --- | --- | --- | --- | --- |");
    for (name, path, session) in &pages {
        let (mut page, mut baseline) = (Vec::new(), Vec::new());
        for i in 0..requests + 10 {
            let started = Instant::now();
            let response = client
                .get(format!("{base}{path}"))
                .header("cookie", format!("kpi_session={session}"))
                .header("accept-language", "ja")
                .send()
                .await?;
            let status = response.status();
            let body = response.text().await?;
            let took = started.elapsed();
            if status != 200 || !body.contains("</html>") {
                return Err(anyhow!("{path} answered {status}: {body}"));
            }
            let started = Instant::now();
            primary_key_select(&context.db, &sakura).await?;
            let raw_took = started.elapsed();
            if i >= 10 {
                page.push(took);
                baseline.push(raw_took);
            }
        }
        let p50 = percentile(&mut page, 0.5);
        let p99 = percentile(&mut page, 0.99);
        let raw50 = percentile(&mut baseline, 0.5);
        println!(
            "| {name} | {} | {} | {} | {:.0} |",
            ms(p50),
            ms(p99),
            ms(raw50),
            p50.as_secs_f64() / raw50.as_secs_f64()
        );
    }
    server.abort();
    Ok(())
}
