//! `keel-api`: Keel's REST API (`serve`, the default) and its release steps.

use clap::{Parser, Subcommand};
use keel_api::startup::Application;
use keel_shared::{Config, db, shutdown, telemetry};

#[derive(Parser)]
#[command(name = "keel-api", version, about = "Keel's REST API")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the REST API on KEEL_API_ADDR (the default).
    Serve,
    /// Apply pending database migrations, then exit (safe to run twice, or concurrently).
    Migrate,
    /// Print the OpenAPI document to stdout.
    Openapi,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::Openapi = command {
        use std::io::Write;
        std::io::stdout().write_all(keel_api::openapi::document_json().as_bytes())?;
        return Ok(());
    }
    let config = Config::load_or_exit();
    telemetry::init(&config.log);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match command {
            Command::Migrate => migrate(&config).await,
            _ => serve(config).await,
        }
    })
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let addr = config.api.addr;
    let app = Application::build(config).await?;
    let handle = app.handle();
    tokio::spawn(async move {
        let signal = shutdown::signal().await;
        tracing::info!(signal, "stopping: finishing in-flight requests");
        handle.stop(true).await;
    });
    tracing::info!(addr = %addr, port = app.port(), "keel-api listening");
    app.run_until_stopped().await?;
    tracing::info!("keel-api stopped");
    Ok(())
}

async fn migrate(config: &Config) -> anyhow::Result<()> {
    let mut client = db::connect_for_migrations(&config.database).await?;
    let report = db::migrate::run(&mut client).await?;
    tracing::info!(
        applied = ?report.applied,
        already_applied = report.already_applied,
        "migrations complete"
    );
    Ok(())
}
