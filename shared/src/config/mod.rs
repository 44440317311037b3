//! Typed configuration, read from the environment once at startup and checked there.
//!
//! Every variable is listed in `.env.example`. A missing or malformed variable is a
//! [`ConfigError`] naming it; `APP_ENV=production` also refuses insecure settings. Secrets are
//! [`SecretString`]s, so `Debug` output and logs never show them.
//!
//! One file per concern (`database.rs`, `redis.rs`, `auth.rs`, ...) owns its variables,
//! defaults, checks and tests, reading through [`vars`]'s reader; `production.rs` holds every
//! production-only refusal; this file only composes them into [`Config`].

mod api;
mod app;
mod auth;
mod cors;
mod database;
mod docs;
mod email;
mod global_rate_limit;
mod http;
mod lifecycle;
mod logging;
mod media;
mod oauth;
mod production;
mod redis;
mod scheduler;
mod security;
mod sentry;
mod vars;
mod worker;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use secrecy::SecretString;

pub use api::ApiConfig;
pub use app::{AppEnv, DEVELOPMENT_SECRET_KEY};
pub use auth::AuthConfig;
pub use cors::{CORS_EXPOSED_HEADERS, CorsConfig};
pub use database::{DatabaseConfig, DatabaseUrl, SslMode};
pub use docs::DocsConfig;
pub use email::{DEVELOPMENT_SMTP_URL, EmailConfig};
pub use global_rate_limit::GlobalRateLimitConfig;
pub use http::{DEFAULT_TRUSTED_PROXIES, HttpConfig};
pub use logging::{LogConfig, LogFormat};
pub use media::{DEFAULT_MEDIA_ROOT, MediaConfig, MediaStorage, S3Credentials, S3Storage};
pub use oauth::{OAuthConfig, OAuthProviderConfig};
pub use redis::RedisConfig;
pub use scheduler::SchedulerConfig;
pub use security::{API_CSP, DOCS_CSP, HSTS, PERMISSIONS_POLICY, SecurityHeadersConfig};
pub use sentry::SentryConfig;
pub use worker::WorkerConfig;

use lifecycle::Lifecycle;
use vars::Vars;

/// A variable that is missing, malformed or insecure. Displays as one line naming it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration error: {var}: {problem}")]
pub struct ConfigError {
    /// The environment variable at fault.
    pub var: &'static str,
    /// What is wrong with it (never its value when it is a secret).
    pub problem: String,
}

impl ConfigError {
    fn new(var: &'static str, problem: impl Into<String>) -> Self {
        Self {
            var,
            problem: problem.into(),
        }
    }
}

/// The whole configuration of a Keel process. Each binary reads the parts it needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// `APP_ENV`: which environment this is, and so which defaults and checks apply.
    pub env: AppEnv,
    /// `KEEL_SECRET_KEY`: derives the sealing keys (and signs tokens when `KEEL_JWT_KEYS` is
    /// unset, outside production). At least 32 bytes in production.
    pub secret_key: SecretString,
    /// Logging: the `RUST_LOG` filter and the line format.
    pub log: LogConfig,
    /// Error reporting and tracing to Sentry (off without `SENTRY_DSN`).
    pub sentry: SentryConfig,
    /// PostgreSQL: the URL and the pool's size and timeouts.
    pub database: DatabaseConfig,
    /// Redis: the URL, the pool and the key prefix.
    pub redis: RedisConfig,
    /// The HTTP api: listen and metrics addresses, worker threads, body limit, connections.
    pub api: ApiConfig,
    /// The API's documentation pages and what the OpenAPI document says about the API.
    pub docs: DocsConfig,
    /// The HTTP edge: trusted proxies, HTTPS enforcement.
    pub http: HttpConfig,
    /// The security headers on every api response.
    pub security_headers: SecurityHeadersConfig,
    /// Cross-origin access from browsers.
    pub cors: CorsConfig,
    /// The global request limit on `/api/v1` (per user, or per client address).
    pub global_rate_limit: GlobalRateLimitConfig,
    /// Accounts and sessions: signing keys, token lifetimes, abuse limits.
    pub auth: AuthConfig,
    /// Social login: the configured providers and the redirect page.
    pub oauth: OAuthConfig,
    /// Outgoing email: the SMTP server, the sender, the base of links.
    pub email: EmailConfig,
    /// Media storage (avatars): a local directory or an S3-compatible bucket.
    pub media: MediaConfig,
    /// The worker's queues and job handling.
    pub worker: WorkerConfig,
    /// The scheduler: schedule overrides and the misfire grace.
    pub scheduler: SchedulerConfig,
    /// `KEEL_WORKER_HEALTH_ADDR`: the worker's probe port.
    pub worker_health_addr: SocketAddr,
    /// `KEEL_SCHEDULER_HEALTH_ADDR`: the scheduler's probe port.
    pub scheduler_health_addr: SocketAddr,
    /// `KEEL_SHUTDOWN_GRACE_SECS`: how long in-flight work may take after SIGTERM.
    pub shutdown_grace: Duration,
    /// `KEEL_READY_TIMEOUT_MS`: how long a readiness check waits for each dependency.
    pub ready_timeout: Duration,
}

