//! `GET /healthz`: liveness. No I/O: it answers while the process can serve HTTP at all.

use actix_web::{HttpResponse, get};
use serde::Serialize;
use utoipa::ToSchema;

/// The liveness answer.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// Liveness probe.
///
/// Answers 200 while the process runs; it checks no dependency, so an orchestrator does not
/// restart the api because the database is down.
#[utoipa::path(
    tag = "operations",
    operation_id = "get_healthz",
    responses((status = 200, description = "The process is alive.", body = Health))
)]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}
