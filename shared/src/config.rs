//! Typed configuration, read from the environment once at startup and checked there.
//!
//! Every variable is listed in `.env.example`. A missing or malformed variable is a
//! [`ConfigError`] naming it; `APP_ENV=production` also refuses insecure settings. Secrets are
//! [`SecretString`]s, so `Debug` output and logs never show them.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

/// The deployment environment, from `APP_ENV`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppEnv {
    /// A developer's machine: pretty logs, `.env` is read, development defaults allowed.
    Development,
    /// The test suite.
    Test,
    /// A real deployment: JSON logs, insecure settings refused.
    Production,
}

impl FromStr for AppEnv {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "development" => Ok(Self::Development),
            "test" => Ok(Self::Test),
            "production" => Ok(Self::Production),
            _ => Err("expected one of development, test, production".into()),
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Multi-line, coloured, for a developer's terminal.
    Pretty,
    /// One line per event, human-readable.
    Compact,
    /// One JSON object per line, for log collectors.
    Json,
}

impl FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pretty" => Ok(Self::Pretty),
            "compact" => Ok(Self::Compact),
            "json" => Ok(Self::Json),
            _ => Err("expected one of pretty, compact, json".into()),
        }
    }
}

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
    /// `APP_ENV`.
    pub env: AppEnv,
    /// `KEEL_SECRET_KEY`: the key later used to sign tokens. At least 32 bytes in production.
    pub secret_key: SecretString,
    /// Logging.
    pub log: LogConfig,
    /// PostgreSQL.
    pub database: DatabaseConfig,
    /// Redis.
    pub redis: RedisConfig,
    /// The HTTP api.
    pub api: ApiConfig,
    /// Accounts and sessions.
    pub auth: AuthConfig,
    /// Social login.
    pub oauth: OAuthConfig,
    /// Outgoing email.
    pub email: EmailConfig,
    /// The worker's queues and job handling.
    pub worker: WorkerConfig,
    /// The scheduler.
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

/// Logging settings.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// `RUST_LOG`, an `EnvFilter` directive (checked at startup).
    pub filter: String,
    /// `KEEL_LOG_FORMAT`; defaults to JSON in production, pretty in development.
    pub format: LogFormat,
}

/// PostgreSQL pool settings.
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// `DATABASE_URL` (may hold a password).
    pub url: SecretString,
    /// `KEEL_DB_POOL_SIZE`: connections per process.
    pub pool_size: usize,
    /// `KEEL_DB_CONNECT_TIMEOUT_MS`: TCP connect + startup.
    pub connect_timeout: Duration,
    /// `KEEL_DB_ACQUIRE_TIMEOUT_MS`: how long a request waits for a free connection.
    pub acquire_timeout: Duration,
    /// `KEEL_DB_STATEMENT_TIMEOUT_MS`: server-side `statement_timeout` of every session.
    pub statement_timeout: Duration,
}

/// Redis pool settings.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// `REDIS_URL` (may hold a password).
    pub url: SecretString,
    /// `KEEL_REDIS_POOL_SIZE`: connections per process.
    pub pool_size: usize,
    /// `KEEL_REDIS_TIMEOUT_MS`: connect and acquire timeout.
    pub timeout: Duration,
    /// `KEEL_REDIS_PREFIX`: every key Keel writes starts with this and a colon.
    pub key_prefix: String,
}

/// HTTP api settings.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// `KEEL_API_ADDR`: where the api listens.
    pub addr: SocketAddr,
    /// `KEEL_API_WORKERS`: HTTP worker threads; 0 means one per core.
    pub workers: usize,
    /// `KEEL_API_BODY_LIMIT_BYTES`: the largest request body accepted.
    pub body_limit: usize,
}

