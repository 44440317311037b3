//! Refuses JSON arrays where every Keel body is an object.
//!
//! serde's derived struct deserializer also accepts a JSON array of the fields in order, so
//! `[null, null]` would pass as `{}` and a fuzzer (or a confused client) would get a 200 for a
//! body the document says is invalid. This middleware looks at the first non-blank byte of a
//! JSON body and answers 422 `invalid_body` when it opens an array; the body then streams on
//! to the extractor unchanged (no buffering beyond the chunks it looked at).

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{HttpMessage, ResponseError};
use std::pin::Pin;

use actix_web::error::PayloadError;
use futures_util::{Stream, StreamExt};

use crate::error::ApiError;

/// Stop looking after this much leading whitespace; the extractor judges the rest.
const MAX_PEEK: usize = 64 * 1024;

/// The middleware (wired in `startup.rs` with `from_fn`).
pub async fn refuse_json_arrays(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if is_json(&req) {
        let mut payload = req.take_payload();
        let mut seen: Vec<Result<Bytes, PayloadError>> = Vec::new();
        let mut peeked = 0;
        while peeked < MAX_PEEK {
            let Some(item) = payload.next().await else {
                break;
            };
            let first = match &item {
                Ok(chunk) => {
                    peeked += chunk.len();
                    chunk.iter().copied().find(|b| !b.is_ascii_whitespace())
                }
                Err(_) => Some(0),
            };
            seen.push(item);
            match first {
                Some(b'[') => {
                    // Answered here rather than as an `Err`, so that the middleware around
                    // (rate-limit headers, request id) sees the response.
                    let refused = ApiError::InvalidBody {
                        detail: "expected a JSON object, found an array".to_owned(),
                        field: None,
                    };
                    return Ok(req
                        .into_response(refused.error_response())
                        .map_into_right_body());
                }
                Some(_) => break,
                None => {}
            }
        }
        let rest = futures_util::stream::iter(seen).chain(payload);
        req.set_payload(Payload::from(
            Box::pin(rest) as Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>>
        ));
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// Whether the request declares a JSON body (`application/json` or `+json`).
fn is_json(req: &ServiceRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .is_some_and(|m| m == "application/json" || m.ends_with("+json"))
}
