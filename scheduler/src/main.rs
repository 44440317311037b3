//! `keel-scheduler`: Keel's scheduler: enqueues periodic jobs, safe to run as several replicas.

use clap::{Parser, Subcommand};
use keel_shared::probe::ProcessProbe;
use keel_shared::{Config, shutdown, telemetry};

#[derive(Parser)]
#[command(
    name = "keel-scheduler",
    version,
    about = "Keel's scheduler: enqueues periodic jobs, safe to run as several replicas"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run until SIGTERM or Ctrl-C, answering probes on KEEL_SCHEDULER_HEALTH_ADDR (the default).
    Run,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::load_or_exit();
    telemetry::init(&config.log);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command.unwrap_or(Command::Run) {
        Command::Run => runtime.block_on(run(config)),
    }
}

async fn run(config: Config) -> anyhow::Result<()> {
    let probe = ProcessProbe::start(
        &config,
        "keel-scheduler",
        config.scheduler_health_addr,
        None,
    )?;
    tracing::info!(probe.addr = %probe.local_addr(), "keel-scheduler running");
    let signal = shutdown::signal().await;
    tracing::info!(
        signal,
        grace_secs = config.shutdown_grace.as_secs(),
        "stopping"
    );
    probe.mark_draining();
    probe.stop().await;
    tracing::info!("keel-scheduler stopped");
    Ok(())
}
