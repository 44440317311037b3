//! Actix's JSON body rejections, as problems naming the field when serde does.

use actix_web::HttpRequest;
use actix_web::error::{JsonPayloadError, PayloadError};

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
