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

/// Builds the whole document.
pub fn document() -> utoipa::openapi::OpenApi {
    let (_, doc) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(crate::routes::configure)
        .split_for_parts();
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
