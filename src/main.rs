use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    kpi_ledger::telemetry::init();
    let cli = kpi_ledger::cli::Cli::parse();
    kpi_ledger::cli::run(cli).await
}
