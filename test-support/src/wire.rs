//! One WebSocket connection speaking raw JSON text: what is sent and received is compared as
//! text and JSON, never through a client library's types, so that a serde mistake shared by
//! a client and a server cannot hide.

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::handshake::client::generate_key;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use url::{Position, Url};

/// How long a reply may take before the target is deemed not to answer.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long to wait for an event the model expects after a reply.
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(3);

/// Why connecting failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectError {
    /// The server answered the upgrade request with an HTTP error (spec §1.2).
    Refused {
        /// The HTTP status.
        status: u16,
        /// The body, as much of it as the WebSocket library read.
        body: String,
    },
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
pub enum WireError {
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
pub enum Incoming {
    /// A reply: a JSON object with an `id` member (or text that is not JSON at all).
    Reply(String),
    /// An event: a JSON object without `id` (`eventStreamTerminated`, `serverShutdown`...).
    Event(String),
}

/// One connection.
pub struct Wire {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Events read while looking for a reply, not yet taken.
    events: VecDeque<String>,
}

impl Wire {
    /// Connects to `url`.
    pub async fn connect(url: &str) -> Result<Wire, ConnectError> {
        // Normalised first: the WebSocket library would send `GET ?x` for `ws://h:1?x`.
        let url = parse(url).map_err(ConnectError::Transport)?;
        let attempt = tokio::time::timeout(
            REPLY_TIMEOUT,
            tokio_tungstenite::connect_async(url.as_str()),
        );
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
pub enum Handshake {
    /// `101 Switching Protocols`.
    Accepted,
    /// Refused with this HTTP status and body.
    Refused {
        /// The HTTP status.
        status: u16,
        /// The whole body.
        body: String,
    },
}

/// `url` parsed as a WebSocket URL: `ws://` or `wss://`, with a host.
fn parse(url: &str) -> Result<Url, String> {
    let parsed = Url::parse(url).map_err(|e| format!("not a URL ({e}): {url}"))?;
    match parsed.scheme() {
        "ws" | "wss" if parsed.has_host() => Ok(parsed),
        "ws" | "wss" => Err(format!("no host in {url}")),
        other => Err(format!("not a WebSocket URL (scheme {other}): {url}")),
    }
}

/// Sends an upgrade request to `url` and reads the whole response, body included: for
/// handshakes expected to be refused. A WebSocket library hands back only the part of a
/// refusal's body that arrived with its head; over `ws://` this reads it by hand, to its
/// `Content-Length` (over `wss://` the library's reading is all there is).
pub async fn handshake(url: &str) -> Result<Handshake, String> {
    let parsed = parse(url)?;
    if parsed.scheme() != "ws" {
        return match Wire::connect(url).await {
            Ok(wire) => {
                wire.close().await;
                Ok(Handshake::Accepted)
            }
            Err(ConnectError::Refused { status, body }) => Ok(Handshake::Refused { status, body }),
            Err(ConnectError::Transport(e)) => Err(e),
        };
    }
    let response = timed_upgrade(&parsed).await?;
    Ok(match response.status {
        101 => Handshake::Accepted,
        status => Handshake::Refused {
            status,
            body: response.body,
        },
    })
}

/// The text of a WebSocket upgrade request (RFC 6455 §4.1) for `target` (path and query) on
/// `authority` (the `Host` header), with this `Sec-WebSocket-Key`.
pub fn upgrade_request(authority: &str, target: &str, key: &str) -> String {
    format!(
        "GET {target} HTTP/1.1\r\nHost: {authority}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n"
    )
}

/// The response to an upgrade request, read by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeResponse {
    /// The HTTP status.
    pub status: u16,
    /// The response head as sent, status line and headers, without the blank line.
    pub head: String,
    /// The body (empty after a `101`), to its `Content-Length` or to the end of the stream.
    pub body: String,
}

/// Sends an upgrade request to the `ws://` `url` and reads the response, head and whole
/// body: for tests of refused handshakes that look at headers as well.
///
/// # Errors
/// A description when `url` is not a `ws://` URL, no connection could be made, the response
/// is not HTTP, or it did not arrive within [`REPLY_TIMEOUT`].
pub async fn upgrade(url: &str) -> Result<UpgradeResponse, String> {
    let parsed = parse(url)?;
    if parsed.scheme() != "ws" {
        return Err(format!("only ws:// is read by hand: {url}"));
    }
    timed_upgrade(&parsed).await
}

async fn timed_upgrade(url: &Url) -> Result<UpgradeResponse, String> {
    tokio::time::timeout(REPLY_TIMEOUT, raw_upgrade(url))
        .await
        .map_err(|_| "the handshake timed out".to_owned())?
}

async fn raw_upgrade(url: &Url) -> Result<UpgradeResponse, String> {
    // `parse` made sure of a host; the port is the scheme's unless given.
    let host = url.host_str().unwrap_or_default();
    let port = url.port_or_known_default().unwrap_or(80);
    // As written in the URL (a default port left out), for the `Host` header.
    let authority = &url[Position::BeforeHost..Position::AfterPort];
    let target = &url[Position::BeforePath..Position::AfterQuery];
    // An IPv6 host is written in brackets, which a socket address does not take.
    let mut stream = TcpStream::connect((host.trim_matches(['[', ']']), port))
        .await
        .map_err(|e| format!("cannot connect to {authority}: {e}"))?;
    let request = upgrade_request(authority, target, &generate_key());
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let (status, head, length, mut body) = read_head(&mut stream).await?;
    if status == 101 {
        return Ok(UpgradeResponse {
            status,
            head,
            body: String::new(),
        });
    }
    match length {
        Some(length) if body.len() < length => {
            let mut rest = vec![0; length - body.len()];
            stream
                .read_exact(&mut rest)
                .await
                .map_err(|e| format!("reading a body of {length} bytes: {e}"))?;
            body.extend(rest);
        }
        Some(length) => body.truncate(length),
        None => {
            let _ = stream.read_to_end(&mut body).await;
        }
    }
    Ok(UpgradeResponse {
        status,
        head,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// The largest response head read by hand; a longer one is not a WebSocket server's.
const MAX_HEAD: usize = 16 * 1024;

/// Reads a response head: its status, its text, its `Content-Length` if any, and the bytes of
/// the body that came with it.
async fn read_head(
    stream: &mut TcpStream,
) -> Result<(u16, String, Option<usize>, Vec<u8>), String> {
    let mut buffer = Vec::with_capacity(1024);
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut headers);
        match response.parse(&buffer) {
            Ok(httparse::Status::Complete(head_len)) => {
                let status = response
                    .code
                    .ok_or_else(|| "a response head without a status".to_owned())?;
                let length = response
                    .headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                    .and_then(|h| std::str::from_utf8(h.value).ok())
                    .and_then(|v| v.trim().parse::<usize>().ok());
                let rest = buffer.split_off(head_len);
                let head = String::from_utf8_lossy(&buffer);
                let head = head.trim_end_matches("\r\n").to_owned();
                return Ok((status, head, length, rest));
            }
            Ok(httparse::Status::Partial) if buffer.len() < MAX_HEAD => {}
            Ok(httparse::Status::Partial) => {
                return Err(format!("a response head longer than {MAX_HEAD} bytes"))
            }
            Err(e) => {
                let head = String::from_utf8_lossy(&buffer);
                return Err(format!("a malformed response head ({e}): {head:?}"));
            }
        }
        let read = stream
            .read_buf(&mut buffer)
            .await
            .map_err(|e| format!("reading the response head: {e}"))?;
        if read == 0 {
            let head = String::from_utf8_lossy(&buffer);
            return Err(format!(
                "the connection ended within the response head: {head:?}"
            ));
        }
    }
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
    use std::future::Future;
    use std::net::SocketAddr;

    use tokio::net::TcpListener;
    use tokio::task::JoinHandle;

    use super::*;

    /// A server that reads one request head, answers `response` and closes; its task gives
    /// back the request line.
    async fn answers_once(response: &'static str) -> (SocketAddr, JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let address = listener.local_addr().expect("bound");
        let task = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.expect("a client");
            let mut head = Vec::new();
            while !head.ends_with(b"\r\n\r\n") {
                head.push(stream.read_u8().await.expect("a request head"));
            }
            stream
                .write_all(response.as_bytes())
                .await
                .expect("the response written");
            let head = String::from_utf8_lossy(&head).into_owned();
            head.lines().next().unwrap_or_default().to_owned()
        });
        (address, task)
    }

