//! `GET /api/v1/media/avatars/{name}`.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, get, web};
use keel_shared::media::{CACHE_CONTROL, MediaKey};

use crate::error::{ApiError, Problem};
use crate::state::AppState;

/// The policy of a served image: it loads nothing, runs nothing, and cannot be framed.
const IMAGE_CSP: &str = "default-src 'none'; frame-ancestors 'none'; sandbox";

/// Avatar file.
///
/// An avatar stored in the api's media directory (local storage; with S3 storage avatars are
/// served by the bucket through the signed `avatar_url`, and this answers 404). Public: the
/// name is random (128 bits) and only its owner's `avatar_url` reveals it. Served with a fixed
/// `Content-Type`, `X-Content-Type-Options: nosniff`, a Content-Security-Policy that allows
/// nothing, and `Cache-Control: public, max-age=86400, immutable`; `ETag`/`If-None-Match`
/// answer 304.
#[utoipa::path(
    tag = "media",
    operation_id = "get_media_avatar",
    params(
        ("name" = String, Path, description = "The file name from `avatar_url`: 32 hex digits and the extension.", pattern = r"^[0-9a-f]{32}\.(png|jpg|webp)$", example = "3f2a9c0d4b1e8f7a6c5d4e3f2a1b0c9d.webp"),
    ),
    responses(
        (status = 200, description = "The image.", content(
            (Vec<u8> = "image/png"),
            (Vec<u8> = "image/jpeg"),
            (Vec<u8> = "image/webp"),
        )),
        (status = 304, description = "Not modified (the `If-None-Match` ETag matches)."),
        (status = 404, description = "No such avatar, a malformed name, or S3 storage (`not_found`).", body = Problem),
        (status = 503, description = "Media storage is unavailable (`media_unavailable`); retry after `Retry-After`.", body = Problem),
    )
)]
#[get("/api/v1/media/avatars/{name}")]
#[tracing::instrument(skip_all)]
pub async fn avatar_get(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let not_found = || ApiError::NotFound {
        path: "this avatar".to_owned(),
    };
    if !state.media.is_local() {
        return Err(not_found());
    }
    let key = MediaKey::parse_avatar_name(&name).map_err(|_| not_found())?;
    let etag = format!("\"{}\"", key.file_name());
    let fresh = crate::conditional::if_none_match(&req, &etag);
    let mut res = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::ETAG, etag.as_str()))
        .insert_header((header::CACHE_CONTROL, CACHE_CONTROL));
    if fresh {
        return Ok(res.finish());
    }
    let bytes = state.media.get(&key).await?.ok_or_else(not_found)?;
    Ok(res
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static(key.kind().mime()),
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CONTENT_SECURITY_POLICY, IMAGE_CSP))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("inline; filename=\"avatar.{}\"", key.kind().extension()),
        ))
        // Embeddable by the frontend's <img> on another origin (the default is same-origin).
        .insert_header(("cross-origin-resource-policy", "cross-origin"))
        .body(bytes))
}
