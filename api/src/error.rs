//! The one error type at the HTTP edge. Every failure leaves the api as
//! `application/problem+json` (RFC 9457) with a stable `code`; 500s are opaque to the client
//! and logged here, once, with their cause chain.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, error::JsonPayloadError};
use serde::Serialize;
use utoipa::ToSchema;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI reference identifying the problem type; `about:blank` when `code` says it all.
    #[serde(rename = "type")]
    #[schema(example = "about:blank")]
    pub problem_type: String,
    /// Short summary of the problem type.
    #[schema(example = "Not Found")]
    pub title: String,
    /// The HTTP status code.
    #[schema(example = 404)]
    pub status: u16,
    /// Explanation of this occurrence, safe to show to the client.
    #[schema(example = "No resource at /api/v1/nothing.")]
    pub detail: String,
    /// Stable machine-readable error code; clients branch on this, never on `detail`.
    #[schema(example = "not_found")]
    pub code: String,
    /// The request fields at fault, when the problem is in the request body.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// One invalid field of a request.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldError {
    /// The field's name (a JSON pointer-like path such as `email`).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// Every error a handler or extractor can end in.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No route matches the path.
    #[error("no resource at {path}")]
    NotFound {
        /// The requested path.
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
    /// The body is not declared as JSON.
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// The body is larger than the configured limit.
    #[error("body larger than {limit} bytes")]
    PayloadTooLarge {
        /// `KEEL_API_BODY_LIMIT_BYTES`.
        limit: usize,
    },
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
        /// The field (as named in the request).
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The request conflicts with the current state.
    #[error("{detail}")]
    Conflict {
        /// Stable code.
        code: &'static str,
        /// Explanation.
        detail: &'static str,
    },
    /// An abuse limit was hit.
    #[error("too many requests")]
    TooManyRequests {
        /// Seconds until the limit resets.
        retry_after_secs: u64,
    },
    /// A third party (an OAuth provider) refused or failed.
    #[error("upstream failure: {0}")]
    Upstream(String),
    /// A dependency (PostgreSQL, Redis) is down or too slow.
    #[error("{dependency} is unavailable")]
    Unavailable {
        /// Which one.
        dependency: &'static str,
    },
    /// Anything unexpected: logged with its cause, answered as an opaque 500.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    /// The stable `code` of the problem document.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound { .. } => "not_found",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::MalformedJson(_) => "malformed_json",
            Self::InvalidBody { .. } => "invalid_body",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::BadPayload(_) => "bad_payload",
            Self::Unavailable { .. } => "service_unavailable",
            Self::Unauthorized(_) => "unauthorized",
            Self::InvalidCredentials => "invalid_credentials",
            Self::InvalidField { .. } => "invalid_field",
            Self::Conflict { code, .. } => code,
            Self::TooManyRequests { .. } => "rate_limited",
            Self::Upstream(_) => "oauth_provider_error",
            Self::Internal(_) => "internal_error",
        }
    }

    fn detail(&self) -> String {
        match self {
            Self::NotFound { path } => format!("No resource at {path}."),
            Self::MethodNotAllowed { allow } => {
                format!("This resource accepts only {}.", allow.join(", "))
            }
            Self::MalformedJson(detail) => format!("The body is not valid JSON: {detail}."),
            Self::InvalidBody { detail, .. } => format!("The body is invalid: {detail}."),
            Self::UnsupportedMediaType => {
                "Send the body as JSON with `Content-Type: application/json`.".to_owned()
            }
            Self::PayloadTooLarge { limit } => {
                format!("The body is larger than the limit of {limit} bytes.")
            }
            Self::BadPayload(detail) => format!("The body could not be read: {detail}."),
            Self::Unavailable { dependency } => {
                format!("A backing service ({dependency}) is unavailable; retry shortly.")
            }
            Self::Internal(_) => "An unexpected error occurred; it has been logged.".to_owned(),
            Self::Unauthorized(why) => format!("A valid bearer access token is required ({why})."),
            Self::InvalidCredentials => "The email or the password is wrong.".to_owned(),
            Self::InvalidField { field, message } => format!("`{field}` {message}."),
            Self::Conflict { detail, .. } => (*detail).to_owned(),
            Self::Upstream(_) => "The sign-in provider refused or failed; start again.".to_owned(),
            Self::TooManyRequests { retry_after_secs } => {
                format!("Too many attempts; retry in {retry_after_secs} s.")
            }
        }
    }

    /// The problem document for this error.
    pub fn problem(&self) -> Problem {
        let status = self.status_code();
        let errors = match self {
            Self::InvalidBody {
                field: Some(field),
                detail,
            } => vec![FieldError {
                field: field.clone(),
                message: detail.clone(),
            }],
            Self::InvalidField { field, message } => vec![FieldError {
                field: (*field).to_owned(),
                message: message.clone(),
            }],
            _ => Vec::new(),
        };
        Problem {
            problem_type: "about:blank".to_owned(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: self.detail(),
            code: self.code().to_owned(),
            errors,
        }
    }

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
            JsonPayloadError::Payload(actix_web::error::PayloadError::Overflow) => {
                Self::PayloadTooLarge { limit }
            }
            other => Self::BadPayload(other.to_string()),
        }
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

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::MalformedJson(_) | Self::BadPayload(_) => StatusCode::BAD_REQUEST,
            Self::InvalidBody { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unauthorized(_) | Self::InvalidCredentials => StatusCode::UNAUTHORIZED,
            Self::InvalidField { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Upstream(_) => StatusCode::BAD_GATEWAY,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Internal(e) => tracing::error!(error = format!("{e:#}"), "internal error"),
            Self::Unavailable { dependency } => {
                tracing::warn!(dependency, "dependency unavailable");
            }
            Self::Upstream(why) => tracing::warn!(error = %why, "OAuth provider failed"),
            _ => {}
        }
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        match self {
            Self::MethodNotAllowed { allow } => {
                res.insert_header((header::ALLOW, allow.join(", ")));
            }
            Self::Unavailable { .. } => {
                res.insert_header((header::RETRY_AFTER, "5"));
            }
            Self::Unauthorized(_) => {
                res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            Self::TooManyRequests { retry_after_secs } => {
                res.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            _ => {}
        }
        res.body(serde_json::to_string(&self.problem()).unwrap_or_default())
    }
}

impl From<deadpool_postgres::PoolError> for ApiError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        tracing::warn!(error = %e, "no PostgreSQL connection");
        Self::Unavailable {
            dependency: "postgres",
        }
    }
}

