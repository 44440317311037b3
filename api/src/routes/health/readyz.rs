//! `GET /readyz`: readiness. Checks PostgreSQL and Redis, each within
//! `KEEL_READY_TIMEOUT_MS`, and names what is down.

use actix_web::{HttpResponse, get, web};
use keel_shared::health;
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

/// The readiness answer (the same shape on 200 and 503).
#[derive(Serialize, ToSchema)]
pub struct Readiness {
    /// `ready` or `unavailable`.
    #[schema(example = "ready")]
    pub status: String,
    /// Each dependency by name: `postgres`, `redis`.
    #[schema(value_type = std::collections::BTreeMap<String, DependencyCheck>)]
    pub checks: serde_json::Value,
}

/// One dependency's state.
#[derive(Serialize, ToSchema)]
pub struct DependencyCheck {
    /// `up` or `down`.
    #[schema(example = "up")]
    pub status: String,
    /// How long the check took.
    pub latency_ms: u64,
    /// Why it is down (`unreachable`, `timed out after 1000 ms`); absent when up.
    pub error: Option<String>,
}

/// Readiness probe.
///
/// Answers 200 when PostgreSQL and Redis both answer, 503 naming the dependency that does not.
/// It never waits longer than the readiness timeout.
#[utoipa::path(
    tag = "operations",
    operation_id = "get_readyz",
    responses(
        (status = 200, description = "Every dependency answers.", body = Readiness),
        (status = 503, description = "A dependency is down or too slow; `checks` names it.", body = Readiness),
    )
)]
#[get("/readyz")]
#[tracing::instrument(skip_all)]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let report = health::check(&state.db, &state.redis, state.config.ready_timeout).await;
    if report.is_ready() {
        HttpResponse::Ok().json(report)
    } else {
        HttpResponse::ServiceUnavailable().json(report)
    }
}
