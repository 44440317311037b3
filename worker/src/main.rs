//! `keel-worker`: Keel's background worker (run jobs; operate the queues).

use std::sync::Arc;

use clap::Parser;
use keel_shared::email::Mailer;
use keel_shared::jobs::Queue;
use keel_shared::probe::ProcessProbe;
use keel_shared::redis::Keys;
use keel_shared::{Config, shutdown, telemetry};
use keel_worker::cli::{Cli, Command};
use keel_worker::context::JobContext;
use keel_worker::jobs;
use keel_worker::runtime::{Options, Runtime, worker_id};

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    keel_shared::tls::install_crypto_provider();
    let config = Config::load_or_exit();
    let release = telemetry::release(&config, env!("CARGO_PKG_VERSION"));
    let _sentry = telemetry::init_sentry(&config, "keel-worker", release);
    telemetry::init(&config.log);
    telemetry::log_warnings(&config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command.unwrap_or(Command::Run) {
        Command::Run => runtime.block_on(run(config)),
        Command::Jobs(cmd) => runtime.block_on(async move {
            let redis = keel_shared::redis::pool(&config.redis)?;
            let queue = Queue::new(redis, Keys::new(config.redis.key_prefix.clone()));
            keel_worker::cli::jobs(cmd, &queue, &jobs::registry(), &mut std::io::stdout()).await
        }),
    }
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
