//! `delete_media` through the real runtime: deletes the object, counts one already gone as
//! deleted, is retried while storage fails (and then succeeds), and a payload with a key that
//! is not a media key is refused outright.

use std::time::Duration;

use keel_shared::domain::{ImageKind, MediaKey};
use keel_shared::jobs::payloads::DeleteMedia;
use keel_worker::jobs::registry;
use serde_json::json;

use crate::helpers::TestEnv;

#[tokio::test]
async fn delete_media_deletes_the_object_and_an_absent_one_counts_as_deleted() {
    let env = TestEnv::new().await;
    let key = MediaKey::new_avatar(ImageKind::Png);
    env.ctx.media.put(&key, b"png".to_vec()).await.expect("put");
    let file = env.db.media_root().join(key.as_str());
    assert!(file.exists());
    let worker = env.start(registry());

    for _ in 0..2 {
        env.queue()
            .enqueue(&DeleteMedia { key: key.clone() })
            .await
            .expect("enqueued");
    }

    let stats = env
        .wait_for("default", Duration::from_secs(10), |s| s.processed == 2)
        .await;
    assert_eq!((stats.failed, stats.dead), (0, 0));
    assert!(!file.exists());
    worker.stop().await;
}

#[tokio::test]
async fn delete_media_is_retried_while_storage_fails() {
    let env = TestEnv::with(&[]).await;
    let key = MediaKey::new_avatar(ImageKind::Webp);
    env.ctx
        .media
        .put(&key, b"webp".to_vec())
        .await
        .expect("put");
    // The avatars folder becomes a file: deleting under it fails (not "not found").
    let folder = env.db.media_root().join("avatars");
    let kept = env.db.media_root().join("kept");
    std::fs::rename(&folder, &kept).expect("move away");
    std::fs::write(&folder, b"not a directory").expect("block");
    let worker = env.start(registry());

    env.queue()
        .enqueue(&DeleteMedia { key: key.clone() })
        .await
        .expect("enqueued");

    let stats = env
        .wait_for("default", Duration::from_secs(10), |s| s.retried >= 1)
        .await;
    assert_eq!((stats.processed, stats.dead), (0, 0));
    // Storage is back: the retry deletes the object.
    std::fs::remove_file(&folder).expect("unblock");
    std::fs::rename(&kept, &folder).expect("move back");
    env.wait_for("default", Duration::from_secs(30), |s| s.processed == 1)
        .await;
    assert!(!env.db.media_root().join(key.as_str()).exists());
    worker.stop().await;
}

#[test]
fn a_delete_media_payload_must_hold_a_media_key() {
    let registry = registry();
    let job = registry.get("delete_media", 1).expect("registered");
    assert_eq!(job.queue, "default");
    job.validate(&json!({"key": "avatars/0123456789abcdef0123456789abcdef.png"}))
        .expect("a media key");
    for key in [
        "../etc/passwd",
        "avatars/../../x.png",
        "other/0123456789abcdef0123456789abcdef.png",
    ] {
        assert!(job.validate(&json!({ "key": key })).is_err(), "{key}");
    }
}
