//! `kpi-ledger import`: import a marketplace export from the command line, either through
//! a running server (`--server`, `--token`) or straight into the database (`--user`). Both
//! go through the same `importMetrics` mutation — the second in-process, as that user — so
//! both pass the same access checks and refuse the same things.

use crate::app::Context;
use crate::imports::{Phase, Problem, Summary};
use crate::local_api::{viewer_by_email, LocalApi};
use anyhow::{anyhow, bail, Context as _};
use chrono::NaiveDate;
use indicatif::{ProgressBar, ProgressStyle};
use kpi_ledger_domain::period::DateRange;
use kpi_ledger_import::{EncodingChoice, Format};
use serde_json::{json, Value};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;
use uuid::Uuid;

#[derive(Debug, Clone, clap::Args)]
pub struct ImportArgs {
    /// The engagement's id.
    #[arg(long)]
    pub engagement: Uuid,
    /// generic_csv, amazon_business_report, amazon_sales_traffic_json, amazon_ads_sp,
    /// amazon_fba_inventory, rakuten_rms or yahoo_shopping.
    #[arg(long)]
    pub format: String,
    /// The platform the file comes from (every format but generic_csv).
    #[arg(long)]
    pub platform: Option<String>,
    /// First day the report covers (reports without a date column).
    #[arg(long, requires = "to")]
    pub from: Option<NaiveDate>,
    /// Last day the report covers.
    #[arg(long, requires = "from")]
    pub to: Option<NaiveDate>,
    /// auto, utf8 or cp932.
    #[arg(long, default_value = "auto")]
    pub encoding: String,
    /// The currency of the file's money when it is not the engagement's (USD); needs
    /// --rate, --rate-date and --rate-source. Amounts in it are multiplied by the rate.
    #[arg(long, requires_all = ["rate", "rate_date", "rate_source"])]
    pub rate_from: Option<String>,
    /// Units of the engagement's currency per unit of --rate-from (151.20).
    #[arg(long, requires = "rate_from")]
    pub rate: Option<rust_decimal::Decimal>,
    /// The day the rate was published.
    #[arg(long, requires = "rate_from")]
    pub rate_date: Option<NaiveDate>,
    /// Who published the rate (a bank's TTM rate, say).
    #[arg(long, requires = "rate_from")]
    pub rate_source: Option<String>,
    /// A running server to import through, e.g. http://127.0.0.1:8080.
    #[arg(long, env = "KPI_LEDGER_SERVER", requires = "token")]
    pub server: Option<String>,
    /// Bearer token for --server.
    #[arg(long, env = "KPI_LEDGER_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Without --server: the email of the consultant the import is recorded for.
    #[arg(long)]
    pub user: Option<String>,
    /// The file to import.
    pub file: PathBuf,
}

fn encoding(text: &str) -> anyhow::Result<EncodingChoice> {
    match text.to_ascii_lowercase().as_str() {
        "auto" => Ok(EncodingChoice::Auto),
        "utf8" | "utf-8" => Ok(EncodingChoice::Utf8),
        "cp932" | "shift_jis" | "sjis" => Ok(EncodingChoice::Cp932),
        other => bail!("--encoding: `{other}` is not auto, utf8 or cp932"),
    }
}

/// A progress bar on a terminal, nothing otherwise. Log lines print above it.
fn bar(total: u64) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(total);
    bar.set_style(reading_style());
    bar.set_message("queued");
    crate::telemetry::show_progress(&bar);
    Some(bar)
}

