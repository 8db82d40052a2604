//! One WebSocket connection: frames in, the session's replies out, keepalive and lifetime.
//!
//! The only module that knows about WebSocket frames. Each text frame is handed to the
//! session with the clock's `now` under the server lock, held for microseconds and never
//! across an `.await`.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_util::sync::CancellationToken;

use crate::clock::{Clock, Timestamp};
use crate::handshake;
use crate::sans_io::{ConnectionCore, ServerCore};
use crate::Config;

/// What every connection of a server shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub state: Mutex<ServerCore>,
    pub config: Config,
    pub clock: Clock,
}

impl Shared {
    /// The server state. A panic elsewhere cannot leave it half-written (every change is a
    /// single assignment or insert), so a poisoned lock is taken over rather than spread.
    pub fn lock(&self) -> MutexGuard<'_, ServerCore> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn websocket_config(config: &Config) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .max_message_size(Some(config.max_message_size))
        .max_frame_size(Some(config.max_message_size))
}

/// Serves one accepted TCP connection until it closes, the server shuts down, or a
/// keepalive or lifetime rule ends it.
pub(crate) async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
) {
    let mut options = None;
    let check = |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
        match handshake::connection_options(request.uri()) {
            Ok(chosen) => {
                options = Some(chosen);
                Ok(response)
            }
            Err(refusal) => Err(refusal.response()),
        }
    };
    let accept = tokio_tungstenite::accept_hdr_async_with_config(
        stream,
        check,
        Some(websocket_config(&shared.config)),
    );
    let ws = tokio::select! {
        accepted = accept => match accepted {
            Ok(ws) => ws,
            Err(error) => {
                tracing::debug!(%peer, %error, "handshake refused or failed");
                return;
            }
        },
        () = shutdown.cancelled() => return,
    };
    let options = options.unwrap_or_default();
    let clock = &shared.clock;
    let connected = clock.now();
    let mut session = ConnectionCore::open(&mut shared.lock(), peer.ip(), connected, options);
    tracing::debug!(%peer, ?options, "connected");

    let config = &shared.config;
    let lifetime_end = connected.plus(config.max_lifetime);
    let mut next_ping = connected.plus(config.ping_interval);
    let mut unanswered: VecDeque<(u64, Timestamp)> = VecDeque::new();
    let mut pings_sent: u64 = 0;
    let (mut sink, mut stream) = ws.split();

    let close = loop {
        let pong_deadline = unanswered
            .front()
            .map(|&(_, sent)| sent.plus(config.pong_timeout));
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break Some((CloseCode::Away, "server shutting down")),
            frame = stream.next() => {
                let reply = match frame {
                    Some(Ok(Message::Text(text))) => {
                        let now = clock.now();
                        let mut state = shared.lock();
                        session.handle_text(text.as_str(), now, &mut state)
                    }
                    Some(Ok(Message::Binary(_))) => session.handle_binary(),
                    Some(Ok(Message::Pong(payload))) => {
                        // Only a pong that echoes one of our pings counts (spec §1.3); it
                        // answers that ping and every earlier one.
                        if let Some(answered) = unanswered
                            .iter()
                            .position(|(seq, _)| payload.as_ref() == seq.to_string().as_bytes())
                        {
                            unanswered.drain(..=answered);
                        }
                        continue;
                    }
                    // tungstenite queues the pong for a ping and sends it on the next read.
                    Some(Ok(Message::Ping(_) | Message::Frame(_))) => continue,
                    Some(Err(WsError::Capacity(_))) => {
                        break Some((CloseCode::Size, "message too big"));
                    }
                    Some(Ok(Message::Close(_)) | Err(_)) | None => break None,
                };
                if sink.send(Message::text(reply)).await.is_err() {
                    break None;
                }
            }
            () = clock.sleep_until(next_ping) => {
                let now = clock.now();
                pings_sent += 1;
                if sink.send(Message::Ping(pings_sent.to_string().into())).await.is_err() {
                    break None;
                }
                unanswered.push_back((pings_sent, now));
                next_ping = now.plus(config.ping_interval);
            }
            () = sleep_until_some(clock, pong_deadline) => {
                break Some((CloseCode::Policy, "pong timeout"));
            }
            () = clock.sleep_until(lifetime_end) => {
                break Some((CloseCode::Normal, "connection lifetime exceeded"));
            }
        }
    };
    if let Some((code, reason)) = close {
        tracing::debug!(%peer, reason, "closing");
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        // A peer that stopped reading must not keep this task alive.
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            let _ = sink.send(Message::Close(Some(frame))).await;
            let _ = sink.close().await;
        })
        .await;
    }
    tracing::debug!(%peer, "disconnected");
}

async fn sleep_until_some(clock: &Clock, deadline: Option<Timestamp>) {
    match deadline {
        Some(deadline) => clock.sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
