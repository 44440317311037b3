//! A worker environment of its own per test: database, Redis namespace, SMTP sink, and the
//! real runtime started in-process on demand.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use keel_shared::email::Mailer;
use keel_shared::jobs::{Queue, QueueStats};
use keel_shared::redis::Keys;
use keel_shared::testing::{SmtpSink, TestDb, TestRedis, test_config, wait_for_queue};
use keel_worker::context::JobContext;
use keel_worker::jobs::Registry;
use keel_worker::runtime::{Options, Runtime, worker_id};
use tokio::sync::oneshot;

pub struct TestEnv {
    /// The test's database (kept alive as long as the test; some tests query it).
    pub db: TestDb,
    pub redis: TestRedis,
    pub sink: SmtpSink,
    pub ctx: JobContext,
}

impl TestEnv {
    pub async fn new() -> Self {
        Self::with(&[]).await
    }

    pub async fn with(overrides: &[(&str, &str)]) -> Self {
        let db = TestDb::migrated().await;
        let redis = TestRedis::new();
        let sink = SmtpSink::start().await;
        let smtp_url = sink.url();
        let mut vars: Vec<(&str, &str)> = vec![
            ("SMTP_URL", smtp_url.as_str()),
            ("KEEL_EMAIL_FROM", "Acme <hello@acme.test>"),
            ("KEEL_PRODUCT_NAME", "Acme"),
            ("KEEL_JOB_REDELIVERY_SECS", "3"),
            ("KEEL_REDIS_POOL_SIZE", "16"),
        ];
        vars.extend_from_slice(overrides);
        let config = test_config(&db, &redis, &vars);
        keel_shared::telemetry::init(&config.log);
        let pg = keel_shared::db::pool(&config.database, "keel-worker-test").expect("pg pool");
        let redis_pool = keel_shared::redis::pool(&config.redis).expect("redis pool");
        let ctx = JobContext {
            db: pg,
            queue: Queue::new(redis_pool, Keys::new(config.redis.key_prefix.clone())),
            mailer: Arc::new(Mailer::new(&config.email).expect("mailer")),
            media: keel_shared::media::Media::new(&config.media).expect("media"),
            config: Arc::new(config.clone()),
        };
        Self {
            db,
            redis,
            sink,
            ctx,
        }
    }

    pub fn queue(&self) -> &Queue {
        &self.ctx.queue
    }

    /// Starts the real runtime serving every queue, with `registry`.
    pub fn start(&self, registry: Registry) -> RunningWorker {
        let options = Options {
            queues: vec![
                ("critical".into(), 4),
                ("default".into(), 16),
                ("email".into(), 4),
            ],
            redelivery_timeout: Duration::from_secs(3),
            grace: Duration::from_secs(5),
            worker_id: worker_id(),
        };
        let draining = Arc::new(AtomicBool::new(false));
        let runtime = Runtime::new(self.ctx.clone(), registry, options, Arc::clone(&draining));
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(runtime.run(async move {
            let _ = stopped.await;
        }));
        RunningWorker {
            stop: Some(stop),
            handle: Some(handle),
            draining,
        }
    }

    pub async fn stats(&self, queue: &str) -> QueueStats {
        self.queue()
            .stats(&[queue.to_owned()])
            .await
            .expect("stats")
            .remove(0)
    }

    /// Polls until `done(stats)` holds for `queue` (panics after `timeout`).
    pub async fn wait_for(
        &self,
        queue: &str,
        timeout: Duration,
        done: impl Fn(&QueueStats) -> bool,
    ) -> QueueStats {
        wait_for_queue(self.queue(), queue, timeout, done).await
    }
}

pub struct RunningWorker {
    stop: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    #[expect(dead_code, reason = "kept for tests that check draining")]
    pub draining: Arc<AtomicBool>,
}

impl RunningWorker {
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(handle) = self.handle.take() {
            handle.await.expect("joined").expect("runtime ran cleanly");
        }
    }
}

impl Drop for RunningWorker {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.abort();
        }
    }
}
