//! Keel's domain crate: everything the api, the worker and the scheduler share.
//!
//! The binaries depend on this crate and never on each other (a star). It holds the typed
//! configuration, telemetry, Postgres and Redis access (SQL lives only in [`db`]), migrations,
//! readiness checks and shutdown signals.

pub mod accounts;
pub mod auth;
pub mod config;
pub mod db;
pub mod domain;
pub mod email;
pub mod health;
pub mod healthcheck;
pub mod jobs;
pub mod oauth;
#[cfg(feature = "probe")]
pub mod probe;
pub mod ratelimit;
pub mod redis;
pub mod shutdown;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;

pub use config::{AppEnv, Config, ConfigError};
