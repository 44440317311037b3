//! `GET /api/schema/`: the OpenAPI 3.1 document, generated from the code at startup.

use actix_web::{HttpResponse, get, http::header::ContentType, web};

use crate::state::AppState;

/// The OpenAPI document.
///
/// The contract of every endpoint: paths, request bodies, responses and the problem+json
/// error schema. The same document is committed as `openapi.json`.
#[utoipa::path(
    tag = "meta",
    operation_id = "get_schema",
    responses((status = 200, description = "The OpenAPI 3.1 document (JSON).", content_type = "application/json", body = Object))
)]
#[get("/api/schema/")]
#[tracing::instrument(skip_all)]
pub async fn schema(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(state.openapi_json.as_str().to_owned())
}
