//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use actix_web::App;
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;

use crate::error::{FieldError, Problem};

/// The document's fixed parts; paths come from [`crate::routes::configure`].
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Keel API",
        description = "Keel's REST API. Every error is an RFC 9457 `application/problem+json` \
                       document (schema `Problem`) with a stable `code`.",
    ),
    components(schemas(Problem, FieldError)),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Registration, email verification, sign-in, tokens, passwords, sessions."),
        (name = "users", description = "The signed-in user's own account."),
        (name = "health", description = "Liveness and readiness probes."),
        (name = "meta", description = "The API describing itself."),
    )
)]
struct ApiDoc;

/// Adds the `bearer` security scheme (JWT access tokens).
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "Access token from `POST /api/v1/auth/login` or `/refresh`.",
                    ))
                    .build(),
            ),
        );
    }
}

/// Documents the problem answers every operation can give but no handler lists: body
/// rejections (400, 413, 415, 422) on operations with a body, 401 on authenticated ones, and
/// 503 (a dependency down) on every `/api/v1` operation.
struct ProblemResponses;

impl utoipa::Modify for ProblemResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
        let problem = |description: &str| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        crate::error::PROBLEM_JSON,
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("Problem")))
                            .build(),
                    )
                    .build(),
            )
        };
        for (path, item) in &mut openapi.paths.paths {
            for op in operations(item) {
                let mut add = |status: &str, description: &str| {
                    op.responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| problem(description));
                };
                if op.request_body.is_some() {
                    add("400", "The body is not valid JSON (`malformed_json`).");
                    add(
                        "413",
                        "The body is larger than `KEEL_API_BODY_LIMIT_BYTES` (`payload_too_large`).",
                    );
                    add(
                        "415",
                        "The body is not sent as `application/json` (`unsupported_media_type`).",
                    );
                    add(
                        "422",
                        "The body does not have the documented shape (`invalid_body`); `errors` names the field.",
                    );
                }
                if op.security.is_some() {
                    add(
                        "401",
                        "Missing, malformed, expired or wrongly signed access token, or a revoked session (`unauthorized`).",
                    );
                }
                if path.starts_with("/api/v1/") {
                    add(
                        "503",
                        "PostgreSQL or Redis is unavailable (`service_unavailable`); retry after `Retry-After`.",
                    );
                }
            }
        }
    }
}

/// The operations of a path (those Keel uses: GET, POST, PUT, PATCH, DELETE).
pub(crate) fn operations(
    item: &mut utoipa::openapi::PathItem,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [
        &mut item.get,
        &mut item.post,
        &mut item.put,
        &mut item.patch,
        &mut item.delete,
    ]
    .into_iter()
    .flatten()
}

/// Builds the whole document.
pub fn document() -> utoipa::openapi::OpenApi {
    let (_, mut doc) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(crate::routes::configure)
        .split_for_parts();
    // Derive modifiers run before the handlers' paths are collected; this one needs them.
    utoipa::Modify::modify(&ProblemResponses, &mut doc);
    utoipa::Modify::modify(&crate::error::ProblemContentType, &mut doc);
    doc
}

/// The document as pretty JSON (what `openapi.json` holds).
pub fn document_json() -> String {
    let mut json = document()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    json.push('\n');
    json
}
