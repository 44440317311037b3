//! The OpenAPI 3.1 document, generated from the handlers' annotations.
//!
//! The fixed parts (info, tags in their order) are [`ApiDoc`]; the parts that come from
//! configuration (contact, license, servers, external docs) are [`info::apply`]; the
//! problem answers every operation can give, the rate-limit headers and 429 of every
//! `/api/v1` operation (`rate_limit.rs`) and the links between operations are added after the
//! paths are collected.

mod info;
pub mod links;
mod rate_limit;

use actix_web::App;
use keel_shared::config::DocsConfig;
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;

use crate::error::{FieldError, Problem};

/// The document's fixed parts; paths come from [`crate::routes::configure`].
#[derive(OpenApi)]
#[openapi(
    info(title = "Keel API", description = include_str!("openapi/description.md")),
    components(schemas(Problem, FieldError)),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Registration, email verification, sign-in (password, \
            social, two-factor), tokens, passwords and sessions. Start here: register, verify, \
            log in, then send the access token as `Authorization: Bearer`."),
        (name = "users", description = "The signed-in user's own account: read, update, delete; \
            the avatar."),
        (name = "media", description = "Uploaded files served by the api itself (local media \
            storage); with S3 storage, URLs point at the bucket instead."),
        (name = "meta", description = "The API describing itself: the OpenAPI document as JSON \
            or YAML. Swagger UI (`/api/docs/`) and ReDoc (`/api/redoc/`) read it."),
        (name = "operations", description = "Liveness and readiness probes for load balancers \
            and orchestrators; no authentication, no rate limit."),
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
/// rejections (400, 413, 415, 422) on operations with a body, parameter rejections (400) on
/// operations with parameters, 401 on authenticated ones, and
/// 503 (a dependency down) on every `/api/v1` operation.
struct ProblemResponses;

impl utoipa::Modify for ProblemResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in &mut openapi.paths.paths {
            for op in operations(item) {
                let mut add = |status: &str, description: &str| {
                    op.responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| problem_response(description));
                };
                use utoipa::openapi::path::ParameterIn;
                let has_in = |place: ParameterIn| {
                    op.parameters.as_ref().is_some_and(|ps| {
                        ps.iter().any(|p| {
                                matches!(p, utoipa::openapi::RefOr::T(p) if p.parameter_in == place)
                            })
                    })
                };
                let has_params = has_in(ParameterIn::Query);
                if has_in(ParameterIn::Path) {
                    add(
                        "404",
                        "Nothing matches the path; a malformed path parameter is named in `errors` (`not_found`).",
                    );
                }
                // Bodies other than JSON (an uploaded file) document their own rejections.
                let json_body = op.request_body.as_ref().is_some_and(|b| match b {
                    utoipa::openapi::RefOr::T(b) => b.content.contains_key("application/json"),
                    utoipa::openapi::RefOr::Ref(_) => true,
                });
                match (json_body, has_params) {
                    (true, true) => add(
                        "400",
                        "The body is not valid JSON (`malformed_json`), or a query parameter is malformed (`invalid_parameter`; `errors` names it).",
                    ),
                    (false, true) => add(
                        "400",
                        "A query parameter is malformed (`invalid_parameter`; `errors` names it).",
                    ),
                    _ => {}
                }
                if json_body {
                    add("400", "The body is not valid JSON (`malformed_json`).");
                    add(
                        "413",
                        "The body is larger than the operation's cap, `KEEL_API_BODY_LIMIT_BYTES` unless it says otherwise (`payload_too_large`); `detail` names the cap.",
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

/// A problem answer: `description` (naming its codes) over a `Problem` body.
pub(crate) fn problem_response(
    description: &str,
) -> utoipa::openapi::RefOr<utoipa::openapi::Response> {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
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

/// Builds the whole document with the default configuration (what `openapi.json` holds).
pub fn document() -> utoipa::openapi::OpenApi {
    document_for(&default_docs_config())
}

/// Builds the whole document for a configuration (its servers, contact, license).
pub fn document_for(docs: &DocsConfig) -> utoipa::openapi::OpenApi {
    let (_, mut doc) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(crate::routes::configure)
        .split_for_parts();
    // Derive modifiers run before the handlers' paths are collected; this one needs them.
    utoipa::Modify::modify(&ProblemResponses, &mut doc);
    utoipa::Modify::modify(&crate::error::ProblemContentType, &mut doc);
    utoipa::Modify::modify(&rate_limit::RateLimitHeaders, &mut doc);
    mark_public(&mut doc);
    links::apply(&mut doc);
    info::apply(&mut doc, docs);
    doc
}

/// Operations without a security requirement say so (`security: []`), so no reader (or linter)
/// mistakes "public" for "forgot to document the token". Runs after [`ProblemResponses`],
/// which adds 401 only where a token is required.
fn mark_public(doc: &mut utoipa::openapi::OpenApi) {
    for item in doc.paths.paths.values_mut() {
        for op in operations(item) {
            op.security.get_or_insert_with(Vec::new);
        }
    }
}

/// The documentation settings of an empty environment.
pub fn default_docs_config() -> DocsConfig {
    keel_shared::Config::from_vars(Vec::<(String, String)>::new())
        .map(|c| c.docs)
        .unwrap_or_else(|e| unreachable!("the defaults are valid: {e}"))
}

/// The document with the default configuration, as pretty JSON (what `openapi.json` holds).
pub fn document_json() -> String {
    to_json(&document())
}

/// A document as pretty JSON with a final newline.
pub fn to_json(doc: &utoipa::openapi::OpenApi) -> String {
    let mut json = doc
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    json.push('\n');
    json
}

/// The served document in both formats, with their `ETag`s, built once at startup.
pub struct SchemaDocument {
    /// Pretty JSON.
    pub json: String,
    /// The same document as YAML.
    pub yaml: String,
    /// Strong `ETag` of the JSON form (quoted).
    pub json_etag: String,
    /// Strong `ETag` of the YAML form (quoted).
    pub yaml_etag: String,
}

impl SchemaDocument {
    /// Serialises `doc` both ways.
    pub fn new(doc: &utoipa::openapi::OpenApi) -> Self {
        use sha2::{Digest, Sha256};
        let json = to_json(doc);
        let yaml = doc.to_yaml().unwrap_or_else(|e| format!("error: {e:?}\n"));
        let etag = |body: &str| {
            let digest = Sha256::digest(body.as_bytes());
            format!("\"{}\"", &crate::docs::assets::hex(&digest)[..32])
        };
        Self {
            json_etag: etag(&json),
            yaml_etag: etag(&yaml),
            json,
            yaml,
        }
    }
}
