//! One WebSocket connection: a task that owns the socket, and the table of requests waiting
//! for their replies.
//!
//! The only module that knows about WebSocket frames. Callers queue request frames on a
//! channel and wait on a oneshot registered under the request's `id`; the socket task writes
//! the frames, answers pings, routes replies by `id` and frames without one to the events
//! channel. When the connection ends, for whatever reason, every waiting request is failed
//! with [`Error::Closed`], so no request can hang on a dead connection.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use serde_json::{Map, Value};
use tokio::net::TcpStream;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::error::{ApiError, Closed, Error};
use crate::events::{Event, Events};
use crate::response::ErrorBody;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long a closing connection waits for the server's close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(1);
/// How many queued frames are written before the next flush, so that a burst of requests
/// costs one flush and reading is never starved for long.
const WRITE_BATCH: usize = 64;

/// What callers ask of the socket task.
enum Command {
    Send(String),
    Close,
}

/// A reply frame, handed from the socket task to the request waiting for it.
pub(crate) type ReplyFrame = Map<String, Value>;

/// What the callers and the socket task share.
#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// Requests waiting for their replies, by `id`.
    pending: HashMap<u64, oneshot::Sender<ReplyFrame>>,
    /// Set once: why the connection ended, or that the client is closing it.
    closed: Option<Closed>,
    /// The events channel, dropped when the connection ends so that readers see its end.
    events: Option<broadcast::Sender<Event>>,
    /// The reader subscribed at connect, handed to the first caller of `events()` so that it
    /// sees every event since the connection opened.
    first_events: Option<broadcast::Receiver<Event>>,
}

impl Shared {
    /// The state. Every change is a single insert, remove or assignment, so a panic elsewhere
    /// cannot leave it half-written: a poisoned lock is taken over rather than spread.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records why the connection ended (unless already recorded) and fails every waiting
    /// request by dropping its sender.
    fn finish(&self, closed: Closed) {
        let mut state = self.lock();
        state.closed.get_or_insert(closed);
        state.pending.clear();
        state.events = None;
        state.first_events = None;
    }

    fn closed_error(&self) -> Error {
        let closed = self.lock().closed.clone().unwrap_or_else(|| Closed {
            code: None,
            reason: "the connection task ended".to_owned(),
        });
        Error::Closed(closed)
    }
}

/// The callers' side of a connection. Dropping it closes the connection.
#[derive(Debug)]
pub(crate) struct Connection {
    commands: mpsc::UnboundedSender<Command>,
    shared: Arc<Shared>,
    next_id: AtomicU64,
    ended: watch::Receiver<bool>,
}

/// Removes a request from the waiting table when its caller stops waiting (reply, timeout
/// or a dropped future), so abandoned requests do not pile up.
struct Waiting<'a> {
    shared: &'a Shared,
    id: u64,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.shared.lock().pending.remove(&self.id);
    }
}

#[derive(Serialize)]
struct RequestFrame<'a> {
    id: u64,
    method: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<&'a Value>,
}

impl Connection {
    /// Opens a WebSocket connection to `url` and starts the task that owns it.
    ///
    /// # Errors
    /// [`Error::Api`] when the server refuses the handshake with a JSON `{code, msg}` body,
    /// [`Error::Transport`] for any other failure to connect.
    pub async fn open(url: &str) -> Result<Connection, Error> {
        let (socket, _) = tokio_tungstenite::connect_async_with_config(url, None, true)
            .await
            .map_err(handshake_error)?;
        let (events, first_events) = broadcast::channel(Events::CAPACITY);
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                pending: HashMap::new(),
                closed: None,
                events: Some(events.clone()),
                first_events: Some(first_events),
            }),
        });
        let (commands, command_queue) = mpsc::unbounded_channel();
        let (ended_tx, ended) = watch::channel(false);
        tokio::spawn({
            let shared = Arc::clone(&shared);
            async move {
                let closed = drive(socket, command_queue, &shared, &events).await;
                tracing::debug!(%closed, "connection ended");
                drop(events);
                shared.finish(closed);
                let _ = ended_tx.send(true);
            }
        });
        Ok(Connection {
            commands,
            shared,
            next_id: AtomicU64::new(1),
            ended,
        })
    }

    /// Sends a request and waits for its reply frame.
    ///
    /// # Errors
    /// [`Error::Closed`] when the connection is closed or closes before the reply,
    /// [`Error::Timeout`] when `timeout` passes first.
    pub async fn call(
        &self,
        method: &str,
        params: Option<&Value>,
        timeout: Option<Duration>,
    ) -> Result<ReplyFrame, Error> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let frame = serde_json::to_string(&RequestFrame { id, method, params })
            .map_err(|e| Error::Params(e.to_string()))?;
        let (reply_tx, reply) = oneshot::channel();
        {
            let mut state = self.shared.lock();
            if let Some(closed) = &state.closed {
                return Err(Error::Closed(closed.clone()));
            }
            state.pending.insert(id, reply_tx);
        }
        let _waiting = Waiting {
            shared: &self.shared,
            id,
        };
        // If the socket task is gone, it cleared the table after we registered (we saw no
        // `closed` above), so `reply` fails at once below.
        let _ = self.commands.send(Command::Send(frame));
        let reply = match timeout {
            Some(limit) => tokio::time::timeout(limit, reply)
                .await
                .map_err(|_| Error::Timeout(limit))?,
            None => reply.await,
        };
        reply.map_err(|_| self.shared.closed_error())
    }

    /// A reader of this connection's events.
    pub fn events(&self) -> Events {
        let mut state = self.shared.lock();
        if let Some(first) = state.first_events.take() {
            return Events::new(first);
        }
        match &state.events {
            Some(events) => Events::new(events.subscribe()),
            // Already ended: a reader that ends at once.
            None => Events::new(broadcast::channel(1).1),
        }
    }

    /// Closes the connection: new requests fail at once, requests in flight get their reply
    /// if the server sends it before its close frame. Returns once the connection has ended.
    pub async fn close(&self) {
        self.shared.lock().closed.get_or_insert(Closed {
            code: Some(CloseCode::Normal.into()),
            reason: "closed by the client".to_owned(),
        });
        let _ = self.commands.send(Command::Close);
        let mut ended = self.ended.clone();
        let _ = ended.wait_for(|ended| *ended).await;
    }
}