/// Reading shows the bytes read of the file.
fn reading_style() -> ProgressStyle {
    ProgressStyle::with_template("{msg:>10} [{bar:40}] {bytes}/{total_bytes} ({eta})")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// Checking and recording have no byte count: a spinner with the time spent.
fn working_style() -> ProgressStyle {
    ProgressStyle::with_template("{msg:>10} {spinner} {elapsed}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

/// Shows one phase of an import on the bar.
fn show_phase(bar: &ProgressBar, phase: &str, bytes_read: u64) {
    let phase = phase.to_ascii_lowercase();
    if bar.message() != phase {
        if phase == "reading" || phase == "queued" {
            bar.set_style(reading_style());
            bar.disable_steady_tick();
        } else {
            bar.set_style(working_style());
            bar.enable_steady_tick(Duration::from_millis(120));
        }
        bar.set_message(phase);
    }
    bar.set_position(bytes_read);
}

fn close(bar: Option<ProgressBar>) {
    if let Some(bar) = bar {
        bar.finish_and_clear();
        crate::telemetry::hide_progress();
    }
}

fn print_problems(message: &str, problems: &[Problem], total: u64) {
    // A file refused as a whole has one problem that says what the message says.
    let whole_file = matches!(problems, [only] if message.starts_with(&only.reason));
    // Options the file needed are options of this command.
    let message = flags(message);
    eprintln!("refused: {message}");
    if whole_file {
        return;
    }
    for p in problems {
        let mut at = format!("line {}", p.line);
        if let Some(column) = &p.column {
            at.push_str(&format!(", column `{column}`"));
        }
        if let Some(value) = &p.value {
            at.push_str(&format!(", value `{value}`"));
        }
        eprintln!("  {at}: {}", p.reason);
    }
    if total > problems.len() as u64 {
        eprintln!("  … and {} more", total - problems.len() as u64);
    }
}

fn print_summary(summary: &Summary) {
    if summary.already_imported {
        println!(
            "already imported: these bytes were imported as {} before; nothing changed",
            summary.import_id
        );
        return;
    }
    println!(
        "import {}: {} rows read, {} observations recorded in {} series ({} restated)",
        summary.import_id,
        summary.rows_read,
        summary.observations_recorded,
        summary.series,
        summary.observations_restated
    );
    for w in &summary.watermarks {
        println!("watermark: {} complete through {}", w.platform, w.through);
    }
}

pub async fn run(database_url: &str, args: ImportArgs) -> anyhow::Result<()> {
    let format: Format = args.format.parse().map_err(|e: String| anyhow!(e))?;
    let encoding = encoding(&args.encoding)?;
    let range = match (args.from, args.to) {
        (Some(from), Some(to)) => {
            Some(DateRange::new(from, to).map_err(|e| anyhow!("--from/--to: {e}"))?)
        }
        _ => None,
    };
    if !args.file.is_file() {
        bail!("{} is not a file", args.file.display());
    }
    match &args.server {
        Some(server) => remote(server, &args, format, encoding, range).await,
        None => direct(database_url, &args, format, encoding, range).await,
    }
}

async fn direct(
    database_url: &str,
    args: &ImportArgs,
    format: Format,
    encoding: EncodingChoice,
    range: Option<DateRange>,
) -> anyhow::Result<()> {
    let Some(email) = &args.user else {
        bail!("--user EMAIL is needed (the consultant the import is recorded for), or --server and --token");
    };
    let context = Context::connect(database_url).await?;
    let viewer = viewer_by_email(&context, email).await?;
    // The same mutation, access checks and rules as an upload to the server.
    let api = LocalApi::new(&context);
    let started = api
        .run_with_file(
            viewer,
            IMPORT_MUTATION,
            json!({ "input": import_input(args, format, encoding, range), "file": null }),
            &args.file,
        )
        .await
        .map_err(|e| anyhow!("the import was refused: {}", flags(&e.message)))?;
    let job_id: Uuid = started["importMetrics"]["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| anyhow!("unexpected answer: {started}"))?;
    let bar = bar(std::fs::metadata(&args.file)?.len());
    let job = loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let job = context
            .services
            .jobs()
            .job(job_id)
            .await?
            .ok_or_else(|| anyhow!("import {job_id} vanished"))?;
        if let Some(bar) = &bar {
            show_phase(bar, job.status.as_str(), job.bytes_read);
        }
        if matches!(job.status, Phase::Succeeded | Phase::Failed) {
            break job;
        }
    };
    close(bar);
    context.db.close().await;
    match (job.status, job.summary, job.refusal) {
        (Phase::Succeeded, Some(summary), _) => {
            print_summary(&summary);
            Ok(())
        }
        (_, _, Some(refusal)) => {
            print_problems(&refusal.message, &refusal.problems, refusal.total);
            bail!("the import was refused")
        }
        _ => bail!(
            "{}",
            job.message
                .unwrap_or_else(|| "the import failed; the log has the details".into())
        ),
    }
}

/// The `importMetrics` input for these arguments.
fn import_input(
    args: &ImportArgs,
    format: Format,
    encoding: EncodingChoice,
    range: Option<DateRange>,
) -> Value {
    json!({
        "engagementId": args.engagement,
        "format": format.as_str().to_uppercase(),
        "platform": args.platform,
        "from": range.map(|r| r.start.to_string()),
        "to": range.map(|r| r.end.to_string()),
        "encoding": match encoding {
            EncodingChoice::Auto => "AUTO",
            EncodingChoice::Utf8 => "UTF8",
            EncodingChoice::Cp932 => "CP932",
        },
        "conversion": args.rate_from.as_ref().map(|from| json!({
            "from": from,
            "rate": args.rate.map(|r| r.normalize().to_string()),
            "date": args.rate_date.map(|d| d.to_string()),
            "source": args.rate_source,
        })),
    })
}

/// A message of the API with its input fields named as this command's flags.
fn flags(message: &str) -> String {
    message
        .replace("`from` and `to`", "--from and --to")
        .replace("from/to:", "--from/--to:")
        .replace("(`platform`)", "(--platform)")
        .replace("platform:", "--platform:")
        .replace(
            "conversion:",
            "--rate-from/--rate/--rate-date/--rate-source:",
        )
}

/// The JSON body of a server answer, or an error that says what the server said.
async fn answer(response: reqwest::Response) -> anyhow::Result<Value> {
    let status = response.status();
    let body = response.text().await?;
    match serde_json::from_str::<Value>(&body) {
        Ok(json) if status.is_success() || json.get("errors").is_some() => {
            if !status.is_success() {
                bail!(
                    "the server answered {status}: {}",
                    json["errors"][0]["message"]
                        .as_str()
                        .unwrap_or("unknown error")
                );
            }
            Ok(json)
        }
        _ => bail!(
            "the server answered {status}: {}",
            body.chars().take(300).collect::<String>()
        ),
    }
}

const IMPORT_MUTATION: &str = "mutation($input: ImportMetricsInput!, $file: Upload!) {
  importMetrics(input: $input, file: $file) { id } }";

const JOBS_QUERY: &str = "query($id: UUID!) { engagement(id: $id) { imports { nodes {
  id status bytesTotal bytesRead rowsRead message totalProblems
  problems { line column value reason }
  importId alreadyImported observationsRecorded observationsRestated series
  watermarks { platform completeThrough } } } } }";

