//! A Sentry receiver on loopback: accepts envelopes over HTTP the way Sentry's ingest does
//! (`POST /api/<project>/envelope/`), keeps every item, and answers 200. Tests point
//! `SENTRY_DSN` at [`SentryReceiver::dsn`] and read what the process really sent.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One envelope item: its type (`event`, `transaction`, ...) and JSON payload.
#[derive(Debug, Clone)]
pub struct Item {
    /// The item header's `type`.
    pub kind: String,
    /// The payload (JSON items; others as a string).
    pub payload: Value,
}

/// What was received so far.
#[derive(Default)]
struct Received {
    bodies: Vec<String>,
    items: Vec<Item>,
}

/// The receiver; it stops with the runtime it was started on.
pub struct SentryReceiver {
    port: u16,
    received: Arc<Mutex<Received>>,
}

impl SentryReceiver {
    /// Listens on a free loopback port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("bind: {e}"));
        let port = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("addr: {e}"))
            .port();
        let received = Arc::new(Mutex::new(Received::default()));
        let store = Arc::clone(&received);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, Arc::clone(&store)));
            }
        });
        Self { port, received }
    }

    /// A DSN pointing here (project 1).
    pub fn dsn(&self) -> String {
        format!("http://public@127.0.0.1:{}/1", self.port)
    }

    /// Every item of type `kind` received so far.
    pub fn items(&self, kind: &str) -> Vec<Value> {
        self.received.lock().map_or_else(
            |_| Vec::new(),
            |r| {
                r.items
                    .iter()
                    .filter(|i| i.kind == kind)
                    .map(|i| i.payload.clone())
                    .collect()
            },
        )
    }

    /// Every request body received so far, as text (to search for what must not be there).
    pub fn raw(&self) -> String {
        self.received
            .lock()
            .map(|r| r.bodies.join("\n"))
            .unwrap_or_default()
    }

    /// Waits until the items of type `kind` satisfying `matches` are at least `n` (panics
    /// after `timeout`), then returns them.
    pub async fn wait_for(
        &self,
        kind: &str,
        n: usize,
        timeout: Duration,
        matches: impl Fn(&Value) -> bool,
    ) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let found: Vec<Value> = self.items(kind).into_iter().filter(&matches).collect();
            if found.len() >= n {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "{n} {kind} item(s) expected within {timeout:?}, got {}:\n{}",
                found.len(),
                self.raw()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// Serves one connection: HTTP/1.1 requests with a `Content-Length` body, kept alive.
async fn serve(stream: tokio::net::TcpStream, store: Arc<Mutex<Received>>) {
    let mut reader = BufReader::new(stream);
    loop {
        let mut length = 0_usize;
        let mut line = String::new();
        // Request line and headers.
        loop {
            line.clear();
            match reader.read_line(&mut line).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if line == "\r\n" || line == "\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).await.is_err() {
            return;
        }
        let items = parse_envelope(&body);
        if let Ok(mut r) = store.lock() {
            r.bodies.push(String::from_utf8_lossy(&body).into_owned());
            r.items.extend(items);
        }
        let answer =
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
        if reader.get_mut().write_all(answer.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// The items of an envelope: a header line, then per item a header line (with an optional
/// `length`) and its payload.
fn parse_envelope(body: &[u8]) -> Vec<Item> {
    let mut items = Vec::new();
    let Some(first) = body.iter().position(|b| *b == b'\n') else {
        return items;
    };
    let mut rest = &body[first + 1..];
    while !rest.is_empty() {
        let end = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
        let Ok(header) = serde_json::from_slice::<Value>(&rest[..end]) else {
            break;
        };
        rest = rest.get(end + 1..).unwrap_or_default();
        let len = header["length"]
            .as_u64()
            .and_then(|l| usize::try_from(l).ok())
            .unwrap_or_else(|| rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len()));
        let payload = &rest[..len.min(rest.len())];
        items.push(Item {
            kind: header["type"].as_str().unwrap_or_default().to_owned(),
            payload: serde_json::from_slice(payload)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(payload).into_owned())),
        });
        rest = rest.get(len + 1..).unwrap_or_default();
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_items_with_and_without_length_are_read() {
        let body = b"{\"event_id\":\"x\"}\n{\"type\":\"event\",\"length\":9}\n{\"a\":\"b\"}\n{\"type\":\"transaction\"}\n{\"c\":1}\n";
        let items = parse_envelope(body);
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].kind, "event");
        assert_eq!(items[0].payload, serde_json::json!({"a": "b"}));
        assert_eq!(items[1].kind, "transaction");
        assert_eq!(items[1].payload, serde_json::json!({"c": 1}));
    }
}