/// Runs the connection until it ends; returns how it ended.
async fn drive(
    socket: Socket,
    mut commands: mpsc::UnboundedReceiver<Command>,
    shared: &Shared,
    events: &broadcast::Sender<Event>,
) -> Closed {
    let (mut sink, mut stream) = socket.split();
    // Set once the client has sent its close frame: how long to wait for the server's.
    let mut closing: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            command = commands.recv(), if closing.is_none() => {
                // `None`: every handle is gone, which closes the connection.
                let mut close = false;
                let mut written = Ok(());
                let mut next = command;
                let mut batch = 0;
                loop {
                    match next {
                        Some(Command::Send(text)) => {
                            written = sink.feed(Message::text(text)).await;
                            batch += 1;
                            if written.is_err() || batch == WRITE_BATCH {
                                break;
                            }
                        }
                        Some(Command::Close) | None => {
                            close = true;
                            break;
                        }
                    }
                    next = match commands.try_recv() {
                        Ok(command) => Some(command),
                        Err(mpsc::error::TryRecvError::Empty) => break,
                        Err(mpsc::error::TryRecvError::Disconnected) => None,
                    };
                }
                if written.is_ok() {
                    written = sink.flush().await;
                }
                if let Err(error) = written {
                    return broken(&error);
                }
                if close {
                    let frame = CloseFrame {
                        code: CloseCode::Normal,
                        reason: "".into(),
                    };
                    // Failing to send it only means the connection is already gone, which
                    // the stream reports next.
                    let _ = sink.send(Message::Close(Some(frame))).await;
                    closing = Some(tokio::time::Instant::now() + CLOSE_GRACE);
                }
            }
            frame = stream.next() => match frame {
                Some(Ok(Message::Text(text))) => route(text.as_str(), shared, events),
                Some(Ok(Message::Binary(_))) => {
                    tracing::warn!("ignoring a binary frame: SBE responses are not supported");
                }
                Some(Ok(Message::Close(frame))) => {
                    // No reply can follow a close frame, so waiting requests fail now rather
                    // than when the server gets round to closing the socket. Flushing sends
                    // the close reply tungstenite has queued.
                    let _ = tokio::time::timeout(CLOSE_GRACE, sink.flush()).await;
                    return match frame {
                        Some(frame) => Closed {
                            code: Some(frame.code.into()),
                            reason: if frame.reason.is_empty() {
                                "closed by the server".to_owned()
                            } else {
                                frame.reason.to_string()
                            },
                        },
                        None => Closed {
                            code: None,
                            reason: "closed by the server".to_owned(),
                        },
                    };
                }
                // tungstenite answers pings itself, echoing the payload (spec §1.3).
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                Some(Err(error)) => return broken(&error),
                None => {
                    return Closed {
                        code: None,
                        reason: "the server closed the connection".to_owned(),
                    }
                }
            },
            () = sleep_until_some(closing) => {
                return Closed {
                    code: Some(CloseCode::Normal.into()),
                    reason: "closed by the client; the server did not answer the close".to_owned(),
                };
            }
        }
    }
}

/// How a connection ended after `error`.
fn broken(error: &tungstenite::Error) -> Closed {
    Closed {
        code: None,
        reason: match error {
            tungstenite::Error::ConnectionClosed => "the connection was closed".to_owned(),
            error => error.to_string(),
        },
    }
}

async fn sleep_until_some(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Hands a text frame to the request it answers, or to the events channel when it has no
/// `id`. A frame that is not a JSON object, or answers no waiting request (one that timed
/// out, say), is logged and dropped.
fn route(text: &str, shared: &Shared, events: &broadcast::Sender<Event>) {
    let frame: ReplyFrame = match serde_json::from_str(text) {
        Ok(frame) => frame,
        Err(error) => {
            tracing::warn!(%error, "ignoring a frame that is not a JSON object");
            return;
        }
    };
    match frame.get("id") {
        None | Some(Value::Null) => {
            // No reader is not an error: events are optional.
            let _ = events.send(Event::new(frame));
        }
        Some(id) => {
            let waiting = id.as_u64().and_then(|id| shared.lock().pending.remove(&id));
            match waiting {
                // The caller may have just given up; then nobody needs the reply.
                Some(reply) => drop(reply.send(frame)),
                None => tracing::debug!(%id, "dropping a reply no request is waiting for"),
            }
        }
    }
}

/// The error for a failed connection attempt: a refusal with a JSON `{code, msg}` body is
/// the API speaking (spec §1.2), anything else is transport.
fn handshake_error(error: tungstenite::Error) -> Error {
    if let tungstenite::Error::Http(response) = &error {
        let status = response.status().as_u16();
        let body = response
            .body()
            .as_deref()
            .and_then(|body| serde_json::from_slice::<ErrorBody>(body).ok());
        if let Some(ErrorBody { code, msg, data }) = body {
            return Error::from(ApiError {
                status,
                code,
                msg,
                data,
                rate_limits: None,
            });
        }
        return Error::Transport(format!("handshake refused: HTTP {}", response.status()).into());
    }
    Error::Transport(Box::new(error))
}
