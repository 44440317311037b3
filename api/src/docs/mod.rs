//! The human-facing API documentation: Swagger UI at `/api/docs/` and ReDoc at `/api/redoc/`,
//! both reading `/api/schema/`, with every asset served by the api itself (no CDN).
//!
//! Pages are small HTML files with no inline script or style, sent with [`csp::PAGE_POLICY`] (ReDoc's adds two style hashes);
//! assets live under `/api/docs/assets/<name>-<version>/`, so their URLs change whenever their
//! bytes do and they are cached for a year as immutable. Compression is the app's `Compress`
//! middleware (gzip or brotli, as the client accepts). `KEEL_API_DOCS=off` leaves these routes
//! out (the schema stays public).

pub mod assets;
pub mod csp;

use actix_web::http::header::{self, CacheControl, CacheDirective};
use actix_web::{HttpResponse, web};

use assets::Assets;

/// Registers the pages and their assets (nothing when `pages` is false).
pub fn configure(cfg: &mut web::ServiceConfig, pages: bool) {
    if !pages {
        return;
    }
    cfg.route("/api/docs/", web::get().to(swagger_page))
        .route("/api/redoc/", web::get().to(redoc_page))
        .route("/api/docs", web::get().to(|| redirect("/api/docs/")))
        .route("/api/redoc", web::get().to(|| redirect("/api/redoc/")))
        .route(
            "/api/docs/assets/{bundle}/{file}",
            web::get().to(assets::asset),
        );
}

/// `GET /api/docs/`: Swagger UI.
async fn swagger_page() -> HttpResponse {
    page(&Assets::get().swagger_html, csp::PAGE_POLICY)
}

/// `GET /api/redoc/`: ReDoc, or a 503 problem when this build has no ReDoc bundle.
async fn redoc_page() -> Result<HttpResponse, crate::error::ApiError> {
    match &Assets::get().redoc_html {
        Some(html) => Ok(page(html, csp::REDOC_POLICY)),
        None => Err(crate::error::ApiError::Unavailable {
            dependency: "ReDoc (this build has no ReDoc bundle; use /api/docs/)",
        }),
    }
}

/// A docs page: HTML that is revalidated on each visit, under the docs-page CSP.
fn page(html: &str, policy: &'static str) -> HttpResponse {
    let mut res = HttpResponse::Ok();
    res.content_type("text/html; charset=utf-8")
        .insert_header(CacheControl(vec![CacheDirective::NoCache]))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
    csp::apply(&mut res, policy);
    res.body(html.to_owned())
}

/// The pages' canonical URLs end in a slash (their assets are linked absolutely anyway).
async fn redirect(to: &'static str) -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, to))
        .finish()
}
