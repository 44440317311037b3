//! Media storage (user uploads such as avatars): a local directory, or an S3-compatible
//! bucket; how long signed URLs live; how many uploads a user may make per window.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

use super::ConfigError;
use super::vars::Vars;

/// Where media objects live.
#[derive(Debug, Clone)]
pub enum MediaStorage {
    /// `KEEL_MEDIA_ROOT`: a directory every api and worker process can read and write (one
    /// host, or a shared volume). The api serves its objects itself.
    Local {
        /// The directory (created at startup when missing).
        root: PathBuf,
    },
    /// An S3-compatible bucket (`KEEL_MEDIA_S3_BUCKET` is set). Clients fetch objects through
    /// signed, expiring URLs.
    S3(S3Storage),
}

/// An S3-compatible bucket (AWS S3, MinIO, Cloudflare R2, Ceph, ...).
#[derive(Debug, Clone)]
pub struct S3Storage {
    /// `KEEL_MEDIA_S3_BUCKET`.
    pub bucket: String,
    /// `KEEL_MEDIA_S3_ENDPOINT`: the service's URL, without a trailing slash; `None` = AWS.
    pub endpoint: Option<String>,
    /// `KEEL_MEDIA_S3_REGION` (default `us-east-1`).
    pub region: String,
    /// `KEEL_MEDIA_S3_ACCESS_KEY_ID` and `KEEL_MEDIA_S3_SECRET_ACCESS_KEY`; `None` = the
    /// standard AWS sources (`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, a web identity
    /// token, the ECS task role, EC2 instance metadata).
    pub credentials: Option<S3Credentials>,
    /// `KEEL_MEDIA_S3_PATH_STYLE`: `https://endpoint/bucket/key` instead of
    /// `https://bucket.endpoint/key`. Default: true with a custom endpoint, false for AWS.
    pub path_style: bool,
}

/// A static access key.
#[derive(Debug, Clone)]
pub struct S3Credentials {
    /// `KEEL_MEDIA_S3_ACCESS_KEY_ID`.
    pub access_key_id: String,
    /// `KEEL_MEDIA_S3_SECRET_ACCESS_KEY`.
    pub secret_access_key: SecretString,
}

/// Media settings.
#[derive(Debug, Clone)]
pub struct MediaConfig {
    /// The backend.
    pub storage: MediaStorage,
    /// `KEEL_MEDIA_URL_TTL_SECS`: how long a signed S3 URL stays valid (default 1 hour, at
    /// most 7 days, S3's own ceiling).
    pub url_ttl: Duration,
    /// `KEEL_MEDIA_UPLOADS_PER_WINDOW`: uploads per user within `KEEL_RATE_LIMIT_WINDOW_SECS`
    /// before 429 (default 10).
    pub uploads_per_window: u32,
}

/// The local root when none is configured (development).
pub const DEFAULT_MEDIA_ROOT: &str = "./.keel/media";

/// S3 refuses presigned URLs valid for longer than this.
const MAX_URL_TTL_SECS: u64 = 7 * 24 * 3600;

