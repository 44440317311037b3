//! A TCP proxy that makes a dependency go down, hang, and come back.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What a [`TcpProxy`] does with connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Forward,
    Refuse,
    Stall,
    Hold,
}

/// A TCP proxy in front of a real server, to make a dependency go down (`cut`), hang
/// (`stall`) and come back (`restore`) without touching the server other tests use.
pub struct TcpProxy {
    addr: SocketAddr,
    mode: Arc<watch::Sender<Mode>>,
    task: tokio::task::JoinHandle<()>,
}

impl TcpProxy {
    /// Starts forwarding a loopback port to `upstream` (`host:port`).
    pub async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("cannot bind the proxy: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("proxy has no address: {e}"));
        let (tx, _) = watch::channel(Mode::Forward);
        let mode = Arc::new(tx);
        let accept_mode = Arc::clone(&mode);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let rx = accept_mode.subscribe();
                tokio::spawn(serve(client, upstream.clone(), rx));
            }
        });
        Self { addr, mode, task }
    }

    /// The proxy's own address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Closes every connection and refuses new ones (the server is down).
    pub fn cut(&self) {
        self.mode.send_replace(Mode::Refuse);
    }

    /// Accepts connections but never answers (the server hangs).
    pub fn stall(&self) {
        self.mode.send_replace(Mode::Stall);
    }

    /// Stops forwarding but keeps every connection open, established ones included: a
    /// query in flight now waits for an answer that does not come, until `cut` closes its
    /// connection under it (a connection lost mid-query) or `restore`.
    pub fn hold(&self) {
        self.mode.send_replace(Mode::Hold);
    }

    /// Forwards again (the server is back).
    pub fn restore(&self) {
        self.mode.send_replace(Mode::Forward);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.task.abort();
        self.mode.send_replace(Mode::Refuse);
    }
}

async fn serve(mut client: TcpStream, upstream: String, mut mode: watch::Receiver<Mode>) {
    let current = *mode.borrow_and_update();
    match current {
        Mode::Refuse => {}
        Mode::Stall | Mode::Hold => {
            // Hold the socket without reading until the mode changes.
            let _ = mode.changed().await;
        }
        Mode::Forward => {
            let Ok(mut server) = TcpStream::connect(&upstream).await else {
                return;
            };
            tokio::select! {
                _ = tokio::io::copy_bidirectional(&mut client, &mut server) => return,
                _ = mode.wait_for(|m| *m != Mode::Forward) => {}
            }
            if *mode.borrow() == Mode::Hold {
                // Keep both ends open, forwarding nothing, until told otherwise; then close.
                let _ = mode.wait_for(|m| *m != Mode::Hold).await;
            }
        }
    }
}