/// Accounts, tokens and abuse limits.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// `KEEL_JWT_KEYS`: `kid=secret` pairs separated by `,`; the first signs, all verify.
    /// Unset: one key, `k0`, with `KEEL_SECRET_KEY`.
    pub jwt_keys: Vec<(String, SecretString)>,
    /// `KEEL_ACCESS_TOKEN_TTL_SECS`: access-token lifetime.
    pub access_ttl: Duration,
    /// `KEEL_REFRESH_TOKEN_TTL_DAYS`: session (refresh-token) lifetime.
    pub refresh_ttl: Duration,
    /// `KEEL_LOGIN_MAX_FAILURES`: failed logins per account and IP within the window before
    /// 429.
    pub login_max_failures: u32,
    /// `KEEL_RATE_LIMIT_WINDOW_SECS`: the window of every abuse limit.
    pub rate_window: Duration,
    /// `KEEL_RATE_LIMIT_PER_IP`: requests per IP within the window to each limited endpoint
    /// (register, login, forgot, resend).
    pub per_ip_limit: u32,
    /// `KEEL_PASSWORD_HASH_CONCURRENCY`: password hashes running at once (0: half the cores).
    pub hash_concurrency: usize,
    /// `KEEL_TRUST_FORWARDED_FOR`: take the client IP from `X-Forwarded-For` (only behind a
    /// proxy that sets it).
    pub trust_forwarded_for: bool,
}

/// One OAuth 2.0 provider's endpoints and client.
#[derive(Debug, Clone)]
pub struct OAuthProviderConfig {
    /// `google` or `github`.
    pub name: &'static str,
    /// Client id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: SecretString,
    /// Authorization endpoint (the browser goes there).
    pub auth_url: String,
    /// Token endpoint.
    pub token_url: String,
    /// Profile endpoint (Google: OpenID userinfo; GitHub: the API base, `/user` and
    /// `/user/emails` are under it).
    pub profile_url: String,
    /// Scopes asked for.
    pub scope: &'static str,
}

/// Social login.
#[derive(Debug, Clone)]
pub struct OAuthConfig {
    /// `KEEL_OAUTH_REDIRECT_URL`: the frontend page providers send the browser back to;
    /// `/<provider>` is appended.
    pub redirect_url: String,
    /// Providers with a client id and secret configured.
    pub providers: Vec<OAuthProviderConfig>,
}

impl OAuthConfig {
    /// The provider named `name`, if configured.
    pub fn provider(&self, name: &str) -> Option<&OAuthProviderConfig> {
        self.providers.iter().find(|p| p.name == name)
    }
}

/// Outgoing email settings.
#[derive(Debug, Clone)]
pub struct EmailConfig {
    /// `SMTP_URL`: `smtp://host:port` (plain), `smtp://...?tls=required` (STARTTLS) or
    /// `smtps://host:port` (TLS), with optional `user:password@`.
    pub smtp_url: SecretString,
    /// `KEEL_SMTP_TIMEOUT_MS`: each SMTP command gives up after this long.
    pub smtp_timeout: Duration,
    /// `KEEL_EMAIL_FROM`: the sender, `Name <address>`.
    pub from: lettre::message::Mailbox,
    /// `KEEL_PRODUCT_NAME`: used in email subjects and bodies.
    pub product_name: String,
    /// `KEEL_FRONTEND_URL`: base of links in emails.
    pub frontend_url: String,
}

/// Worker settings.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// `KEEL_WORKER_QUEUES`: the queues this worker serves, each with its concurrency
    /// (`critical=4,default=16,email=4`).
    pub queues: Vec<(String, usize)>,
    /// `KEEL_JOB_REDELIVERY_SECS`: a job held this long by a worker that stopped
    /// heartbeating (killed) is delivered to another.
    pub redelivery_timeout: Duration,
    /// `KEEL_DEAD_JOB_RETENTION_HOURS`: dead jobs older than this are purged.
    pub dead_retention_hours: u64,
}

/// Scheduler settings.
#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// `KEEL_SCHEDULE`: per-entry overrides, `name=<cron expression>` or `name=off`,
    /// separated by `;`. Checked against the entries by the scheduler at startup.
    pub overrides: Vec<(String, String)>,
    /// `KEEL_SCHEDULER_MISFIRE_GRACE_SECS`: a slot missed while no scheduler ran is still run
    /// (policy `once`) when the scheduler is back within this long.
    pub misfire_grace: Duration,
}

/// The SMTP URL used when none is set (a local SMTP sink). Production refuses it.
pub const DEVELOPMENT_SMTP_URL: &str = "smtp://127.0.0.1:1025";

/// The secret key used when none is set outside production. Production refuses it.
pub const DEVELOPMENT_SECRET_KEY: &str = "keel-development-secret-key-do-not-use-in-production";

/// Passwords that a production database URL must not use.
const KNOWN_DEFAULT_PASSWORDS: &[&str] = &["postgres", "password", "keel", "changeme", "secret"];