impl From<deadpool_redis::PoolError> for ApiError {
    fn from(e: deadpool_redis::PoolError) -> Self {
        tracing::warn!(error = %e, "no Redis connection");
        Self::Unavailable {
            dependency: "redis",
        }
    }
}

impl From<keel_shared::jobs::QueueError> for ApiError {
    fn from(e: keel_shared::jobs::QueueError) -> Self {
        use keel_shared::jobs::QueueError;
        match e {
            QueueError::Pool(_) | QueueError::Redis(_) => {
                tracing::warn!(error = %e, "cannot enqueue");
                Self::Unavailable {
                    dependency: "redis",
                }
            }
            other => Self::Internal(other.into()),
        }
    }
}

impl From<keel_shared::redis::RedisError> for ApiError {
    fn from(e: keel_shared::redis::RedisError) -> Self {
        tracing::warn!(error = %e, "Redis failed");
        Self::Unavailable {
            dependency: "redis",
        }
    }
}

impl ApiError {
    /// Maps an account operation's failure; `password_field` names the request field that
    /// carries the password the operation checked or set.
    pub fn account(e: keel_shared::accounts::AccountError, password_field: &'static str) -> Self {
        use keel_shared::accounts::AccountError as E;
        match e {
            E::InvalidCredentials => Self::InvalidCredentials,
            E::InvalidToken => Self::InvalidField {
                field: "token",
                message: "is invalid, used or expired".to_owned(),
            },
            E::TokenReused => Self::Unauthorized("refresh token already used; session revoked"),
            E::WrongPassword => Self::InvalidField {
                field: password_field,
                message: "is wrong".to_owned(),
            },
            E::EmailTaken => Self::Conflict {
                code: "email_taken",
                detail: "The email address belongs to another account.",
            },
            E::WeakPassword(rule) => Self::InvalidField {
                field: password_field,
                message: rule.to_string(),
            },
            E::InvalidCode => Self::InvalidField {
                field: "code",
                message: "is wrong, already used or expired".to_owned(),
            },
            E::TwoFactorAlreadyEnabled => Self::Conflict {
                code: "two_factor_enabled",
                detail: "Two-factor authentication is already enabled.",
            },
            E::TwoFactorNotEnabled => Self::Conflict {
                code: "two_factor_not_enabled",
                detail: "Two-factor authentication is not enabled (or not set up).",
            },
            E::OAuthNoEmail => Self::Conflict {
                code: "oauth_no_email",
                detail: "The provider shared no email address; allow it and try again.",
            },
            E::OAuthEmailUnverified => Self::Conflict {
                code: "oauth_email_unverified",
                detail: "An account uses this email, but the provider has not verified it; sign in with your password instead.",
            },
            E::Pool(p) => p.into(),
            other => Self::Internal(other.into()),
        }
    }
}

impl From<keel_shared::oauth::OAuthError> for ApiError {
    fn from(e: keel_shared::oauth::OAuthError) -> Self {
        use keel_shared::oauth::OAuthError as E;
        match e {
            E::InvalidState => Self::InvalidField {
                field: "state",
                message: "is invalid, used or expired".to_owned(),
            },
            E::Redis(r) => r.into(),
            other => Self::Upstream(other.to_string()),
        }
    }
}

/// Plugs [`ApiError::from_json`] into actix's JSON extractor.
pub fn json_error_handler(
    limit: usize,
) -> impl Fn(JsonPayloadError, &HttpRequest) -> actix_web::Error + Send + Sync + 'static {
    move |err, _req| ApiError::from_json(&err, limit).into()
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

    #[test]
    fn a_dependency_timeout_is_a_503_naming_it_with_retry_after() {
        let err = ApiError::from(deadpool_redis::PoolError::Timeout(
            deadpool_redis::TimeoutType::Wait,
        ));
        let res = err.error_response();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            res.headers().get(header::RETRY_AFTER).map(|v| v.as_bytes()),
            Some(&b"5"[..])
        );
        assert_eq!(err.problem().code, "service_unavailable");
        assert!(err.problem().detail.contains("redis"));
    }

    #[test]
    fn internal_errors_do_not_leak_their_cause() {
        let err = ApiError::Internal(anyhow::anyhow!("password=hunter2 in a query"));
        let problem = err.problem();
        assert_eq!(problem.status, 500);
        assert_eq!(problem.code, "internal_error");
        assert!(!problem.detail.contains("hunter2"));
    }
}
