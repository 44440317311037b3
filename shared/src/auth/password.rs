//! Argon2id password hashing with OWASP parameters (19 MiB, 2 iterations, 1 lane), run on
//! tokio's blocking pool so a burst of logins never stalls other requests. At most
//! `KEEL_PASSWORD_HASH_CONCURRENCY` hashes run at once (default: half the cores, at least
//! one): a login flood queues for a permit instead of taking every core from the requests
//! around it.

use std::sync::{LazyLock, OnceLock};

use tokio::sync::Semaphore;

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};

/// Why hashing failed (never for a valid password; surfaced as an internal error).
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

fn argon2() -> Argon2<'static> {
    // 19 MiB, t=2, p=1: the OWASP minimum for Argon2id.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

static PERMITS: OnceLock<Semaphore> = OnceLock::new();

/// Sets how many hashes may run at once (0: half the cores, at least one). Effective only
/// before the first hash; later calls are ignored.
pub fn limit_concurrency(n: usize) {
    let n = if n == 0 {
        std::thread::available_parallelism().map_or(1, |c| (c.get() / 2).max(1))
    } else {
        n
    };
    let _ = PERMITS.set(Semaphore::new(n));
}

/// Raises a gauge by one for as long as it lives.
struct Counted(metrics::Gauge);

impl Counted {
    fn new(gauge: metrics::Gauge) -> Self {
        gauge.increment(1.0);
        Self(gauge)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

/// Waits for a hashing permit. The gauges `keel_password_hashes_waiting` and
/// `keel_password_hashes_in_flight` count the hashes waiting and holding one (a request
/// dropped meanwhile leaves them as it goes).
async fn permit() -> (Option<tokio::sync::SemaphorePermit<'static>>, Counted) {
    if PERMITS.get().is_none() {
        limit_concurrency(0);
    }
    let waiting = Counted::new(metrics::gauge!("keel_password_hashes_waiting"));
    let permit = match PERMITS.get() {
        Some(permits) => permits.acquire().await.ok(),
        None => None,
    };
    drop(waiting);
    (
        permit,
        Counted::new(metrics::gauge!("keel_password_hashes_in_flight")),
    )
}

/// A hash of a password nobody has, verified against when the account does not exist, so an
/// unknown email costs the same time as a wrong password.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    argon2()
        .hash_password(b"keel-dummy-password-for-timing")
        .map(|h| h.to_string())
        .unwrap_or_default()
});

/// Hashes `password` into a PHC string.
pub async fn hash(password: &str) -> Result<String, HashError> {
    let password = password.to_owned();
    let _permit = permit().await;
    tokio::task::spawn_blocking(move || {
        argon2()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| HashError(e.to_string()))
    })
    .await
    .map_err(|e| HashError(e.to_string()))?
}

/// Whether `password` matches `phc` (a stored hash). With `None` (no such account) it verifies
/// against a dummy hash and returns `false`, taking the same time.
pub async fn verify(password: &str, phc: Option<&str>) -> bool {
    let password = password.to_owned();
    let (phc, real) = match phc {
        Some(h) => (h.to_owned(), true),
        None => (DUMMY_HASH.clone(), false),
    };
    let _permit = permit().await;
    tokio::task::spawn_blocking(move || {
        argon2()
            .verify_password(password.as_bytes(), phc.as_str())
            .is_ok()
            && real
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let h = hash("violet-anchor-mosaic-71").await.expect("hash");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify("violet-anchor-mosaic-71", Some(&h)).await);
        assert!(!verify("violet-anchor-mosaic-72", Some(&h)).await);
    }

    #[tokio::test]
    async fn an_unknown_account_never_verifies() {
        assert!(!verify("keel-dummy-password-for-timing", None).await);
    }
}