/// A set of variables to read configuration from.
struct Vars(HashMap<String, String>);

impl Vars {
    /// The value of `name`; an empty value counts as unset.
    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    fn parse_or<T>(&self, name: &'static str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some(raw) => raw
                .parse()
                .map_err(|e| ConfigError::new(name, format!("invalid value {raw:?}: {e}"))),
        }
    }

    fn millis_or(&self, name: &'static str, default_ms: u64) -> Result<Duration, ConfigError> {
        let ms: u64 = self.parse_or(name, default_ms)?;
        if ms == 0 {
            return Err(ConfigError::new(name, "must be greater than 0"));
        }
        Ok(Duration::from_millis(ms))
    }

    fn size_or(&self, name: &'static str, default: usize) -> Result<usize, ConfigError> {
        let n: usize = self.parse_or(name, default)?;
        if n == 0 {
            return Err(ConfigError::new(name, "must be greater than 0"));
        }
        Ok(n)
    }
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
        let v = Vars(
            vars.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        );
        let env: AppEnv = v.parse_or("APP_ENV", AppEnv::Development)?;
        let production = env == AppEnv::Production;

        let secret_key = match v.get("KEEL_SECRET_KEY") {
            Some(key) => SecretString::from(key.to_owned()),
            None if production => {
                return Err(ConfigError::new(
                    "KEEL_SECRET_KEY",
                    "must be set in production (at least 32 random bytes, e.g. `openssl rand -hex 32`)",
                ));
            }
            None => SecretString::from(DEVELOPMENT_SECRET_KEY),
        };

        let filter = v.get("RUST_LOG").unwrap_or("info").to_owned();
        tracing_subscriber::EnvFilter::try_new(&filter)
            .map_err(|e| ConfigError::new("RUST_LOG", format!("invalid filter {filter:?}: {e}")))?;
        let default_format = match env {
            AppEnv::Production => LogFormat::Json,
            AppEnv::Test => LogFormat::Compact,
            AppEnv::Development => LogFormat::Pretty,
        };
        let log = LogConfig {
            filter,
            format: v.parse_or("KEEL_LOG_FORMAT", default_format)?,
        };

        let database_url = v
            .get("DATABASE_URL")
            .unwrap_or("postgres://postgres@127.0.0.1:5432/keel_dev");
        let pg: tokio_postgres::Config = database_url.parse().map_err(|e| {
            // The URL may hold a password: name the problem, never echo the value.
            ConfigError::new("DATABASE_URL", format!("not a valid PostgreSQL URL: {e}"))
        })?;
        if pg.get_dbname().is_none() {
            return Err(ConfigError::new("DATABASE_URL", "names no database"));
        }
        let database = DatabaseConfig {
            url: SecretString::from(database_url.to_owned()),
            pool_size: v.size_or("KEEL_DB_POOL_SIZE", 16)?,
            connect_timeout: v.millis_or("KEEL_DB_CONNECT_TIMEOUT_MS", 3_000)?,
            acquire_timeout: v.millis_or("KEEL_DB_ACQUIRE_TIMEOUT_MS", 2_000)?,
            statement_timeout: v.millis_or("KEEL_DB_STATEMENT_TIMEOUT_MS", 5_000)?,
        };

        let redis_url = v.get("REDIS_URL").unwrap_or("redis://127.0.0.1:6379");
        redis::parse_redis_url(redis_url).ok_or_else(|| {
            ConfigError::new("REDIS_URL", "not a valid redis:// or rediss:// URL")
        })?;
        let key_prefix = v.get("KEEL_REDIS_PREFIX").unwrap_or("keel").to_owned();
        if !key_prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
        {
            return Err(ConfigError::new(
                "KEEL_REDIS_PREFIX",
                "may hold only letters, digits, '-', '_', '.' and ':'",
            ));
        }
        let redis = RedisConfig {
            url: SecretString::from(redis_url.to_owned()),
            pool_size: v.size_or("KEEL_REDIS_POOL_SIZE", 16)?,
            timeout: v.millis_or("KEEL_REDIS_TIMEOUT_MS", 2_000)?,
            key_prefix,
        };

        let api = ApiConfig {
            addr: v.parse_or("KEEL_API_ADDR", SocketAddr::from(([127, 0, 0, 1], 8000)))?,
            workers: v.parse_or("KEEL_API_WORKERS", 0)?,
            body_limit: v.size_or("KEEL_API_BODY_LIMIT_BYTES", 256 * 1024)?,
        };

        let jwt_keys = match v.get("KEEL_JWT_KEYS") {
            None => vec![("k0".to_owned(), secret_key.clone())],
            Some(raw) => parse_jwt_keys(raw).map_err(|e| ConfigError::new("KEEL_JWT_KEYS", e))?,
        };
        let auth = AuthConfig {
            jwt_keys,
            access_ttl: Duration::from_secs(
                v.parse_or::<u64>("KEEL_ACCESS_TOKEN_TTL_SECS", 900)?.max(1),
            ),
            refresh_ttl: Duration::from_secs(
                v.parse_or::<u64>("KEEL_REFRESH_TOKEN_TTL_DAYS", 30)?.max(1) * 86_400,
            ),
            login_max_failures: v.parse_or::<u32>("KEEL_LOGIN_MAX_FAILURES", 5)?.max(1),
            rate_window: Duration::from_secs(
                v.parse_or::<u64>("KEEL_RATE_LIMIT_WINDOW_SECS", 900)?
                    .max(1),
            ),
            per_ip_limit: v.parse_or::<u32>("KEEL_RATE_LIMIT_PER_IP", 50)?.max(1),
            trust_forwarded_for: v.parse_or("KEEL_TRUST_FORWARDED_FOR", false)?,
            hash_concurrency: v.parse_or("KEEL_PASSWORD_HASH_CONCURRENCY", 0)?,
        };

        let smtp_url = v.get("SMTP_URL").unwrap_or(DEVELOPMENT_SMTP_URL);
        lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(smtp_url).map_err(|e| {
            ConfigError::new(
                "SMTP_URL",
                format!("not a valid smtp:// or smtps:// URL: {e}"),
            )
        })?;
        let email = EmailConfig {
            smtp_url: SecretString::from(smtp_url.to_owned()),
            smtp_timeout: v.millis_or("KEEL_SMTP_TIMEOUT_MS", 10_000)?,
            from: v.parse_or(
                "KEEL_EMAIL_FROM",
                lettre::message::Mailbox::new(
                    Some("Keel".into()),
                    lettre::Address::new("no-reply", "localhost").map_err(|e| {
                        ConfigError::new("KEEL_EMAIL_FROM", format!("bad default: {e}"))
                    })?,
                ),
            )?,
            product_name: v.get("KEEL_PRODUCT_NAME").unwrap_or("Keel").to_owned(),
            frontend_url: v
                .get("KEEL_FRONTEND_URL")
                .unwrap_or("http://localhost:3000")
                .trim_end_matches('/')
                .to_owned(),
        };
        if !(email.frontend_url.starts_with("http://")
            || email.frontend_url.starts_with("https://"))
        {
            return Err(ConfigError::new(
                "KEEL_FRONTEND_URL",
                "must start with http:// or https://",
            ));
        }

        let mut providers = Vec::new();
        for (name, var, defaults, scope) in [
            (
                "google",
                "GOOGLE",
                [
                    "https://accounts.google.com/o/oauth2/v2/auth",
                    "https://oauth2.googleapis.com/token",
                    "https://openidconnect.googleapis.com/v1/userinfo",
                ],
                "openid email profile",
            ),
            (
                "github",
                "GITHUB",
                [
                    "https://github.com/login/oauth/authorize",
                    "https://github.com/login/oauth/access_token",
                    "https://api.github.com",
                ],
                "read:user user:email",
            ),
        ] {
            let id_var: &'static str = if var == "GOOGLE" {
                "KEEL_GOOGLE_CLIENT_ID"
            } else {
                "KEEL_GITHUB_CLIENT_ID"
            };
            let secret_var: &'static str = if var == "GOOGLE" {
                "KEEL_GOOGLE_CLIENT_SECRET"
            } else {
                "KEEL_GITHUB_CLIENT_SECRET"
            };
            let url_vars: [&'static str; 3] = if var == "GOOGLE" {
                [
                    "KEEL_GOOGLE_AUTH_URL",
                    "KEEL_GOOGLE_TOKEN_URL",
                    "KEEL_GOOGLE_USERINFO_URL",
                ]
            } else {
                [
                    "KEEL_GITHUB_AUTH_URL",
                    "KEEL_GITHUB_TOKEN_URL",
                    "KEEL_GITHUB_API_URL",
                ]
            };
            let Some(client_id) = v.get(id_var) else {
                continue;
            };
            let client_secret = v.get(secret_var).ok_or_else(|| {
                ConfigError::new(secret_var, format!("must be set with {id_var}"))
            })?;
            let mut urls = Vec::new();
            for (url_var, default) in url_vars.iter().zip(defaults) {
                let url = v
                    .get(url_var)
                    .unwrap_or(default)
                    .trim_end_matches('/')
                    .to_owned();
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    return Err(ConfigError::new(url_var, "must be an http(s) URL"));
                }
                urls.push(url);
            }
            providers.push(OAuthProviderConfig {
                name,
                client_id: client_id.to_owned(),
                client_secret: SecretString::from(client_secret.to_owned()),
                auth_url: urls[0].clone(),
                token_url: urls[1].clone(),
                profile_url: urls[2].clone(),
                scope,
            });
        }
        let oauth = OAuthConfig {
            redirect_url: v
                .get("KEEL_OAUTH_REDIRECT_URL")
                .map_or_else(
                    || format!("{}/oauth/callback", email.frontend_url),
                    str::to_owned,
                )
                .trim_end_matches('/')
                .to_owned(),
            providers,
        };

        let worker = WorkerConfig {
            queues: parse_queues(
                v.get("KEEL_WORKER_QUEUES")
                    .unwrap_or("critical=4,default=16,email=4"),
            )
            .map_err(|e| ConfigError::new("KEEL_WORKER_QUEUES", e))?,
            redelivery_timeout: Duration::from_secs(
                v.parse_or::<u64>("KEEL_JOB_REDELIVERY_SECS", 30)?.max(1),
            ),
            dead_retention_hours: v.parse_or("KEEL_DEAD_JOB_RETENTION_HOURS", 24 * 7)?,
        };

        let scheduler = SchedulerConfig {
            overrides: parse_overrides(v.get("KEEL_SCHEDULE").unwrap_or(""))
                .map_err(|e| ConfigError::new("KEEL_SCHEDULE", e))?,
            misfire_grace: Duration::from_secs(
                v.parse_or("KEEL_SCHEDULER_MISFIRE_GRACE_SECS", 300)?,
            ),
        };

        let config = Self {
            env,
            auth,
            oauth,
            email,
            worker,
            scheduler,
            secret_key,
            log,
            database,
            redis,
            api,
            worker_health_addr: v.parse_or(
                "KEEL_WORKER_HEALTH_ADDR",
                SocketAddr::from(([127, 0, 0, 1], 8001)),
            )?,
            scheduler_health_addr: v.parse_or(
                "KEEL_SCHEDULER_HEALTH_ADDR",
                SocketAddr::from(([127, 0, 0, 1], 8002)),
            )?,
            shutdown_grace: Duration::from_secs(v.parse_or("KEEL_SHUTDOWN_GRACE_SECS", 30)?),
            ready_timeout: v.millis_or("KEEL_READY_TIMEOUT_MS", 1_000)?,
        };
        if production {
            config.refuse_insecure(&pg)?;
        }
        Ok(config)
    }

    /// The checks `APP_ENV=production` adds: no development defaults, no short secrets.
    fn refuse_insecure(&self, pg: &tokio_postgres::Config) -> Result<(), ConfigError> {
        let key = self.secret_key.expose_secret();
        if key == DEVELOPMENT_SECRET_KEY {
            return Err(ConfigError::new(
                "KEEL_SECRET_KEY",
                "is the development default; set a random value in production",
            ));
        }
        if key.len() < 32 {
            return Err(ConfigError::new(
                "KEEL_SECRET_KEY",
                format!("is {} bytes long; production needs at least 32", key.len()),
            ));
        }
        for (kid, secret) in &self.auth.jwt_keys {
            let secret = secret.expose_secret();
            if secret.len() < 32 || secret == DEVELOPMENT_SECRET_KEY {
                return Err(ConfigError::new(
                    "KEEL_JWT_KEYS",
                    format!("key {kid} must be at least 32 random bytes in production"),
                ));
            }
        }
        if self.email.smtp_url.expose_secret() == DEVELOPMENT_SMTP_URL {
            return Err(ConfigError::new(
                "SMTP_URL",
                "must be set in production (the default is a local development sink)",
            ));
        }
        if let Some(password) = pg.get_password() {
            let password = String::from_utf8_lossy(password).to_lowercase();
            if KNOWN_DEFAULT_PASSWORDS.contains(&password.as_str()) {
                return Err(ConfigError::new(
                    "DATABASE_URL",
                    "uses a well-known default password; set a strong one in production",
                ));
            }
        }
        Ok(())
    }
}

