//! One WebSocket connection: frames in, the session's replies out, keepalive, lifetime,
//! shutdown and the close handshake.
//!
//! The only module that knows about WebSocket frames. Each text frame is handed to the
//! session with the clock's `now` under the server lock, held for microseconds and never
//! across an `.await`. Replies are sent one at a time and the next frame is read only once
//! the reply is written, so a client that does not read cannot grow the server's memory: its
//! requests wait in its own socket buffers, and after `write_timeout` the connection is
//! dropped.
//!
//! Every way a connection ends with a live peer ends with the close handshake of RFC 6455
//! §5.5.1 and §7.1.1: the server's Close frame is written out (its own, or the echo of the
//! client's), the TCP write half is shut, and what the client still sends is read up to its
//! Close, so that the client sees Close then end of stream, never a reset.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use crate::clock::{Clock, Timestamp};
use crate::close::CloseReason;
use crate::error::ApiError;
use crate::handshake::{self, Refusal};
use crate::sans_io::{ConnectionCore, ServerCore};
use crate::server::Shutdown;
use crate::Config;

/// What every connection of a server shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub state: Mutex<ServerCore>,
    pub config: Config,
    pub clock: Clock,
    /// Connections open or in their handshake, for the global cap and for tests to wait on.
    pub open: watch::Sender<usize>,
    /// Where User Data Stream events for each open connection are queued.
    pub mailboxes: Mutex<HashMap<u64, Mailbox>>,
}

/// A connection's queue of pushed events, bounded: a client too slow to take its events is
/// disconnected rather than allowed to grow the server's memory.
#[derive(Debug)]
pub(crate) struct Mailbox {
    events: mpsc::Sender<String>,
    overflow: CancellationToken,
}

impl Mailbox {
    /// Queues `frame`; a full queue closes the connection.
    pub fn post(&self, frame: String) {
        if self.events.try_send(frame).is_err() {
            self.overflow.cancel();
        }
    }
}

impl Shared {
    /// The server state. A panic elsewhere cannot leave it half-written (every change is a
    /// single assignment or insert), so a poisoned lock is taken over rather than spread.
    pub fn lock(&self) -> MutexGuard<'_, ServerCore> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The event queues, under their own short-lived lock.
    pub fn mailboxes(&self) -> MutexGuard<'_, HashMap<u64, Mailbox>> {
        self.mailboxes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
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

/// How long the close handshake may take: writing the server's Close frame and reading up to
/// the client's. A peer that stopped reading or never answers must not keep the task alive.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// Serves one accepted TCP connection until it closes, the server shuts down, or a
/// keepalive, lifetime or ban rule ends it.
pub(crate) async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Shutdown,
) {
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
            Ok((
                ConnectionCore::open(&mut state, peer.ip(), now, options),
                now,
            ))
        });
        match admitted {
            Ok(session) => {
                opened = Some(session);
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
    let Some((session, connected)) = opened else {
        return;
    };
    let id = session.id();
    tracing::debug!(connection = id, %peer, "connected");
    let mut connection = Connection {
        shared: &shared,
        peer,
        session,
        connected,
        events: None,
    };
    let (sink, stream) = ws.split();
    let ended = connection.run(sink, stream, &shutdown).await;
    if connection.events.is_some() {
        shared.mailboxes().remove(&id);
    }
    connection.session.close(&mut shared.lock());
    tracing::debug!(connection = id, %peer, %ended, "disconnected");
    drop(slot);
}

type Sink = SplitSink<WebSocketStream<TcpStream>, Message>;
type Stream = SplitStream<WebSocketStream<TcpStream>>;

/// How a connection ended.
enum Ended {
    /// The server closed it, with this reason's Close frame.
    ByServer(CloseReason),
    /// The client sent a Close frame (with this code, if any); the server echoed it.
    ByClient(Option<u16>),
    /// The peer vanished or stopped reading: there is no one left to send a Close frame to.
    PeerGone,
}

impl std::fmt::Display for Ended {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ended::ByServer(reason) => {
                write!(
                    f,
                    "closed by the server: {} ({})",
                    reason.reason(),
                    reason.code()
                )
            }
            Ended::ByClient(Some(code)) => write!(f, "closed by the client ({code})"),
            Ended::ByClient(None) => f.write_str("closed by the client (no code)"),
            Ended::PeerGone => f.write_str("the client went away"),
        }
    }
}

