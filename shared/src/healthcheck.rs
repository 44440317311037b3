//! The `healthcheck` subcommand of the three binaries: probes the process's own `/healthz` (or
//! `/readyz`) over plain HTTP/1.1 and exits 0 or 1, so container images need no curl or shell
//! (Docker `HEALTHCHECK CMD ["/keel-api", "healthcheck"]`).
//!
//! It reads only the one address variable it needs (not the whole [`Config`](crate::Config)):
//! a probe must not fail because an unrelated setting is missing from its environment.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Why a probe failed.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The address variable does not hold `host:port`.
    #[error("{var}: invalid value {value:?}: {reason}")]
    BadAddress {
        /// The variable's name.
        var: &'static str,
        /// Its value.
        value: String,
        /// The parse error.
        reason: String,
    },
    /// No answer within the timeout (connect, send and read together).
    #[error("no answer from {addr} within {} ms", timeout.as_millis())]
    Timeout {
        /// The probed address.
        addr: SocketAddr,
        /// The limit.
        timeout: Duration,
    },
    /// Connecting, sending or reading failed.
    #[error("{addr}: {source}")]
    Io {
        /// The probed address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The answer did not start with an HTTP/1.x status line.
    #[error("{addr} answered something that is not HTTP: {start:?}")]
    NotHttp {
        /// The probed address.
        addr: SocketAddr,
        /// The first bytes of the answer.
        start: String,
    },
    /// An HTTP status outside 2xx.
    #[error("{path} answered {status}")]
    Unhealthy {
        /// The probed path.
        path: &'static str,
        /// The status code.
        status: u16,
    },
}

/// Whose probe port to ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Process {
    /// `keel-api`: `KEEL_API_ADDR`.
    Api,
    /// `keel-worker`: `KEEL_WORKER_HEALTH_ADDR`.
    Worker,
    /// `keel-scheduler`: `KEEL_SCHEDULER_HEALTH_ADDR`.
    Scheduler,
}

impl Process {
    /// The address variable and its default (the same as the configuration's).
    pub fn address_variable(self) -> (&'static str, SocketAddr) {
        match self {
            Self::Api => ("KEEL_API_ADDR", SocketAddr::from(([127, 0, 0, 1], 8000))),
            Self::Worker => (
                "KEEL_WORKER_HEALTH_ADDR",
                SocketAddr::from(([127, 0, 0, 1], 8001)),
            ),
            Self::Scheduler => (
                "KEEL_SCHEDULER_HEALTH_ADDR",
                SocketAddr::from(([127, 0, 0, 1], 8002)),
            ),
        }
    }
}

/// Probes `process`'s own `/healthz` (`/readyz` when `ready`) at the address in the
/// environment within `timeout`, prints one line on failure, and returns the exit code
/// (0 healthy, 1 otherwise).
pub fn run(process: Process, ready: bool, timeout: Duration) -> ExitCode {
    let (var, default) = process.address_variable();
    let outcome = resolve(var, std::env::var(var).ok(), default).and_then(|addr| {
        let path = if ready { "/readyz" } else { "/healthz" };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| ProbeError::Io { addr, source })?;
        runtime.block_on(probe(addr, path, timeout))
    });
    match outcome {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("unhealthy: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The address to probe: the variable's value (or the default when unset or empty), with an
/// unspecified IP (`0.0.0.0`, `::`) replaced by the loopback address of the same family.
pub fn resolve(
    var: &'static str,
    value: Option<String>,
    default: SocketAddr,
) -> Result<SocketAddr, ProbeError> {
    let mut addr = match value.filter(|v| !v.trim().is_empty()) {
        None => default,
        Some(raw) => raw
            .trim()
            .parse::<SocketAddr>()
            .map_err(|e| ProbeError::BadAddress {
                var,
                reason: e.to_string(),
                value: raw,
            })?,
    };
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        });
    }
    Ok(addr)
}

/// `GET path` on `addr`; the status code when it is 2xx.
pub async fn probe(
    addr: SocketAddr,
    path: &'static str,
    timeout: Duration,
) -> Result<u16, ProbeError> {
    let status = tokio::time::timeout(timeout, status_of(addr, path))
        .await
        .map_err(|_| ProbeError::Timeout { addr, timeout })??;
    if (200..300).contains(&status) {
        Ok(status)
    } else {
        Err(ProbeError::Unhealthy { path, status })
    }
}

async fn status_of(addr: SocketAddr, path: &str) -> Result<u16, ProbeError> {
    let io = |source| ProbeError::Io { addr, source };
    let mut stream = TcpStream::connect(addr).await.map_err(io)?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: keel-healthcheck\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.map_err(io)?;
    // The status line is all we need: read until its end (or 512 bytes, or EOF).
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 256];
    while !head.windows(2).any(|w| w == b"\r\n") && head.len() < 512 {
        let n = stream.read(&mut buf).await.map_err(io)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    parse_status(&head).ok_or_else(|| ProbeError::NotHttp {
        addr,
        start: String::from_utf8_lossy(&head[..head.len().min(40)]).into_owned(),
    })
}

