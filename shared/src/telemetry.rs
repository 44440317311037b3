//! Telemetry shared by the three binaries: `tracing` with the level from `RUST_LOG`, pretty in
//! development, JSON (one object per line, with the current spans' fields, so every line of a
//! request carries its `request_id`) in production; and Sentry.
//!
//! Sentry is initialised first ([`init_sentry`]), then the subscriber ([`init`]) with Sentry's
//! tracing layer: `error!` events become Sentry events (so an error is reported where it is
//! logged, once), lower levels become breadcrumbs, spans become Sentry spans of a sampled
//! transaction. Events are scrubbed of secrets ([`scrub`]) before they leave the process.

pub mod scrub;
pub mod trace;
mod transport;

use std::sync::Arc;

use secrecy::ExposeSecret;
use sentry::integrations::tracing::{BreadcrumbLayer, ErrorLayer, SpanLayer};
use tracing::Level;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{LevelFilter, filter_fn};
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::{Config, LogConfig, LogFormat};

/// Installs the global subscriber: logs, plus Sentry's layers when [`init_sentry`] started
/// Sentry before (off, they would cost every span an allocation for nothing). A second call
/// (tests) leaves the first in place.
pub fn init(cfg: &LogConfig) {
    let sentry_on = sentry::Hub::main().client().is_some_and(|c| c.is_enabled());
    // The filter was checked when the configuration was loaded.
    let filter = EnvFilter::try_new(&cfg.filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_span_events(FmtSpan::NONE);
    let fmt = match cfg.format {
        LogFormat::Pretty => fmt.pretty().boxed(),
        LogFormat::Compact => fmt.compact().boxed(),
        LogFormat::Json => fmt
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(true)
            .boxed(),
    };
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(sentry_on.then(|| SpanLayer::new().with_filter(LevelFilter::INFO)))
        .with(sentry_on.then(|| {
            BreadcrumbLayer::new().with_filter(filter_fn(|meta| {
                matches!(*meta.level(), Level::WARN | Level::INFO)
            }))
        }))
        .with(sentry_on.then(|| ErrorLayer::new().with_filter(LevelFilter::ERROR)))
        .try_init();
}

/// The release reported to Sentry: `SENTRY_RELEASE`, or `keel@<version>` plus `+<sha>` when
/// the binary was built with `KEEL_GIT_SHA` set
/// (`KEEL_GIT_SHA=$(git rev-parse --short HEAD) cargo build --release`).
pub fn release(config: &Config, version: &str) -> String {
    config.sentry.release.clone().unwrap_or_else(|| {
        match option_env!("KEEL_GIT_SHA").filter(|s| !s.is_empty()) {
            Some(sha) => format!("keel@{version}+{sha}"),
            None => format!("keel@{version}"),
        }
    })
}

/// Starts Sentry when `SENTRY_DSN` is set: errors always sent, transactions sampled at
/// `SENTRY_TRACES_SAMPLE_RATE`, panics captured, every event scrubbed. Keep the guard alive
/// for the life of the process: dropping it flushes what is queued. `server_name` names the
/// process (`keel-api`, ...).
pub fn init_sentry(
    config: &Config,
    server_name: &str,
    release: String,
) -> Option<sentry::ClientInitGuard> {
    crate::tls::install_crypto_provider();
    let dsn = config.sentry.dsn.as_ref()?;
    let mut options = sentry::ClientOptions::default();
    // Checked when the configuration was read.
    options.dsn = dsn.expose_secret().parse().ok();
    options.release = Some(release.into());
    options.environment = Some(config.sentry.environment.clone().into());
    options.server_name = Some(server_name.to_owned().into());
    let mut options = options
        .sample_rate(1.0)
        .traces_sample_rate(config.sentry.traces_sample_rate);
    options.send_default_pii = false;
    options.before_send = Some(Arc::new(|event| Some(scrub::event(event))));
    options.before_breadcrumb = Some(Arc::new(|crumb| Some(scrub::breadcrumb(crumb))));
    options.transport = Some(Arc::new(transport::factory));
    Some(sentry::init(options))
}

/// Logs the configuration's warnings (production: Redis without a password, ...), once, at
/// startup.
pub fn log_warnings(config: &Config) {
    for warning in config.warnings() {
        tracing::warn!(%warning, "insecure configuration");
    }
}