/// `critical=4,default=16` → `[("critical", 4), ("default", 16)]`.
fn parse_queues(raw: &str) -> Result<Vec<(String, usize)>, String> {
    let mut queues: Vec<(String, usize)> = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, n) = part
            .split_once('=')
            .ok_or_else(|| format!("{part:?} is not queue=concurrency"))?;
        let (name, n) = (name.trim(), n.trim());
        if !crate::jobs::is_valid_queue_name(name) {
            return Err(format!("{name:?} is not a valid queue name (a-z 0-9 _ -)"));
        }
        let n: usize = n
            .parse()
            .ok()
            .filter(|n| (1..=1024).contains(n))
            .ok_or_else(|| format!("concurrency of {name} must be 1..=1024, not {n:?}"))?;
        if queues.iter().any(|(q, _)| q == name) {
            return Err(format!("queue {name} is listed twice"));
        }
        queues.push((name.to_owned(), n));
    }
    if queues.is_empty() {
        return Err("lists no queue".into());
    }
    Ok(queues)
}

/// `k2=secret2,k1=secret1` → `[("k2", secret2), ("k1", secret1)]`.
fn parse_jwt_keys(raw: &str) -> Result<Vec<(String, SecretString)>, String> {
    let mut keys: Vec<(String, SecretString)> = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (kid, secret) = part
            .split_once('=')
            .ok_or_else(|| "expected kid=secret pairs separated by commas".to_owned())?;
        let kid = kid.trim();
        if kid.is_empty()
            || !kid
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(format!(
                "key id {kid:?} may hold only letters, digits, '-', '_' and '.'"
            ));
        }
        if secret.trim().is_empty() {
            return Err(format!("key {kid} has an empty secret"));
        }
        if keys.iter().any(|(k, _)| k == kid) {
            return Err(format!("key id {kid} is listed twice"));
        }
        keys.push((kid.to_owned(), SecretString::from(secret.trim().to_owned())));
    }
    if keys.is_empty() {
        return Err("lists no key".into());
    }
    Ok(keys)
}

