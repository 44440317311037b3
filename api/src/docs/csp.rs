//! The Content-Security-Policy of the docs pages, in one place so that a security-headers
//! middleware can take it over (it must keep this policy for `/api/docs/` and `/api/redoc/`).

use actix_web::HttpResponseBuilder;
use actix_web::http::header;

/// Same-origin everything, no inline script or style, no framing, no forms. `data:` images are
/// Swagger UI's and ReDoc's inline SVG icons; nothing else needs an exception.
pub const PAGE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; font-src 'self'; frame-ancestors 'none'; \
    base-uri 'none'; form-action 'none'";

/// Sets the docs-page policy on a response.
pub fn apply(res: &mut HttpResponseBuilder) {
    res.insert_header((header::CONTENT_SECURITY_POLICY, PAGE_POLICY));
}
