use super::*;

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

#[test]
fn a_field_error_names_the_field_and_each_header_is_set() {
    let err = ApiError::InvalidField {
        field: "email",
        message: "is not an email address".to_owned(),
    };
    let problem = err.problem();
    assert_eq!(
        (problem.status, problem.code.as_str()),
        (422, "invalid_field")
    );
    assert_eq!(problem.errors[0].field, "email");
    let res = ApiError::MethodNotAllowed {
        allow: vec!["GET".into(), "POST".into()],
    }
    .error_response();
    assert_eq!(
        res.headers().get(header::ALLOW).map(|v| v.as_bytes()),
        Some(&b"GET, POST"[..])
    );
    let res = ApiError::Unauthorized("token expired").error_response();
    assert_eq!(
        res.headers()
            .get(header::WWW_AUTHENTICATE)
            .map(|v| v.as_bytes()),
        Some(&b"Bearer"[..])
    );
    let res = ApiError::TooManyRequests {
        retry_after_secs: 7,
        limit: 5,
    }
    .error_response();
    assert_eq!(
        res.headers().get(header::RETRY_AFTER).map(|v| v.as_bytes()),
        Some(&b"7"[..])
    );
}