/// `a=0 0 * * * *;b=off` → `[("a", "0 0 * * * *"), ("b", "off")]`.
fn parse_overrides(raw: &str) -> Result<Vec<(String, String)>, String> {
    raw.split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|part| {
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| format!("{part:?} is not name=<cron expression> or name=off"))?;
            Ok((name.trim().to_owned(), value.trim().to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_vars(vars.iter().copied())
    }

    const STRONG_KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn defaults_are_complete_for_development() {
        let c = config(&[]).expect("defaults are valid");
        assert_eq!(c.env, AppEnv::Development);
        assert_eq!(c.api.addr.to_string(), "127.0.0.1:8000");
        assert_eq!(c.worker_health_addr.to_string(), "127.0.0.1:8001");
        assert_eq!(c.scheduler_health_addr.to_string(), "127.0.0.1:8002");
        assert_eq!(c.log.format, LogFormat::Pretty);
    }

    #[test]
    fn a_malformed_address_names_its_variable() {
        let err = config(&[("KEEL_API_ADDR", "localhost")]).expect_err("must fail");
        assert_eq!(err.var, "KEEL_API_ADDR");
        assert!(
            err.to_string()
                .starts_with("configuration error: KEEL_API_ADDR: invalid value")
        );
    }

    #[test]
    fn an_unknown_app_env_is_refused() {
        let err = config(&[("APP_ENV", "staging")]).expect_err("must fail");
        assert_eq!(err.var, "APP_ENV");
    }

    #[test]
    fn a_zero_timeout_is_refused() {
        let err = config(&[("KEEL_DB_CONNECT_TIMEOUT_MS", "0")]).expect_err("must fail");
        assert_eq!(err.var, "KEEL_DB_CONNECT_TIMEOUT_MS");
    }

    #[test]
    fn a_bad_log_filter_names_rust_log() {
        let err = config(&[("RUST_LOG", "info,[[[")]).expect_err("must fail");
        assert_eq!(err.var, "RUST_LOG");
    }

    #[test]
    fn a_malformed_database_url_is_refused_without_echoing_it() {
        let err =
            config(&[("DATABASE_URL", "postgres://u:hunter2@[bad/x")]).expect_err("must fail");
        assert_eq!(err.var, "DATABASE_URL");
        assert!(!err.to_string().contains("hunter2"));
    }

    #[test]
    fn a_malformed_redis_url_is_refused() {
        let err = config(&[("REDIS_URL", "http://127.0.0.1")]).expect_err("must fail");
        assert_eq!(err.var, "REDIS_URL");
    }

    #[test]
    fn a_redis_prefix_with_spaces_is_refused() {
        let err = config(&[("KEEL_REDIS_PREFIX", "a b")]).expect_err("must fail");
        assert_eq!(err.var, "KEEL_REDIS_PREFIX");
    }

    #[test]
    fn production_requires_a_secret_key() {
        let err = config(&[("APP_ENV", "production")]).expect_err("must fail");
        assert_eq!(err.var, "KEEL_SECRET_KEY");
    }

    #[test]
    fn production_refuses_a_short_secret_key() {
        let err = config(&[("APP_ENV", "production"), ("KEEL_SECRET_KEY", "short")])
            .expect_err("must fail");
        assert_eq!(err.var, "KEEL_SECRET_KEY");
        assert!(err.problem.contains("at least 32"));
    }

    #[test]
    fn production_refuses_the_development_secret_key() {
        let err = config(&[
            ("APP_ENV", "production"),
            ("KEEL_SECRET_KEY", DEVELOPMENT_SECRET_KEY),
        ])
        .expect_err("must fail");
        assert!(err.problem.contains("development default"));
    }

    #[test]
    fn production_refuses_a_default_database_password() {
        let err = config(&[
            ("APP_ENV", "production"),
            ("KEEL_SECRET_KEY", STRONG_KEY),
            ("DATABASE_URL", "postgres://app:postgres@db/keel"),
            ("SMTP_URL", "smtps://user:pw@smtp.example.com:465"),
        ])
        .expect_err("must fail");
        assert_eq!(err.var, "DATABASE_URL");
    }

    #[test]
    fn production_with_strong_settings_starts_with_json_logs() {
        let c = config(&[
            ("APP_ENV", "production"),
            ("KEEL_SECRET_KEY", STRONG_KEY),
            ("SMTP_URL", "smtps://user:pw@smtp.example.com:465"),
            ("DATABASE_URL", "postgres://app:Xk29vLq8a@db/keel"),
        ])
        .expect("valid");
        assert_eq!(c.log.format, LogFormat::Json);
    }

    /// Every variable this module reads, found in its own source.
    fn variables_read_here() -> Vec<&'static str> {
        let source = include_str!("config.rs");
        let mut names: Vec<&str> = source
            .split('"')
            .filter(|s| {
                (s.len() > 5 && s.starts_with("KEEL_")
                    || [
                        "APP_ENV",
                        "RUST_LOG",
                        "DATABASE_URL",
                        "REDIS_URL",
                        "SMTP_URL",
                    ]
                    .contains(s))
                    && s.chars().all(|c| c.is_ascii_uppercase() || c == '_')
            })
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    #[test]
    fn env_example_lists_every_variable_with_a_comment() {
        let example = include_str!("../../.env.example");
        let lines: Vec<&str> = example.lines().collect();
        let names = variables_read_here();
        assert!(names.len() > 10, "found {names:?}");
        for name in names {
            let at = lines
                .iter()
                .position(|l| l.starts_with(&format!("{name}=")))
                .unwrap_or_else(|| panic!("{name} is missing from .env.example"));
            assert!(
                at > 0 && lines[at - 1].starts_with('#'),
                "{name} in .env.example has no comment line above it"
            );
        }
    }

    #[test]
    fn env_example_is_a_valid_development_configuration() {
        let vars = include_str!("../../.env.example")
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k, v.trim_matches('"')));
        Config::from_vars(vars).expect(".env.example must load as is");
    }

    #[test]
    fn worker_queues_parse_with_their_concurrency() {
        let c = config(&[("KEEL_WORKER_QUEUES", "email=2, default=8")]).expect("valid");
        assert_eq!(
            c.worker.queues,
            vec![("email".to_owned(), 2), ("default".to_owned(), 8)]
        );
    }

    #[test]
    fn malformed_worker_queues_are_refused() {
        for bad in ["email", "email=0", "Email=1", "a=1,a=2", "email=x", ","] {
            let err = config(&[("KEEL_WORKER_QUEUES", bad)]).expect_err(bad);
            assert_eq!(err.var, "KEEL_WORKER_QUEUES", "{bad}");
        }
    }

    #[test]
    fn a_schedule_override_without_equals_is_refused() {
        let err = config(&[("KEEL_SCHEDULE", "purge_dead_jobs")]).expect_err("must fail");
        assert_eq!(err.var, "KEEL_SCHEDULE");
    }

    #[test]
    fn a_bad_sender_address_is_refused() {
        let err = config(&[("KEEL_EMAIL_FROM", "not an address")]).expect_err("must fail");
        assert_eq!(err.var, "KEEL_EMAIL_FROM");
    }

    #[test]
    fn a_bad_smtp_url_is_refused() {
        let err = config(&[("SMTP_URL", "http://mail")]).expect_err("must fail");
        assert_eq!(err.var, "SMTP_URL");
    }

    #[test]
    fn production_requires_a_real_smtp_server() {
        let err = config(&[("APP_ENV", "production"), ("KEEL_SECRET_KEY", STRONG_KEY)])
            .expect_err("must fail");
        assert_eq!(err.var, "SMTP_URL");
    }

    #[test]
    fn jwt_keys_default_to_the_secret_key_and_parse_in_order() {
        let c = config(&[]).expect("valid");
        assert_eq!(c.auth.jwt_keys.len(), 1);
        assert_eq!(c.auth.jwt_keys[0].0, "k0");
        let c = config(&[("KEEL_JWT_KEYS", "k2=second-secret,k1=first-secret")]).expect("valid");
        let kids: Vec<&str> = c.auth.jwt_keys.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(kids, ["k2", "k1"]);
    }

    #[test]
    fn malformed_jwt_keys_are_refused() {
        for bad in ["nokey", "k1=", "k 1=x", "k1=a,k1=b", ","] {
            let err = config(&[("KEEL_JWT_KEYS", bad)]).expect_err(bad);
            assert_eq!(err.var, "KEEL_JWT_KEYS", "{bad}");
        }
    }

    #[test]
    fn production_refuses_a_short_jwt_key() {
        let err = config(&[
            ("APP_ENV", "production"),
            ("KEEL_SECRET_KEY", STRONG_KEY),
            ("KEEL_JWT_KEYS", "k1=short"),
        ])
        .expect_err("must fail");
        assert_eq!(err.var, "KEEL_JWT_KEYS");
    }

    #[test]
    fn an_oauth_provider_is_on_only_with_its_client_id_and_needs_its_secret() {
        assert!(config(&[]).expect("valid").oauth.providers.is_empty());
        let err = config(&[("KEEL_GITHUB_CLIENT_ID", "abc")]).expect_err("must fail");
        assert_eq!(err.var, "KEEL_GITHUB_CLIENT_SECRET");
        let c = config(&[
            ("KEEL_GITHUB_CLIENT_ID", "abc"),
            ("KEEL_GITHUB_CLIENT_SECRET", "s"),
        ])
        .expect("valid");
        let gh = c.oauth.provider("github").expect("github");
        assert_eq!(gh.token_url, "https://github.com/login/oauth/access_token");
        assert_eq!(c.oauth.redirect_url, "http://localhost:3000/oauth/callback");
    }

    #[test]
    fn debug_output_hides_every_secret() {
        let c = config(&[
            ("KEEL_SECRET_KEY", STRONG_KEY),
            ("DATABASE_URL", "postgres://app:hunter2@db/keel"),
            ("REDIS_URL", "redis://:redispass@cache:6379"),
            ("SMTP_URL", "smtp://mailer:smtppass@smtp.example.com:587"),
            ("KEEL_JWT_KEYS", "k9=jwtsecretvalue"),
            ("KEEL_GOOGLE_CLIENT_ID", "gid"),
            ("KEEL_GOOGLE_CLIENT_SECRET", "googlesecretvalue"),
        ])
        .expect("valid");
        let shown = format!("{c:?}");
        for secret in [
            STRONG_KEY,
            "hunter2",
            "redispass",
            "smtppass",
            "jwtsecretvalue",
        ] {
            assert!(!shown.contains(secret), "{secret} leaked into Debug output");
        }
    }
}
