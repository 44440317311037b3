//! The one error type at the HTTP edge. Every failure leaves the api as
//! `application/problem+json` (RFC 9457) with a stable `code`; 500s are opaque to the client
//! and logged here, once, with their cause chain.
//!
//! [`ApiError::answer`] is the table: one `match` decides status, code, detail, the extra
//! header and what is logged for every variant. `from_shared` maps each `shared` operation's
//! error onto it; `json` maps actix's body rejections.

mod from_shared;
mod json;
mod problem;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{HttpResponse, ResponseError};

pub use json::{form_error_handler, json_error_handler, path_error_handler, query_error_handler};
pub use problem::{FieldError, PROBLEM_JSON, Problem, ProblemContentType};

/// Every error a handler or extractor can end in.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No route (or no resource of the caller's) matches.
    #[error("no resource at {path}")]
    NotFound {
        /// The requested path, or what was not found.
        path: String,
    },
    /// The path exists but not with this method.
    #[error("method not allowed")]
    MethodNotAllowed {
        /// The methods the path accepts.
        allow: Vec<String>,
    },
    /// The body is not well-formed JSON.
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    /// The body is JSON but not of the expected shape.
    #[error("invalid request body: {detail}")]
    InvalidBody {
        /// What serde said.
        detail: String,
        /// The field at fault, when known.
        field: Option<String>,
    },
    /// A path segment does not parse as its parameter (a malformed id names no resource).
    #[error("invalid path parameter {name}: {detail}")]
    InvalidPath {
        /// The parameter's name.
        name: String,
        /// What is wrong with it.
        detail: String,
    },
    /// A query or header parameter could not be parsed.
    #[error("invalid {location} parameter {name}: {detail}")]
    InvalidParameter {
        /// `query` or `header`.
        location: &'static str,
        /// The parameter's name (every name of the path's, when serde does not say which).
        name: String,
        /// What is wrong with it.
        detail: String,
    },
    /// The body is not declared as JSON.
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// The body is larger than the configured limit.
    #[error("body larger than {limit} bytes")]
    PayloadTooLarge {
        /// `KEEL_API_BODY_LIMIT_BYTES`.
        limit: usize,
    },
    /// An upload is not an image type Keel accepts (judged from its bytes), or its
    /// `Content-Type` names none or another.
    #[error("unsupported image: {field} {message}")]
    UnsupportedImage {
        /// `body` or `Content-Type`.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// An upload of an accepted type does not decode (truncated, corrupt, empty).
    #[error("invalid image: {0}")]
    InvalidImage(String),
    /// An upload has more pixels than allowed.
    #[error("image too large: {0}")]
    ImageTooLarge(String),
    /// The body could not be read (client went away, bad encoding, ...).
    #[error("cannot read the request body: {0}")]
    BadPayload(String),
    /// No valid access token (missing, malformed, expired, wrongly signed, revoked session).
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    /// Login with an unknown email or a wrong password.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// A request field breaks a rule.
    #[error("invalid {field}: {message}")]
    InvalidField {
        /// The field, as named in the request.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// Authenticated, but this action needs more (a recent sign-in, a role).
    #[error("{detail}")]
    Forbidden {
        /// Stable code.
        code: &'static str,
        /// Explanation, safe to show.
        detail: &'static str,
    },
    /// The request conflicts with the current state.
    #[error("{detail}")]
    Conflict {
        /// Stable code.
        code: &'static str,
        /// Explanation, safe to show.
        detail: &'static str,
    },
    /// A rate or abuse limit was hit.
    #[error("too many requests")]
    TooManyRequests {
        /// Seconds until the limit resets.
        retry_after_secs: u64,
        /// The limit that refused (per window), for the `RateLimit-Limit` header.
        limit: u32,
    },
    /// A third party (an OAuth provider) refused or failed.
    #[error("upstream failure: {0}")]
    Upstream(String),
    /// A dependency (PostgreSQL, Redis) is down, too slow, or dropped the connection.
    #[error("{dependency} is unavailable")]
    Unavailable {
        /// Which one.
        dependency: &'static str,
    },
    /// Media storage (the media directory or the S3 bucket) failed or is unreachable.
    #[error("media storage is unavailable")]
    MediaUnavailable,
    /// Anything unexpected: logged with its cause, answered as an opaque 500.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// What is logged when an error is answered.
enum Log {
    Nothing,
    Warn(String),
    Error(String),
}

/// Everything the HTTP answer of an error is made of.
struct Answer {
    status: StatusCode,
    code: &'static str,
    detail: String,
    header: Option<(HeaderName, String)>,
    field: Option<FieldError>,
    log: Log,
}

impl Answer {
    fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            header: None,
            field: None,
            log: Log::Nothing,
        }
    }

    fn header(mut self, name: HeaderName, value: impl Into<String>) -> Self {
        self.header = Some((name, value.into()));
        self
    }

    fn field(mut self, field: &str, message: &str) -> Self {
        self.field = Some(FieldError {
            field: field.to_owned(),
            message: message.to_owned(),
        });
        self
    }

    fn log(mut self, log: Log) -> Self {
        self.log = log;
        self
    }
}