impl MediaConfig {
    /// The `KEEL_MEDIA_*` variables. Every one is read whichever backend is chosen, so a
    /// bucket setting without a bucket is refused instead of silently ignored.
    pub(super) fn from_vars(v: &Vars) -> Result<Self, ConfigError> {
        let root = v.get_or("KEEL_MEDIA_ROOT", DEFAULT_MEDIA_ROOT);
        let bucket = v.get("KEEL_MEDIA_S3_BUCKET");
        let endpoint = v
            .get("KEEL_MEDIA_S3_ENDPOINT")
            .map(|e| endpoint_url(e).map_err(|p| ConfigError::new("KEEL_MEDIA_S3_ENDPOINT", p)))
            .transpose()?;
        let region = v.get_or("KEEL_MEDIA_S3_REGION", "us-east-1");
        if region.is_empty()
            || !region
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(ConfigError::new(
                "KEEL_MEDIA_S3_REGION",
                "must be a region name such as us-east-1",
            ));
        }
        let access_key_id = v.get("KEEL_MEDIA_S3_ACCESS_KEY_ID");
        let secret_access_key = v.get("KEEL_MEDIA_S3_SECRET_ACCESS_KEY");
        let path_style: Option<bool> = v
            .get("KEEL_MEDIA_S3_PATH_STYLE")
            .map(|raw| {
                raw.parse().map_err(|_| {
                    ConfigError::new("KEEL_MEDIA_S3_PATH_STYLE", "must be true or false")
                })
            })
            .transpose()?;
        let url_ttl = v.parse_or("KEEL_MEDIA_URL_TTL_SECS", 3600_u64)?;
        if !(1..=MAX_URL_TTL_SECS).contains(&url_ttl) {
            return Err(ConfigError::new(
                "KEEL_MEDIA_URL_TTL_SECS",
                format!("must be between 1 and {MAX_URL_TTL_SECS} (7 days, S3's limit)"),
            ));
        }
        let uploads_per_window = v.parse_or("KEEL_MEDIA_UPLOADS_PER_WINDOW", 10_u32)?;
        if uploads_per_window == 0 {
            return Err(ConfigError::new(
                "KEEL_MEDIA_UPLOADS_PER_WINDOW",
                "must be greater than 0",
            ));
        }
        let credentials = match (access_key_id, secret_access_key) {
            (Some(id), Some(secret)) => Some(S3Credentials {
                access_key_id: id.to_owned(),
                secret_access_key: SecretString::from(secret.to_owned()),
            }),
            (None, None) => None,
            (Some(_), None) => {
                return Err(ConfigError::new(
                    "KEEL_MEDIA_S3_SECRET_ACCESS_KEY",
                    "must be set with KEEL_MEDIA_S3_ACCESS_KEY_ID",
                ));
            }
            (None, Some(_)) => {
                return Err(ConfigError::new(
                    "KEEL_MEDIA_S3_ACCESS_KEY_ID",
                    "must be set with KEEL_MEDIA_S3_SECRET_ACCESS_KEY",
                ));
            }
        };
        let storage = match bucket {
            Some(bucket) => {
                if !is_bucket_name(bucket) {
                    return Err(ConfigError::new(
                        "KEEL_MEDIA_S3_BUCKET",
                        "must be an S3 bucket name (3-63 of a-z 0-9 . -)",
                    ));
                }
                MediaStorage::S3(S3Storage {
                    bucket: bucket.to_owned(),
                    path_style: path_style.unwrap_or(endpoint.is_some()),
                    endpoint,
                    region: region.to_owned(),
                    credentials,
                })
            }
            None => {
                let stray = [
                    ("KEEL_MEDIA_S3_ENDPOINT", endpoint.is_some()),
                    ("KEEL_MEDIA_S3_ACCESS_KEY_ID", credentials.is_some()),
                    ("KEEL_MEDIA_S3_PATH_STYLE", path_style.is_some()),
                ];
                if let Some((var, _)) = stray.iter().find(|(_, set)| *set) {
                    return Err(ConfigError::new(
                        var,
                        "is set but KEEL_MEDIA_S3_BUCKET is not: set the bucket to store media in S3, or unset it to use KEEL_MEDIA_ROOT",
                    ));
                }
                MediaStorage::Local {
                    root: PathBuf::from(root),
                }
            }
        };
        Ok(Self {
            storage,
            url_ttl: Duration::from_secs(url_ttl),
            uploads_per_window,
        })
    }
}

/// An absolute `http(s)://host[:port]` URL (a path is allowed, for gateways), without its
/// trailing slash.
fn endpoint_url(raw: &str) -> Result<String, String> {
    let rest = raw
        .strip_prefix("https://")
        .or_else(|| raw.strip_prefix("http://"));
    match rest {
        Some(host)
            if !host.is_empty()
                && !host.starts_with('/')
                && !raw.contains(char::is_whitespace)
                && !raw.contains(['?', '#']) =>
        {
            Ok(raw.trim_end_matches('/').to_owned())
        }
        _ => Err(format!(
            "{raw:?} is not an absolute http:// or https:// URL"
        )),
    }
}

