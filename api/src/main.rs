//! `keel-api`: Keel's REST API (`serve`, the default) and its release steps.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use keel_api::startup::Application;
use keel_shared::{Config, db, healthcheck, shutdown, telemetry};

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
    /// Probe this api's own /healthz (or /readyz) on KEEL_API_ADDR; exit 0 when it answers
    /// 2xx, else 1 (container health checks without curl).
    Healthcheck {
        /// Probe /readyz (PostgreSQL and Redis reachable) instead of /healthz.
        #[arg(long)]
        ready: bool,
        /// Give up after this many milliseconds.
        #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
        timeout_ms: u64,
    },
    /// Create an administrator, or promote an existing account. The password of a new
    /// account is read from standard input (one line), never from an argument.
    CreateAdmin {
        /// The administrator's email address.
        #[arg(long)]
        email: String,
        /// Display name of a new account.
        #[arg(long, default_value = "Administrator")]
        name: String,
    },
}

fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::Healthcheck { ready, timeout_ms } = command {
        return Ok(healthcheck::run(
            healthcheck::Process::Api,
            ready,
            Duration::from_millis(timeout_ms),
        ));
    }
    if let Command::Openapi = command {
        use std::io::Write;
        std::io::stdout().write_all(keel_api::openapi::document_json().as_bytes())?;
        return Ok(ExitCode::SUCCESS);
    }
    keel_shared::tls::install_crypto_provider();
    let config = Config::load_or_exit();
    let release = telemetry::release(&config, env!("CARGO_PKG_VERSION"));
    let _sentry = telemetry::init_sentry(&config, "keel-api", release);
    telemetry::init(&config.log);
    telemetry::log_warnings(&config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match command {
            Command::Migrate => migrate(&config).await,
            Command::CreateAdmin { email, name } => create_admin(&config, &email, &name).await,
            _ => serve(config).await,
        }
    })?;
    Ok(ExitCode::SUCCESS)
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

async fn create_admin(config: &Config, email: &str, name: &str) -> anyhow::Result<()> {
    use keel_shared::accounts::{self, AdminOutcome};
    use keel_shared::domain::{DisplayName, EmailAddress};
    let email = EmailAddress::parse(email).map_err(|e| anyhow::anyhow!("--email {e}"))?;
    let name = DisplayName::parse(name).map_err(|e| anyhow::anyhow!("--name {e}"))?;
    let pool = db::pool(&config.database, "keel-create-admin")?;
    let password = read_password()?;
    let outcome = accounts::create_admin(&pool, &email, &name, password.as_deref())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let said = match outcome {
        AdminOutcome::Created => format!("created administrator {email}\n"),
        AdminOutcome::Promoted => format!("{email} is now an administrator\n"),
        AdminOutcome::PromotedWithNewPassword => format!(
            "{email} is now an administrator with the password typed; its sessions were signed out\n"
        ),
    };
    use std::io::Write;
    std::io::stdout().write_all(said.as_bytes())?;
    Ok(())
}

/// The password: typed at a prompt without echo when standard input is a terminal, else one
/// line of standard input. `None` when empty (promote an existing account).
fn read_password() -> anyhow::Result<Option<String>> {
    use std::io::{BufRead, IsTerminal};
    let password = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(
            "Password (new account, or to replace an existing account's; empty to promote a verified account as it is): ",
        )?
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    Ok((!password.is_empty()).then_some(password))
}
