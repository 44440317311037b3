//! Servers with TLS on, for the TLS tests: a throwaway CA (openssl), a second PostgreSQL
//! (initdb + postgres with `ssl=on`, TLS-only `pg_hba.conf`) and a redis-server with
//! `requirepass` and `tls-port`. Each lives in a temporary directory removed on drop.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use uuid::Uuid;

use super::free_port;

/// A temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(what: &str) -> Self {
        let path = std::env::temp_dir().join(format!("keel-{what}-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A certificate authority made for one test, and server certificates it signs.
pub struct TestCa {
    dir: TempDir,
    /// The CA certificate (PEM), to trust.
    pub cert: PathBuf,
    key: PathBuf,
}

/// A server certificate and its key (PEM files).
#[derive(Debug, Clone)]
pub struct ServerCert {
    /// The certificate.
    pub cert: PathBuf,
    /// Its private key.
    pub key: PathBuf,
}

impl TestCa {
    /// A new CA (EC P-256, valid one day).
    pub fn new() -> Self {
        let dir = TempDir::new("ca");
        let cert = dir.0.join("ca.pem");
        let key = dir.0.join("ca.key");
        run(Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
            ])
            .args(["-nodes", "-days", "1", "-subj"])
            // A unique name: a client must not mistake one test's CA for another's.
            .arg(format!("/CN=Keel test CA {}", Uuid::new_v4().simple()))
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert));
        Self { dir, cert, key }
    }

    /// A server certificate for the subject alternative names `san` (openssl syntax, e.g.
    /// `DNS:localhost,IP:127.0.0.1`), signed by this CA.
    pub fn server_cert(&self, name: &str, san: &str) -> ServerCert {
        let key = self.dir.0.join(format!("{name}.key"));
        let csr = self.dir.0.join(format!("{name}.csr"));
        let cert = self.dir.0.join(format!("{name}.pem"));
        let ext = self.dir.0.join(format!("{name}.ext"));
        run(Command::new("openssl")
            .args([
                "req",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
            ])
            .args(["-nodes", "-subj", &format!("/CN={name}")])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&csr));
        std::fs::write(
            &ext,
            format!("subjectAltName={san}\nextendedKeyUsage=serverAuth\n"),
        )
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", ext.display()));
        run(Command::new("openssl")
            .args(["x509", "-req", "-days", "1"])
            .arg("-in")
            .arg(&csr)
            .arg("-CA")
            .arg(&self.cert)
            .arg("-CAkey")
            .arg(&self.key)
            .arg("-CAcreateserial")
            .arg("-extfile")
            .arg(&ext)
            .arg("-out")
            .arg(&cert));
        ServerCert { cert, key }
    }
}

impl Default for TestCa {
    fn default() -> Self {
        Self::new()
    }
}

/// A child server stopped (SIGINT, then SIGKILL) on drop.
struct Server {
    child: Child,
    log: PathBuf,
}

impl Server {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The uid and gid of the `postgres` account when running as root (PostgreSQL refuses to
/// run as root), `None` otherwise.
fn postgres_account() -> Option<(u32, u32)> {
    let me = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&me.stdout).trim() != "0" {
        return None;
    }
    let id = |flag: &str| -> Option<u32> {
        let out = Command::new("id").args([flag, "postgres"]).output().ok()?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    };
    Some((id("-u")?, id("-g")?))
}

/// The directory holding `initdb` and `postgres`: on PATH, or Debian's newest version.
fn postgres_bin_dir() -> PathBuf {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return dir;
        }
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    found.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    found
        .pop()
        .unwrap_or_else(|| panic!("no initdb found (install PostgreSQL's server package)"))
}

/// A PostgreSQL server of its own, listening on 127.0.0.1 with TLS on and plain connections
/// refused (`hostssl` only), trust authentication, user `postgres`, database `postgres`.
pub struct TlsPostgres {
    /// The port it listens on.
    pub port: u16,
    server: Server,
    _dir: TempDir,
}