/// The receiving end of a connection's mailbox, made on its first subscription.
struct Events {
    queue: mpsc::Receiver<String>,
    overflow: Pin<Box<WaitForCancellationFutureOwned>>,
}

/// An open connection's loop state.
struct Connection<'a> {
    shared: &'a Shared,
    peer: SocketAddr,
    session: ConnectionCore,
    connected: Timestamp,
    events: Option<Events>,
}

/// How a send went.
enum Sent {
    Ok,
    /// The peer is gone or stopped reading for `write_timeout`: drop the connection.
    Failed,
}

impl Connection<'_> {
    async fn send(&self, sink: &mut Sink, message: Message) -> Sent {
        match tokio::time::timeout(self.shared.config.write_timeout, sink.send(message)).await {
            Ok(Ok(())) => Sent::Ok,
            Ok(Err(_)) => Sent::Failed,
            Err(_) => {
                tracing::debug!(peer = %self.peer, "write timed out: the client stopped reading");
                Sent::Failed
            }
        }
    }

    /// Sends the reply, then any events the request produced.
    async fn send_reply(&mut self, sink: &mut Sink, reply: String) -> Sent {
        if let Sent::Failed = self.send(sink, Message::text(reply)).await {
            return Sent::Failed;
        }
        for event in self.session.take_events() {
            if let Sent::Failed = self.send(sink, Message::text(event)).await {
                return Sent::Failed;
            }
        }
        Sent::Ok
    }

    /// Logs the request just answered: every one at `debug`; refusals for weight (429) and
    /// bans (418), and the ban itself, at `info`. Only the envelope is logged, never params,
    /// so no signature or key material reaches the log.
    fn log_request(&self) {
        let Some(request) = self.session.last_request() else {
            return;
        };
        let connection = self.session.id();
        let peer = self.peer;
        tracing::debug!(
            connection,
            %peer,
            method = request.method,
            id = %request.id,
            status = request.status,
            code = request.code,
            weight = request.weight,
            "request"
        );
        if matches!(request.status, 418 | 429) {
            tracing::info!(
                connection,
                %peer,
                method = request.method,
                id = %request.id,
                status = request.status,
                code = request.code,
                "request refused"
            );
        }
        if let Some(until) = request.banned_until {
            tracing::info!(connection, %peer, until = until.as_millis(), "IP banned");
        }
    }

    /// Answers one text frame. A first subscription opens the connection's mailbox while the
    /// server lock is still held, so no event pushed after the subscription can miss it.
    fn handle_text(&mut self, text: &str) -> String {
        let shared = self.shared;
        let now = shared.clock.now();
        let mut state = shared.lock();
        let reply = self.session.handle_text(text, now, &mut state);
        if self.events.is_none() && self.session.has_subscriptions() {
            let (sender, queue) = mpsc::channel(shared.config.event_queue.max(1));
            let overflow = CancellationToken::new();
            shared.mailboxes().insert(
                self.session.id(),
                Mailbox {
                    events: sender,
                    overflow: overflow.clone(),
                },
            );
            self.events = Some(Events {
                queue,
                overflow: Box::pin(overflow.cancelled_owned()),
            });
        }
        reply
    }

    /// Sends `serverShutdown` with the clock's time in the connection's unit (spec §1.4).
    async fn announce_shutdown(&self, sink: &mut Sink) -> Sent {
        let now = self.session.time_unit().render(self.shared.clock.now());
        let event = serde_json::json!({ "event": { "e": "serverShutdown", "E": now } });
        self.send(sink, Message::text(event.to_string())).await
    }

    /// Runs until the connection ends, then completes the close handshake; returns how it
    /// ended.
    async fn run(&mut self, mut sink: Sink, mut stream: Stream, shutdown: &Shutdown) -> Ended {
        let ended = self.serve_frames(&mut sink, &mut stream, shutdown).await;
        let close = match ended {
            Ended::ByServer(reason) => Some(CloseFrame {
                code: reason.code().into(),
                reason: reason.reason().into(),
            }),
            // tungstenite has queued the echo of the client's Close: it goes out on the flush.
            Ended::ByClient(_) => None,
            Ended::PeerGone => return ended,
        };
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, close_handshake(sink, stream, close)).await;
        ended
    }

    /// Serves frames, events and timers until the connection must end.
    ///
    /// Every timer and cancellation wait is armed once and re-armed only when its deadline
    /// moves: re-creating them for each frame would register and cancel timers per request.
    async fn serve_frames(
        &mut self,
        sink: &mut Sink,
        stream: &mut Stream,
        shutdown: &Shutdown,
    ) -> Ended {
        let shared = self.shared;
        let config = &shared.config;
        let clock = &shared.clock;
        let mut unanswered: VecDeque<(u64, Timestamp)> = VecDeque::new();
        let mut pings_sent: u64 = 0;
        let mut shutting_down = false;

        let mut shutdown_now = pin!(shutdown.immediate.cancelled());
        let mut shutdown_wait = pin!(shutdown.graceful.cancelled());
        let mut lifetime = pin!(clock.sleep_until(self.connected.plus(config.max_lifetime)));
        let mut ping_timer = pin!(clock.sleep_until(self.connected.plus(config.ping_interval)));
        let mut pong_timer = pin!(sleep_until_some(clock, None));
        let mut grace = pin!(sleep_until_some(clock, None));

        loop {
            tokio::select! {
                biased;
                () = &mut shutdown_now => {
                    // The server was dropped: nothing is left to serve a grace period for.
                    if !shutting_down {
                        if let Sent::Failed = self.announce_shutdown(sink).await {
                            return Ended::PeerGone;
                        }
                    }
                    return Ended::ByServer(CloseReason::ServerShutdown);
                }
                () = &mut shutdown_wait, if !shutting_down => {
                    // Tell the client, then keep serving it for the grace period (spec §1.4),
                    // measured on the server's clock like every other deadline.
                    shutting_down = true;
                    grace.set(sleep_until_some(clock, Some(clock.now().plus(config.shutdown_grace))));
                    if let Sent::Failed = self.announce_shutdown(sink).await {
                        return Ended::PeerGone;
                    }
                }
                () = &mut grace => return Ended::ByServer(CloseReason::ServerShutdown),
                pushed = next_pushed(&mut self.events) => match pushed {
                    Pushed::Overflow => return Ended::ByServer(CloseReason::EventQueueFull),
                    Pushed::Event(event) => {
                        if let Sent::Failed = self.send(sink, Message::text(event)).await {
                            return Ended::PeerGone;
                        }
                    }
                },
                frame = stream.next() => {
                    let reply = match frame {
                        Some(Ok(Message::Text(text))) => self.handle_text(text.as_str()),
                        Some(Ok(Message::Binary(_))) => self.session.handle_binary(),
                        Some(Ok(Message::Pong(payload))) => {
                            // Only a pong that echoes one of our pings counts (spec §1.3); it
                            // answers that ping and every earlier one.
                            if let Some(answered) = unanswered
                                .iter()
                                .position(|(seq, _)| payload.as_ref() == seq.to_string().as_bytes())
                            {
                                unanswered.drain(..=answered);
                                let deadline = unanswered
                                    .front()
                                    .map(|&(_, sent)| sent.plus(config.pong_timeout));
                                pong_timer.set(sleep_until_some(clock, deadline));
                            }
                            continue;
                        }
                        // tungstenite queues the pong for a ping and sends it on the next read.
                        Some(Ok(Message::Ping(_) | Message::Frame(_))) => continue,
                        Some(Ok(Message::Close(frame))) => {
                            return Ended::ByClient(frame.map(|frame| frame.code.into()));
                        }
                        Some(Err(WsError::Capacity(_))) => {
                            return Ended::ByServer(CloseReason::MessageTooBig);
                        }
                        Some(Err(WsError::Utf8(_))) => {
                            return Ended::ByServer(CloseReason::InvalidUtf8);
                        }
                        // The end of the stream without a Close: the client just went away.
                        Some(Err(WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake))) => {
                            return Ended::PeerGone;
                        }
                        Some(Err(WsError::Protocol(error))) => {
                            tracing::debug!(peer = %self.peer, %error, "protocol violation");
                            return Ended::ByServer(CloseReason::ProtocolError);
                        }
                        Some(Err(_)) | None => return Ended::PeerGone,
                    };
                    self.log_request();
                    if let Sent::Failed = self.send_reply(sink, reply).await {
                        return Ended::PeerGone;
                    }
                    if let Some(reason) = self.session.closing() {
                        return Ended::ByServer(reason);
                    }
                }
                () = &mut ping_timer => {
                    let now = clock.now();
                    pings_sent += 1;
                    let ping = Message::Ping(pings_sent.to_string().into());
                    if let Sent::Failed = self.send(sink, ping).await {
                        return Ended::PeerGone;
                    }
                    if unanswered.is_empty() {
                        pong_timer.set(sleep_until_some(clock, Some(now.plus(config.pong_timeout))));
                    }
                    unanswered.push_back((pings_sent, now));
                    ping_timer.set(clock.sleep_until(now.plus(config.ping_interval)));
                }
                () = &mut pong_timer => return Ended::ByServer(CloseReason::PongTimeout),
                () = &mut lifetime => return Ended::ByServer(CloseReason::LifetimeExceeded),
            }
        }
    }
}

