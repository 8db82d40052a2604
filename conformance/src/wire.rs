//! One WebSocket connection speaking raw JSON text: what is sent and received is compared as
//! text and JSON, never through a client library's types, so that a serde mistake shared by
//! a client and a server cannot hide.

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a reply may take before the target is deemed not to answer.
pub(crate) const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long to wait for an event the model expects after a reply.
pub(crate) const EVENT_TIMEOUT: Duration = Duration::from_secs(3);

/// Why connecting failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ConnectError {
    /// The server answered the upgrade request with an HTTP error (spec §1.2).
    Refused { status: u16, body: String },
    /// No WebSocket connection could be made.
    Transport(String),
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectError::Refused { status, body } => {
                write!(f, "handshake refused with HTTP {status}: {body}")
            }
            ConnectError::Transport(e) => write!(f, "cannot connect: {e}"),
        }
    }
}

/// What came instead of an expected frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum WireError {
    /// Nothing within the time allowed.
    Timeout,
    /// The connection ended (close frame or transport error).
    Closed(String),
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WireError::Timeout => write!(f, "nothing arrived in time"),
            WireError::Closed(why) => write!(f, "the connection ended: {why}"),
        }
    }
}

/// A frame the server sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Incoming {
    /// A reply: a JSON object with an `id` member (or text that is not JSON at all).
    Reply(String),
    /// An event: a JSON object without `id` (`eventStreamTerminated`, `serverShutdown`...).
    Event(String),
}

/// One connection.
pub(crate) struct Wire {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Events read while looking for a reply, not yet taken.
    events: VecDeque<String>,
}

impl Wire {
    /// Connects to `url`.
    pub async fn connect(url: &str) -> Result<Wire, ConnectError> {
        let attempt = tokio::time::timeout(REPLY_TIMEOUT, tokio_tungstenite::connect_async(url));
        match attempt.await {
            Err(_) => Err(ConnectError::Transport(
                "the handshake timed out".to_owned(),
            )),
            Ok(Ok((ws, _))) => Ok(Wire {
                ws,
                events: VecDeque::new(),
            }),
            Ok(Err(WsError::Http(response))) => Err(ConnectError::Refused {
                status: response.status().as_u16(),
                body: response
                    .body()
                    .as_ref()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default(),
            }),
            Ok(Err(e)) => Err(ConnectError::Transport(e.to_string())),
        }
    }

    /// Sends one text frame.
    pub async fn send_text(&mut self, text: &str) -> Result<(), WireError> {
        self.send(Message::text(text)).await
    }

    /// Sends one binary frame.
    pub async fn send_binary(&mut self, bytes: &[u8]) -> Result<(), WireError> {
        self.send(Message::binary(bytes.to_vec())).await
    }

    async fn send(&mut self, message: Message) -> Result<(), WireError> {
        match tokio::time::timeout(REPLY_TIMEOUT, self.ws.send(message)).await {
            Err(_) => Err(WireError::Timeout),
            Ok(Err(e)) => Err(WireError::Closed(e.to_string())),
            Ok(Ok(())) => Ok(()),
        }
    }

