//! One WebSocket connection: a pump between its socket and its [`Connection`] core.
//!
//! The only module that knows about WebSocket frames. Each frame read is handed to the
//! core (a text frame with the clock's `now`, under the server lock, held for microseconds
//! and never across an `.await`); what the core queues is written out in order; the one timer
//! waits for the core's next deadline on the server's clock. The frames already read (at
//! most [`MAX_BATCH`]) are answered, then their replies are written out in one write before
//! the next frame is read, so a client that does not read cannot grow the server's memory:
//! its requests wait in its own socket buffers, and after `write_timeout` the connection is
//! dropped.
//!
//! Every way a connection ends with a live peer ends with the close handshake of RFC 6455
//! §5.5.1 and §7.1.1: the server's Close frame is written out (its own, or the echo of the
//! client's), the TCP write half is shut, and what the client still sends is read up to its
//! Close, so that the client sees Close then end of stream, never a reset.

use std::future::poll_fn;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures_util::{FutureExt as _, SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use crate::clock::{Clock, Timestamp};
use crate::close::CloseReason;
use crate::envelope::parse_request;
use crate::server::{signal, Command, ControlCell, Shared, Shutdown};
use crate::socketless::{Connection, SignatureCheck, Transmit};

/// Takes `mutex`. A panic elsewhere cannot leave the server state half-written (every change
/// is a single assignment or insert), so a poisoned lock is taken over rather than spread.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A connection's queue of pushed User Data Stream events, bounded: a client too slow to
/// take its events is disconnected rather than allowed to grow the server's memory.
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

/// The receiving end of a connection's mailbox, made on its first subscription.
struct MailboxReceiver {
    queue: mpsc::Receiver<String>,
    overflow: Pin<Box<WaitForCancellationFutureOwned>>,
}

/// What a connection's pump reads and shares with the rest of the server.
pub(crate) struct Pump<'a> {
    pub shared: &'a Arc<Shared>,
    /// Where the control plane's commands for this connection arrive.
    pub control: &'a ControlCell,
    pub peer: SocketAddr,
}

/// The most frames answered before their replies are written out: a batch holds at most
/// this many replies in the server, whatever the client has sent.
const MAX_BATCH: usize = 64;

/// How long the close handshake may take: writing the server's Close frame and reading up to
/// the client's. A peer that stopped reading or never answers must not keep the task alive.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// The socket, read and written by the one task that pumps it: not split into halves, whose
/// lock every read and write would take.
type Ws = WebSocketStream<TcpStream>;

/// How a connection ended.
pub(crate) enum Ended {
    /// The server closed it, with this reason's Close frame.
    ByServer(CloseReason),
    /// The control plane or a fault closed it with this code and reason.
    Closed(u16, String),
    /// The control plane or a fault cut it: no Close frame.
    Cut,
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
            Ended::Closed(code, reason) => write!(f, "closed on request: {reason:?} ({code})"),
            Ended::Cut => f.write_str("cut on request"),
            Ended::ByClient(Some(code)) => write!(f, "closed by the client ({code})"),
            Ended::ByClient(None) => f.write_str("closed by the client (no code)"),
            Ended::PeerGone => f.write_str("the client went away"),
        }
    }
}

/// How a send went.
enum Sent {
    Ok,
    /// The peer is gone or stopped reading for `write_timeout`: drop the connection.
    Failed,
}

