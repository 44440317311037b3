//! An SMTP sink: a real SMTP server on loopback that stores what it accepts, so tests read
//! back the messages the worker sent. It can stall before accepting a message (to kill a
//! worker mid-send); a message whose sender disconnects before the sink's `250` is dropped,
//! as a real server would.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// One message the sink accepted (answered `250` after its data).
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    /// The envelope sender (`MAIL FROM`).
    pub from: String,
    /// The envelope recipients (`RCPT TO`).
    pub to: Vec<String>,
    /// The message as sent (headers and body), dot-unstuffed.
    pub data: String,
}

impl ReceivedMail {
    /// The message with quoted-printable encoding undone (soft line breaks joined, `=XX`
    /// decoded), for reading links and text out of its parts.
    pub fn decoded(&self) -> String {
        let joined = self.data.replace("=\r\n", "");
        let bytes = joined.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'='
                && i + 2 < bytes.len()
                && let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
            {
                out.push(b);
                i += 3;
                continue;
            }
            out.push(bytes[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// The value of header `name` (case-insensitive), unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or_default();
        let mut value: Option<String> = None;
        for line in head.split("\r\n") {
            if let Some(v) = value.as_mut()
                && (line.starts_with(' ') || line.starts_with('\t'))
            {
                v.push_str(line.trim_start());
                continue;
            }
            if value.is_some() {
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case(name)
            {
                value = Some(v.trim().to_owned());
            }
        }
        value
    }
}

#[derive(Default)]
struct State {
    messages: Vec<ReceivedMail>,
    data_started: usize,
    dropped: usize,
}

/// A sink running on a loopback port; tests read what it accepted and can make it stall.
pub struct SmtpSink {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stall: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpSink {
    /// Starts the sink on a free loopback port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("cannot bind the SMTP sink: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("sink has no address: {e}"));
        let state: Arc<Mutex<State>> = Arc::default();
        let (stall, _) = watch::channel(false);
        let (accept_state, accept_stall) = (Arc::clone(&state), stall.clone());
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(session(
                    socket,
                    Arc::clone(&accept_state),
                    accept_stall.subscribe(),
                ));
            }
        });
        Self {
            addr,
            state,
            stall,
            task,
        }
    }

    /// `SMTP_URL` for it (plain SMTP).
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// Every message accepted so far.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        self.state
            .lock()
            .map(|s| s.messages.clone())
            .unwrap_or_default()
    }

    /// How many messages reached the end of their DATA (accepted or not).
    pub fn data_started(&self) -> usize {
        self.state.lock().map(|s| s.data_started).unwrap_or(0)
    }

    /// Waits until `n` held messages were dropped because their sender went away.
    pub async fn wait_for_dropped(&self, n: usize, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        while self.state.lock().map(|s| s.dropped).unwrap_or(0) < n {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no held message was dropped within {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// While on, the sink holds each message after its DATA without answering.
    pub fn stall(&self, on: bool) {
        self.stall.send_replace(on);
    }

    /// Waits until at least `n` messages were accepted (panics after `timeout`).
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<ReceivedMail> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let messages = self.messages();
            if messages.len() >= n {
                return messages;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the SMTP sink got {} message(s), expected {n}",
                messages.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until a message reached the end of its DATA (used with [`SmtpSink::stall`]).
    pub async fn wait_for_data(&self, n: usize, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        while self.data_started() < n {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no message reached DATA within {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn session(socket: TcpStream, state: Arc<Mutex<State>>, mut stall: watch::Receiver<bool>) {
    let (read, mut write) = socket.into_split();
    let mut reader = BufReader::new(read);
    let mut from = String::new();
    let mut to: Vec<String> = Vec::new();
    if write.write_all(b"220 keel-sink ESMTP\r\n").await.is_err() {
        return;
    }
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let command = line.trim_end().to_owned();
        let upper = command.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-keel-sink\r\n250-8BITMIME\r\n250 SIZE 10485760\r\n"
        } else if upper.starts_with("HELO") || upper == "RSET" || upper == "NOOP" {
            if upper == "RSET" {
                from.clear();
                to.clear();
            }
            b"250 OK\r\n"
        } else if let Some(rest) = upper.strip_prefix("MAIL FROM:") {
            from = address(&command[command.len() - rest.len()..]);
            b"250 OK\r\n"
        } else if let Some(rest) = upper.strip_prefix("RCPT TO:") {
            to.push(address(&command[command.len() - rest.len()..]));
            b"250 OK\r\n"
        } else if upper == "DATA" {
            if write
                .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                .await
                .is_err()
            {
                return;
            }
            let Some(data) = read_data(&mut reader).await else {
                return;
            };
            if let Ok(mut s) = state.lock() {
                s.data_started += 1;
            }
            if *stall.borrow_and_update() {
                // Hold the message; if the client goes away meanwhile, it was not accepted.
                let mut probe = [0u8; 1];
                tokio::select! {
                    biased;
                    _ = reader.read(&mut probe) => {
                        if let Ok(mut s) = state.lock() {
                            s.dropped += 1;
                        }
                        return;
                    }
                    _ = stall.wait_for(|on| !*on) => {}
                }
            }
            if let Ok(mut s) = state.lock() {
                s.messages.push(ReceivedMail {
                    from: std::mem::take(&mut from),
                    to: std::mem::take(&mut to),
                    data,
                });
            }
            b"250 OK: queued\r\n"
        } else if upper == "QUIT" {
            let _ = write.write_all(b"221 Bye\r\n").await;
            return;
        } else {
            b"502 Command not implemented\r\n"
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}

fn address(arg: &str) -> String {
    let arg = arg.trim().trim_start_matches('<');
    arg.split('>').next().unwrap_or_default().to_owned()
}

async fn read_data(reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> Option<String> {
    let mut data = String::new();
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        if line == ".\r\n" || line == ".\n" {
            return Some(data);
        }
        data.push_str(line.strip_prefix('.').unwrap_or(&line));
    }
}
