//! Conditional GETs: whether a request's `If-None-Match` names the current `ETag`.

use actix_web::HttpRequest;
use actix_web::http::header;

/// Whether `If-None-Match` lists `etag` (quoted, as sent in `ETag`) or `*`: the client's copy
/// is current, and a 304 may answer.
pub fn if_none_match(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
}