impl TlsPostgres {
    /// initdb, then start with `cert` (blocks until it accepts connections, a few seconds).
    pub fn start(cert: &ServerCert) -> Self {
        let dir = TempDir::new("tls-pg");
        let data = dir.0.join("data");
        let account = postgres_account();
        let as_postgres = |cmd: &mut Command| {
            if let Some((uid, gid)) = account {
                cmd.uid(uid).gid(gid);
            }
        };
        let give = |path: &Path| {
            if let Some((uid, gid)) = account {
                std::os::unix::fs::chown(path, Some(uid), Some(gid))
                    .unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
            }
        };
        give(&dir.0);
        let bin = postgres_bin_dir();
        let mut initdb = Command::new(bin.join("initdb"));
        initdb
            .args(["-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"])
            .arg("-D")
            .arg(&data);
        as_postgres(&mut initdb);
        run(&mut initdb);
        for (from, to) in [(&cert.cert, "server.crt"), (&cert.key, "server.key")] {
            let target = data.join(to);
            std::fs::copy(from, &target).unwrap_or_else(|e| panic!("copy {to}: {e}"));
            std::fs::set_permissions(&target, std::os::unix::fs::PermissionsExt::from_mode(0o600))
                .unwrap_or_else(|e| panic!("chmod {to}: {e}"));
            give(&target);
        }
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
        )
        .unwrap_or_else(|e| panic!("write pg_hba.conf: {e}"));
        let port = free_port();
        let log = dir.0.join("postgres.log");
        let log_file =
            std::fs::File::create(&log).unwrap_or_else(|e| panic!("create postgres.log: {e}"));
        give(&log);
        let mut cmd = Command::new(bin.join("postgres"));
        cmd.arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!("unix_socket_directories={}", dir.0.display()))
            .args([
                "-c",
                "ssl=on",
                "-c",
                "fsync=off",
                "-c",
                "max_connections=20",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file);
        as_postgres(&mut cmd);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start postgres: {e}"));
        let mut server = Server { child, log };
        wait_for_port(&mut server, port, "postgres");
        // The port opens before startup finishes; wait until it accepts a session.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = Command::new(bin.join("pg_isready"))
                .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres"])
                .output()
                .is_ok_and(|o| o.status.success());
            if ready {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "postgres not ready:\n{}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            port,
            server,
            _dir: dir,
        }
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        self.server.log()
    }
}

/// A redis-server of its own: plain `port` and TLS `tls_port`, both requiring `password`.
pub struct TlsRedis {
    /// The plain-TCP port.
    pub port: u16,
    /// The TLS port.
    pub tls_port: u16,
    /// The `requirepass` password.
    pub password: String,
    server: Server,
    _dir: TempDir,
}

impl TlsRedis {
    /// Starts redis-server with `cert` on the TLS port (no client certificates asked for).
    pub fn start(cert: &ServerCert, ca: &TestCa) -> Self {
        let dir = TempDir::new("tls-redis");
        let (port, tls_port) = (free_port(), free_port());
        let password = Uuid::new_v4().simple().to_string();
        let log = dir.0.join("redis.log");
        let log_file =
            std::fs::File::create(&log).unwrap_or_else(|e| panic!("create redis.log: {e}"));
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--tls-port", &tls_port.to_string()])
            .arg("--tls-cert-file")
            .arg(&cert.cert)
            .arg("--tls-key-file")
            .arg(&cert.key)
            .arg("--tls-ca-cert-file")
            .arg(&ca.cert)
            .args(["--tls-auth-clients", "no", "--requirepass", &password])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&dir.0)
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start redis-server: {e}"));
        let mut server = Server { child, log };
        wait_for_port(&mut server, tls_port, "redis-server");
        Self {
            port,
            tls_port,
            password,
            server,
            _dir: dir,
        }
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        self.server.log()
    }
}

fn wait_for_port(server: &mut Server, port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!("{what} exited with {status}:\n{}", server.log());
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not listen:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
