//! Avatars through the real worker (replaced and deleted files, a deleted account's file, all
//! removed by `delete_media` jobs), and on S3 storage against moto: signed URLs fetched over
//! HTTP, the api's media route out of play, an unreachable bucket as a 503.

use std::time::Duration;

use keel_shared::domain::{ImageKind, MediaKey};
use keel_shared::media::Media;
use keel_shared::testing::{MotoS3, SmtpSink, free_port, images, test_config};
use serde_json::Value;

use crate::avatars::key_of;
use crate::flows::{app_with_worker, signed_in_by_mail};
use crate::helpers::{PASSWORD, TestApp, problem, spawn_app_with};

/// Waits (up to 15 s) until `done` holds.
async fn eventually(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !done().await {
        assert!(tokio::time::Instant::now() < deadline, "{what}: timed out");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_worker_deletes_replaced_removed_and_deleted_accounts_avatars() {
    let sink = SmtpSink::start().await;
    let (app, stop) = app_with_worker(&sink).await;
    let token = signed_in_by_mail(&app, &sink, "ada@example.com").await;
    let root = app.db.media_root();
    let first = app.uploaded_avatar(&token, ImageKind::Png).await;
    let second = app.uploaded_avatar(&token, ImageKind::Jpeg).await;

    eventually("the replaced file is deleted", async || {
        !root.join(key_of(&first)).exists()
    })
    .await;
    assert!(root.join(key_of(&second)).exists(), "the current one stays");

    let res = app.delete_avatar(&token).await;
    assert_eq!(res.status(), 204);
    eventually("the removed file is deleted", async || {
        !root.join(key_of(&second)).exists()
    })
    .await;

    let third = app.uploaded_avatar(&token, ImageKind::Webp).await;
    let res = app.delete_account(&token, PASSWORD).await;
    assert_eq!(res.status(), 204);
    eventually("the deleted account's file is deleted", async || {
        !root.join(key_of(&third)).exists()
    })
    .await;
    assert_eq!(
        app.get(&third["http://127.0.0.1:8000".len()..])
            .await
            .status(),
        404
    );
    assert!(app.media_files().is_empty(), "{:?}", app.media_files());
    let _ = stop.send(());
}

/// `(String, String)` pairs as the `(&str, &str)` overrides the harness takes.
fn pairs(vars: &[(String, String)]) -> Vec<(&str, &str)> {
    vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// An api storing media in a fresh bucket of `moto`.
async fn app_on_s3(moto: &MotoS3, extra: &[(&str, &str)]) -> (TestApp, String) {
    let (bucket, vars) = moto.new_bucket().await;
    let mut overrides = pairs(&vars);
    overrides.extend_from_slice(extra);
    (spawn_app_with(&overrides).await, bucket)
}

#[tokio::test]
async fn on_s3_each_format_is_fetched_back_through_a_signed_expiring_url() {
    let moto = MotoS3::start().await;
    let (app, bucket) = app_on_s3(&moto, &[("KEEL_MEDIA_URL_TTL_SECS", "600")]).await;
    let (token, _) = app.signed_in_user("ada@example.com").await;

    for kind in ImageKind::ALL {
        let url = app.uploaded_avatar(&token, kind).await;
        assert!(
            url.starts_with(&format!("{}/{bucket}/avatars/", moto.endpoint())),
            "{url}"
        );
        assert!(url.contains("X-Amz-Signature="), "{url}");
        assert!(url.contains("X-Amz-Expires=600"), "{url}");

        let res = reqwest::get(&url).await.expect("fetch");

        assert_eq!(res.status(), 200, "{kind:?}");
        assert_eq!(res.headers()["content-type"], kind.mime());
        let bytes = res.bytes().await.expect("body");
        let img = image::load_from_memory(&bytes).expect("decodes");
        assert_eq!((img.width(), img.height()), (48, 32), "{kind:?}");
    }
    // /users/me signs a fresh URL for the current avatar.
    let me = app.me(&token).await;
    let url = me["avatar_url"].as_str().expect("url");
    assert!(url.contains(".webp?"), "{url}");
    assert_eq!(reqwest::get(url).await.expect("fetch").status(), 200);
    // The api's own media route is for local storage only.
    let name = url
        .split('?')
        .next()
        .and_then(|u| u.rsplit('/').next())
        .expect("name");
    let res = app.get(&format!("/api/v1/media/avatars/{name}")).await;
    assert_eq!(problem(res, 404).await["code"], "not_found");
}

#[tokio::test]
async fn on_s3_exif_is_stripped_and_the_worker_deletes_a_replaced_object() {
    let moto = MotoS3::start().await;
    let (_, vars) = moto.new_bucket().await;
    let sink = SmtpSink::start().await;
    // The api and its worker both on the bucket.
    let overrides = pairs(&vars);
    let (app, stop) = crate::flows::app_with_worker_and(&sink, &overrides).await;
    let media = Media::new(&test_config(&app.db, &app.redis, &overrides).media).expect("media");
    let token = signed_in_by_mail(&app, &sink, "ada@example.com").await;
    let res = app
        .put_avatar(
            &token,
            Some("image/jpeg"),
            images::jpeg_with_exif(30, 20, 1),
        )
        .await;
    assert_eq!(res.status(), 200);
    let first: Value = res.json().await.expect("json");
    let first_url = first["avatar_url"].as_str().expect("url").to_owned();
    let first_key =
        MediaKey::parse(&key_of(first_url.split('?').next().expect("path"))).expect("key");
    let stored = media.get(&first_key).await.expect("get").expect("stored");
    assert!(!images::contains(&stored, images::EXIF_MARKER));

    app.uploaded_avatar(&token, ImageKind::Png).await;

    eventually(
        "the replaced object is deleted from the bucket",
        async || media.get(&first_key).await.expect("get").is_none(),
    )
    .await;
    let _ = stop.send(());
}

#[tokio::test]
async fn an_unreachable_bucket_is_a_503_and_leaves_the_user_as_they_were() {
    let endpoint = format!("http://127.0.0.1:{}", free_port());
    let app = spawn_app_with(&[
        ("KEEL_MEDIA_S3_BUCKET", "keel-media"),
        ("KEEL_MEDIA_S3_ENDPOINT", endpoint.as_str()),
        ("KEEL_MEDIA_S3_ACCESS_KEY_ID", "testing"),
        ("KEEL_MEDIA_S3_SECRET_ACCESS_KEY", "testing"),
    ])
    .await;
    let (token, _) = app.signed_in_user("ada@example.com").await;

    app.assert_upload_refused_by_storage(&token).await;
}