impl ApiError {
    /// The table: status, code, detail, header and log line of every variant.
    fn answer(&self) -> Answer {
        use StatusCode as S;
        match self {
            Self::NotFound { path } => {
                Answer::new(S::NOT_FOUND, "not_found", format!("No resource at {path}."))
            }
            Self::MethodNotAllowed { allow } => Answer::new(
                S::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("This resource accepts only {}.", allow.join(", ")),
            )
            .header(header::ALLOW, allow.join(", ")),
            Self::MalformedJson(detail) => Answer::new(
                S::BAD_REQUEST,
                "malformed_json",
                format!("The body is not valid JSON: {detail}."),
            ),
            Self::InvalidBody { detail, field } => {
                let answer = Answer::new(
                    S::UNPROCESSABLE_ENTITY,
                    "invalid_body",
                    format!("The body is invalid: {detail}."),
                );
                match field {
                    Some(field) => answer.field(field, detail),
                    None => answer,
                }
            }
            Self::InvalidPath { name, detail } => Answer::new(
                S::NOT_FOUND,
                "not_found",
                format!("No resource here: the path parameter `{name}` is invalid ({detail})."),
            )
            .field(name, detail),
            Self::InvalidParameter {
                location,
                name,
                detail,
            } => Answer::new(
                S::BAD_REQUEST,
                "invalid_parameter",
                format!("The {location} parameter `{name}` is invalid: {detail}."),
            )
            .field(name, detail),
            Self::UnsupportedMediaType => Answer::new(
                S::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Send the body as JSON with `Content-Type: application/json`.",
            ),
            Self::PayloadTooLarge { limit } => Answer::new(
                S::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("The body is larger than the limit of {limit} bytes."),
            ),
            Self::UnsupportedImage { field, message } => Answer::new(
                S::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_image",
                format!(
                    "`{field}` {message}: send a PNG, JPEG or WebP image with its own Content-Type."
                ),
            )
            .field(field, message),
            Self::InvalidImage(message) => Answer::new(
                S::BAD_REQUEST,
                "invalid_image",
                format!("`body` {message}."),
            )
            .field("body", message),
            Self::ImageTooLarge(message) => Answer::new(
                S::PAYLOAD_TOO_LARGE,
                "image_too_large",
                format!("`body` {message}."),
            )
            .field("body", message),
            Self::BadPayload(detail) => Answer::new(
                S::BAD_REQUEST,
                "bad_payload",
                format!("The body could not be read: {detail}."),
            ),
            Self::Unauthorized(why) => Answer::new(
                S::UNAUTHORIZED,
                "unauthorized",
                format!("A valid bearer access token is required ({why})."),
            )
            .header(header::WWW_AUTHENTICATE, "Bearer"),
            Self::InvalidCredentials => Answer::new(
                S::UNAUTHORIZED,
                "invalid_credentials",
                "The email or the password is wrong.",
            ),
            Self::InvalidField { field, message } => Answer::new(
                S::UNPROCESSABLE_ENTITY,
                "invalid_field",
                format!("`{field}` {message}."),
            )
            .field(field, message),
            Self::Forbidden { code, detail } => Answer::new(S::FORBIDDEN, code, *detail),
            Self::Conflict { code, detail } => Answer::new(S::CONFLICT, code, *detail),
            Self::TooManyRequests {
                retry_after_secs, ..
            } => Answer::new(
                S::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("Too many attempts; retry in {retry_after_secs} s."),
            )
            .header(header::RETRY_AFTER, retry_after_secs.to_string()),
            Self::Upstream(why) => Answer::new(
                S::BAD_GATEWAY,
                "oauth_provider_error",
                "The sign-in provider refused or failed; start again.",
            )
            .log(Log::Warn(format!("OAuth provider failed: {why}"))),
            Self::Unavailable { dependency } => Answer::new(
                S::SERVICE_UNAVAILABLE,
                "service_unavailable",
                format!("A backing service ({dependency}) is unavailable; retry shortly."),
            )
            .header(header::RETRY_AFTER, "5")
            .log(Log::Warn(format!("dependency unavailable: {dependency}"))),
            Self::MediaUnavailable => Answer::new(
                S::SERVICE_UNAVAILABLE,
                "media_unavailable",
                "Media storage is unavailable; retry shortly.",
            )
            .header(header::RETRY_AFTER, "5"),
            Self::Internal(e) => Answer::new(
                S::INTERNAL_SERVER_ERROR,
                "internal_error",
                "An unexpected error occurred; it has been logged.",
            )
            .log(Log::Error(format!("internal error: {e:#}"))),
        }
    }

    /// The stable `code` of the problem document.
    pub fn code(&self) -> &'static str {
        self.answer().code
    }

    /// The problem document for this error.
    pub fn problem(&self) -> Problem {
        Problem::from_parts(self.answer())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.answer().status
    }

    fn error_response(&self) -> HttpResponse {
        let answer = self.answer();
        match &answer.log {
            Log::Nothing => {}
            Log::Warn(line) => tracing::warn!("{line}"),
            Log::Error(line) => tracing::error!("{line}"),
        }
        let mut res = HttpResponse::build(answer.status);
        res.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        if let Some((name, value)) = &answer.header {
            res.insert_header((name.clone(), value.as_str()));
        }
        let mut res =
            res.body(serde_json::to_string(&Problem::from_parts(answer)).unwrap_or_default());
        if let Self::TooManyRequests {
            retry_after_secs,
            limit,
        } = *self
        {
            // The rate-limit headers describe the limit that refused.
            res.extensions_mut()
                .insert(crate::middleware::rate_limit::Refusal {
                    limit,
                    retry_after_secs,
                });
        }
        res
    }
}

#[cfg(test)]
mod tests;
