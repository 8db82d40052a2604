//! The accept loop, HTTP (hyper), the connection cap, the WebSocket upgrade and its
//! admission, the control plane's routes, shutdown. The only module that knows about TCP.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use futures_util::task::AtomicWaker;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::account::Account;
use crate::clock::{Clock, ClockState, Timestamp};
use crate::connection::{lock, Mailbox, Pump};
use crate::control::Expectation;
use crate::error::ApiError;
use crate::handshake::{self, Refusal, PATH};
use crate::keys::KeyRegistry;
use crate::socketless::{Connection, Server};
use crate::{admin, Config};

/// An HTTP response of this server.
pub(crate) type HttpResponse = Response<Full<Bytes>>;

/// What every connection task of a server shares.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<Server>,
    pub config: Config,
    pub clock: Clock,
    /// Connections open or in their handshake, for the global cap and for tests to wait on.
    open: watch::Sender<usize>,
    /// How the control plane reaches each open connection.
    links: Mutex<HashMap<u64, Link>>,
    /// What a reset returns to.
    pub origin: Origin,
    /// The address the server listens on.
    pub address: SocketAddr,
    /// Whether `/__admin/*` answers.
    pub admin: bool,
    /// What tests said they expect ([`crate::MockServer::expect`]).
    pub expectations: Mutex<Vec<Expectation>>,
}

/// The state a server started with, to which a reset returns.
#[derive(Debug)]
pub(crate) struct Origin {
    pub keys: KeyRegistry,
    pub accounts: Vec<(String, Account)>,
    pub clock: ClockState,
}

/// How the control plane reaches one connection: its commands, and its mailbox of pushed
/// events once it has subscribed.
#[derive(Debug)]
struct Link {
    control: Arc<ControlCell>,
    mailbox: Option<Mailbox>,
}

/// What the control plane asks of one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    /// Close with this code and reason.
    Close { code: u16, reason: String },
    /// Close with 1012: the server was reset.
    Reset,
    /// Cut the TCP connection, without a Close frame.
    Drop,
    /// Stop reading and writing until cut.
    Stall,
    /// Announce `serverShutdown`; close with 1001 at this time if given.
    Shutdown { close_at: Option<Timestamp> },
    /// Apply a change of keys now.
    RecheckKeys,
}

/// What can be raised on a connection's [`ControlCell`]: bits of one byte.
pub(crate) mod signal {
    /// Commands have arrived: [`ControlCell::take`](super::ControlCell::take) them.
    pub const COMMANDS: u8 = 1;
    /// The graceful shutdown has begun.
    pub const GRACEFUL: u8 = 2;
    /// The immediate shutdown has begun (it implies the graceful one).
    pub const IMMEDIATE: u8 = 4;
}

/// A connection's inbox of [`Command`]s, and the [`signal`]s raised for it: what its pump
/// waits for besides its socket, its mailbox and its timer.
///
/// The pump polls this on every turn, once per request: a load and, when nothing is raised,
/// a waker registration, where the `Notify` and the two cancellation tokens it replaces took
/// a mutex each (docs/PERFORMANCE.md).
#[derive(Debug, Default)]
pub(crate) struct ControlCell {
    commands: Mutex<Vec<Command>>,
    raised: AtomicU8,
    waker: AtomicWaker,
}

impl ControlCell {
    fn send(&self, command: Command) {
        lock(&self.commands).push(command);
        self.raise(signal::COMMANDS);
    }

    /// Raises `signals` and wakes the pump.
    pub fn raise(&self, signals: u8) {
        self.raised.fetch_or(signals, Ordering::Release);
        self.waker.wake();
    }

    /// The signals raised since the last time this was ready, cleared; pending (the task is
    /// woken by the next [`raise`](Self::raise)) while there are none.
    pub fn poll_signals(&self, cx: &mut std::task::Context<'_>) -> Poll<u8> {
        if self.raised.load(Ordering::Acquire) == 0 {
            self.waker.register(cx.waker());
            // A signal raised before the registration is seen here; one raised after it
            // wakes the task.
            if self.raised.load(Ordering::Acquire) == 0 {
                return Poll::Pending;
            }
        }
        Poll::Ready(self.raised.swap(0, Ordering::AcqRel))
    }