    async fn request_line(task: JoinHandle<String>) -> String {
        tokio::time::timeout(REPLY_TIMEOUT, task)
            .await
            .expect("the server answered in time")
            .expect("the server task ran")
    }

    const REFUSAL: &str = "HTTP/1.1 400 Bad Request\r\nContent-Length: 5\r\n\r\nhello, and more";

    /// What `client` gets for `ws://{address}{rest}` from a server that answers `response`
    /// once, and the request line that server read.
    async fn against<T, F>(
        response: &'static str,
        rest: &str,
        client: impl FnOnce(String) -> F,
    ) -> (T, String)
    where
        F: Future<Output = T>,
    {
        let (address, server) = answers_once(response).await;
        let outcome = client(format!("ws://{address}{rest}")).await;
        (outcome, request_line(server).await)
    }

    fn refused(status: u16, body: &str) -> Result<Handshake, String> {
        Ok(Handshake::Refused {
            status,
            body: body.to_owned(),
        })
    }

    #[tokio::test]
    async fn a_query_after_a_port_with_no_path_is_sent_after_the_root_path() {
        let (outcome, line) =
            against(REFUSAL, "?x=1", |url| async move { handshake(&url).await }).await;
        assert_eq!(line, "GET /?x=1 HTTP/1.1");
        assert_eq!(outcome, refused(400, "hello"));
    }