impl Pump<'_> {
    /// Pumps `ws` for `connection` until it ends, then completes the close handshake;
    /// returns the connection (to be ended under the lock) and how it ended.
    ///
    /// The socket and the connection come boxed and stay in their boxes: an argument of an
    /// async fn keeps its place in the future for the whole call, and a box keeps that place
    /// small (docs/PERFORMANCE.md, idle connections).
    pub async fn run(
        &self,
        mut ws: Box<Ws>,
        mut connection: Box<Connection>,
        shutdown: &Shutdown,
    ) -> (Box<Connection>, Ended) {
        let ended = self.serve(&mut connection, &mut ws, shutdown).await;
        let close = match ended {
            Ended::ByServer(reason) => Some(CloseFrame {
                code: reason.code().into(),
                reason: reason.reason().into(),
            }),
            Ended::Closed(code, ref reason) => Some(CloseFrame {
                code: code.into(),
                reason: reason.as_str().into(),
            }),
            Ended::Cut => return (connection, ended),
            // tungstenite has queued the echo of the client's Close: it goes out on the flush.
            Ended::ByClient(_) => None,
            Ended::PeerGone => return (connection, ended),
        };
        // Boxed, as are the other rare waits: a connection's task is as large as its largest
        // wait, and every idle connection holds one.
        let closing = Box::pin(close_handshake(ws, close));
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, closing).await;
        (connection, ended)
    }

    /// Queues `message` in the socket's write buffer: written out once the buffer passes
    /// `server::WRITE_BATCH` bytes or on the next [`write_out`](Self::write_out).
    /// A buffer that cannot be written out holds the feed back, so it grows no further.
    ///
    /// The write timeout is armed only when the socket makes the feed wait: a reply almost
    /// always finds room, and a timer made for each would cost a clock read and the room
    /// it takes in every idle connection's task.
    async fn feed(&self, sink: &mut Ws, message: Message) -> Sent {
        match std::future::poll_fn(|cx| sink.poll_ready_unpin(cx)).now_or_never() {
            Some(ready) => self.send_when_ready(sink, message, Ok(ready)),
            // Boxed with the message it carries, so that the wait takes no room in the
            // task of a connection that never has to wait.
            None => Box::pin(self.feed_waiting(sink, message)).await,
        }
    }

    /// [`feed`](Self::feed) once the socket has made it wait: under the write timeout.
    async fn feed_waiting(&self, sink: &mut Ws, message: Message) -> Sent {
        let ready = self
            .within_write_timeout(std::future::poll_fn(|cx| sink.poll_ready_unpin(cx)))
            .await;
        self.send_when_ready(sink, message, ready)
    }

    /// Queues `message` if the socket became `ready`.
    fn send_when_ready(
        &self,
        sink: &mut Ws,
        message: Message,
        ready: Result<Result<(), WsError>, tokio::time::error::Elapsed>,
    ) -> Sent {
        match self.sent(ready) {
            Sent::Ok => self.sent(Ok(sink.start_send_unpin(message))),
            failed => failed,
        }
    }

    /// Writes out what was fed: one write for every reply queued since the last. As with
    /// [`feed`](Self::feed), the timeout is armed only when the write has to wait.
    async fn write_out(&self, sink: &mut Ws) -> Sent {
        let flushed = match std::future::poll_fn(|cx| sink.poll_flush_unpin(cx)).now_or_never() {
            Some(flushed) => Ok(flushed),
            None => {
                Box::pin(
                    self.within_write_timeout(std::future::poll_fn(|cx| sink.poll_flush_unpin(cx))),
                )
                .await
            }
        };
        self.sent(flushed)
    }

    /// `write`, given up after the write timeout.
    async fn within_write_timeout<F: std::future::Future>(
        &self,
        write: F,
    ) -> Result<F::Output, tokio::time::error::Elapsed> {
        tokio::time::timeout(self.shared.config.write_timeout, write).await
    }

    fn sent(&self, outcome: Result<Result<(), WsError>, tokio::time::error::Elapsed>) -> Sent {
        match outcome {
            Ok(Ok(())) => Sent::Ok,
            Ok(Err(_)) => Sent::Failed,
            Err(_) => {
                tracing::debug!(peer = %self.peer, "write timed out: the client stopped reading");
                Sent::Failed
            }
        }
    }

    /// Logs the request just answered: every one at `debug`; refusals for weight (429) and
    /// bans (418), and the ban itself, at `info`. Only the envelope is logged, never params,
    /// so no signature or key material reaches the log.
    fn log_request(&self, connection: &Connection) {
        let Some(request) = connection.last_request() else {
            return;
        };
        let peer = self.peer;
        let connection = connection.id();
        // The same fields at two levels: a macro, since tracing's levels are constants.
        macro_rules! request_event {
            ($level:expr, $message:literal) => {
                tracing::event!(
                    $level,
                    connection,
                    %peer,
                    method = request.method,
                    id = %request.id,
                    status = request.status,
                    code = request.code,
                    weight = request.weight,
                    $message
                )
            };
        }
        request_event!(tracing::Level::DEBUG, "request");
        if matches!(request.status, 418 | 429) {
            request_event!(tracing::Level::INFO, "request refused");
        }
        if let Some(until) = request.banned_until {
            tracing::info!(connection, %peer, until = until.as_millis(), "IP banned");
        }
    }

    /// Hands one text frame to the core. A request that carries its own signature has it
    /// verified first, between two short holds of the server lock, so that connections
    /// verify on every core at once; the request itself is then handled under the lock as
    /// any other, in order. A first subscription opens the connection's mailbox while the
    /// server lock is still held, so no event pushed after the subscription can miss it.
    fn handle_text(
        &self,
        connection: &mut Connection,
        mailbox: &mut Option<MailboxReceiver>,
        text: &str,
    ) {
        // Only a frame that names a signature can need one checked: the rest skip the step.
        // The frame is parsed and its payloads built outside the lock, which is held only
        // to look the key up: logons verify on both cores with little to wait for.
        let checked = if text.contains("\"signature\"") {
            parse_request(text)
                .ok()
                .and_then(|request| {
                    SignatureCheck::prepare(&request.params, |api_key| {
                        self.shared.lock().signing_key(api_key)
                    })
                })
                .map(SignatureCheck::run)
        } else {
            None
        };
        let now = self.shared.clock.now();
        let mut state = self.shared.lock();
        connection.handle_checked_text(text, now, &mut state, checked);
        if mailbox.is_none() && connection.has_subscriptions() {
            let (sender, queue) = mpsc::channel(self.shared.config.event_queue.max(1));
            let overflow = CancellationToken::new();
            self.shared.set_mailbox(
                connection.id(),
                Mailbox {
                    events: sender,
                    overflow: overflow.clone(),
                },
            );
            *mailbox = Some(MailboxReceiver {
                queue,
                overflow: Box::pin(overflow.cancelled_owned()),
            });
        }
        // Events the request caused for other connections go to their mailboxes.
        let outbox = state.take_outbox();
        drop(state);
        // Most requests cause no event elsewhere: no lock of the mailboxes for them.
        if !outbox.is_empty() {
            self.shared.post(&outbox);
        }
        connection.release_evicted();
    }

    /// Writes what the core queued, in order, until its queue is empty or it queued a
    /// Close: the frames are fed to the socket's buffer and written out together, in one
    /// write when they fit (what the core answered to frames read in one batch).
    async fn flush(&self, connection: &mut Connection, sink: &mut Ws) -> Option<Ended> {
        let mut fed = false;
        while let Some(transmit) = connection.poll_transmit() {
            let message = match transmit {
                Transmit::Text(text) => Message::text(text),
                Transmit::Ping(payload) => Message::Ping(payload.into()),
                Transmit::Close(reason) => {
                    return self.ending(sink, fed, Ended::ByServer(reason)).await
                }
                Transmit::CloseWith(code, reason) => {
                    return self.ending(sink, fed, Ended::Closed(code, reason)).await
                }
                Transmit::Cut => return self.ending(sink, fed, Ended::Cut).await,
                Transmit::Late(text, delay) => {
                    // A `delay` fault: real time, as a slow server would take. What was
                    // answered before it is not held back.
                    if fed {
                        if let Sent::Failed = self.write_out(sink).await {
                            return Some(Ended::PeerGone);
                        }
                    }
                    Box::pin(tokio::time::sleep(delay)).await;
                    Message::text(text)
                }
                // `Transmit` is non-exhaustive for users of the core; every kind is above.
                #[allow(unreachable_patterns)]
                _ => continue,
            };
            if let Sent::Failed = self.feed(sink, message).await {
                return Some(Ended::PeerGone);
            }
            fed = true;
        }
        if fed {
            if let Sent::Failed = self.write_out(sink).await {
                return Some(Ended::PeerGone);
            }
        }
        None
    }

    /// Writes out what was fed before the connection ends as `ended`, so that the replies
    /// queued before a Close or a cut still reach the client.
    async fn ending(&self, sink: &mut Ws, fed: bool, ended: Ended) -> Option<Ended> {
        if fed {
            if let Sent::Failed = self.write_out(sink).await {
                return Some(Ended::PeerGone);
            }
        }
        Some(ended)
    }

    /// Feeds frames, pushed events, shutdown and the core's deadlines to the core and
    /// writes what it queues, until the connection must end.
    ///
    /// The timer is re-armed only when the core's next deadline moves: re-creating it for
    /// each frame would register and cancel a timer per request.
    async fn serve(&self, connection: &mut Connection, ws: &mut Ws, shutdown: &Shutdown) -> Ended {
        let clock = &self.shared.clock;
        let mut mailbox: Option<MailboxReceiver> = None;
        let mut shutting_down = false;
        let mut armed: Option<Timestamp> = None;
        let mut timer = pin!(sleep_until_some(clock, None));
        // A shutdown that began before this connection was linked raised nothing on it.
        let begun = shutdown.signals();
        if begun != 0 {
            self.control.raise(begun);
        }

        loop {
            if let Some(ended) = self.flush(connection, ws).await {
                return ended;
            }
            let deadline = connection.poll_timeout();
            if deadline != armed {
                armed = deadline;
                timer.set(sleep_until_some(clock, deadline));
            }
            tokio::select! {
                biased;
                raised = poll_fn(|cx| self.control.poll_signals(cx)) => {
                    if raised & signal::IMMEDIATE != 0 {
                        // The server was dropped: nothing is left to serve a grace period
                        // for.
                        connection.announce_shutdown(clock.now(), None);
                        connection.close(CloseReason::ServerShutdown);
                        continue;
                    }
                    if raised & signal::GRACEFUL != 0 && !shutting_down {
                        // Tell the client, then keep serving it for the grace period (spec
                        // §1.4), measured on the server's clock like every other deadline.
                        shutting_down = true;
                        let now = clock.now();
                        let grace = self.shared.config.shutdown_grace;
                        connection.announce_shutdown(now, Some(now.plus(grace)));
                    }
                    if raised & signal::COMMANDS != 0 {
                        for command in self.control.take() {
                            if self.obey(connection, command) {
                                return Box::pin(self.stalled(connection, shutdown)).await;
                            }
                        }
                    }
                }
                pushed = next_pushed(&mut mailbox) => match pushed {
                    Pushed::Overflow => connection.close(CloseReason::EventQueueFull),
                    Pushed::Event(event) => connection.push_text(event),
                },
                frame = ws.next() => {
                    // Every frame already read is answered before the replies are written
                    // out: a pipelining client gets one write per batch, not per reply.
                    let mut frame = Some(frame);
                    let mut handled = 0;
                    while let Some(next) = frame.take() {
                        if let Some(ended) = self.on_frame(connection, &mut mailbox, next) {
                            return ended;
                        }
                        handled += 1;
                        if handled == MAX_BATCH || connection.closing().is_some() {
                            break;
                        }
                        frame = ws.next().now_or_never();
                    }
                }
                () = &mut timer => {
                    // The sleep has completed: arm a new one on the next turn.
                    armed = None;
                    timer.set(sleep_until_some(clock, None));
                    connection.handle_timeout(clock.now());
                }
            }
        }
    }
}

