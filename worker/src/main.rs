//! `keel-worker`: Keel's background worker (run jobs; operate the queues).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use keel_shared::email::Mailer;
use keel_shared::jobs::Queue;
use keel_shared::media::Media;
use keel_shared::probe::ProcessProbe;
use keel_shared::redis::Keys;
use keel_shared::{Config, healthcheck, shutdown, telemetry};
use keel_worker::cli::{Cli, Command};
use keel_worker::context::JobContext;
use keel_worker::jobs;
use keel_worker::runtime::{Options, Runtime, worker_id};

fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Run);
    if let Command::Healthcheck { ready, timeout_ms } = command {
        return Ok(healthcheck::run(
            healthcheck::Process::Worker,
            ready,
            Duration::from_millis(timeout_ms),
        ));
    }
    keel_shared::tls::install_crypto_provider();
    let config = Config::load_or_exit();
    let release = telemetry::release(&config, env!("CARGO_PKG_VERSION"));
    let _sentry = telemetry::init_sentry(&config, "keel-worker", release);
    telemetry::init(&config.log);
    telemetry::log_warnings(&config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match command {
        Command::Jobs(cmd) => runtime.block_on(async move {
            let redis = keel_shared::redis::pool(&config.redis)?;
            let queue = Queue::new(redis, Keys::new(config.redis.key_prefix.clone()));
            keel_worker::cli::jobs(cmd, &queue, &jobs::registry(), &mut std::io::stdout()).await
        })?,
        _ => runtime.block_on(run(config))?,
    }
    Ok(ExitCode::SUCCESS)
}

async fn run(config: Config) -> anyhow::Result<()> {
    // Each queue's fetch loop holds a connection while it waits for work; the acknowledgements,
    // retries, heartbeats and the relay need a few more.
    let needed = config.worker.queues.len() * 2 + 4;
    if config.redis.pool_size < needed {
        eprintln!(
            "configuration error: KEEL_REDIS_POOL_SIZE: is {}; a worker serving {} queue(s) needs at least {needed}",
            config.redis.pool_size,
            config.worker.queues.len()
        );
        std::process::exit(78);
    }
    let probe = ProcessProbe::start(
        &config,
        "keel-worker",
        config.worker_health_addr,
        Some(keel_shared::probe::install_metrics()),
    )?;
    let options = Options {
        queues: config.worker.queues.clone(),
        redelivery_timeout: config.worker.redelivery_timeout,
        grace: config.shutdown_grace,
        worker_id: worker_id(),
    };
    let ctx = JobContext {
        db: probe.pg.clone(),
        queue: Queue::new(
            probe.redis.clone(),
            Keys::new(config.redis.key_prefix.clone()),
        ),
        mailer: Arc::new(Mailer::new(&config.email)?),
        media: Media::new(&config.media)?,
        config: Arc::new(config),
    };
    tracing::info!(probe.addr = %probe.local_addr(), worker.id = %options.worker_id, "keel-worker running");
    let runtime = Runtime::new(ctx, jobs::registry(), options, probe.draining_flag());
    runtime
        .run(async {
            let signal = shutdown::signal().await;
            tracing::info!(signal, "stopping");
        })
        .await?;
    probe.stop().await;
    tracing::info!("keel-worker stopped");
    Ok(())
}
