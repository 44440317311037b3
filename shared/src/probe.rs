//! The probe port of the worker and the scheduler: `GET /healthz` and `GET /readyz`, for
//! container health checks and Kubernetes probes. (The api serves its own, documented in its
//! OpenAPI document.)
//!
//! `/readyz` answers 503 while the process drains after SIGTERM, so an orchestrator stops
//! routing to it before it exits.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpResponse, HttpServer, web};

use anyhow::Context;

use crate::Config;
use crate::db::PgPool;
use crate::health;
use crate::redis::RedisPool;

/// What the probe handlers need.
#[derive(Clone)]
pub struct ProbeState {
    /// PostgreSQL pool `/readyz` pings: the process's own, so the probe sees what the work sees.
    pub pg: PgPool,
    /// Redis pool `/readyz` pings (the process's own pool).
    pub redis: RedisPool,
    /// Per-dependency readiness timeout.
    pub timeout: Duration,
    /// Set when the process starts draining.
    pub draining: Arc<AtomicBool>,
    /// Renders Prometheus text for `/metrics`, when the process has metrics.
    pub metrics: Option<MetricsRenderer>,
}

/// Renders the process's metrics in the Prometheus text format.
pub type MetricsRenderer = Arc<dyn Fn() -> String + Send + Sync>;

static METRICS: std::sync::OnceLock<metrics_exporter_prometheus::PrometheusHandle> =
    std::sync::OnceLock::new();

/// Installs the process-wide Prometheus recorder (once) and returns its renderer, for
/// `/metrics`. Histograms get buckets from 0.5 ms to 60 s.
pub fn install_metrics() -> MetricsRenderer {
    use metrics_exporter_prometheus::PrometheusBuilder;
    let handle = METRICS
        .get_or_init(|| {
            let buckets = [
                0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
            ];
            let builder = PrometheusBuilder::new()
                .set_buckets(&buckets)
                .unwrap_or_else(|_| PrometheusBuilder::new());
            match builder.install_recorder() {
                Ok(handle) => handle,
                // Another recorder is already installed: render an empty one of our own.
                Err(_) => PrometheusBuilder::new().build_recorder().handle(),
            }
        })
        .clone();
    Arc::new(move || handle.render())
}

/// A running probe server.
pub struct ProbeServer {
    addr: SocketAddr,
    handle: ServerHandle,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl ProbeServer {
    /// Binds `addr` (port 0 picks a free port) and starts answering probes.
    pub fn start(addr: SocketAddr, state: ProbeState) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let data = web::Data::new(state);
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/healthz", web::get().to(healthz))
                .route("/readyz", web::get().to(readyz))
                .route("/metrics", web::get().to(metrics))
                .default_service(web::to(not_found))
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(1)
        .listen(listener)?
        .run();
        let handle = server.handle();
        let task = tokio::spawn(server);
        Ok(Self { addr, handle, task })
    }

    /// The address it bound (with the real port when it was asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops answering and waits for the server to finish.
    pub async fn stop(self) {
        self.handle.stop(true).await;
        let _ = self.task.await;
    }
}

/// The pools and probe port of a process that is not the api (worker, scheduler).
pub struct ProcessProbe {
    /// PostgreSQL pool (shared with the process's own work).
    pub pg: PgPool,
    /// Redis pool (shared with the process's own work).
    pub redis: RedisPool,
    draining: Arc<AtomicBool>,
    server: ProbeServer,
}

impl ProcessProbe {
    /// Builds the pools (connecting lazily) and starts the probe server on `addr`.
    pub fn start(
        config: &Config,
        application_name: &str,
        addr: SocketAddr,
        metrics: Option<MetricsRenderer>,
    ) -> anyhow::Result<Self> {
        let pg = crate::db::pool(&config.database, application_name)?;
        let redis = crate::redis::pool(&config.redis)?;
        let draining = Arc::new(AtomicBool::new(false));
        let server = ProbeServer::start(
            addr,
            ProbeState {
                pg: pg.clone(),
                redis: redis.clone(),
                timeout: config.ready_timeout,
                draining: Arc::clone(&draining),
                metrics,
            },
        )
        .with_context(|| format!("cannot listen on {addr} for probes"))?;
        Ok(Self {
            pg,
            redis,
            draining,
            server,
        })
    }

    /// Where the probe server listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// From now on `/readyz` answers 503 `draining`.
    pub fn mark_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// The draining flag, for a runtime that sets it itself.
    pub fn draining_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.draining)
    }

    /// Stops the probe server.
    pub async fn stop(self) {
        self.server.stop().await;
    }
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

async fn readyz(state: web::Data<ProbeState>) -> HttpResponse {
    let mut report = health::check(&state.pg, &state.redis, state.timeout).await;
    if state.draining.load(Ordering::SeqCst) {
        report = report.draining();
    }
    if report.is_ready() {
        HttpResponse::Ok().json(report)
    } else {
        HttpResponse::ServiceUnavailable().json(report)
    }
}

/// `/metrics`: the process's own metrics, plus what is read at scrape time: both pools
/// (`keel_pool_*`) and readiness (`keel_ready`, `keel_dependency_up`), checked as `/readyz`
/// checks it.
async fn metrics(state: web::Data<ProbeState>) -> HttpResponse {
    let Some(render) = &state.metrics else {
        return not_found().await;
    };
    record_pool("postgres", state.pg.status());
    record_pool("redis", state.redis.status());
    let report = health::check(&state.pg, &state.redis, state.timeout).await;
    for (dependency, check) in &report.checks {
        metrics::gauge!("keel_dependency_up", "dependency" => *dependency)
            .set(f64::from(u8::from(check.status == health::CheckStatus::Up)));
    }
    let ready = report.is_ready() && !state.draining.load(Ordering::SeqCst);
    metrics::gauge!("keel_ready").set(f64::from(u8::from(ready)));
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(render())
}

/// A connection pool's gauges: its maximum size, the connections open, those idle, and the
/// requests waiting for one.
fn record_pool(pool: &'static str, status: deadpool_redis::Status) {
    for (name, value) in [
        ("keel_pool_max_size", status.max_size),
        ("keel_pool_size", status.size),
        ("keel_pool_available", status.available),
        ("keel_pool_waiting", status.waiting),
    ] {
        #[expect(clippy::cast_precision_loss, reason = "pool sizes are far below 2^52")]
        metrics::gauge!(name, "pool" => pool).set(value as f64);
    }
}

async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(serde_json::json!({ "status": 404, "error": "not found" }))
}
