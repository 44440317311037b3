//! An S3 stand-in: `moto_server` (PyPI `moto`) on a free loopback port, installed on first use
//! into a venv under `$HOME/.cache/keel/tools` (reused afterwards). Tests point
//! `KEEL_MEDIA_S3_*` at [`MotoS3::vars`].

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use uuid::Uuid;

use super::free_port;

/// The packages installed, pinned (the same as `scripts/test-scripts.sh` uses).
const PINS: &[&str] = &["moto[s3]==5.2.5", "flask==3.1.3", "flask-cors==6.0.5"];

/// A running moto server; killed when dropped.
pub struct MotoS3 {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl MotoS3 {
    /// Starts moto on a free loopback port (installing it first if needed) and waits until it
    /// answers.
    pub async fn start() -> Self {
        let python = ensure_installed();
        let port = free_port();
        let log = std::env::temp_dir().join(format!("keel-moto-{}.log", Uuid::new_v4().simple()));
        let out = std::fs::File::create(&log)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", log.display()));
        let err = out
            .try_clone()
            .unwrap_or_else(|e| panic!("cannot clone a file handle: {e}"));
        let child = Command::new(&python)
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start moto_server: {e}"));
        let mut moto = Self { child, port, log };
        moto.wait_until_up().await;
        moto
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Creates a bucket named `name`.
    pub async fn create_bucket(&self, name: &str) {
        let res = reqwest::Client::new()
            .put(format!("{}/{name}", self.endpoint()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("create bucket {name}: {e}"));
        assert!(
            res.status().is_success(),
            "create bucket {name}: {}",
            res.status()
        );
    }

    /// Creates a bucket with a random name; returns the name and its [`MotoS3::vars`].
    pub async fn new_bucket(&self) -> (String, Vec<(String, String)>) {
        let bucket = format!("keel-media-{}", &Uuid::new_v4().simple().to_string()[..12]);
        self.create_bucket(&bucket).await;
        let vars = self.vars(&bucket);
        (bucket, vars)
    }

    /// The `KEEL_MEDIA_S3_*` variables of a configuration storing media in `bucket` here.
    pub fn vars(&self, bucket: &str) -> Vec<(String, String)> {
        [
            ("KEEL_MEDIA_S3_BUCKET", bucket.to_owned()),
            ("KEEL_MEDIA_S3_ENDPOINT", self.endpoint()),
            ("KEEL_MEDIA_S3_REGION", "us-east-1".to_owned()),
            ("KEEL_MEDIA_S3_ACCESS_KEY_ID", "testing".to_owned()),
            ("KEEL_MEDIA_S3_SECRET_ACCESS_KEY", "testing".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// Stops the server (later requests to it fail as an outage would).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    async fn wait_until_up(&mut self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "moto_server exited with {status}:\n{}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            if client.get(self.endpoint()).send().await.is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "moto_server did not answer within 60 s:\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for MotoS3 {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// The venv's python with moto installed. Installed into a fresh directory renamed into
/// place when complete, so parallel tests never see (or both write) a half-made venv; the
/// venv is run as `python -m moto.server`, which works wherever the directory ends up.
fn ensure_installed() -> PathBuf {
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".to_owned());
    let tools = Path::new(&home).join(".cache/keel/tools");
    let venv = tools.join("venv-moto");
    let stamp = PINS.join(" ");
    let ready = |dir: &Path| {
        std::fs::read_to_string(dir.join(".keel-pins")).is_ok_and(|s| s == stamp)
            && dir.join("bin/python").exists()
    };
    if ready(&venv) {
        return venv.join("bin/python");
    }
    std::fs::create_dir_all(&tools)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", tools.display()));
    let building = tools.join(format!("venv-moto.{}", Uuid::new_v4().simple()));
    let run = |cmd: &mut Command| {
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
        assert!(
            out.status.success(),
            "{cmd:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(Command::new("python3").args(["-m", "venv"]).arg(&building));
    run(Command::new(building.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .args(PINS));
    std::fs::write(building.join(".keel-pins"), &stamp)
        .unwrap_or_else(|e| panic!("cannot stamp the venv: {e}"));
    if ready(&venv) {
        // Another test finished first.
        let _ = std::fs::remove_dir_all(&building);
    } else {
        let _ = std::fs::remove_dir_all(&venv);
        if std::fs::rename(&building, &venv).is_err() {
            let _ = std::fs::remove_dir_all(&building);
        }
    }
    assert!(ready(&venv), "moto venv not ready at {}", venv.display());
    venv.join("bin/python")
}
