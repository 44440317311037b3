//! PostgreSQL: the connection URL (with its TLS settings) and the pool's size and timeouts.
//!
//! `sslmode` takes libpq's values: `disable`, `prefer` (the default), `require`, `verify-ca`,
//! `verify-full`; `sslrootcert` names a PEM file of trusted CAs (`system`, or unset, means the
//! system's roots). tokio-postgres knows neither `verify-*` nor `sslrootcert`, so both are
//! taken out of the URL here and applied by `db::tls`.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

use super::ConfigError;
use super::vars::{Vars, one_of};

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
    /// `sslmode` from `DATABASE_URL`.
    pub ssl_mode: SslMode,
    /// `sslrootcert` from `DATABASE_URL`: a PEM file of trusted CAs; `None` for the system's.
    pub ssl_root_cert: Option<PathBuf>,
    /// `KEEL_ALLOW_INSECURE_DB=1`: the operator says the database network is private, so
    /// production may connect without TLS.
    pub allow_insecure: bool,
}

/// How the connection to PostgreSQL is protected (libpq's `sslmode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Plain TCP.
    Disable,
    /// TLS when the server offers it, plain otherwise; the certificate is not checked.
    Prefer,
    /// TLS or no connection; the certificate is not checked.
    Require,
    /// TLS with a certificate signed by a trusted CA, for any host name.
    VerifyCa,
    /// TLS with a certificate signed by a trusted CA and naming the host connected to.
    VerifyFull,
}

impl SslMode {
    fn parse(s: &str) -> Result<Self, String> {
        one_of(
            s,
            &[
                ("disable", Self::Disable),
                ("allow", Self::Prefer),
                ("prefer", Self::Prefer),
                ("require", Self::Require),
                ("verify-ca", Self::VerifyCa),
                ("verify-full", Self::VerifyFull),
            ],
        )
        .map_err(|e| format!("sslmode: {e}"))
    }

    /// Whether a connection in this mode is always encrypted.
    pub fn requires_tls(self) -> bool {
        matches!(self, Self::Require | Self::VerifyCa | Self::VerifyFull)
    }
}

/// `DATABASE_URL` split into what tokio-postgres reads and the TLS settings it does not.
#[derive(Debug)]
pub struct DatabaseUrl {
    /// The connection settings, `sslmode` mapped to tokio-postgres's three values.
    pub pg: tokio_postgres::Config,
    /// The requested `sslmode` (`prefer` when unset, as in libpq).
    pub ssl_mode: SslMode,
    /// The `sslrootcert` file, unless unset or `system`.
    pub ssl_root_cert: Option<PathBuf>,
}

impl DatabaseConfig {
    /// `DATABASE_URL` (checked) and the `KEEL_DB_*` pool settings.
    pub(super) fn from_vars(v: &Vars) -> Result<Self, ConfigError> {
        let url = v.get_or(
            "DATABASE_URL",
            "postgres://postgres@127.0.0.1:5432/keel_dev",
        );
        let parsed = parse_url(url)?;
        let allow_insecure = v.parse_with("KEEL_ALLOW_INSECURE_DB", "0", parse_flag)?;
        Ok(Self {
            url: SecretString::from(url.to_owned()),
            pool_size: v.size_or("KEEL_DB_POOL_SIZE", 16)?,
            connect_timeout: v.millis_or("KEEL_DB_CONNECT_TIMEOUT_MS", 3_000)?,
            acquire_timeout: v.millis_or("KEEL_DB_ACQUIRE_TIMEOUT_MS", 2_000)?,
            statement_timeout: v.millis_or("KEEL_DB_STATEMENT_TIMEOUT_MS", 5_000)?,
            ssl_mode: parsed.ssl_mode,
            ssl_root_cert: parsed.ssl_root_cert,
            allow_insecure,
        })
    }

    /// `DATABASE_URL` parsed for connecting (it was checked when the configuration was read).
    pub fn parsed_url(&self) -> Result<DatabaseUrl, ConfigError> {
        use secrecy::ExposeSecret;
        parse_url(self.url.expose_secret())
    }
}

/// `0`/`1` (also `false`/`true`).
fn parse_flag(s: &str) -> Result<bool, String> {
    one_of(
        s,
        &[("0", false), ("1", true), ("false", false), ("true", true)],
    )
}

/// `DATABASE_URL` parsed, with a database name. The error never echoes the URL: it may hold
/// a password.
pub(super) fn parse_url(url: &str) -> Result<DatabaseUrl, ConfigError> {
    let invalid = |e: String| ConfigError::new("DATABASE_URL", e);
    let (rest, ssl_mode, root_cert) = take_tls_params(url).map_err(invalid)?;
    let ssl_mode = ssl_mode
        .as_deref()
        .map_or(Ok(SslMode::Prefer), SslMode::parse)
        .map_err(invalid)?;
    let mut pg: tokio_postgres::Config = rest
        .parse()
        .map_err(|e| invalid(format!("not a valid PostgreSQL URL: {e}")))?;
    if pg.get_dbname().is_none() {
        return Err(ConfigError::new("DATABASE_URL", "names no database"));
    }
    pg.ssl_mode(match ssl_mode {
        SslMode::Disable => tokio_postgres::config::SslMode::Disable,
        SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
        _ => tokio_postgres::config::SslMode::Require,
    });
    let ssl_root_cert = root_cert.filter(|p| p != "system").map(PathBuf::from);
    if ssl_root_cert.is_some() && !matches!(ssl_mode, SslMode::VerifyCa | SslMode::VerifyFull) {
        return Err(invalid(
            "sslrootcert is only used with sslmode=verify-ca or verify-full".to_owned(),
        ));
    }
    Ok(DatabaseUrl {
        pg,
        ssl_mode,
        ssl_root_cert,
    })
}