    /// The commands that arrived, oldest first.
    pub fn take(&self) -> Vec<Command> {
        std::mem::take(&mut *lock(&self.commands))
    }
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
        let links = lock(&self.links);
        for (connection, frame) in frames {
            if let Some(mailbox) = links.get(connection).and_then(|l| l.mailbox.as_ref()) {
                mailbox.post(frame.clone());
            }
        }
    }

    /// Sends `command` to connection `id`; whether it is open.
    pub fn command(&self, id: u64, command: Command) -> bool {
        match lock(&self.links).get(&id) {
            Some(link) => {
                link.control.send(command);
                true
            }
            None => false,
        }
    }

    /// Sends `command` to every open connection; how many there are.
    pub fn command_all(&self, command: &Command) -> usize {
        let links = lock(&self.links);
        for link in links.values() {
            link.control.send(command.clone());
        }
        links.len()
    }

    /// Raises `signals` on every open connection's control cell.
    fn raise_all(&self, signals: u8) {
        for link in lock(&self.links).values() {
            link.control.raise(signals);
        }
    }

    /// Begins the graceful shutdown: stops accepting, and tells every connection.
    pub fn begin_graceful_shutdown(&self, shutdown: &Shutdown) {
        // Cancelled before the connections are told: a connection linked after this tells
        // itself, from the token, when its pump starts.
        shutdown.graceful.cancel();
        self.raise_all(shutdown.signals());
    }

    /// Begins the immediate shutdown: every connection closes at once.
    pub fn begin_immediate_shutdown(&self, shutdown: &Shutdown) {
        shutdown.immediate.cancel();
        self.raise_all(shutdown.signals());
    }

    /// Registers connection `id`'s control cell.
    fn link(&self, id: u64) -> Arc<ControlCell> {
        let control = Arc::new(ControlCell::default());
        lock(&self.links).insert(
            id,
            Link {
                control: control.clone(),
                mailbox: None,
            },
        );
        control
    }

    /// Gives connection `id` its mailbox.
    pub fn set_mailbox(&self, id: u64, mailbox: Mailbox) {
        if let Some(link) = lock(&self.links).get_mut(&id) {
            link.mailbox = Some(mailbox);
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

    /// The [`signal`]s of the shutdowns that have begun: none, [`signal::GRACEFUL`], or
    /// both (the immediate one cancels the graceful one, its child).
    pub fn signals(&self) -> u8 {
        let mut begun = 0;
        if self.graceful.is_cancelled() {
            begun |= signal::GRACEFUL;
        }
        if self.immediate.is_cancelled() {
            begun |= signal::IMMEDIATE;
        }
        begun
    }
}

/// What [`spawn`] needs besides the listener.
pub(crate) struct Setup {
    pub server: Server,
    pub config: Config,
    pub clock: Clock,
    pub origin: Origin,
}

/// Starts serving `listener` with `setup`'s state: the one way a server is made.
pub(crate) fn spawn(
    listener: TcpListener,
    address: SocketAddr,
    setup: Setup,
) -> (Arc<Shared>, Shutdown, JoinHandle<()>) {
    let config = setup.config;
    let admin = config
        .admin
        .unwrap_or_else(|| address.ip().is_loopback() || config.admin_token.is_some());
    let shared = Arc::new(Shared {
        state: Mutex::new(setup.server),
        config,
        clock: setup.clock,
        open: watch::channel(0).0,
        links: Mutex::default(),
        origin: setup.origin,
        address,
        admin,
        expectations: Mutex::default(),
    });
    let shutdown = Shutdown::new();
    let task = tokio::spawn(run(listener, shared.clone(), shutdown.clone()));
    (shared, shutdown, task)
}

/// Accepts connections on `listener` until shutdown begins, then waits for every connection
/// task to finish.
async fn run(listener: TcpListener, shared: Arc<Shared>, shutdown: Shutdown) {
    let tasks = TaskTracker::new();
    loop {
        tokio::select! {
            () = shutdown.graceful.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    // Replies are small and latency matters more than packet count.
                    let _ = stream.set_nodelay(true);
                    let context = Context {
                        peer,
                        shared: shared.clone(),
                        shutdown: shutdown.clone(),
                        tasks: tasks.clone(),
                    };
                    tasks.spawn(serve_http(stream, context));
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
    tasks.close();
    tasks.wait().await;
}

/// What serving one TCP connection needs.
#[derive(Clone)]
struct Context {
    peer: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Shutdown,
    tasks: TaskTracker,
}

/// How long a client may take to send its HTTP request head.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves HTTP/1.1 on one TCP connection: control-plane calls, 404s, or one WebSocket
/// upgrade, after which the connection belongs to its pump.
async fn serve_http(stream: TcpStream, context: Context) {
    let shutdown = context.shutdown.graceful.clone();
    let service = service_fn(move |request| {
        let context = context.clone();
        async move { Ok::<_, Infallible>(route(request, context).await) }
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HANDSHAKE_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    let mut connection = pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => {}
        () = shutdown.cancelled() => {
            connection.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(HANDSHAKE_TIMEOUT, connection).await;
        }
    }
}

/// Routes one HTTP request.
async fn route(request: Request<Incoming>, context: Context) -> HttpResponse {
    let path = request.uri().path();
    if path == PATH {
        return upgrade(request, context);
    }
    if context.shared.admin && (path == "/__admin" || path.starts_with("/__admin/")) {
        return admin::handle(request, &context.shared).await;
    }
    tracing::debug!(peer = %context.peer, path, "no such path");
    refusal_response(&Refusal::NOT_FOUND)
}

/// The HTTP form of a refused handshake.
fn refusal_response(refusal: &Refusal) -> HttpResponse {
    refusal
        .response()
        .map(|body| Full::new(Bytes::from(body.unwrap_or_default())))
}

/// Holds one place under the global connection cap until dropped.
struct OpenSlot(Arc<Shared>);

impl OpenSlot {
    /// Takes a place, or reports that the cap is reached (and takes none).
    fn take(shared: &Arc<Shared>) -> Option<Self> {
        let mut taken = false;
        let max = shared.config.max_connections;
        shared.open.send_if_modified(|count| {
            taken = *count < max;
            if taken {
                *count += 1;
            }
            taken
        });
        taken.then(|| OpenSlot(shared.clone()))
    }
}

impl Drop for OpenSlot {
    fn drop(&mut self) {
        self.0
            .open
            .send_modify(|count| *count = count.saturating_sub(1));
    }
}

/// tungstenite zero-fills its whole read buffer before each read, so every byte of it stays
/// resident: 1 KiB per connection holds a signed order (larger frames grow it as needed),
/// reads a batch of 16 pipelined pings at once, and keeps 10,000 idle connections small
/// (docs/PERFORMANCE.md).
const READ_BUFFER: usize = 1024;

/// Replies fed to a socket are written out once they pass this many bytes, or when the
/// frames read so far are all answered (`connection.rs`): one write per batch of pipelined
/// replies. A buffer that cannot be written out holds back the next reply, so a client that
/// does not read holds at most this and one reply in the server.
pub(crate) const WRITE_BATCH: usize = 16 * 1024;

fn websocket_config(config: &Config) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BATCH)
        .max_message_size(Some(config.max_message_size))
        .max_frame_size(Some(config.max_message_size))
}

/// Whether a header's comma-separated tokens include `token`, in any letter case.
fn has_token(request: &Request<Incoming>, name: header::HeaderName, token: &str) -> bool {
    request
        .headers()
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|part| part.trim().eq_ignore_ascii_case(token))
}

/// A plain HTTP request to the WebSocket path: 426, naming the protocol to upgrade to.
fn upgrade_required() -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::UPGRADE_REQUIRED;
    let headers = response.headers_mut();
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(
        header::SEC_WEBSOCKET_VERSION,
        HeaderValue::from_static("13"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(0));
    response
}

/// Admits or refuses a WebSocket upgrade request (RFC 6455 §4.2); once admitted, the
/// connection is opened (and charged) before the client sees the 101, and a task takes the
/// upgraded socket to pump it.
fn upgrade(mut request: Request<Incoming>, context: Context) -> HttpResponse {
    let key = request.headers().get(header::SEC_WEBSOCKET_KEY).cloned();
    let is_upgrade = request.method() == hyper::Method::GET
        && has_token(&request, header::CONNECTION, "upgrade")
        && has_token(&request, header::UPGRADE, "websocket")
        && request
            .headers()
            .get(header::SEC_WEBSOCKET_VERSION)
            .is_some_and(|v| v == "13");
    let Some(key) = key.filter(|_| is_upgrade) else {
        return upgrade_required();
    };
    let Context {
        peer,
        shared,
        shutdown,
        tasks,
    } = context;
    let slot = OpenSlot::take(&shared);
    let admitted = handshake::connection_options(request.uri()).and_then(|options| {
        if slot.is_none() {
            return Err(Refusal::from_error(&ApiError::ServerBusy));
        }
        let now = shared.clock.now();
        let mut state = shared.lock();
        state.admit(peer.ip(), now)?;
        Ok(Connection::open_from(&mut state, peer, now, options))
    });
    let (connection, slot) = match (admitted, slot) {
        (Ok(connection), Some(slot)) => (connection, slot),
        (Err(refusal), _) => {
            tracing::info!(
                %peer,
                path = request.uri().path(),
                status = refusal.status,
                code = refusal.body.as_ref().map(|(code, _)| *code),
                msg = refusal.body.as_ref().map(|(_, msg)| msg.as_str()),
                "handshake refused"
            );
            return refusal_response(&refusal);
        }
        (Ok(connection), None) => {
            // Cannot happen: admission fails without a slot. End it all the same.
            connection.end(&mut shared.lock());
            return refusal_response(&Refusal::from_error(&ApiError::ServerBusy));
        }
    };
    let control = shared.link(connection.id());
    let on_upgrade = hyper::upgrade::on(&mut request);
    // Two tasks: one waits for hyper to hand the socket over, then starts the one that
    // serves it, so that a served connection's task holds the pump's state alone, not also
    // what the handover needed (10,000 idle connections: docs/PERFORMANCE.md).
    let served = tasks.clone();
    tasks.spawn(async move {
        let upgraded = tokio::select! {
            upgraded = on_upgrade => upgraded.ok(),
            () = shutdown.graceful.cancelled() => None,
        };
        let parts = upgraded.and_then(|upgraded| upgraded.downcast::<TokioIo<TcpStream>>().ok());
        let Some(hyper::upgrade::Parts { io, read_buf, .. }) = parts else {
            tracing::debug!(%peer, "upgrade failed");
            lock(&shared.links).remove(&connection.id());
            connection.end(&mut shared.lock());
            return;
        };
        // What hyper read past the request head goes into the WebSocket's own buffer.
        let ws = WebSocketStream::from_partially_read(
            io.into_inner(),
            read_buf.to_vec(),
            Role::Server,
            Some(websocket_config(&shared.config)),
        )
        .await;
        drop(read_buf);
        let held = Served {
            shared,
            shutdown,
            control,
            peer,
            _slot: slot,
        };
        served.spawn(serve_websocket(Box::new(ws), Box::new(connection), held));
    });
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(accept) = HeaderValue::from_str(&derive_accept_key(key.as_bytes())) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    response
}

/// What a served connection holds besides its socket and its core: the shared state, the
/// server's shutdown, its control cell and its place under the connection cap.
struct Served {
    shared: Arc<Shared>,
    shutdown: Shutdown,
    control: Arc<ControlCell>,
    peer: SocketAddr,
    _slot: OpenSlot,
}

/// Pumps one upgraded connection until it ends, and lets go of what it held.
async fn serve_websocket(
    ws: Box<WebSocketStream<TcpStream>>,
    connection: Box<Connection>,
    held: Served,
) {
    let Served {
        shared,
        shutdown,
        control,
        peer,
        _slot,
    } = held;
    let id = connection.id();
    tracing::debug!(connection = id, %peer, "connected");
    let pump = Pump {
        shared: &shared,
        control: &control,
        peer,
    };
    let (connection, ended) = pump.run(ws, connection, &shutdown).await;
    lock(&shared.links).remove(&id);
    connection.end(&mut shared.lock());
    tracing::debug!(connection = id, %peer, %ended, "disconnected");
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::task::{Wake, Waker};

    /// A waker that counts its wake-ups.
    #[derive(Default)]
    struct Counting(AtomicUsize);

    impl Wake for Counting {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn poll(cell: &ControlCell, waker: &Waker) -> Poll<u8> {
        cell.poll_signals(&mut std::task::Context::from_waker(waker))
    }

    #[test]
    fn the_shutdown_signals_follow_the_tokens_the_immediate_one_implying_the_graceful() {
        let shutdown = Shutdown::new();
        assert_eq!(shutdown.signals(), 0);
        shutdown.graceful.cancel();
        assert_eq!(shutdown.signals(), signal::GRACEFUL);
        let shutdown = Shutdown::new();
        shutdown.immediate.cancel();
        assert_eq!(shutdown.signals(), signal::IMMEDIATE | signal::GRACEFUL);
    }

    #[test]
    fn signals_raised_before_a_poll_are_ready_together_and_then_cleared() {
        let cell = ControlCell::default();
        let counter = Arc::new(Counting::default());
        let waker = Waker::from(counter.clone());
        cell.raise(signal::GRACEFUL);
        cell.send(Command::Reset);
        assert_eq!(
            poll(&cell, &waker),
            Poll::Ready(signal::GRACEFUL | signal::COMMANDS)
        );
        assert_eq!(cell.take(), vec![Command::Reset]);
        assert_eq!(poll(&cell, &waker), Poll::Pending);
    }

    #[test]
    fn a_signal_raised_while_the_pump_waits_wakes_it_and_is_seen() {
        let cell = ControlCell::default();
        let counter = Arc::new(Counting::default());
        let waker = Waker::from(counter.clone());
        assert_eq!(poll(&cell, &waker), Poll::Pending);
        assert_eq!(counter.0.load(Ordering::SeqCst), 0);
        cell.raise(signal::IMMEDIATE | signal::GRACEFUL);
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
        assert_eq!(
            poll(&cell, &waker),
            Poll::Ready(signal::IMMEDIATE | signal::GRACEFUL)
        );
        // Polled again with nothing raised, it waits, and the next command wakes it.
        assert_eq!(poll(&cell, &waker), Poll::Pending);
        cell.send(Command::Drop);
        assert_eq!(counter.0.load(Ordering::SeqCst), 2);
        assert_eq!(poll(&cell, &waker), Poll::Ready(signal::COMMANDS));
    }
}
