//! Keel's domain crate: everything the api, the worker and the scheduler share.
//!
//! The binaries depend on this crate and never on each other (a star). It has no HTTP types
//! except behind the `probe` and `testing` features. Its modules:
//!
//! - [`config`]: typed configuration from the environment, checked at startup ([`Config`]).
//! - [`telemetry`]: `tracing` and Sentry setup shared by the three binaries (pretty or JSON
//!   logs; errors, panics and sampled traces to Sentry, scrubbed of secrets).
//! - [`tls`]: rustls (ring only) for the PostgreSQL and Redis connections: trusted roots and
//!   libpq's certificate checks.
//! - [`shutdown`]: SIGTERM and Ctrl-C as one future to await.
//! - [`db`]: the PostgreSQL pool (TLS per `sslmode`), the migration runner and every SQL statement (the only
//!   place SQL lives).
//! - [`redis`]: the Redis pool, key naming under the configured prefix, readiness ping.
//! - [`health`]: readiness of PostgreSQL and Redis, checked concurrently within a timeout.
//! - [`domain`]: newtypes untrusted input is parsed into once, at the edge (email address,
//!   display name, new password).
//! - [`accounts`]: account operations (register, verify, login, refresh, 2FA, password reset,
//!   profile, deletion), each in one transaction.
//! - [`auth`]: password hashing (Argon2id), hashed random tokens, HS256 access tokens, TOTP,
//!   sealed secrets.
//! - [`oauth`]: Google and GitHub sign-in (`state` and PKCE, code exchange, profile).
//! - [`ratelimit`]: fixed-window abuse limits in Redis, shared by every api replica.
//! - [`jobs`]: job payloads, their envelope, the Redis Streams queue handle and the
//!   transactional outbox.
//! - [`email`]: email templates and the SMTP mailer (only the worker sends).
//! - [`media`]: media storage (a local directory or an S3-compatible bucket) and avatar
//!   processing (sniffed, bounded, re-encoded without metadata).
//! - `probe` (feature `probe`): the worker's and scheduler's `/healthz`, `/readyz` and
//!   `/metrics` server.
//! - `testing` (feature `testing`): the test harness: per-test databases and Redis prefixes,
//!   an SMTP sink, a fake OAuth provider, a TCP proxy, child processes.
//!
//! Why things are built this way: `ARCHITECTURE.md` and the decision records in
//! `docs/decisions/` at the repository root.

pub mod accounts;
pub mod auth;
pub mod config;
pub mod db;
pub mod domain;
pub mod email;
pub mod health;
pub mod healthcheck;
pub mod jobs;
pub mod media;
pub mod oauth;
#[cfg(feature = "probe")]
pub mod probe;
pub mod ratelimit;
pub mod redis;
pub mod shutdown;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tls;

pub use config::{AppEnv, Config, ConfigError};
