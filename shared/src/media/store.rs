//! The storage handle: put, get and delete objects by [`MediaKey`], and hand out URLs for
//! them (signed and expiring for S3; for local storage the api serves them itself).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::signer::Signer;
use object_store::{
    Attribute, Attributes, BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, PutOptions,
    PutPayload, RetryConfig,
};
use secrecy::ExposeSecret;

use crate::config::{MediaConfig, MediaStorage, S3Storage};
use crate::domain::MediaKey;

/// How long objects may be cached by browsers and CDNs: a key never names other bytes, but
/// a deleted avatar should not linger in shared caches for long.
pub const CACHE_CONTROL: &str = "public, max-age=86400, immutable";

/// A storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// The store did not answer, refused, or failed (network, credentials, disk).
    #[error("media storage failed: {0}")]
    Storage(#[from] object_store::Error),
    /// The local media root could not be created.
    #[error("cannot create the media root {path}: {source}")]
    Root {
        /// The directory.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// Where objects live, and the concrete S3 client for signing.
enum Backend {
    Local,
    S3(Arc<AmazonS3>),
}

/// Media storage; cheap to clone.
#[derive(Clone)]
pub struct Media {
    store: Arc<dyn ObjectStore>,
    backend: Arc<Backend>,
    url_ttl: Duration,
}

impl std::fmt::Debug for Media {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Media")
            .field("store", &self.store.to_string())
            .finish_non_exhaustive()
    }
}

impl Media {
    /// The configured store. A local root is created when missing. Nothing is contacted: an
    /// S3 store that is down shows up on the first operation.
    pub fn new(config: &MediaConfig) -> Result<Self, MediaError> {
        let (store, backend): (Arc<dyn ObjectStore>, Backend) = match &config.storage {
            MediaStorage::Local { root } => {
                std::fs::create_dir_all(root).map_err(|source| MediaError::Root {
                    path: root.display().to_string(),
                    source,
                })?;
                let local = LocalFileSystem::new_with_prefix(root)?.with_automatic_cleanup(true);
                (Arc::new(local), Backend::Local)
            }
            MediaStorage::S3(s3) => {
                let client = Arc::new(s3_client(s3)?);
                (
                    Arc::clone(&client) as Arc<dyn ObjectStore>,
                    Backend::S3(client),
                )
            }
        };
        Ok(Self {
            store,
            backend: Arc::new(backend),
            url_ttl: config.url_ttl,
        })
    }

    /// Whether objects live in a local directory (so the api serves them itself).
    pub fn is_local(&self) -> bool {
        matches!(*self.backend, Backend::Local)
    }

    /// Stores `bytes` under `key` (its content type follows from the key).
    #[tracing::instrument(skip_all, fields(media.key = %key, media.bytes = bytes.len()))]
    pub async fn put(&self, key: &MediaKey, bytes: Vec<u8>) -> Result<(), MediaError> {
        let mut options = PutOptions::default();
        if !self.is_local() {
            // S3 serves these with the object; a local file has no attributes (the api
            // route sets the same headers).
            let mut attributes = Attributes::new();
            attributes.insert(Attribute::ContentType, key.kind().mime().into());
            attributes.insert(Attribute::CacheControl, CACHE_CONTROL.into());
            attributes.insert(Attribute::ContentDisposition, "inline".into());
            options.attributes = attributes;
        }
        self.store
            .put_opts(&path(key), PutPayload::from(bytes), options)
            .await?;
        Ok(())
    }

    /// The object under `key`, or `None` when there is none.
    #[tracing::instrument(skip_all, fields(media.key = %key))]
    pub async fn get(&self, key: &MediaKey) -> Result<Option<Bytes>, MediaError> {
        match self.store.get(&path(key)).await {
            Ok(object) => Ok(Some(object.bytes().await?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes the object under `key`; one that is already gone counts as deleted.
    #[tracing::instrument(skip_all, fields(media.key = %key))]
    pub async fn delete(&self, key: &MediaKey) -> Result<(), MediaError> {
        match self.store.delete(&path(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// A URL that lets anyone holding it `GET` the object for `KEEL_MEDIA_URL_TTL_SECS`
    /// (S3; signed locally, no request is made). `None` for local storage, whose objects the
    /// api serves at a route of its own.
    pub async fn signed_url(&self, key: &MediaKey) -> Result<Option<String>, MediaError> {
        match &*self.backend {
            Backend::Local => Ok(None),
            Backend::S3(s3) => Ok(Some(
                s3.signed_url(object_store::signer::Method::GET, &path(key), self.url_ttl)
                    .await?
                    .to_string(),
            )),
        }
    }
}

/// The object path of a key (keys are already safe path segments).
fn path(key: &MediaKey) -> Path {
    Path::from(key.as_str())
}

/// The S3 client: explicit settings over the standard AWS environment, short timeouts and
/// few retries (an upload waits on them).
fn s3_client(s3: &S3Storage) -> Result<AmazonS3, object_store::Error> {
    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(&s3.bucket)
        .with_region(&s3.region)
        .with_http_connector(super::http::Connector(http_client()?))
        .with_client_options(
            ClientOptions::new().with_allow_http(
                s3.endpoint
                    .as_deref()
                    .is_some_and(|e| e.starts_with("http://")),
            ),
        )
        .with_retry(RetryConfig {
            backoff: BackoffConfig::default(),
            max_retries: 2,
            retry_timeout: Duration::from_secs(10),
        });
    if let Some(endpoint) = &s3.endpoint {
        builder = if s3.path_style {
            builder
                .with_endpoint(endpoint)
                .with_virtual_hosted_style_request(false)
        } else {
            builder
                .with_endpoint(virtual_hosted(endpoint, &s3.bucket))
                .with_virtual_hosted_style_request(true)
        };
    } else {
        builder = builder.with_virtual_hosted_style_request(!s3.path_style);
    }
    if let Some(creds) = &s3.credentials {
        builder = builder
            .with_access_key_id(&creds.access_key_id)
            .with_secret_access_key(creds.secret_access_key.expose_secret());
    }
    builder.build()
}

/// The HTTP client of the S3 requests: short timeouts (an upload waits on them), the
/// system's root certificates (S3-compatible stores often sit behind a private CA the host
/// trusts).
fn http_client() -> Result<reqwest::Client, object_store::Error> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(3))
        .timeout(Duration::from_secs(15))
        .build()
        .map_err(|e| object_store::Error::Generic {
            store: "S3",
            source: Box::new(e),
        })
}

/// `https://host` → `https://bucket.host` (object_store expects the bucket in a
/// virtual-hosted endpoint).
fn virtual_hosted(endpoint: &str, bucket: &str) -> String {
    match endpoint.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{bucket}.{rest}"),
        None => endpoint.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ImageKind;

    fn local(root: &std::path::Path) -> Media {
        let config =
            crate::Config::from_vars([("KEEL_MEDIA_ROOT", root.to_str().expect("utf-8 path"))])
                .expect("config");
        Media::new(&config.media).expect("media")
    }

    #[tokio::test]
    async fn a_local_store_puts_gets_and_deletes_under_its_root() {
        let root = std::env::temp_dir().join(format!("keel-media-{}", uuid::Uuid::new_v4()));
        let media = local(&root.join("nested"));
        let key = MediaKey::new_avatar(ImageKind::Png);

        media.put(&key, b"png bytes".to_vec()).await.expect("put");

        assert!(media.is_local());
        assert_eq!(
            std::fs::read(root.join("nested").join(key.as_str())).expect("file"),
            b"png bytes"
        );
        assert_eq!(
            media.get(&key).await.expect("get").as_deref(),
            Some(&b"png bytes"[..])
        );
        assert_eq!(media.signed_url(&key).await.expect("url"), None);
        media.delete(&key).await.expect("delete");
        assert_eq!(media.get(&key).await.expect("get"), None);
        media.delete(&key).await.expect("deleting again is fine");
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn a_virtual_hosted_endpoint_carries_the_bucket() {
        assert_eq!(
            virtual_hosted("https://s3.example.com:9000", "media"),
            "https://media.s3.example.com:9000"
        );
    }
}