impl Pump<'_> {
    /// Hands one frame (or the end of the stream) to the core; `Some` when the connection
    /// must end at once.
    fn on_frame(
        &self,
        connection: &mut Connection,
        mailbox: &mut Option<MailboxReceiver>,
        frame: Option<Result<Message, WsError>>,
    ) -> Option<Ended> {
        match frame {
            Some(Ok(Message::Text(text))) => {
                self.handle_text(connection, mailbox, text.as_str());
                self.log_request(connection);
            }
            Some(Ok(Message::Binary(_))) => {
                connection.handle_binary();
                self.log_request(connection);
            }
            Some(Ok(Message::Pong(payload))) => connection.handle_pong(&payload),
            // tungstenite queues the pong for a ping and sends it on the next read.
            Some(Ok(Message::Ping(_) | Message::Frame(_))) => {}
            Some(Ok(Message::Close(frame))) => {
                return Some(Ended::ByClient(frame.map(|frame| frame.code.into())));
            }
            Some(Err(WsError::Capacity(_))) => connection.close(CloseReason::MessageTooBig),
            Some(Err(WsError::Utf8(_))) => connection.close(CloseReason::InvalidUtf8),
            // The end of the stream without a Close: the client just went away.
            Some(Err(WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake))) => {
                return Some(Ended::PeerGone);
            }
            Some(Err(WsError::Protocol(error))) => {
                tracing::debug!(peer = %self.peer, %error, "protocol violation");
                connection.close(CloseReason::ProtocolError);
            }
            Some(Err(_)) | None => return Some(Ended::PeerGone),
        }
        None
    }

    /// Carries out a control-plane command; `true` when it asks the pump to stall.
    fn obey(&self, connection: &mut Connection, command: Command) -> bool {
        match command {
            Command::Close { code, reason } => connection.close_with(code, &reason),
            Command::Reset => connection.close(CloseReason::Reset),
            Command::Drop => connection.cut(),
            Command::Stall => return true,
            Command::Shutdown { close_at } => {
                connection.announce_shutdown(self.shared.clock.now(), close_at);
            }
            Command::RecheckKeys => {
                let now = self.shared.clock.now();
                connection.recheck_keys(now, &mut self.shared.lock());
            }
        }
        false
    }

    /// A stalled connection: nothing is read or written, no ping goes out, until it is cut:
    /// by the control plane (`close`, `drop` and a reset all cut it), by the end of its
    /// lifetime, or by the server stopping.
    async fn stalled(&self, connection: &Connection, shutdown: &Shutdown) -> Ended {
        tracing::debug!(connection = connection.id(), peer = %self.peer, "stalled");
        let lifetime = connection.lifetime_end();
        let mut end_of_life = pin!(self.shared.clock.sleep_until(lifetime));
        loop {
            tokio::select! {
                () = shutdown.graceful.cancelled() => return Ended::Cut,
                () = &mut end_of_life => return Ended::Cut,
                raised = poll_fn(|cx| self.control.poll_signals(cx)) => {
                    if raised & (signal::IMMEDIATE | signal::GRACEFUL) != 0 {
                        return Ended::Cut;
                    }
                    let cut = self.control.take().into_iter().any(|command| {
                        matches!(command, Command::Close { .. } | Command::Reset | Command::Drop)
                    });
                    if cut {
                        return Ended::Cut;
                    }
                }
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
async fn close_handshake(mut ws: Box<Ws>, close: Option<CloseFrame>) {
    if let Some(frame) = close {
        if ws.send(Message::Close(Some(frame))).await.is_err() {
            return;
        }
    }
    // Flushes the Close frame; tungstenite reports the finished handshake as success.
    if SinkExt::close(&mut ws).await.is_err() {
        return;
    }
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
async fn next_pushed(events: &mut Option<MailboxReceiver>) -> Pushed {
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
