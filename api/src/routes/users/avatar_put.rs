//! `PUT /api/v1/users/me/avatar`.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, put, web};
use futures_util::StreamExt;
use keel_shared::media::avatar::{MAX_UPLOAD_BYTES, process_avatar};

use super::UserResponse;
use crate::error::{ApiError, Problem};
use crate::extract::AuthUser;
use crate::limits::limit_uploads;
use crate::state::AppState;

/// This route's body limit, whatever `KEEL_API_BODY_LIMIT_BYTES` allows other routes.
const BODY_LIMIT: usize = MAX_UPLOAD_BYTES;

/// Upload my avatar.
///
/// Send the image file itself as the body (not multipart, not base64), with its
/// `Content-Type`: `image/png`, `image/jpeg` or `image/webp`, at most 2 MiB and 4096×4096
/// pixels. The type is judged from the bytes (the header must agree); the image is turned
/// upright by its EXIF orientation, scaled down to at most 512×512 and encoded afresh, so no
/// metadata (EXIF, GPS, ICC, comments) is kept. It replaces any previous avatar, whose file is
/// then deleted. Answers the user with the new `avatar_url`.
#[utoipa::path(
    tag = "users",
    operation_id = "put_users_me_avatar",
    request_body(
        description = "The image file, as is (at most 2 MiB).",
        content(
            (Vec<u8> = "image/png"),
            (Vec<u8> = "image/jpeg"),
            (Vec<u8> = "image/webp"),
        ),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Stored: the user with the new `avatar_url`.", body = UserResponse),
        (status = 400, description = "The body is empty or does not decode as the image it claims to be (`invalid_image`; `errors` names `body`), or could not be read (`bad_payload`).", body = Problem),
        (status = 401, description = "No valid access token (`unauthorized`).", body = Problem),
        (status = 413, description = "The body is larger than 2 MiB (`payload_too_large`), or the image is wider or taller than 4096 pixels (`image_too_large`).", body = Problem),
        (status = 415, description = "The bytes are not PNG, JPEG or WebP, or `Content-Type` is missing or disagrees with them (`unsupported_image`; `errors` names `body` or `Content-Type`).", body = Problem),
        (status = 429, description = "Too many uploads by this user (`KEEL_MEDIA_UPLOADS_PER_WINDOW`) (`rate_limited`); see `Retry-After`.", body = Problem),
        (status = 503, description = "Media storage is unavailable (`media_unavailable`), or PostgreSQL or Redis is (`service_unavailable`); retry after `Retry-After`.", body = Problem),
    )
)]
#[put("/api/v1/users/me/avatar")]
#[tracing::instrument(skip_all, fields(user.id = %auth.user.id))]
pub async fn avatar_put(
    state: web::Data<AppState>,
    auth: AuthUser,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    limit_uploads(&state, auth.user.id).await?;
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = read_capped(&req, body, BODY_LIMIT).await?;
    // Decoding and encoding are CPU work: off the async threads.
    let image = web::block(move || process_avatar(&bytes, content_type.as_deref()))
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("avatar processing thread: {e}")))??;
    let key = state
        .accounts
        .set_avatar(&state.media, auth.user.id, image)
        .await?;
    let mut user = auth.user;
    user.avatar_key = Some(key);
    Ok(HttpResponse::Ok().json(UserResponse::of(&state, &user).await))
}

/// The whole body, refusing (413) one that says or turns out to be larger than `limit`
/// without reading past it.
async fn read_capped(
    req: &HttpRequest,
    mut body: web::Payload,
    limit: usize,
) -> Result<Vec<u8>, ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    let mut bytes = Vec::with_capacity(declared.unwrap_or(0));
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadPayload(e.to_string()))?;
        if bytes.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}