impl Config {
    /// Reads the process environment, plus `.env` in the current directory when `APP_ENV` is
    /// unset or `development` (process variables win over the file).
    pub fn load() -> Result<Self, ConfigError> {
        let mut vars: HashMap<String, String> = HashMap::new();
        let env_in_process = std::env::var("APP_ENV").ok();
        let read_dotenv = env_in_process.as_deref().is_none_or(|e| e == "development");
        if let Some(iter) = read_dotenv
            .then(|| dotenvy::from_path_iter(".env").ok())
            .flatten()
        {
            for item in iter {
                let (k, v) = item
                    .map_err(|e| ConfigError::new("APP_ENV", format!("cannot read .env: {e}")))?;
                vars.insert(k, v);
            }
        }
        vars.extend(std::env::vars());
        Self::from_vars(vars)
    }

    /// [`Config::load`], or print the one-line error to stderr and exit with status 78
    /// (`EX_CONFIG`): what every binary does at startup.
    pub fn load_or_exit() -> Self {
        match Self::load() {
            Ok(config) => config,
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(78);
            }
        }
    }

    /// Builds the configuration from explicit variables (tests pass their own).
    pub fn from_vars<I, K, V>(vars: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Self::read(&Vars::new(vars))
    }

    /// Reads the concerns in a fixed order: with several bad variables, the first one in this
    /// order is the one reported.
    fn read(v: &Vars) -> Result<Self, ConfigError> {
        let env = AppEnv::from_vars(v)?;
        let production = env == AppEnv::Production;
        if production {
            production::require_secret_key(v)?;
        }
        let secret_key = app::secret_key_from_vars(v);
        let log = LogConfig::from_vars(v, env)?;
        let sentry = SentryConfig::from_vars(v, env)?;
        let database = DatabaseConfig::from_vars(v)?;
        let redis = RedisConfig::from_vars(v)?;
        let api = ApiConfig::from_vars(v)?;
        let docs = DocsConfig::from_vars(v)?;
        let http = HttpConfig::from_vars(v, env)?;
        let security_headers = SecurityHeadersConfig::from_vars(v, env)?;
        let cors = CorsConfig::from_vars(v)?;
        let global_rate_limit = GlobalRateLimitConfig::from_vars(v)?;
        let auth = AuthConfig::from_vars(v, &secret_key)?;
        let email = EmailConfig::from_vars(v)?;
        let oauth = OAuthConfig::from_vars(v, &email.frontend_url)?;
        let media = MediaConfig::from_vars(v)?;
        let worker = WorkerConfig::from_vars(v)?;
        let scheduler = SchedulerConfig::from_vars(v)?;
        let lifecycle = Lifecycle::from_vars(v)?;
        let config = Self {
            env,
            secret_key,
            log,
            sentry,
            database,
            redis,
            api,
            docs,
            http,
            security_headers,
            cors,
            global_rate_limit,
            auth,
            oauth,
            email,
            media,
            worker,
            scheduler,
            worker_health_addr: lifecycle.worker_health_addr,
            scheduler_health_addr: lifecycle.scheduler_health_addr,
            shutdown_grace: lifecycle.shutdown_grace,
            ready_timeout: lifecycle.ready_timeout,
        };
        if production {
            production::refuse_insecure(&config)?;
        }
        Ok(config)
    }

    /// What this configuration allows but an operator should hear about (production only):
    /// each binary logs these once at startup.
    pub fn warnings(&self) -> Vec<String> {
        if self.env == AppEnv::Production {
            production::warnings(self)
        } else {
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    const ENV_EXAMPLE: &str = include_str!("../../../.env.example");

    /// `.env.example`'s `NAME=value` lines, values unquoted.
    /// Where `.env.example`'s section for the operations scripts starts: the variables below
    /// it are read by `scripts/*.sh`, not by the processes.
    const SCRIPTS_SECTION: &str = "# --- Operations scripts";

    /// The variables of `.env.example` the processes read (those above [`SCRIPTS_SECTION`]).
    fn env_example() -> Vec<(&'static str, &'static str)> {
        ENV_EXAMPLE
            .lines()
            .take_while(|l| !l.starts_with(SCRIPTS_SECTION))
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k, v.trim_matches('"')))
            .collect()
    }

    #[test]
    fn defaults_are_complete_for_development() {
        let c = Config::from_vars(Vec::<(String, String)>::new()).expect("defaults are valid");
        assert_eq!(c.env, AppEnv::Development);
        assert_eq!(c.api.addr.to_string(), "127.0.0.1:8000");
        assert_eq!(c.worker_health_addr.to_string(), "127.0.0.1:8001");
        assert_eq!(c.scheduler_health_addr.to_string(), "127.0.0.1:8002");
        assert_eq!(c.log.format, LogFormat::Pretty);
        assert_eq!(c.oauth.redirect_url, "http://localhost:3000/oauth/callback");
    }

    #[test]
    fn the_first_bad_variable_in_reading_order_is_reported() {
        let err = Config::from_vars([
            ("KEEL_WORKER_QUEUES", "nonsense"),
            ("KEEL_API_ADDR", "localhost"),
        ])
        .expect_err("must fail");
        assert_eq!(err.var, "KEEL_API_ADDR");
    }

    #[test]
    fn the_oauth_redirect_defaults_under_the_configured_frontend() {
        let c =
            Config::from_vars([("KEEL_FRONTEND_URL", "https://app.example.com/")]).expect("valid");
        assert_eq!(
            c.oauth.redirect_url,
            "https://app.example.com/oauth/callback"
        );
    }

    #[test]
    fn env_example_is_a_valid_development_configuration() {
        Config::from_vars(env_example()).expect(".env.example must load as is");
    }

    /// Compares `.env.example` with the names [`Vars`] recorded while reading a full
    /// configuration (the example plus both OAuth providers switched on, so that their
    /// conditional variables are read too), in both directions.
    #[test]
    fn env_example_documents_exactly_the_variables_read() {
        let mut vars = env_example();
        vars.extend([
            ("KEEL_GOOGLE_CLIENT_ID", "id"),
            ("KEEL_GOOGLE_CLIENT_SECRET", "secret"),
            ("KEEL_GITHUB_CLIENT_ID", "id"),
            ("KEEL_GITHUB_CLIENT_SECRET", "secret"),
        ]);
        let v = Vars::new(vars);
        let c = Config::read(&v).expect("valid");
        assert_eq!(c.oauth.providers.len(), 2, "both providers must be on");
        let read = v.names_read();
        let documented: BTreeSet<&str> = env_example().into_iter().map(|(k, _)| k).collect();
        let undocumented: Vec<_> = read.difference(&documented).collect();
        assert!(
            undocumented.is_empty(),
            "read but missing from .env.example: {undocumented:?}"
        );
        let unread: Vec<_> = documented.difference(&read).collect();
        assert!(
            unread.is_empty(),
            "in .env.example but never read: {unread:?}"
        );
        assert!(read.len() > 40, "suspiciously few names read: {read:?}");
        let scripts_only: Vec<&str> = ENV_EXAMPLE
            .lines()
            .skip_while(|l| !l.starts_with(SCRIPTS_SECTION))
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once('=').map(|(k, _)| k))
            .filter(|k| read.contains(k))
            .collect();
        assert!(
            scripts_only.is_empty(),
            "read by the processes but listed under the scripts' section: {scripts_only:?}"
        );
    }

    #[test]
    fn env_example_has_a_comment_above_every_variable() {
        let lines: Vec<&str> = ENV_EXAMPLE.lines().collect();
        for (at, line) in lines.iter().enumerate() {
            if let Some((name, _)) = line.split_once('=').filter(|_| !line.starts_with('#')) {
                assert!(
                    at > 0 && lines[at - 1].starts_with('#'),
                    "{name} in .env.example has no comment line above it"
                );
            }
        }
    }

    #[test]
    fn debug_output_hides_every_secret() {
        const STRONG_KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef";
        let c = Config::from_vars([
            ("APP_ENV", "development"),
            ("KEEL_SECRET_KEY", STRONG_KEY),
            ("DATABASE_URL", "postgres://app:hunter2@db/keel"),
            ("REDIS_URL", "redis://:redispass@cache:6379"),
            ("SMTP_URL", "smtp://mailer:smtppass@smtp.example.com:587"),
            ("KEEL_JWT_KEYS", "k9=jwtsecretvalue"),
            ("KEEL_GOOGLE_CLIENT_ID", "gid"),
            ("KEEL_GOOGLE_CLIENT_SECRET", "googlesecretvalue"),
            ("KEEL_MEDIA_S3_BUCKET", "keel-media"),
            ("KEEL_MEDIA_S3_ACCESS_KEY_ID", "AKID"),
            ("KEEL_MEDIA_S3_SECRET_ACCESS_KEY", "s3secretvalue"),
        ])
        .expect("valid");
        let shown = format!("{c:?}");
        for secret in [
            STRONG_KEY,
            "hunter2",
            "redispass",
            "smtppass",
            "jwtsecretvalue",
            "googlesecretvalue",
            "s3secretvalue",
        ] {
            assert!(!shown.contains(secret), "{secret} leaked into Debug output");
        }
    }
}
