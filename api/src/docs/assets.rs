//! Every file the docs pages load, embedded in the binary: Swagger UI (utoipa-swagger-ui's
//! `vendored` build), ReDoc (the pinned npm package, embedded by `build.rs`) and Keel's own
//! start-up scripts. Each is served under a versioned directory with immutable caching.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use actix_web::http::header::{self, CacheControl, CacheDirective};
use actix_web::{HttpResponse, web};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

mod redoc {
    include!(concat!(env!("OUT_DIR"), "/redoc.rs"));
}

pub use redoc::REDOC_VERSION;

/// The Swagger UI release utoipa-swagger-ui-vendored 0.2.0 embeds (pinned by `Cargo.lock`).
pub const SWAGGER_UI_VERSION: &str = "5.32.6";

/// The Swagger UI files the page uses (the dist also has presets and an OAuth2 page we do not).
const SWAGGER_FILES: &[&str] = &[
    "swagger-ui-bundle.js",
    "swagger-ui.css",
    "favicon-32x32.png",
    "favicon-16x16.png",
];

/// Keel's own files, versioned by a hash of their contents.
const KEEL_FILES: &[(&str, &str, &str)] = &[
    (
        "swagger-init.js",
        "text/javascript; charset=utf-8",
        include_str!("pages/swagger-init.js"),
    ),
    (
        "redoc-init.js",
        "text/javascript; charset=utf-8",
        include_str!("pages/redoc-init.js"),
    ),
    (
        "docs.css",
        "text/css; charset=utf-8",
        include_str!("pages/docs.css"),
    ),
];

/// One servable file.
struct File {
    content_type: String,
    bytes: web::Bytes,
}

/// Static bytes without a copy (every asset but a templated one is static).
fn bytes(cow: Cow<'static, [u8]>) -> web::Bytes {
    match cow {
        Cow::Borrowed(b) => web::Bytes::from_static(b),
        Cow::Owned(v) => web::Bytes::from(v),
    }
}

/// The pages, with their asset URLs filled in, and every asset by `(directory, file)`.
pub struct Assets {
    /// The Swagger UI page.
    pub swagger_html: String,
    /// The ReDoc page, when this build has the ReDoc bundle.
    pub redoc_html: Option<String>,
    files: HashMap<(String, String), File>,
}

static ASSETS: LazyLock<Assets> = LazyLock::new(Assets::build);

impl Assets {
    /// The assets, built on first use.
    pub fn get() -> &'static Self {
        &ASSETS
    }

    fn build() -> Self {
        let swagger_dir = format!("swagger-ui-{SWAGGER_UI_VERSION}");
        let redoc_dir = format!("redoc-{REDOC_VERSION}");
        let mut hash = Sha256::new();
        for (name, _, text) in KEEL_FILES {
            hash.update(name.as_bytes());
            hash.update(text.as_bytes());
        }
        let keel_dir = format!("keel-{}", &hex(&hash.finalize())[..12]);

        let mut files = HashMap::new();
        let config = Arc::new(utoipa_swagger_ui::Config::from("/api/schema/"));
        for name in SWAGGER_FILES {
            if let Ok(Some(file)) = utoipa_swagger_ui::serve(name, Arc::clone(&config)) {
                files.insert(
                    (swagger_dir.clone(), (*name).to_owned()),
                    File {
                        content_type: file.content_type,
                        bytes: bytes(file.bytes),
                    },
                );
            }
        }
        for (name, content_type, text) in KEEL_FILES {
            files.insert(
                (keel_dir.clone(), (*name).to_owned()),
                File {
                    content_type: (*content_type).to_owned(),
                    bytes: web::Bytes::from_static(text.as_bytes()),
                },
            );
        }
        if let Some(js) = redoc::REDOC_JS {
            files.insert(
                (redoc_dir.clone(), "redoc.standalone.js".to_owned()),
                File {
                    content_type: "text/javascript; charset=utf-8".to_owned(),
                    bytes: web::Bytes::from_static(js),
                },
            );
        }
        let fill = |html: &str| {
            html.replace("{{swagger}}", &format!("/api/docs/assets/{swagger_dir}"))
                .replace("{{redoc}}", &format!("/api/docs/assets/{redoc_dir}"))
                .replace("{{keel}}", &format!("/api/docs/assets/{keel_dir}"))
        };
        Self {
            swagger_html: fill(include_str!("pages/swagger.html")),
            redoc_html: redoc::REDOC_JS.map(|_| fill(include_str!("pages/redoc.html"))),
            files,
        }
    }

    /// The URLs of every asset, for tests and the page-weight report.
    pub fn urls(&self) -> Vec<String> {
        let mut urls: Vec<String> = self
            .files
            .keys()
            .map(|(dir, file)| format!("/api/docs/assets/{dir}/{file}"))
            .collect();
        urls.sort();
        urls
    }
}

/// `GET /api/docs/assets/{bundle}/{file}`: an embedded asset, cached for a year.
pub async fn asset(path: web::Path<(String, String)>) -> Result<HttpResponse, ApiError> {
    let (dir, name) = path.into_inner();
    let file = Assets::get()
        .files
        .get(&(dir, name))
        .ok_or_else(|| ApiError::NotFound {
            path: "this docs asset (asset URLs are versioned; reload the page)".to_owned(),
        })?;
    Ok(HttpResponse::Ok()
        .content_type(file.content_type.as_str())
        .insert_header(CacheControl(vec![
            CacheDirective::Public,
            CacheDirective::MaxAge(31_536_000),
            CacheDirective::Extension("immutable".to_owned(), None),
        ]))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(file.bytes.clone()))
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_the_pages_link_is_served() {
        let assets = Assets::get();
        let urls = assets.urls();
        let mut pages = vec![assets.swagger_html.as_str()];
        pages.extend(assets.redoc_html.as_deref());
        for html in pages {
            for link in html
                .split('"')
                .filter(|s| s.starts_with("/api/docs/assets/"))
            {
                assert!(urls.iter().any(|u| u == link), "{link} is not served");
            }
            assert!(!html.contains("{{"), "unfilled placeholder");
            assert!(
                !html.contains("http"),
                "a page must not load anything from elsewhere"
            );
        }
        assert!(urls.iter().any(|u| u.ends_with("swagger-ui-bundle.js")));
    }

    #[test]
    fn pages_carry_no_inline_script_or_style() {
        let assets = Assets::get();
        for html in [Some(&assets.swagger_html), assets.redoc_html.as_ref()]
            .into_iter()
            .flatten()
        {
            assert!(!html.contains("<script>"), "inline script");
            assert!(!html.contains("<style"), "inline style");
            assert!(!html.contains("style="), "inline style attribute");
        }
    }
}
