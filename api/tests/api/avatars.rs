//! Avatars on local media storage: upload each format and read it back through the api's
//! media route, metadata stripped; refusals (type, size, pixels, garbage) as problems; replace
//! and delete (the old file deleted by the real worker); another user's avatar untouched;
//! 401, 429, 503; the media route's headers and its refusal of traversal.

use keel_shared::domain::ImageKind;
use keel_shared::testing::images;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, problem, spawn_app, spawn_app_with};

const AVATAR: &str = "/api/v1/users/me/avatar";

impl TestApp {
    /// `PUT` the avatar with `content_type` (none when `None`).
    pub async fn put_avatar(
        &self,
        token: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> reqwest::Response {
        let mut req = self.client.put(self.url(AVATAR)).bearer_auth(token);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        req.body(body).send().await.expect("request sent")
    }

    /// Uploads a fixture of `kind` and returns the `avatar_url` the answer gives.
    pub async fn uploaded_avatar(&self, token: &str, kind: ImageKind) -> String {
        let res = self
            .put_avatar(token, Some(kind.mime()), images::encoded(kind, 48, 32))
            .await;
        avatar_url_of(res).await
    }

    /// `DELETE` the avatar.
    pub async fn delete_avatar(&self, token: &str) -> reqwest::Response {
        self.client
            .delete(self.url(AVATAR))
            .bearer_auth(token)
            .send()
            .await
            .expect("request sent")
    }

    /// `DELETE /api/v1/users/me` with `password`.
    pub async fn delete_account(&self, token: &str, password: &str) -> reqwest::Response {
        self.client
            .delete(self.url("/api/v1/users/me"))
            .bearer_auth(token)
            .json(&json!({ "password": password }))
            .send()
            .await
            .expect("request sent")
    }

    /// Uploads an avatar while storage is down: 503 `media_unavailable` with `Retry-After`,
    /// and the user keeps having no avatar.
    pub async fn assert_upload_refused_by_storage(&self, token: &str) {
        let png = images::encoded(ImageKind::Png, 8, 8);
        let res = self.put_avatar(token, Some("image/png"), png).await;
        assert_eq!(res.headers()["retry-after"], "5");
        assert_eq!(problem(res, 503).await["code"], "media_unavailable");
        assert_eq!(self.me(token).await["avatar_url"], Value::Null);
        assert!(self.outbox_deletions().await.is_empty());
    }

    /// The file stored for the local avatar at `url`.
    pub fn stored_avatar(&self, url: &str) -> Vec<u8> {
        std::fs::read(self.db.media_root().join(key_of(url))).expect("stored file")
    }

    /// The files under this test's media root.
    pub fn media_files(&self) -> Vec<std::path::PathBuf> {
        let dir = self.db.media_root().join("avatars");
        std::fs::read_dir(dir)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default()
    }
}

/// The `avatar_url` of a successful upload's answer.
pub async fn avatar_url_of(res: reqwest::Response) -> String {
    assert_eq!(res.status(), 200, "upload");
    let user: Value = res.json().await.expect("json");
    user["avatar_url"].as_str().expect("avatar_url").to_owned()
}

/// The stored key of the avatar at `url` (`avatars/<name>`).
pub fn key_of(url: &str) -> String {
    format!("avatars/{}", url.rsplit('/').next().expect("name"))
}

#[tokio::test]
async fn each_format_is_stored_re_encoded_and_served_back_with_fixed_headers() {
    let app = spawn_app().await;
    let (token, _) = app.signed_in_user("ada@example.com").await;

    for kind in ImageKind::ALL {
        let url = app.uploaded_avatar(&token, kind).await;
        assert!(
            url.starts_with("http://127.0.0.1:8000/api/v1/media/avatars/"),
            "{url}"
        );
        assert!(url.ends_with(kind.extension()), "{url}");
        let path = url.trim_start_matches("http://127.0.0.1:8000");

        let res = app.get(path).await;

        assert_eq!(res.status(), 200, "{kind:?}");
        let h = res.headers().clone();
        assert_eq!(h["content-type"], kind.mime());
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(
            h["content-security-policy"],
            "default-src 'none'; frame-ancestors 'none'; sandbox"
        );
        assert_eq!(h["cache-control"], "public, max-age=86400, immutable");
        assert_eq!(h["cross-origin-resource-policy"], "cross-origin");
        assert!(
            h["etag"]
                .to_str()
                .expect("etag")
                .contains(&key_of(&url)[8..40])
        );
        let bytes = res.bytes().await.expect("body");
        assert_eq!(ImageKind::sniff(&bytes), Some(kind));
        let img = image::load_from_memory(&bytes).expect("decodes");
        assert_eq!((img.width(), img.height()), (48, 32), "{kind:?}");
    }
    let me = app.me(&token).await;
    assert!(
        me["avatar_url"].as_str().expect("url").ends_with(".webp"),
        "{me}"
    );
}

#[tokio::test]
async fn a_jpeg_loses_its_exif_gps_and_stands_upright() {
    let app = spawn_app().await;
    let (token, _) = app.signed_in_user("ada@example.com").await;
    let upload = images::jpeg_with_exif(60, 20, 6);
    assert!(images::contains(&upload, images::EXIF_MARKER));

    let res = app.put_avatar(&token, Some("image/jpeg"), upload).await;

    let url = avatar_url_of(res).await;
    let stored = app.stored_avatar(&url);
    for served in [
        stored,
        app.get(&url["http://127.0.0.1:8000".len()..])
            .await
            .bytes()
            .await
            .expect("body")
            .to_vec(),
    ] {
        assert!(!images::contains(&served, images::EXIF_MARKER));
        assert!(!images::contains(&served, b"Exif"));
        let img = image::load_from_memory(&served).expect("decodes");
        assert_eq!((img.width(), img.height()), (20, 60), "orientation applied");
    }
}

#[tokio::test]
async fn a_content_type_that_lies_about_the_bytes_is_a_415_naming_it() {
    let app = spawn_app().await;
    let (token, _) = app.signed_in_user("ada@example.com").await;
    let png = images::encoded(ImageKind::Png, 8, 8);

    for ct in [Some("image/jpeg"), Some("text/html"), None] {
        let res = app.put_avatar(&token, ct, png.clone()).await;
        let body = problem(res, 415).await;
        assert_eq!(body["code"], "unsupported_image", "{ct:?}");
        assert_eq!(body["errors"][0]["field"], "Content-Type", "{ct:?}");
    }
    assert!(app.media_files().is_empty(), "nothing stored");
    assert_eq!(app.me(&token).await["avatar_url"], Value::Null);
}

#[tokio::test]
async fn other_formats_are_a_415_whatever_the_header_says() {
    let app = spawn_app().await;
    let (token, _) = app.signed_in_user("ada@example.com").await;

    for body in [
        b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>".to_vec(),
        b"GIF89a\x01\0\x01\0\x80\0\0".to_vec(),
        b"<html><script>alert(1)</script></html>".to_vec(),
    ] {
        let res = app.put_avatar(&token, Some("image/png"), body).await;
        let body = problem(res, 415).await;
        assert_eq!(body["code"], "unsupported_image");
        assert_eq!(body["errors"][0]["field"], "body");
    }
}

#[tokio::test]
async fn polyglots_truncated_files_and_empty_bodies_are_a_400_invalid_image() {
    let app = spawn_app().await;
    let (token, _) = app.signed_in_user("ada@example.com").await;
    let mut truncated = images::encoded(ImageKind::Jpeg, 64, 64);
    truncated.truncate(truncated.len() / 3);
    let polyglot = [
        &b"\x89PNG\r\n\x1a\n"[..],
        b"<html><script>alert(1)</script></html>",
    ]
    .concat();

    for (ct, body) in [
        ("image/png", polyglot),
        ("image/jpeg", truncated),
        ("image/png", Vec::new()),
    ] {
        let res = app.put_avatar(&token, Some(ct), body).await;
        let body = problem(res, 400).await;
        assert_eq!(body["code"], "invalid_image", "{body}");
        assert_eq!(body["errors"][0]["field"], "body");
    }
    assert!(app.media_files().is_empty());
}

#[tokio::test]
async fn a_body_over_2_mib_is_a_413_with_or_without_a_content_length() {
    let app = spawn_app().await;
    let (token, _) = app.signed_in_user("ada@example.com").await;
    let mut big = images::encoded(ImageKind::Png, 8, 8);
    big.resize(2 * 1024 * 1024 + 1, 0);

    let res = app.put_avatar(&token, Some("image/png"), big.clone()).await;
    let body = problem(res, 413).await;
    assert_eq!(body["code"], "payload_too_large");
    assert!(body["detail"].as_str().expect("detail").contains("2097152"));

    // Chunked: no Content-Length to refuse up front; the route stops reading at the limit.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        big.chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
    let res = app
        .client
        .put(app.url(AVATAR))
        .bearer_auth(&token)
        .header("content-type", "image/png")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .expect("sent");
    assert_eq!(problem(res, 413).await["code"], "payload_too_large");

    // Exactly at the limit the body is read: a PNG followed by padding, which re-encoding
    // drops.
    big.truncate(2 * 1024 * 1024);
    let res = app.put_avatar(&token, Some("image/png"), big).await;
    let url = avatar_url_of(res).await;
    let stored = app.stored_avatar(&url);
    assert!(stored.len() < 10_000, "{} bytes stored", stored.len());
}

#[tokio::test]
async fn a_canvas_over_4096_pixels_is_a_413_refused_from_its_header() {
    let app = spawn_app().await;
    let (token, _) = app.signed_in_user("ada@example.com").await;

    for (w, h) in [(4097, 10), (10, 5000), (100_000, 100_000)] {
        let bomb = images::png_claiming(w, h);
        assert!(bomb.len() < 200, "a tiny file");
        let res = app.put_avatar(&token, Some("image/png"), bomb).await;
        let body = problem(res, 413).await;
        assert_eq!(body["code"], "image_too_large", "{w}x{h}");
        assert_eq!(body["errors"][0]["field"], "body");
    }
}

#[tokio::test]
async fn large_images_are_stored_at_most_512_pixels_wide() {
    let app = spawn_app().await;
    let (token, _) = app.signed_in_user("ada@example.com").await;
    let upload = images::encoded(ImageKind::Jpeg, 2048, 1024);

    let res = app.put_avatar(&token, Some("image/jpeg"), upload).await;

    let url = avatar_url_of(res).await;
    let stored = app.stored_avatar(&url);
    let img = image::load_from_memory(&stored).expect("decodes");
    assert_eq!((img.width(), img.height()), (512, 256));
}

#[tokio::test]
async fn uploads_beyond_the_per_user_limit_are_429_for_that_user_only() {
    let app = spawn_app_with(&[("KEEL_MEDIA_UPLOADS_PER_WINDOW", "2")]).await;
    let (ada, _) = app.signed_in_user("ada@example.com").await;
    let (bob, _) = app.signed_in_user("bob@example.com").await;
    let png = images::encoded(ImageKind::Png, 8, 8);

    for _ in 0..2 {
        let res = app.put_avatar(&ada, Some("image/png"), png.clone()).await;
        assert_eq!(res.status(), 200);
    }
    let res = app.put_avatar(&ada, Some("image/png"), png.clone()).await;

    assert!(res.headers().contains_key("retry-after"));
    assert_eq!(problem(res, 429).await["code"], "rate_limited");
    let res = app.put_avatar(&bob, Some("image/png"), png).await;
    assert_eq!(res.status(), 200, "another user has a budget of their own");
}

#[tokio::test]
async fn upload_and_delete_need_a_valid_token() {
    let app = spawn_app().await;
    let png = images::encoded(ImageKind::Png, 8, 8);

    let res = app
        .client
        .put(app.url(AVATAR))
        .header("content-type", "image/png")
        .body(png.clone())
        .send()
        .await
        .expect("sent");
    assert_eq!(problem(res, 401).await["code"], "unauthorized");
    let res = app.put_avatar("not.a.token", Some("image/png"), png).await;
    assert_eq!(problem(res, 401).await["code"], "unauthorized");
    let res = app
        .client
        .delete(app.url(AVATAR))
        .send()
        .await
        .expect("sent");
    assert_eq!(problem(res, 401).await["code"], "unauthorized");
    assert!(app.media_files().is_empty());
}

#[tokio::test]
async fn replacing_and_deleting_queue_the_old_file_for_deletion_after_the_commit() {
    let app = spawn_app().await;
    let (token, _) = app.signed_in_user("ada@example.com").await;
    let first = app.uploaded_avatar(&token, ImageKind::Png).await;
    assert!(
        app.outbox_deletions().await.is_empty(),
        "nothing to delete yet"
    );

    let second = app.uploaded_avatar(&token, ImageKind::Webp).await;

    assert_ne!(first, second);
    assert_eq!(app.outbox_deletions().await, [key_of(&first)]);
    assert_eq!(app.me(&token).await["avatar_url"], second.as_str());

    let res = app.delete_avatar(&token).await;
    assert_eq!(res.status(), 204);
    assert_eq!(app.me(&token).await["avatar_url"], Value::Null);
    assert_eq!(
        app.outbox_deletions().await,
        [key_of(&first), key_of(&second)]
    );
    // Deleting again is not an error, and queues nothing.
    let res = app.delete_avatar(&token).await;
    assert_eq!(res.status(), 204);
    assert_eq!(app.outbox_deletions().await.len(), 2);
}

#[tokio::test]
async fn another_users_removal_leaves_my_avatar_and_the_media_route_cannot_delete() {
    let app = spawn_app().await;
    let (ada, _) = app.signed_in_user("ada@example.com").await;
    let (bob, _) = app.signed_in_user("bob@example.com").await;
    let ada_url = app.uploaded_avatar(&ada, ImageKind::Png).await;
    let path = &ada_url["http://127.0.0.1:8000".len()..];

    let res = app.delete_avatar(&bob).await;
    assert_eq!(res.status(), 204);
    for method in [reqwest::Method::DELETE, reqwest::Method::PUT] {
        let res = app
            .client
            .request(method.clone(), app.url(path))
            .bearer_auth(&bob)
            .body(images::encoded(ImageKind::Png, 4, 4))
            .send()
            .await
            .expect("sent");
        assert_eq!(
            problem(res, 405).await["code"],
            "method_not_allowed",
            "{method}"
        );
    }

    assert_eq!(app.me(&ada).await["avatar_url"], ada_url.as_str());
    assert!(app.outbox_deletions().await.is_empty());
    assert_eq!(app.get(path).await.status(), 200);
}

#[tokio::test]
async fn the_media_route_serves_only_well_formed_names_inside_the_media_root() {
    let app = spawn_app().await;
    let (token, _) = app.signed_in_user("ada@example.com").await;
    let url = app.uploaded_avatar(&token, ImageKind::Png).await;
    let name = url.rsplit('/').next().expect("name").to_owned();
    // A file beside the media root that a traversal would reach.
    let secret = app.db.media_root().join("../keel-test-secret.png");
    std::fs::write(&secret, b"\x89PNG\r\n\x1a\nsecret").expect("write");

    for path in [
        "..%2Fkeel-test-secret.png".to_owned(),
        "..%2F..%2Fkeel-test-secret.png".to_owned(),
        "%2e%2e%2f%2e%2e%2fetc%2fpasswd".to_owned(),
        "..%5C..%5Cetc%5Cpasswd".to_owned(),
        name.to_uppercase(),
        name.replace(".png", ".svg"),
        format!("{name}%00.png"),
        "0123456789abcdef0123456789abcdef.png".to_owned(),
    ] {
        let res = app.get(&format!("/api/v1/media/avatars/{path}")).await;
        let body = problem(res, 404).await;
        assert_eq!(body["code"], "not_found", "{path}");
    }
    let _ = std::fs::remove_file(secret);

    let etag = app
        .get(&format!("/api/v1/media/avatars/{name}"))
        .await
        .headers()["etag"]
        .clone();
    let res = app
        .client
        .get(app.url(&format!("/api/v1/media/avatars/{name}")))
        .header("if-none-match", etag)
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 304);
    assert!(res.bytes().await.expect("body").is_empty());
}