    #[tokio::test]
    async fn a_connection_sends_the_same_target_for_a_query_without_a_path() {
        let (outcome, line) = against(
            REFUSAL,
            "?x=1",
            |url| async move { Wire::connect(&url).await },
        )
        .await;
        assert_eq!(line, "GET /?x=1 HTTP/1.1");
        assert!(
            matches!(outcome, Err(ConnectError::Refused { status: 400, .. })),
            "{:?}",
            outcome.err()
        );
    }

    #[tokio::test]
    async fn a_refusal_without_content_length_has_the_body_up_to_the_close() {
        let response = "HTTP/1.1 429 Too Many Requests\r\n\r\n{\"code\":-1003}";
        let (outcome, line) = against(response, "/ws-api/v3?a=b", |url| async move {
            handshake(&url).await
        })
        .await;
        assert_eq!(line, "GET /ws-api/v3?a=b HTTP/1.1");
        assert_eq!(outcome, refused(429, r#"{"code":-1003}"#));
    }

    #[tokio::test]
    async fn an_upgrade_gives_the_head_as_sent_and_the_body_to_its_length() {
        let (response, line) = against(
            REFUSAL,
            "/ws-api/v3",
            |url| async move { upgrade(&url).await },
        )
        .await;
        assert_eq!(line, "GET /ws-api/v3 HTTP/1.1");
        assert_eq!(
            response,
            Ok(UpgradeResponse {
                status: 400,
                head: "HTTP/1.1 400 Bad Request\r\nContent-Length: 5".to_owned(),
                body: "hello".to_owned(),
            })
        );
    }

    #[tokio::test]
    async fn only_websocket_urls_with_a_host_are_taken() {
        for (url, why) in [
            ("http://h/ws-api/v3", "scheme http"),
            ("ws-api/v3", "not a URL"),
        ] {
            match handshake(url).await {
                Err(e) => assert!(e.contains(why), "{url}: {e}"),
                Ok(outcome) => panic!("{url}: {outcome:?}"),
            }
        }
    }

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
