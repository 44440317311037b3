//! The Content-Security-Policy of the docs pages, in one place so that a security-headers
//! middleware can take it over (it must keep this policy for `/api/docs/` and `/api/redoc/`).

use actix_web::HttpResponseBuilder;
use actix_web::http::header;

/// Same-origin everything, no inline script or style, no framing, no forms. `data:` images are
/// Swagger UI's and ReDoc's inline SVG icons; nothing else needs an exception.
pub const PAGE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; font-src 'self'; frame-ancestors 'none'; \
    base-uri 'none'; form-action 'none'";

/// [`PAGE_POLICY`] plus the two inline styles ReDoc 2.5.4 needs, by hash (never
/// `'unsafe-inline'`): styled-components creates an empty `<style>` element and fills it
/// through the CSSOM (`insertRule`, which CSP does not govern), so the empty element's hash
/// (`47DEQ…`) is the first; the second is the one fixed style block ReDoc writes. Without them
/// ReDoc stops with "styled-components error 17". Found by `scripts/docs/browser.mjs`, which
/// fails on any CSP violation, so a ReDoc upgrade that needs another one is caught.
pub const REDOC_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self' \
    'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=' \
    'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='; \
    img-src 'self' data:; connect-src 'self'; font-src 'self'; frame-ancestors 'none'; \
    base-uri 'none'; form-action 'none'";

/// Sets a docs-page policy on a response.
pub fn apply(res: &mut HttpResponseBuilder, policy: &'static str) {
    res.insert_header((header::CONTENT_SECURITY_POLICY, policy));
}