async fn remote(
    server: &str,
    args: &ImportArgs,
    format: Format,
    encoding: EncodingChoice,
    range: Option<DateRange>,
) -> anyhow::Result<()> {
    let token = args.token.as_deref().unwrap_or_default();
    let url = format!("{}/graphql", server.trim_end_matches('/'));
    let client = reqwest::Client::new();
    let operations = json!({
        "query": IMPORT_MUTATION,
        "variables": { "input": import_input(args, format, encoding, range), "file": null }
    });
    let form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({ "0": ["variables.file"] }).to_string())
        .file("0", &args.file)
        .await
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let response = client
        .post(&url)
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .with_context(|| format!("cannot reach {url}"))?;
    let response = answer(response).await?;
    if let Some(errors) = response.get("errors") {
        bail!(
            "the server refused the import: {}",
            errors[0]["message"].as_str().unwrap_or("unknown error")
        );
    }
    let job_id = response["data"]["importMetrics"]["id"]
        .as_str()
        .ok_or_else(|| anyhow!("unexpected answer: {response}"))?
        .to_string();
    let bar = bar(std::fs::metadata(&args.file)?.len());
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let answer = answer(
            client
                .post(&url)
                .bearer_auth(token)
                .json(&json!({ "query": JOBS_QUERY, "variables": { "id": args.engagement } }))
                .send()
                .await?,
        )
        .await?;
        if let Some(errors) = answer.get("errors") {
            bail!(
                "the server refused: {}",
                errors[0]["message"].as_str().unwrap_or("unknown error")
            );
        }
        let job = answer["data"]["engagement"]["imports"]["nodes"]
            .as_array()
            .and_then(|jobs| jobs.iter().find(|j| j["id"] == job_id.as_str()))
            .cloned()
            .ok_or_else(|| anyhow!("the server lost track of import {job_id}: {answer}"))?;
        let status = job["status"].as_str().unwrap_or_default().to_string();
        if let Some(bar) = &bar {
            show_phase(bar, &status, job["bytesRead"].as_u64().unwrap_or(0));
        }
        if status != Phase::Succeeded.as_str().to_uppercase()
            && status != Phase::Failed.as_str().to_uppercase()
        {
            continue;
        }
        close(bar);
        if status == "FAILED" {
            let problems: Vec<Problem> = job["problems"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .map(|p| Problem {
                            line: p["line"].as_u64().unwrap_or(0),
                            column: p["column"].as_str().map(String::from),
                            value: p["value"].as_str().map(String::from),
                            reason: p["reason"].as_str().unwrap_or_default().to_string(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            print_problems(
                job["message"].as_str().unwrap_or("the import failed"),
                &problems,
                job["totalProblems"].as_u64().unwrap_or(0),
            );
            bail!("the import was refused");
        }
        let summary = Summary {
            import_id: job["importId"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .unwrap_or_default(),
            already_imported: job["alreadyImported"].as_bool().unwrap_or(false),
            rows_read: job["rowsRead"].as_u64().unwrap_or(0),
            observations_recorded: job["observationsRecorded"].as_u64().unwrap_or(0),
            observations_restated: job["observationsRestated"].as_u64().unwrap_or(0),
            series: job["series"].as_u64().unwrap_or(0),
            watermarks: job["watermarks"]
                .as_array()
                .map(|ws| {
                    ws.iter()
                        .filter_map(|w| {
                            Some(kpi_ledger_domain::import::Watermark {
                                platform: w["platform"].as_str()?.to_string(),
                                through: w["completeThrough"].as_str()?.parse().ok()?,
                            })
                        })
                        .collect()
                })
                .unwrap_or_default(),
        };
        print_summary(&summary);
        return Ok(());
    }
}
