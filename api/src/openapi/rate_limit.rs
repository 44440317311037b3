//! The global rate limit in the document: every `/api/v1` operation can answer 429
//! `rate_limited`, and every one of its answers carries the `RateLimit-*` and
//! `X-RateLimit-*` headers (`crate::middleware::rate_limit`), declared once under
//! `components/headers` and referenced from each response.

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::{ObjectBuilder, OpenApi, Ref, RefOr, Type};

/// The headers of every `/api/v1` answer, with what they say.
const HEADERS: [(&str, &str); 6] = [
    (
        "RateLimit-Limit",
        "Requests allowed per window to this client: per user with a valid access token \
         (`KEEL_GLOBAL_RATE_LIMIT_PER_USER`), else per address \
         (`KEEL_GLOBAL_RATE_LIMIT_PER_IP`). On a 429 of an endpoint's own limit, that limit.",
    ),
    (
        "RateLimit-Remaining",
        "Requests left in the current window (0 on a 429).",
    ),
    (
        "RateLimit-Reset",
        "Seconds until the window ends and the count starts again (on a 429, the same as \
         `Retry-After`).",
    ),
    ("X-RateLimit-Limit", "The same as `RateLimit-Limit`."),
    (
        "X-RateLimit-Remaining",
        "The same as `RateLimit-Remaining`.",
    ),
    (
        "X-RateLimit-Reset",
        "The same as `RateLimit-Reset` (seconds from now, not a time).",
    ),
];

/// The header of 429 answers.
const RETRY_AFTER: (&str, &str) = (
    "Retry-After",
    "Seconds to wait before the limit that refused has room again.",
);

/// Said of a 429 the global limit gives.
const GLOBAL_429: &str = "The client's global request limit for this window is spent \
    (`rate_limited`); retry after `Retry-After` seconds.";

/// Added to an operation's own 429: the global limit answers the same way.
const ALSO_GLOBAL: &str = " The global request limit answers the same way when it is spent.";

/// Adds the headers and the 429 to every `/api/v1` operation.
pub struct RateLimitHeaders;

impl utoipa::Modify for RateLimitHeaders {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (name, description) in HEADERS.iter().chain([&RETRY_AFTER]) {
            let schema = ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0));
            components.headers.insert(
                (*name).to_owned(),
                RefOr::T(
                    HeaderBuilder::new()
                        .schema(Some(schema))
                        .description(Some(*description))
                        .build(),
                ),
            );
        }
        let header_ref = |name: &str| RefOr::Ref(Ref::new(format!("#/components/headers/{name}")));
        for (path, item) in &mut openapi.paths.paths {
            if !path.starts_with("/api/v1/") {
                continue;
            }
            for op in super::operations(item) {
                let responses = &mut op.responses.responses;
                match responses.get_mut("429") {
                    Some(RefOr::T(own)) if !own.description.contains(ALSO_GLOBAL) => {
                        own.description.push_str(ALSO_GLOBAL);
                    }
                    Some(_) => {}
                    None => {
                        responses.insert("429".to_owned(), super::problem_response(GLOBAL_429));
                    }
                }
                for (status, response) in responses.iter_mut() {
                    let RefOr::T(response) = response else {
                        continue;
                    };
                    for (name, _) in HEADERS {
                        response.headers.insert(name.to_owned(), header_ref(name));
                    }
                    if status == "429" {
                        let (name, _) = RETRY_AFTER;
                        response.headers.insert(name.to_owned(), header_ref(name));
                    }
                }
            }
        }
    }
}