    /// The next text frame, classified; pings are answered by the library as they are read.
    async fn next_frame(&mut self, wait: Duration) -> Result<Incoming, WireError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let next = tokio::time::timeout_at(deadline, self.ws.next()).await;
            match next {
                Err(_) => return Err(WireError::Timeout),
                Ok(None) => return Err(WireError::Closed("end of stream".to_owned())),
                Ok(Some(Err(e))) => return Err(WireError::Closed(e.to_string())),
                Ok(Some(Ok(Message::Text(text)))) => return Ok(classify(text.as_str())),
                Ok(Some(Ok(Message::Close(frame)))) => {
                    let why = frame.map_or_else(
                        || "close frame without a code".to_owned(),
                        |f| format!("close {} {}", u16::from(f.code), f.reason),
                    );
                    return Err(WireError::Closed(why));
                }
                Ok(Some(Ok(Message::Binary(bytes)))) => {
                    return Ok(Incoming::Reply(format!(
                        "<binary frame of {} bytes>",
                        bytes.len()
                    )))
                }
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// The next reply, with every event that arrived before it (in order).
    pub async fn reply(&mut self) -> Result<(Vec<String>, String), WireError> {
        let mut before = Vec::new();
        before.extend(self.events.drain(..));
        loop {
            match self.next_frame(REPLY_TIMEOUT).await? {
                Incoming::Reply(text) => return Ok((before, text)),
                Incoming::Event(text) => before.push(text),
            }
        }
    }

    /// The next event, waiting at most `wait`. A reply that arrives instead is returned as
    /// an error description, since no reply is due.
    pub async fn event(&mut self, wait: Duration) -> Result<String, WireError> {
        if let Some(event) = self.events.pop_front() {
            return Ok(event);
        }
        match self.next_frame(wait).await? {
            Incoming::Event(text) => Ok(text),
            Incoming::Reply(text) => Err(WireError::Closed(format!(
                "a reply arrived where an event was due: {text}"
            ))),
        }
    }

    /// The close frame's code and reason, once the server closes, within `wait`.
    pub async fn closed(&mut self, wait: Duration) -> Result<String, WireError> {
        match self.next_frame(wait).await {
            Err(WireError::Closed(why)) => Ok(why),
            Err(WireError::Timeout) => Err(WireError::Timeout),
            Ok(frame) => Err(WireError::Closed(format!(
                "a frame arrived instead of a close: {frame:?}"
            ))),
        }
    }

    /// Closes the connection politely, without waiting long for the server's answer.
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(1), self.ws.close(None)).await;
    }
}

/// How an upgrade request went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Handshake {
    /// `101 Switching Protocols`.
    Accepted,
    /// Refused with this HTTP status and body.
    Refused { status: u16, body: String },
}

/// Sends an upgrade request to `url` and reads the whole response, body included: for
/// handshakes expected to be refused. A WebSocket library hands back only the part of a
/// refusal's body that arrived with its head; over `ws://` this reads it by hand, to its
/// `Content-Length` (over `wss://` the library's reading is all there is).
pub(crate) async fn handshake(url: &str) -> Result<Handshake, String> {
    let Some(rest) = url.strip_prefix("ws://") else {
        return match Wire::connect(url).await {
            Ok(wire) => {
                wire.close().await;
                Ok(Handshake::Accepted)
            }
            Err(ConnectError::Refused { status, body }) => Ok(Handshake::Refused { status, body }),
            Err(ConnectError::Transport(e)) => Err(e),
        };
    };
    let (authority, path) = match rest.find('/') {
        Some(slash) => rest.split_at(slash),
        None => (rest, "/"),
    };
    let exchange = async {
        let mut stream = TcpStream::connect(authority)
            .await
            .map_err(|e| format!("cannot connect to {authority}: {e}"))?;
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\n\r\n"
        );
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let byte = stream
                .read_u8()
                .await
                .map_err(|e| format!("reading the response head: {e}"))?;
            head.push(byte);
        }
        let head = String::from_utf8_lossy(&head).into_owned();
        let status: u16 = head
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| format!("no status line in {head:?}"))?;
        if status == 101 {
            return Ok(Handshake::Accepted);
        }
        let length = head
            .lines()
            .filter_map(|line| line.split_once(':'))
            .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
            .and_then(|(_, value)| value.trim().parse::<usize>().ok());
        let mut body = Vec::new();
        match length {
            Some(length) => {
                body.resize(length, 0);
                stream
                    .read_exact(&mut body)
                    .await
                    .map_err(|e| format!("reading a body of {length} bytes: {e}"))?;
            }
            None => {
                let _ = stream.read_to_end(&mut body).await;
            }
        }
        Ok(Handshake::Refused {
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    };
    tokio::time::timeout(REPLY_TIMEOUT, exchange)
        .await
        .map_err(|_| "the handshake timed out".to_owned())?
}

fn classify(text: &str) -> Incoming {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(map)) if !map.contains_key("id") => {
            Incoming::Event(text.to_owned())
        }
        _ => Incoming::Reply(text.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_without_an_id_are_events() {
        assert_eq!(
            classify(r#"{"subscriptionId":0,"event":{"e":"eventStreamTerminated","E":1}}"#),
            Incoming::Event(
                r#"{"subscriptionId":0,"event":{"e":"eventStreamTerminated","E":1}}"#.to_owned()
            )
        );
        assert!(matches!(
            classify(r#"{"id":null,"status":401}"#),
            Incoming::Reply(_)
        ));
        assert!(matches!(classify("not json"), Incoming::Reply(_)));
    }
}