/// Removes `sslmode` and `sslrootcert` from a URL's query string or a key=value string, and
/// returns what is left with their values.
fn take_tls_params(url: &str) -> Result<(String, Option<String>, Option<String>), String> {
    let (mut mode, mut root) = (None, None);
    let mut take = |key: &str, value: &str| -> bool {
        let slot = match key {
            "sslmode" => &mut mode,
            "sslrootcert" => &mut root,
            _ => return false,
        };
        *slot = Some(percent_decode(value));
        true
    };
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let Some((base, query)) = url.split_once('?') else {
            return Ok((url.to_owned(), None, None));
        };
        let kept: Vec<&str> = query
            .split('&')
            .filter(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                !take(k, v)
            })
            .collect();
        let rest = if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        return Ok((rest, mode, root));
    }
    // key=value form: values with spaces are quoted; only unquoted TLS values are read here.
    let kept: Vec<&str> = url
        .split_whitespace()
        .filter(|word| {
            let (k, v) = word.split_once('=').unwrap_or((word, ""));
            !take(k.trim(), v.trim())
        })
        .collect();
    Ok((kept.join(" "), mode, root))
}

/// Decodes `%XX` escapes (a path in a URL query may be escaped); anything else is kept.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;
    use crate::config::vars::{accepted, refused};

    #[test]
    fn defaults_point_at_the_local_development_database() {
        let c = accepted(DatabaseConfig::from_vars, &[]);
        assert_eq!(
            c.url.expose_secret(),
            "postgres://postgres@127.0.0.1:5432/keel_dev"
        );
        assert_eq!(c.pool_size, 16);
        assert_eq!(c.statement_timeout, Duration::from_secs(5));
    }

    #[test]
    fn a_malformed_database_url_is_refused_without_echoing_it() {
        let err = refused(
            DatabaseConfig::from_vars,
            "DATABASE_URL",
            "postgres://u:hunter2@[bad/x",
        );
        assert!(!err.to_string().contains("hunter2"));
    }

    #[test]
    fn a_url_without_a_database_name_is_refused() {
        let err = refused(
            DatabaseConfig::from_vars,
            "DATABASE_URL",
            "host=db user=app",
        );
        assert_eq!(
            err.to_string(),
            "configuration error: DATABASE_URL: names no database"
        );
    }

    #[test]
    fn sslmode_defaults_to_prefer_like_libpq() {
        let c = accepted(DatabaseConfig::from_vars, &[]);
        assert_eq!(c.ssl_mode, SslMode::Prefer);
        assert_eq!(c.ssl_root_cert, None);
        assert!(!c.allow_insecure);
    }

    #[test]
    fn verify_modes_and_the_root_cert_are_taken_out_of_the_url() {
        let c = accepted(
            DatabaseConfig::from_vars,
            &[(
                "DATABASE_URL",
                "postgres://app@db:5432/keel?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&application_name=x",
            )],
        );
        assert_eq!(c.ssl_mode, SslMode::VerifyFull);
        assert_eq!(c.ssl_root_cert, Some(PathBuf::from("/etc/ca.pem")));
        let parsed = c.parsed_url().expect("valid");
        assert_eq!(
            parsed.pg.get_ssl_mode(),
            tokio_postgres::config::SslMode::Require
        );
        assert_eq!(parsed.pg.get_application_name(), Some("x"));
    }

    #[test]
    fn the_key_value_form_takes_tls_settings_too() {
        let c = accepted(
            DatabaseConfig::from_vars,
            &[(
                "DATABASE_URL",
                "host=db dbname=keel sslmode=verify-ca sslrootcert=/ca.pem",
            )],
        );
        assert_eq!(c.ssl_mode, SslMode::VerifyCa);
        assert_eq!(c.ssl_root_cert, Some(PathBuf::from("/ca.pem")));
    }

    #[test]
    fn sslrootcert_system_means_the_system_roots() {
        let c = accepted(
            DatabaseConfig::from_vars,
            &[(
                "DATABASE_URL",
                "postgres://db/keel?sslmode=verify-full&sslrootcert=system",
            )],
        );
        assert_eq!(c.ssl_root_cert, None);
    }

    #[test]
    fn an_unknown_sslmode_is_refused_with_the_choices() {
        let err = refused(
            DatabaseConfig::from_vars,
            "DATABASE_URL",
            "postgres://db/keel?sslmode=verify",
        );
        assert_eq!(
            err.problem,
            "sslmode: expected one of disable, allow, prefer, require, verify-ca, verify-full"
        );
    }

    #[test]
    fn a_root_cert_without_a_verifying_mode_is_refused() {
        let err = refused(
            DatabaseConfig::from_vars,
            "DATABASE_URL",
            "postgres://db/keel?sslmode=require&sslrootcert=/ca.pem",
        );
        assert!(err.problem.contains("verify-ca or verify-full"), "{err}");
    }

    #[test]
    fn allow_insecure_db_reads_a_flag() {
        let c = accepted(
            DatabaseConfig::from_vars,
            &[("KEEL_ALLOW_INSECURE_DB", "1")],
        );
        assert!(c.allow_insecure);
        refused(DatabaseConfig::from_vars, "KEEL_ALLOW_INSECURE_DB", "yes");
    }

    #[test]
    fn a_zero_pool_size_or_timeout_is_refused() {
        for name in [
            "KEEL_DB_POOL_SIZE",
            "KEEL_DB_CONNECT_TIMEOUT_MS",
            "KEEL_DB_ACQUIRE_TIMEOUT_MS",
            "KEEL_DB_STATEMENT_TIMEOUT_MS",
        ] {
            refused(DatabaseConfig::from_vars, name, "0");
        }
    }
}
