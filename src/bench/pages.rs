//! The web app's pages: each page a consultant or a member opens, on the demo data, over
//! one keep-alive connection with a signed-in session, against a primary-key SELECT of the
//! engagement's row. Every answer must be a 200 HTML page.

use super::{compare, graphql, primary_key_select, Bench, Line, Operation};
use crate::web::sign_in::SignIn;
use anyhow::{anyhow, bail};
use serde_json::json;
use std::sync::Arc;

/// A session cookie for the demo account `email`.
async fn session(bench: &Bench<'_>, email: &str) -> anyhow::Result<String> {
    let account = bench
        .context
        .services
        .accounts()
        .by_email(email)
        .await?
        .ok_or_else(|| anyhow!("no demo account {email}"))?;
    let opened = SignIn::new(bench.db.clone())
        .open_session(account.user_id)
        .await?;
    Ok(format!("kpi_session={}", opened.token))
}

pub async fn run(bench: &Bench<'_>) -> anyhow::Result<Vec<Line>> {
    let consultant = session(bench, crate::demo::CONSULTANT).await?;
    let member = session(bench, crate::demo::MEMBER).await?;
    // The member's own engagement and member id, as the member sees them.
    let seen = graphql(
        &bench.client,
        &bench.url,
        &bench.member_token,
        json!({ "query": "{ engagements(first: 10) { nodes { id members { nodes { id isViewer } } } } }" }),
    )
    .await?;
    let (acme, li) = seen["data"]["engagements"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|e| {
            let me = e["members"]["nodes"]
                .as_array()?
                .iter()
                .find(|m| m["isViewer"] == true)?;
            Some((
                e["id"].as_str()?.to_string(),
                me["id"].as_str()?.to_string(),
            ))
        })
        .ok_or_else(|| anyhow!("the demo member has no engagement: {seen}"))?;
    let sakura = &bench.engagement;
    let pages: Vec<(&str, String, &str)> = vec![
        ("portfolio", "/".into(), &consultant),
        (
            "engagement overview",
            format!("/engagements/{sakura}?period=2026-05"),
            &consultant,
        ),
        (
            "engagement as of an instant",
            format!("/engagements/{sakura}?period=2026-05&asOf=2030-01-01T00:00"),
            &consultant,
        ),
        (
            "KPIs and targets",
            format!("/engagements/{sakura}/kpis"),
            &consultant,
        ),
        (
            "reviews",
            format!("/engagements/{sakura}/reviews"),
            &consultant,
        ),
        (
            "plans and payouts",
            format!("/engagements/{sakura}/payouts?period=2026-04"),
            &consultant,
        ),
        (
            "audit log",
            format!("/engagements/{sakura}/audit"),
            &consultant,
        ),
        (
            "member card and payout",
            format!("/engagements/{acme}/members/{li}?period=2026-06"),
            &member,
        ),
    ];
    // One connection, as a browser keeps one.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()?;
    let select: Operation = {
        let (db, engagement) = (bench.db.clone(), sakura.clone());
        Arc::new(move |_, _| {
            let (db, engagement) = (db.clone(), engagement.clone());
            Box::pin(async move { primary_key_select(&db, &engagement).await })
        })
    };
    let mut lines = Vec::new();
    for (name, path, cookie) in pages {
        let page: Operation = {
            let (client, url, cookie) = (
                client.clone(),
                format!("{}{path}", bench.base()),
                cookie.to_string(),
            );
            Arc::new(move |_, _| {
                let (client, url, cookie) = (client.clone(), url.clone(), cookie.clone());
                Box::pin(async move {
                    let response = client
                        .get(&url)
                        .header("cookie", cookie)
                        .header("accept-language", "ja")
                        .send()
                        .await?;
                    let status = response.status();
                    let body = response.text().await?;
                    if status != 200 || !body.contains("</html>") {
                        bail!("{url} answered {status}: {body}");
                    }
                    Ok(())
                })
            })
        };
        lines.push(
            compare(
                &format!("page: {name} vs primary-key SELECT"),
                1,
                bench.seconds(),
                page,
                select.clone(),
            )
            .await?,
        );
    }
    Ok(lines)
}
