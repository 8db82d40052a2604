//! The accept loop, the connection cap, the WebSocket upgrade and its admission, shutdown.
//! The only module that knows about TCP.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::clock::Clock;
use crate::connection::{lock, Mailbox, Pump};
use crate::error::ApiError;
use crate::handshake::{self, Refusal};
use crate::socketless::{Connection, Server};
use crate::Config;

/// What every connection task of a server shares.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<Server>,
    config: Config,
    clock: Clock,
    /// Connections open or in their handshake, for the global cap and for tests to wait on.
    open: watch::Sender<usize>,
    /// Where User Data Stream events for each subscribed connection are queued.
    mailboxes: Mutex<HashMap<u64, Mailbox>>,
}

impl Shared {
    /// The server state, under its short-lived lock.
    pub fn lock(&self) -> MutexGuard<'_, Server> {
        lock(&self.state)
    }

    /// How many connections are open or in their handshake.
    pub fn open_connections(&self) -> usize {
        *self.open.borrow()
    }

    /// Waits until the number of open connections satisfies `condition`.
    pub async fn wait_for_open_connections(&self, condition: impl Fn(usize) -> bool) {
        let mut open = self.open.subscribe();
        // The sender lives in `self`, so the channel cannot close while we wait.
        let _ = open.wait_for(|count| condition(*count)).await;
    }

    /// Queues each `(connection, frame)` in its connection's mailbox; a full mailbox closes
    /// its connection.
    pub fn post(&self, frames: &[(u64, String)]) {
        let mailboxes = lock(&self.mailboxes);
        for (connection, frame) in frames {
            if let Some(mailbox) = mailboxes.get(connection) {
                mailbox.post(frame.clone());
            }
        }
    }
}

/// A server's two ways of stopping.
#[derive(Debug, Clone)]
pub(crate) struct Shutdown {
    /// Stop accepting, announce `serverShutdown`, serve each connection for the grace period
    /// (measured on the server's clock), then close it.
    pub graceful: CancellationToken,
    /// Announce and close every connection at once. Cancelling it cancels `graceful` too.
    pub immediate: CancellationToken,
}

impl Shutdown {
    /// Neither has begun.
    fn new() -> Self {
        let immediate = CancellationToken::new();
        Shutdown {
            graceful: immediate.child_token(),
            immediate,
        }
    }
}

/// Starts serving `listener` with `server`'s state: the one way a server is made.
pub(crate) fn spawn(
    listener: TcpListener,
    server: Server,
    config: Config,
    clock: Clock,
) -> (Arc<Shared>, Shutdown, JoinHandle<()>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(server),
        config,
        clock,
        open: watch::channel(0).0,
        mailboxes: Mutex::default(),
    });
    let shutdown = Shutdown::new();
    let task = tokio::spawn(run(listener, shared.clone(), shutdown.clone()));
    (shared, shutdown, task)
}

/// Accepts connections on `listener` until shutdown begins, then waits for every connection
/// task to finish.
async fn run(listener: TcpListener, shared: Arc<Shared>, shutdown: Shutdown) {
    let connections = TaskTracker::new();
    loop {
        tokio::select! {
            () = shutdown.graceful.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    // Replies are small and latency matters more than packet count.
                    let _ = stream.set_nodelay(true);
                    connections.spawn(serve(stream, peer, shared.clone(), shutdown.clone()));
                }
                Err(error) => {
                    // Typically out of file descriptors: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
    drop(listener);
    connections.close();
    connections.wait().await;
}

/// Holds one place under the global connection cap until dropped.
struct OpenSlot<'a>(&'a watch::Sender<usize>);

impl<'a> OpenSlot<'a> {
    /// Takes a place, or reports that the cap is reached (and takes none).
    fn take(open: &'a watch::Sender<usize>, max: usize) -> Option<Self> {
        let mut taken = false;
        open.send_if_modified(|count| {
            taken = *count < max;
            if taken {
                *count += 1;
            }
            taken
        });
        taken.then_some(OpenSlot(open))
    }
}

impl Drop for OpenSlot<'_> {
    fn drop(&mut self) {
        self.0.send_modify(|count| *count = count.saturating_sub(1));
    }
}

/// tungstenite zero-fills its whole read buffer before each read, so every byte of it stays
/// resident: 2 KiB per connection holds any request (larger frames grow it as needed) and
/// keeps 10,000 idle connections small (docs/PERFORMANCE.md).
const READ_BUFFER: usize = 2 * 1024;

fn websocket_config(config: &Config) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_message_size(Some(config.max_message_size))
        .max_frame_size(Some(config.max_message_size))
}

/// How long a client may take to send its HTTP upgrade request.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves one accepted TCP connection: admits or refuses its upgrade, then pumps it until
/// it ends, and lets go of what it held.
async fn serve(stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>, shutdown: Shutdown) {
    let slot = OpenSlot::take(&shared.open, shared.config.max_connections);
    let at_capacity = slot.is_none();
    let mut opened = None;
    // The callback's signature is tungstenite's, large error variant included.
    #[allow(clippy::result_large_err)]
    let check = |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
        let admitted = handshake::connection_options(request.uri()).and_then(|options| {
            if at_capacity {
                return Err(Refusal::from_error(&ApiError::ServerBusy));
            }
            // Admitted and charged before the client sees the 101, so that the connection's
            // weight is counted before any request the client sends after it.
            let now = shared.clock.now();
            let mut state = shared.lock();
            state.admit(peer.ip(), now)?;
            Ok(Connection::open(&mut state, peer.ip(), now, options))
        });
        match admitted {
            Ok(connection) => {
                opened = Some(connection);
                Ok(response)
            }
            Err(refusal) => {
                tracing::info!(
                    %peer,
                    path = request.uri().path(),
                    status = refusal.status,
                    code = refusal.body.as_ref().map(|(code, _)| *code),
                    msg = refusal.body.as_ref().map(|(_, msg)| msg.as_str()),
                    "handshake refused"
                );
                Err(refusal.response())
            }
        }
    };
    let accept = tokio_tungstenite::accept_hdr_async_with_config(
        stream,
        check,
        Some(websocket_config(&shared.config)),
    );
    let ws = tokio::select! {
        accepted = tokio::time::timeout(HANDSHAKE_TIMEOUT, accept) => match accepted {
            Ok(Ok(ws)) => ws,
            Ok(Err(error)) => {
                tracing::debug!(%peer, %error, "handshake refused or failed");
                return;
            }
            Err(_) => {
                tracing::debug!(%peer, "handshake timed out");
                return;
            }
        },
        () = shutdown.graceful.cancelled() => return,
    };
    let Some(connection) = opened else {
        return;
    };
    let id = connection.id();
    tracing::debug!(connection = id, %peer, "connected");
    let pump = Pump {
        state: &shared.state,
        config: &shared.config,
        clock: &shared.clock,
        mailboxes: &shared.mailboxes,
        peer,
    };
    let (connection, ended) = pump.run(ws, connection, &shutdown).await;
    lock(&shared.mailboxes).remove(&id);
    connection.end(&mut shared.lock());
    tracing::debug!(connection = id, %peer, %ended, "disconnected");
    drop(slot);
}
