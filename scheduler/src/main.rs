//! `keel-scheduler`: enqueues periodic jobs (`run`, the default) and lists them (`list`).

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use keel_scheduler::firing::Scheduler;
use keel_scheduler::schedule::{self, Misfire};
use keel_shared::jobs::Queue;
use keel_shared::probe::ProcessProbe;
use keel_shared::redis::Keys;
use keel_shared::{Config, healthcheck, shutdown, telemetry};

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
    /// Fire due slots until SIGTERM or Ctrl-C, answering probes on KEEL_SCHEDULER_HEALTH_ADDR
    /// (the default).
    Run,
    /// Print each entry with its next fire times (UTC).
    List {
        /// How many upcoming fire times per entry.
        #[arg(long, default_value_t = 3)]
        next: usize,
    },
    /// Probe this scheduler's own /healthz (or /readyz) on KEEL_SCHEDULER_HEALTH_ADDR; exit 0
    /// when it answers 2xx, else 1 (container health checks without curl).
    Healthcheck {
        /// Probe /readyz (PostgreSQL and Redis reachable, not draining) instead of /healthz.
        #[arg(long)]
        ready: bool,
        /// Give up after this many milliseconds.
        #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
        timeout_ms: u64,
    },
}

fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Run);
    if let Command::Healthcheck { ready, timeout_ms } = command {
        return Ok(healthcheck::run(
            healthcheck::Process::Scheduler,
            ready,
            Duration::from_millis(timeout_ms),
        ));
    }
    keel_shared::tls::install_crypto_provider();
    let config = Config::load_or_exit();
    let release = telemetry::release(&config, env!("CARGO_PKG_VERSION"));
    let _sentry = telemetry::init_sentry(&config, "keel-scheduler", release);
    telemetry::init(&config.log);
    telemetry::log_warnings(&config);
    let resolved = match schedule::resolve(&schedule::entries(), &config) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("configuration error: KEEL_SCHEDULE: {e}");
            std::process::exit(78);
        }
    };
    match command {
        Command::List { next } => {
            let now = chrono::Utc::now();
            let mut out = std::io::stdout().lock();
            for entry in &resolved {
                let expression = entry.schedule.as_ref().map_or("off", |s| s.source());
                let misfire = match entry.misfire {
                    Misfire::Skip => "skip",
                    Misfire::Once => "once",
                };
                writeln!(
                    out,
                    "{:<20} {:<20} misfire={misfire:<4} job={}@{}",
                    entry.name, expression, entry.job.name, entry.job.queue
                )?;
                for at in entry.next_fires(now, next) {
                    writeln!(out, "    next: {}", at.to_rfc3339())?;
                }
            }
        }
        _ => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(run(config, resolved))?,
    }
    Ok(ExitCode::SUCCESS)
}

async fn run(config: Config, resolved: Vec<schedule::Resolved>) -> anyhow::Result<()> {
    let probe = ProcessProbe::start(
        &config,
        "keel-scheduler",
        config.scheduler_health_addr,
        Some(keel_shared::probe::install_metrics()),
    )?;
    let queue = Queue::new(
        probe.redis.clone(),
        Keys::new(config.redis.key_prefix.clone()),
    );
    let scheduler = Scheduler::new(resolved, queue, config.scheduler.misfire_grace);
    tracing::info!(probe.addr = %probe.local_addr(), "keel-scheduler running");
    scheduler
        .run(async {
            let signal = shutdown::signal().await;
            tracing::info!(signal, "stopping");
        })
        .await;
    probe.mark_draining();
    probe.stop().await;
    tracing::info!("keel-scheduler stopped");
    Ok(())
}
