//! Actix's extractor rejections (JSON and form bodies, path and query parameters), as
//! problems naming the field or parameter.

use actix_web::HttpRequest;
use actix_web::error::{
    JsonPayloadError, PathError, PayloadError, QueryPayloadError, UrlencodedError,
};

use super::ApiError;

impl ApiError {
    /// Maps a JSON extractor rejection (wired in by [`json_error_handler`]).
    pub fn from_json(err: &JsonPayloadError, limit: usize) -> Self {
        match err {
            JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
                Self::PayloadTooLarge { limit }
            }
            JsonPayloadError::ContentType => Self::UnsupportedMediaType,
            JsonPayloadError::Deserialize(e) if e.is_data() => Self::InvalidBody {
                field: field_in(&e.to_string()),
                detail: strip_position(&e.to_string()),
            },
            JsonPayloadError::Deserialize(e) => Self::MalformedJson(e.to_string()),
            JsonPayloadError::Payload(PayloadError::Overflow) => Self::PayloadTooLarge { limit },
            other => Self::BadPayload(other.to_string()),
        }
    }
}

/// Plugs [`ApiError::from_json`] into actix's JSON extractor.
pub fn json_error_handler(
    limit: usize,
) -> impl Fn(JsonPayloadError, &HttpRequest) -> actix_web::Error + Send + Sync + 'static {
    move |err, _req| ApiError::from_json(&err, limit).into()
}

/// Path rejections: 404 `not_found` (a malformed id names no resource) with `errors` naming
/// the path's parameter (serde's message for a path does not say which; Keel's paths have one
/// parameter each).
pub fn path_error_handler(err: PathError, req: &HttpRequest) -> actix_web::Error {
    let PathError::Deserialize(e) = err else {
        return ApiError::BadPayload(err.to_string()).into();
    };
    let message = e.to_string();
    let names: Vec<&str> = req.match_info().iter().map(|(name, _)| name).collect();
    let name = named_field(&message).unwrap_or_else(|| names.join(", "));
    ApiError::InvalidPath {
        name,
        detail: message,
    }
    .into()
}

/// Query rejections: 400 `invalid_parameter` naming the parameter (serde names it when it is
/// missing or unknown; a bad value is blamed on the parameters the query string holds).
pub fn query_error_handler(err: QueryPayloadError, req: &HttpRequest) -> actix_web::Error {
    let message = match &err {
        QueryPayloadError::Deserialize(e) => e.to_string(),
        other => other.to_string(),
    };
    let present: Vec<&str> = req
        .query_string()
        .split('&')
        .filter_map(|pair| pair.split('=').next())
        .filter(|name| !name.is_empty())
        .collect();
    ApiError::InvalidParameter {
        location: "query",
        name: named_field(&message).unwrap_or_else(|| present.join(", ")),
        detail: message,
    }
    .into()
}

/// Form body rejections, as the JSON ones: 413, 415, or 422 naming the field.
pub fn form_error_handler(
    limit: usize,
) -> impl Fn(UrlencodedError, &HttpRequest) -> actix_web::Error + Send + Sync + 'static {
    move |err, _req| {
        match err {
            UrlencodedError::Overflow { .. } => ApiError::PayloadTooLarge { limit },
            UrlencodedError::ContentType => ApiError::UnsupportedMediaType,
            UrlencodedError::Parse(e) => {
                let message = e.to_string();
                ApiError::InvalidBody {
                    field: named_field(&message),
                    detail: message,
                }
            }
            other => ApiError::BadPayload(other.to_string()),
        }
        .into()
    }
}

/// The field of serde's "missing field `x`" and "unknown field `x`" messages (other messages
/// quote values, not names).
fn named_field(message: &str) -> Option<String> {
    if message.starts_with("missing field") || message.starts_with("unknown field") {
        field_in(message)
    } else {
        None
    }
}

/// serde names the field in "missing field `x`" and "unknown field `x`" messages.
fn field_in(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(message[start..start + len].to_owned())
}

/// serde_json appends " at line L column C"; the client does not need it for data errors.
fn strip_position(message: &str) -> String {
    message
        .rfind(" at line ")
        .map_or(message, |i| &message[..i])
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_field_messages_name_a_field() {
        assert_eq!(
            named_field("unknown field `nmae`, expected one of `name`").as_deref(),
            Some("nmae")
        );
        assert_eq!(
            named_field("unknown variant `xml`, expected `json` or `yaml`"),
            None
        );
        assert_eq!(named_field("UUID parsing failed: found `n`"), None);
    }

    #[test]
    fn a_missing_field_is_named() {
        assert_eq!(
            field_in("missing field `email` at line 1 column 2").as_deref(),
            Some("email")
        );
        assert_eq!(
            strip_position("missing field `email` at line 1 column 2"),
            "missing field `email`"
        );
    }
}
