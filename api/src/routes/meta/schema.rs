//! `GET /api/schema/`: the OpenAPI 3.1 document, generated from the code at startup, as JSON
//! or YAML, with an `ETag` so clients and caches revalidate cheaply.

use actix_web::http::header::{self, CacheControl, CacheDirective};
use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::error::Problem;
use crate::state::AppState;

/// The representation asked for with `?format=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SchemaFormat {
    /// `application/json` (the default).
    Json,
    /// `application/yaml`: the same document, the same data.
    Yaml,
}

/// Query of `GET /api/schema/`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SchemaQuery {
    /// `json` or `yaml`; wins over `Accept`. Without it, `Accept: application/yaml` (or
    /// `application/x-yaml`, `text/yaml`) gets YAML and anything else JSON.
    #[param(inline)]
    pub format: Option<SchemaFormat>,
}

/// The OpenAPI document.
///
/// The contract of every public endpoint: paths, parameters, request and response bodies
/// with examples, every problem `code` an operation can answer, and the links between
/// operations. The same document (with the default servers) is committed as `openapi.json`.
/// Answers `304 Not Modified` when `If-None-Match` carries the current `ETag`.
#[utoipa::path(
    tag = "meta",
    operation_id = "get_schema",
    params(SchemaQuery),
    responses(
        (status = 200, description = "The OpenAPI 3.1 document.",
            headers(
                ("ETag" = String, description = "Changes whenever the document does (one value per format)."),
                ("Cache-Control" = String, description = "`public, max-age=60`: revalidate with `If-None-Match` after a minute."),
            ),
            content(
                (Object = "application/json"),
                (Object = "application/yaml"),
            )
        ),
        (status = 304, description = "`If-None-Match` names the current `ETag`: use your copy."),
        (status = 400, description = "`format` is neither `json` nor `yaml` (`invalid_parameter`).", body = Problem),
    )
)]
#[get("/api/schema/")]
#[tracing::instrument(skip_all)]
pub async fn schema(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<SchemaQuery>,
) -> HttpResponse {
    let format = query.format.unwrap_or_else(|| from_accept(&req));
    let doc = &state.schema;
    let (etag, content_type, body) = match format {
        SchemaFormat::Json => (&doc.json_etag, "application/json", &doc.json),
        SchemaFormat::Yaml => (&doc.yaml_etag, "application/yaml", &doc.yaml),
    };
    let cache = CacheControl(vec![CacheDirective::Public, CacheDirective::MaxAge(60)]);
    let matches = crate::conditional::if_none_match(&req, etag);
    let mut res = if matches {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::ETAG, etag.as_str()))
        .insert_header(cache)
        .insert_header((header::VARY, "Accept"));
    if matches {
        res.finish()
    } else {
        res.content_type(content_type).body(body.clone())
    }
}

/// YAML when `Accept` names a YAML type, JSON otherwise.
fn from_accept(req: &HttpRequest) -> SchemaFormat {
    let wants_yaml = req
        .headers()
        .get_all(header::ACCEPT)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.split(';').next().unwrap_or("").trim())
        .any(|t| matches!(t, "application/yaml" | "application/x-yaml" | "text/yaml"));
    if wants_yaml {
        SchemaFormat::Yaml
    } else {
        SchemaFormat::Json
    }
}
