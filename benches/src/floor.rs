//! The floor: the least a WebSocket server on this machine does per request.
//!
//! Two servers, built from the same pieces as the mock (tokio, tokio-tungstenite, serde_json)
//! and configured like it (the same 2 KiB read buffer, `TCP_NODELAY`), so that whatever the
//! mock costs beyond them is the mock's own doing:
//!
//! - [`Floor::Echo`] sends each text frame back as it came: the cost of WebSocket framing,
//!   the socket and the runtime, and nothing else.
//! - [`Floor::Json`] parses the request, echoes its `id` and serializes a small reply
//!   (`{"id":…,"status":200,"result":{}}`): the least a JSON API can do.
//!
//! Each `start` binds `127.0.0.1:0` on the current tokio runtime and returns the URL and a
//! handle; dropping the handle stops accepting (open connections end when their client
//! closes them).

use std::borrow::Cow;
use std::net::{Ipv4Addr, SocketAddr};

use futures_util::{FutureExt as _, SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

/// The read buffer of every server and client here: the mock's (`server.rs`).
/// tungstenite's default of 128 KiB is zero-filled before each read and held per connection.
pub const READ_BUFFER_SIZE: usize = 1024;

/// Which floor server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Floor {
    /// Echoes each text frame.
    Echo,
    /// Answers each text frame with `{"id":<its id>,"status":200,"result":{}}`.
    Json,
    /// [`Floor::Json`] answering every frame already read, then writing the replies out in
    /// one write: the floor of a server that batches for a pipelining client.
    JsonBatch,
}

/// The WebSocket settings of the floor servers: the mock's.
pub fn websocket_config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(READ_BUFFER_SIZE)
}

/// How a floor server is set up; [`Settings::default`] is the floor every figure is
/// compared with.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Settings {
    /// tungstenite's settings ([`websocket_config`]).
    pub websocket: WebSocketConfig,
    /// Write the replies to every frame already received in one write, rather than one
    /// write per reply. Off for the floor (the mock writes each reply at once); on, it shows
    /// what batching would save under pipelined load.
    pub batch_writes: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            websocket: websocket_config(),
            batch_writes: false,
        }
    }
}

impl Settings {
    /// These settings with another read buffer size, in bytes.
    pub fn read_buffer_size(mut self, bytes: usize) -> Self {
        self.websocket = self.websocket.read_buffer_size(bytes);
        self
    }

    /// These settings with replies batched or not.
    pub fn batch_writes(mut self, batch: bool) -> Self {
        self.batch_writes = batch;
        self
    }
}

/// A running floor server; dropping it stops accepting connections.
#[derive(Debug)]
pub struct FloorServer {
    address: SocketAddr,
    accept: JoinHandle<()>,
}

impl FloorServer {
    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }
}

impl Drop for FloorServer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Starts a floor server on a free loopback port of the current tokio runtime and returns
/// its URL (`ws://127.0.0.1:PORT/ws-api/v3`, the mock's path) and its handle.
///
/// # Errors
/// When no loopback port can be bound.
pub async fn start(floor: Floor) -> std::io::Result<(String, FloorServer)> {
    start_with(floor, Settings::default()).await
}

/// [`start`] with other settings (a read buffer size, batched writes), to see what they
/// would change before the mock adopts them.
///
/// # Errors
/// When no loopback port can be bound.
pub async fn start_with(
    floor: Floor,
    settings: Settings,
) -> std::io::Result<(String, FloorServer)> {
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
    let address = listener.local_addr()?;
    let accept = tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    tokio::spawn(serve(stream, floor, settings));
                }
                // Out of file descriptors, typically: wait for some to close.
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            }
        }
    });
    let url = format!("ws://{address}/ws-api/v3");
    Ok((url, FloorServer { address, accept }))
}

/// [`start`] with [`Floor::Echo`].
///
/// # Errors
/// When no loopback port can be bound.
pub async fn start_echo() -> std::io::Result<(String, FloorServer)> {
    start(Floor::Echo).await
}

/// [`start`] with [`Floor::Json`].
///
/// # Errors
/// When no loopback port can be bound.
pub async fn start_json() -> std::io::Result<(String, FloorServer)> {
    start(Floor::Json).await
}

async fn serve(stream: TcpStream, floor: Floor, settings: Settings) {
    let _ = stream.set_nodelay(true);
    let config = Some(settings.websocket);
    let Ok(mut ws) = tokio_tungstenite::accept_async_with_config(stream, config).await else {
        return;
    };
    let batch = settings.batch_writes || floor == Floor::JsonBatch;
    while let Some(Ok(mut message)) = ws.next().await {
        loop {
            let reply = match message {
                Message::Text(text) => match floor {
                    Floor::Echo => Some(Message::Text(text)),
                    Floor::Json | Floor::JsonBatch => {
                        Some(Message::text(json_reply(text.as_str())))
                    }
                },
                Message::Close(_) => return,
                // tungstenite answers pings itself; nothing else needs a reply.
                _ => None,
            };
            if let Some(reply) = reply {
                if ws.feed(reply).await.is_err() {
                    return;
                }
            }
            if !batch {
                break;
            }
            // The next frame, if it is already here: its reply joins the same write.
            match ws.next().now_or_never() {
                Some(Some(Ok(next))) => message = next,
                Some(_) => {
                    let _ = ws.flush().await;
                    return;
                }
                None => break,
            }
        }
        if ws.flush().await.is_err() {
            return;
        }
    }
}

#[derive(Deserialize)]
struct Request<'a> {
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    // Read, as any API must read it to dispatch; the floor has one answer for every method.
    #[serde(borrow)]
    #[allow(dead_code)]
    method: Cow<'a, str>,
}

#[derive(Serialize)]
struct Reply<'a> {
    id: Option<&'a RawValue>,
    status: u16,
    result: Empty,
}

#[derive(Serialize)]
struct Empty {}

/// The JSON floor's answer to one request: its `id` echoed in
/// `{"id":…,"status":200,"result":{}}`, or status 400 with `"id":null` when the text is not a
/// request. Public so the in-process benchmark can time exactly what the server runs.
pub fn json_reply(request: &str) -> String {
    let (id, status) = match serde_json::from_str::<Request<'_>>(request) {
        Ok(request) => (request.id, 200),
        Err(_) => (None, 400),
    };
    let reply = Reply {
        id,
        status,
        result: Empty {},
    };
    serde_json::to_string(&reply).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_reply_echoes_ids_of_every_type() {
        assert_eq!(
            json_reply(r#"{"id":7,"method":"ping"}"#),
            r#"{"id":7,"status":200,"result":{}}"#
        );
        assert_eq!(
            json_reply(r#"{"id":"a-1","method":"x","params":{"k":[1,2]}}"#),
            r#"{"id":"a-1","status":200,"result":{}}"#
        );
        assert_eq!(
            json_reply("not json"),
            r#"{"id":null,"status":400,"result":{}}"#
        );
    }
}
