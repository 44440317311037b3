//! CORS (`KEEL_CORS_*`): preflights from an allowed origin are answered here, before routing,
//! so they never reach PostgreSQL; other requests from an allowed origin get
//! `Access-Control-Allow-Origin` and the exposed headers. A refused origin gets no CORS
//! header at all, so the browser withholds the response from the calling script.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse, web};
use keel_shared::config::CORS_EXPOSED_HEADERS;

use crate::state::AppState;

/// The middleware (`from_fn(cors)`).
pub async fn cors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let origin = req.headers().get(header::ORIGIN).cloned();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let (Some(origin), Some(state)) = (origin, state) else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    let config = &state.config.cors;
    let allowed = origin.to_str().is_ok_and(|o| config.allows(o));
    if !allowed {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    let allow_origin = if config.allows_any_origin() {
        HeaderValue::from_static("*")
    } else {
        origin
    };
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        let response = HttpResponse::build(StatusCode::NO_CONTENT)
            .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, allow_origin))
            .insert_header((
                header::ACCESS_CONTROL_ALLOW_METHODS,
                config.allowed_methods.as_str(),
            ))
            .insert_header((
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                config.allowed_headers.as_str(),
            ))
            .insert_header((header::ACCESS_CONTROL_MAX_AGE, config.max_age_secs))
            .insert_header((header::VARY, "Origin"))
            .finish();
        return Ok(req.into_response(response));
    }
    let mut res = next.call(req).await?.map_into_boxed_body();
    let headers = res.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow_origin);
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(CORS_EXPOSED_HEADERS),
    );
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    Ok(res)
}
