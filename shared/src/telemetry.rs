//! Logging setup shared by the three binaries: `tracing` with the level from `RUST_LOG`,
//! pretty in development, JSON (one object per line, with the current spans' fields, so every
//! line of a request carries its `request_id`) in production.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

use crate::config::{LogConfig, LogFormat};

/// Installs the global subscriber. A second call (tests) leaves the first in place.
pub fn init(cfg: &LogConfig) {
    // The filter was checked when the configuration was loaded.
    let filter = EnvFilter::try_new(&cfg.filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_span_events(FmtSpan::NONE);
    let _ = match cfg.format {
        LogFormat::Pretty => builder.pretty().try_init(),
        LogFormat::Compact => builder.compact().try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(true)
            .try_init(),
    };
}