/// The end of the close handshake (RFC 6455 §7.1.1): writes `close` (or the echo of the
/// client's Close that tungstenite queued), shuts the TCP write half so the client sees the
/// end of the stream at once, then reads what the client still sends up to its Close (the
/// handshake is then complete and the server closes first) or the end of its stream.
/// Closing a socket with unread bytes would send the client a reset instead of a FIN, and a
/// reset can make the client lose the Close frame it has not read yet.
async fn close_handshake(mut sink: Sink, stream: Stream, close: Option<CloseFrame>) {
    if let Some(frame) = close {
        if sink.send(Message::Close(Some(frame))).await.is_err() {
            return;
        }
    }
    // Flushes the Close frame; tungstenite reports the finished handshake as success.
    if sink.close().await.is_err() {
        return;
    }
    let Ok(mut ws) = sink.reunite(stream) else {
        return;
    };
    if ws.get_mut().shutdown().await.is_err() {
        return;
    }
    loop {
        match ws.next().await {
            Some(Ok(Message::Close(_))) | None => return,
            Some(Ok(_)) => {}
            // After a frame too big or a protocol error what follows cannot be parsed as
            // frames; it must be read all the same, as raw bytes, until the client closes.
            Some(Err(_)) => break,
        }
    }
    let _ = tokio::io::copy(ws.get_mut(), &mut tokio::io::sink()).await;
}

/// What arrived in a connection's mailbox.
enum Pushed {
    Event(String),
    /// The queue filled up: the client takes its events too slowly.
    Overflow,
}

/// The next thing pushed to the connection; never, without a mailbox.
async fn next_pushed(events: &mut Option<Events>) -> Pushed {
    let Some(events) = events else {
        return std::future::pending().await;
    };
    tokio::select! {
        biased;
        () = events.overflow.as_mut() => Pushed::Overflow,
        Some(event) = events.queue.recv() => Pushed::Event(event),
        // The sender lives in the mailbox map until the connection ends.
        else => std::future::pending().await,
    }
}

async fn sleep_until_some(clock: &Clock, deadline: Option<Timestamp>) {
    match deadline {
        Some(deadline) => clock.sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