#[tokio::test]
async fn a_failing_media_directory_is_a_503_with_its_own_code() {
    let app = spawn_app().await;
    let (token, _) = app.signed_in_user("ada@example.com").await;
    // The root becomes a file: every write under it fails.
    let root = app.db.media_root();
    std::fs::remove_dir_all(&root).expect("remove root");
    std::fs::write(&root, b"not a directory").expect("file");

    app.assert_upload_refused_by_storage(&token).await;
    let _ = std::fs::remove_file(&root);
}

#[tokio::test]
async fn deleting_the_account_queues_its_avatar_for_deletion() {
    let app = spawn_app().await;
    let (token, _) = app.signed_in_user("ada@example.com").await;
    let url = app.uploaded_avatar(&token, ImageKind::Jpeg).await;

    let res = app.delete_account(&token, "wrong-password-1234").await;
    assert_eq!(res.status(), 422);
    assert!(app.outbox_deletions().await.is_empty(), "nothing deleted");
    let res = app.delete_account(&token, PASSWORD).await;

    assert_eq!(res.status(), 204);
    assert_eq!(app.outbox_deletions().await, [key_of(&url)]);
}

impl TestApp {
    /// The keys of the `delete_media` jobs waiting in the outbox, oldest first.
    pub async fn outbox_deletions(&self) -> Vec<String> {
        self.db
            .client()
            .await
            .query(
                "SELECT envelope->'payload'->>'key' FROM job_outbox
                 WHERE envelope->>'name' = 'delete_media' ORDER BY id",
                &[],
            )
            .await
            .expect("outbox")
            .iter()
            .map(|r| r.get(0))
            .collect()
    }
}