/// S3's bucket naming rules (the ones that matter for URLs): 3-63 characters of lowercase
/// letters, digits, dots and hyphens, starting and ending with a letter or digit.
fn is_bucket_name(name: &str) -> bool {
    let edge = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && edge(name.bytes().next())
        && edge(name.bytes().last())
        && !name.contains("..")
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;
    use crate::config::vars::{accepted, refused};

    fn s3_of(c: &MediaConfig) -> &S3Storage {
        match &c.storage {
            MediaStorage::S3(s3) => s3,
            MediaStorage::Local { .. } => panic!("expected S3 storage"),
        }
    }

    #[test]
    fn defaults_store_media_in_a_local_directory() {
        let c = accepted(MediaConfig::from_vars, &[]);
        match &c.storage {
            MediaStorage::Local { root } => assert_eq!(root, &PathBuf::from("./.keel/media")),
            MediaStorage::S3(_) => panic!("expected local storage"),
        }
        assert_eq!(c.url_ttl, Duration::from_secs(3600));
        assert_eq!(c.uploads_per_window, 10);
    }

    #[test]
    fn a_bucket_switches_to_s3_with_path_style_for_a_custom_endpoint() {
        let c = accepted(
            MediaConfig::from_vars,
            &[
                ("KEEL_MEDIA_S3_BUCKET", "keel-media"),
                ("KEEL_MEDIA_S3_ENDPOINT", "http://127.0.0.1:9000/"),
                ("KEEL_MEDIA_S3_REGION", "eu-west-3"),
                ("KEEL_MEDIA_S3_ACCESS_KEY_ID", "AKID"),
                ("KEEL_MEDIA_S3_SECRET_ACCESS_KEY", "s3cr3t"),
            ],
        );
        let s3 = s3_of(&c);
        assert_eq!(s3.bucket, "keel-media");
        assert_eq!(s3.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(s3.region, "eu-west-3");
        assert!(s3.path_style);
        let creds = s3.credentials.as_ref().expect("credentials");
        assert_eq!(creds.access_key_id, "AKID");
        assert_eq!(creds.secret_access_key.expose_secret(), "s3cr3t");
        assert!(!format!("{c:?}").contains("s3cr3t"), "the secret leaked");
    }

    #[test]
    fn aws_defaults_to_virtual_hosted_style_and_the_standard_credential_chain() {
        let c = accepted(
            MediaConfig::from_vars,
            &[("KEEL_MEDIA_S3_BUCKET", "keel-media")],
        );
        let s3 = s3_of(&c);
        assert!(!s3.path_style);
        assert!(s3.credentials.is_none());
        assert_eq!(s3.region, "us-east-1");
        let c = accepted(
            MediaConfig::from_vars,
            &[
                ("KEEL_MEDIA_S3_BUCKET", "keel-media"),
                ("KEEL_MEDIA_S3_PATH_STYLE", "true"),
            ],
        );
        assert!(s3_of(&c).path_style);
    }

    #[test]
    fn half_a_key_pair_is_refused_naming_the_missing_half() {
        let err = MediaConfig::from_vars(&Vars::of(&[
            ("KEEL_MEDIA_S3_BUCKET", "keel-media"),
            ("KEEL_MEDIA_S3_ACCESS_KEY_ID", "AKID"),
        ]))
        .expect_err("must fail");
        assert_eq!(err.var, "KEEL_MEDIA_S3_SECRET_ACCESS_KEY");
        let err = MediaConfig::from_vars(&Vars::of(&[
            ("KEEL_MEDIA_S3_BUCKET", "keel-media"),
            ("KEEL_MEDIA_S3_SECRET_ACCESS_KEY", "s"),
        ]))
        .expect_err("must fail");
        assert_eq!(err.var, "KEEL_MEDIA_S3_ACCESS_KEY_ID");
    }

    #[test]
    fn bucket_settings_without_a_bucket_are_refused() {
        let err = refused(
            MediaConfig::from_vars,
            "KEEL_MEDIA_S3_ENDPOINT",
            "https://s3.example.com",
        );
        assert!(err.problem.contains("KEEL_MEDIA_S3_BUCKET is not"), "{err}");
        refused(MediaConfig::from_vars, "KEEL_MEDIA_S3_PATH_STYLE", "true");
    }

    #[test]
    fn malformed_values_name_their_variable() {
        refused(MediaConfig::from_vars, "KEEL_MEDIA_S3_BUCKET", "Bad_Bucket");
        refused(MediaConfig::from_vars, "KEEL_MEDIA_S3_BUCKET", "ab");
        refused(
            MediaConfig::from_vars,
            "KEEL_MEDIA_S3_ENDPOINT",
            "s3.local:9000",
        );
        refused(MediaConfig::from_vars, "KEEL_MEDIA_S3_REGION", "us east");
        refused(MediaConfig::from_vars, "KEEL_MEDIA_S3_PATH_STYLE", "yes");
        refused(MediaConfig::from_vars, "KEEL_MEDIA_URL_TTL_SECS", "0");
        refused(MediaConfig::from_vars, "KEEL_MEDIA_URL_TTL_SECS", "604801");
        refused(MediaConfig::from_vars, "KEEL_MEDIA_UPLOADS_PER_WINDOW", "0");
    }
}
