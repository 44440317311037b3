//! What answers when no handler matches: 405 with `Allow` when the path exists under another
//! method, 404 otherwise, both as problem+json.
//!
//! actix-web answers 404 for a wrong method on a macro-routed handler; the route table here is
//! built from the OpenAPI document, which holds every handler, so it cannot drift from the
//! routes.

use actix_web::{HttpRequest, HttpResponse, web};
use utoipa::openapi::OpenApi;

use crate::error::ApiError;
use crate::state::AppState;

/// Every documented path template with the methods it accepts.
#[derive(Debug, Default)]
pub struct RouteTable {
    routes: Vec<(Vec<Segment>, Vec<String>)>,
}

#[derive(Debug)]
enum Segment {
    Literal(String),
    Param,
}

impl RouteTable {
    /// Builds the table from the OpenAPI document's paths.
    pub fn from_openapi(doc: &OpenApi) -> Self {
        let mut routes = Vec::new();
        for (path, item) in &doc.paths.paths {
            let ops = [
                ("GET", item.get.is_some()),
                ("HEAD", item.head.is_some()),
                ("POST", item.post.is_some()),
                ("PUT", item.put.is_some()),
                ("PATCH", item.patch.is_some()),
                ("DELETE", item.delete.is_some()),
                ("OPTIONS", item.options.is_some()),
            ];
            let methods = ops
                .iter()
                .filter(|(_, present)| *present)
                .map(|(m, _)| (*m).to_owned())
                .collect();
            let segments = split(path)
                .map(|s| {
                    if s.starts_with('{') && s.ends_with('}') {
                        Segment::Param
                    } else {
                        Segment::Literal(s.to_owned())
                    }
                })
                .collect();
            routes.push((segments, methods));
        }
        Self { routes }
    }

    /// The methods `path` accepts; empty when no route has that path.
    pub fn allowed(&self, path: &str) -> Vec<String> {
        let wanted: Vec<&str> = split(path).collect();
        let mut allowed: Vec<String> = Vec::new();
        for (segments, methods) in &self.routes {
            let matches = segments.len() == wanted.len()
                && segments.iter().zip(&wanted).all(|(s, w)| match s {
                    Segment::Param => !w.is_empty(),
                    Segment::Literal(l) => l == w,
                });
            if matches {
                allowed.extend(methods.iter().cloned());
            }
        }
        allowed.sort();
        allowed.dedup();
        allowed
    }
}

/// Splits a path into segments; a trailing slash is a segment of its own ("" at the end),
/// matching actix's strict routing.
fn split(path: &str) -> impl Iterator<Item = &str> {
    path.strip_prefix('/').unwrap_or(path).split('/')
}

/// The app's default service.
pub async fn fallback(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let allow = state.routes.allowed(req.path());
    Err(if allow.is_empty() {
        ApiError::NotFound {
            path: req.path().to_owned(),
        }
    } else {
        ApiError::MethodNotAllowed { allow }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem, PathsBuilder};

    fn table() -> RouteTable {
        let paths = PathsBuilder::new()
            .path(
                "/healthz",
                PathItem::new(HttpMethod::Get, OperationBuilder::new()),
            )
            .path(
                "/api/v1/orgs/{id}",
                PathItem::new(HttpMethod::Delete, OperationBuilder::new()),
            )
            .build();
        let doc = utoipa::openapi::OpenApiBuilder::new().paths(paths).build();
        RouteTable::from_openapi(&doc)
    }

    #[test]
    fn a_known_path_lists_its_methods() {
        assert_eq!(table().allowed("/healthz"), vec!["GET"]);
        assert_eq!(table().allowed("/api/v1/orgs/42"), vec!["DELETE"]);
    }

    #[test]
    fn an_unknown_path_allows_nothing() {
        assert!(table().allowed("/nope").is_empty());
        assert!(table().allowed("/healthz/").is_empty());
        assert!(table().allowed("/api/v1/orgs//").is_empty());
    }
}