/// The status code of an `HTTP/1.x NNN ...` status line.
fn parse_status(head: &[u8]) -> Option<u16> {
    let line = head.split(|&b| b == b'\r').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.splitn(3, ' ');
    let version = parts.next()?;
    let code = parts.next()?;
    if !version.starts_with("HTTP/1.") || code.len() != 3 {
        return None;
    }
    code.parse().ok().filter(|c| (100..600).contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    const SECOND: Duration = Duration::from_secs(1);

    /// A one-shot server: reads the request, answers `reply`, and hands back what it read.
    async fn serve_once(reply: &'static [u8]) -> (SocketAddr, tokio::task::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.expect("accept");
            let mut request = vec![0u8; 1024];
            let n = socket.read(&mut request).await.expect("read");
            socket.write_all(reply).await.expect("write");
            String::from_utf8_lossy(&request[..n]).into_owned()
        });
        (addr, task)
    }

    #[tokio::test]
    async fn a_200_is_healthy_and_the_request_is_a_plain_get() {
        let (addr, server) = serve_once(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok").await;
        assert_eq!(probe(addr, "/healthz", SECOND).await.expect("healthy"), 200);
        let request = server.await.expect("server");
        assert!(
            request.starts_with("GET /healthz HTTP/1.1\r\n"),
            "{request}"
        );
        assert!(request.contains("Connection: close\r\n"), "{request}");
    }

    #[tokio::test]
    async fn a_503_is_unhealthy_and_names_the_path() {
        let (addr, _server) = serve_once(b"HTTP/1.1 503 Service Unavailable\r\n\r\n").await;
        let err = probe(addr, "/readyz", SECOND).await.expect_err("unhealthy");
        assert!(matches!(err, ProbeError::Unhealthy { status: 503, .. }));
        assert_eq!(err.to_string(), "/readyz answered 503");
    }

    #[tokio::test]
    async fn nothing_listening_is_unhealthy() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        drop(listener);
        let err = probe(addr, "/healthz", SECOND).await.expect_err("refused");
        assert!(matches!(err, ProbeError::Io { .. }), "{err}");
    }

    #[tokio::test]
    async fn a_server_that_never_answers_times_out_on_time() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let _hold = tokio::spawn(async move {
            let (socket, _) = listener.accept().await.expect("accept");
            tokio::time::sleep(Duration::from_secs(30)).await;
            drop(socket);
        });
        let started = std::time::Instant::now();
        let err = probe(addr, "/healthz", Duration::from_millis(200))
            .await
            .expect_err("timeout");
        assert!(matches!(err, ProbeError::Timeout { .. }), "{err}");
        assert!(started.elapsed() < SECOND, "took {:?}", started.elapsed());
    }

    #[tokio::test]
    async fn an_answer_that_is_not_http_is_unhealthy() {
        let (addr, _server) = serve_once(b"-ERR unknown command\r\n").await;
        let err = probe(addr, "/healthz", SECOND).await.expect_err("not http");
        assert!(matches!(err, ProbeError::NotHttp { .. }), "{err}");
    }

    #[test]
    fn an_unspecified_address_is_probed_on_loopback() {
        let default = SocketAddr::from(([127, 0, 0, 1], 8000));
        let v4 = resolve("KEEL_API_ADDR", Some("0.0.0.0:9000".into()), default).expect("v4");
        assert_eq!(v4.to_string(), "127.0.0.1:9000");
        let v6 = resolve("KEEL_API_ADDR", Some("[::]:9000".into()), default).expect("v6");
        assert_eq!(v6.to_string(), "[::1]:9000");
    }

    #[test]
    fn an_unset_or_empty_variable_means_the_default() {
        let default = SocketAddr::from(([127, 0, 0, 1], 8001));
        assert_eq!(resolve("X", None, default).expect("unset"), default);
        assert_eq!(
            resolve("X", Some(String::new()), default).expect("empty"),
            default
        );
    }

    #[test]
    fn a_malformed_address_names_its_variable() {
        let err = resolve(
            "KEEL_WORKER_HEALTH_ADDR",
            Some("localhost".into()),
            SocketAddr::from(([127, 0, 0, 1], 8001)),
        )
        .expect_err("malformed");
        assert!(
            err.to_string()
                .starts_with("KEEL_WORKER_HEALTH_ADDR: invalid value \"localhost\""),
            "{err}"
        );
    }

    #[test]
    fn status_lines_parse_only_when_well_formed() {
        assert_eq!(parse_status(b"HTTP/1.1 204 No Content\r\n"), Some(204));
        assert_eq!(parse_status(b"HTTP/1.0 200\r\n"), Some(200));
        assert_eq!(parse_status(b"HTTP/2 200\r\n"), None);
        assert_eq!(parse_status(b"HTTP/1.1 2000 x\r\n"), None);
        assert_eq!(parse_status(b""), None);
    }
}
