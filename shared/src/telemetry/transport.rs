//! Sends Sentry envelopes with the reqwest (0.12) Keel already has, from a thread of its
//! own: sentry 0.49's own transport would add reqwest 0.13 to the build.

use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use sentry::{ClientOptions, Envelope, Transport};

/// Envelopes waiting to be sent at most; more are dropped (Sentry is best effort).
const CAPACITY: usize = 100;

/// The transport factory given to `ClientOptions::transport`.
pub(super) fn factory(options: &ClientOptions) -> Arc<dyn Transport> {
    Arc::new(HttpTransport::new(options))
}

struct HttpTransport {
    tx: Mutex<Option<SyncSender<Envelope>>>,
    /// Envelopes accepted but not yet sent (or failed).
    pending: Arc<(Mutex<usize>, Condvar)>,
}

impl HttpTransport {
    fn new(options: &ClientOptions) -> Self {
        let (tx, rx) = mpsc::sync_channel(CAPACITY);
        let pending = Arc::new((Mutex::new(0), Condvar::new()));
        if let Some(dsn) = options.dsn.clone() {
            let auth = dsn.to_auth(Some(&options.user_agent)).to_string();
            let url = dsn.envelope_api_url().to_string();
            let pending = Arc::clone(&pending);
            let spawned = std::thread::Builder::new()
                .name("sentry-transport".to_owned())
                .spawn(move || send_loop(&rx, &url, &auth, &pending));
            if let Err(e) = spawned {
                tracing::warn!(error = %e, "cannot start the Sentry transport thread");
            }
        }
        Self {
            tx: Mutex::new(Some(tx)),
            pending,
        }
    }

    fn done(pending: &(Mutex<usize>, Condvar)) {
        if let Ok(mut n) = pending.0.lock() {
            *n = n.saturating_sub(1);
            pending.1.notify_all();
        }
    }
}

fn send_loop(rx: &Receiver<Envelope>, url: &str, auth: &str, pending: &(Mutex<usize>, Condvar)) {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    let _entered = runtime.enter();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_default();
    while let Ok(envelope) = rx.recv() {
        let mut body = Vec::new();
        if envelope.to_writer(&mut body).is_ok() {
            let request = client
                .post(url)
                .header("X-Sentry-Auth", auth)
                .header("Content-Type", "application/x-sentry-envelope")
                .body(body);
            // A failure is not logged: the log line would itself go to Sentry.
            let _ = runtime.block_on(request.send());
        }
        HttpTransport::done(pending);
    }
}

impl Transport for HttpTransport {
    fn send_envelope(&self, envelope: Envelope) {
        let Ok(guard) = self.tx.lock() else { return };
        let Some(tx) = guard.as_ref() else { return };
        if let Ok(mut n) = self.pending.0.lock() {
            *n += 1;
        }
        if tx.try_send(envelope).is_err() {
            Self::done(&self.pending);
        }
    }

    fn flush(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let Ok(mut n) = self.pending.0.lock() else {
            return false;
        };
        while *n > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            match self.pending.1.wait_timeout(n, left) {
                Ok((guard, _)) => n = guard,
                Err(_) => return false,
            }
        }
        true
    }

    fn shutdown(&self, timeout: Duration) -> bool {
        let flushed = self.flush(timeout);
        if let Ok(mut tx) = self.tx.lock() {
            tx.take();
        }
        flushed
    }
}
