//! Helpers shared by the integration tests: a server on a frozen clock, a WebSocket client
//! that speaks raw JSON text, a hand-made client that never answers pings, signing, and the
//! exact reply fragments the tests compare against.
//!
//! Every await that could hang is bounded by [`within`], so a broken server fails a test
//! instead of hanging the run.

// Each test file uses a different subset of these helpers.
#![allow(dead_code)]

pub mod admin;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use ed25519_dalek::pkcs8::DecodePrivateKey;
use ed25519_dalek::SigningKey;
use futures_util::{SinkExt, StreamExt};
use mock_server::{demo, Clock, MockServer, MockServerBuilder, Timestamp};
use serde_json::Value;
use test_support::signer::KeyPair;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The instant frozen clocks start at, in milliseconds: 2023-11-14T22:13:20Z.
pub const T0: i64 = 1_700_000_000_000;

/// The end of the calendar minute that holds [`T0`]: the `retryAfter` of a 429 at `T0`.
pub const T0_MINUTE_END: i64 = 1_700_000_040_000;

/// How long any single step may take before the test fails.
pub const STEP: Duration = Duration::from_secs(5);

/// Awaits `future`, failing the test if it takes longer than [`STEP`].
pub async fn within<F: Future>(future: F) -> F::Output {
    match tokio::time::timeout(STEP, future).await {
        Ok(output) => output,
        Err(_) => panic!("step did not finish within {STEP:?}"),
    }
}

/// A builder whose clock is frozen at [`T0`].
pub fn frozen_builder() -> MockServerBuilder {
    MockServer::builder().clock(Clock::frozen_at(Timestamp::from_millis(T0)))
}

/// Starts `builder`, failing the test if it cannot.
pub async fn start(builder: MockServerBuilder) -> MockServer {
    within(builder.start()).await.expect("mock server starts")
}

/// A server with default settings on a clock frozen at [`T0`].
pub async fn frozen_server() -> MockServer {
    start(frozen_builder()).await
}

// ---------------------------------------------------------------------------------------------
// Keys and signing

/// An Ed25519 API key made from a fixed seed.
pub struct TestKey {
    pub api_key: String,
    pub signing: SigningKey,
}

impl TestKey {
    /// A key named `api_key` (letters and digits) whose private key is `[seed; 32]`.
    pub fn from_seed(api_key: &str, seed: u8) -> TestKey {
        TestKey {
            api_key: api_key.to_owned(),
            signing: SigningKey::from_bytes(&[seed; 32]),
        }
    }

    /// The built-in demo key every server registers unless told not to.
    pub fn demo() -> TestKey {
        TestKey {
            api_key: demo::API_KEY.to_owned(),
            signing: SigningKey::from_pkcs8_pem(demo::PRIVATE_KEY_PEM)
                .expect("the demo private key is valid PKCS#8 PEM"),
        }
    }

    /// Registers this key on `builder`.
    pub fn register(&self, builder: MockServerBuilder) -> MockServerBuilder {
        builder.ed25519_key(&self.api_key, self.signing.verifying_key())
    }

    /// This key as the shared signer's key pair.
    pub fn pair(&self) -> KeyPair {
        KeyPair::ed25519(&self.api_key, self.signing.clone())
    }

    /// The base64 Ed25519 signature of `payload`.
    pub fn sign(&self, payload: &str) -> String {
        self.pair().sign(payload)
    }

    /// A `params` object holding `params` (name and raw JSON text, in the order sent) and a
    /// `signature` over the documented payload (`test_support::signer::payload`).
    pub fn signed_params(&self, params: &[(&str, &str)]) -> String {
        self.pair().signed_params(params)
    }

    /// A `params` object holding `params` and then `"signature": signature`.
    pub fn params_with_signature(&self, params: &[(&str, &str)], signature: &str) -> String {
        test_support::signer::params_with_signature(params, signature)
    }

    /// `session.logon` params for this key at `timestamp_ms`, in the documented order of
    /// the docs' example: `apiKey`, `signature`, `timestamp`.
    pub fn logon_params(&self, timestamp_ms: i64) -> String {
        let payload = format!("apiKey={}&timestamp={timestamp_ms}", self.api_key);
        format!(
            r#"{{"apiKey":"{}","signature":"{}","timestamp":{timestamp_ms}}}"#,
            self.api_key,
            self.sign(&payload)
        )
    }

    /// A whole `session.logon` request with the raw JSON `id`, signed at `timestamp_ms`.
    pub fn logon(&self, id: &str, timestamp_ms: i64) -> String {
        format!(
            r#"{{"id":{id},"method":"session.logon","params":{}}}"#,
            self.logon_params(timestamp_ms)
        )
    }
}

/// The hex HMAC-SHA256 signature of `payload` with `secret` (spec §3.2).
pub fn hmac_sign(secret: &str, payload: &str) -> String {
    test_support::signer::hmac_sha256_hex(secret.as_bytes(), payload)
}

/// The payload the docs prescribe for `params` given as (name, raw JSON text).
pub fn raw_payload(params: &[(&str, &str)]) -> String {
    test_support::signer::payload(params)
}

// ---------------------------------------------------------------------------------------------
// Expected reply fragments

/// The `rateLimits` member of a reply with this `count`, under the default limit of 6000.
pub fn weight(count: u32) -> String {
    weight_under(count, 6000)
}

/// The `rateLimits` member of a reply with this `count` and `limit`.
pub fn weight_under(count: u32, limit: u32) -> String {
    format!(
        r#","rateLimits":[{{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":{limit},"count":{count}}}]"#
    )
}

/// The result object of `session.logon`, `.status` and `.logout` (spec §4.1), as written.
pub fn session_result(
    logon: Option<(&str, i64)>,
    connected_since: i64,
    return_rate_limits: bool,
    server_time: i64,
) -> String {
    let (api_key, authorized_since) = match logon {
        Some((key, since)) => (format!("\"{key}\""), since.to_string()),
        None => ("null".to_owned(), "null".to_owned()),
    };
    format!(
        r#"{{"apiKey":{api_key},"authorizedSince":{authorized_since},"connectedSince":{connected_since},"returnRateLimits":{return_rate_limits},"serverTime":{server_time},"userDataStream":false}}"#
    )
}

/// A whole error reply without `rateLimits`. Fails the test unless the error is a row of
/// the golden table (`test_support::errors`).
pub fn error_reply(id: &str, status: u16, code: i32, msg: &str) -> String {
    let row = test_support::errors::find(code, msg);
    assert!(
        row.is_some_and(|row| row.status == status),
        "({status}, {code}, {msg:?}) is not in the golden error table"
    );
    let error = test_support::errors::ApiError {
        status,
        code,
        msg: msg.to_owned(),
    };
    error.reply(id, "")
}

/// A `ping` request that asks for no `rateLimits`, and its exact reply: a cheap way to show
/// a connection still works.
pub const QUIET_PING: &str =
    r#"{"id":"still-there","method":"ping","params":{"returnRateLimits":false}}"#;
pub const QUIET_PING_REPLY: &str = r#"{"id":"still-there","status":200,"result":{}}"#;

// ---------------------------------------------------------------------------------------------
// A WebSocket client speaking raw text

/// A tokio-tungstenite client that sends and receives JSON as raw text. It answers the
/// server's pings whenever it reads or flushes, as any well-behaved client does.
pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    /// Connects to the server's `/ws-api/v3`.
    pub async fn connect(server: &MockServer) -> Client {
        Client::connect_url(&server.url()).await
    }

    /// Connects to `/ws-api/v3` with a query string (without the `?`).
    pub async fn connect_with_query(server: &MockServer, query: &str) -> Client {
        Client::connect_url(&format!("{}?{query}", server.url())).await
    }

    /// Connects to `url`.
    pub async fn connect_url(url: &str) -> Client {
        let (ws, _) = within(tokio_tungstenite::connect_async(url))
            .await
            .expect("WebSocket handshake succeeds");
        Client { ws }
    }

    /// Sends one text frame.
    pub async fn send(&mut self, text: &str) {
        within(self.ws.send(Message::text(text)))
            .await
            .expect("text frame sent");
    }

    /// Sends one frame of any kind.
    pub async fn send_message(&mut self, message: Message) {
        within(self.ws.send(message)).await.expect("frame sent");
    }

    /// Writes out anything queued, such as the pong for a ping already read.
    pub async fn flush(&mut self) {
        within(self.ws.flush()).await.expect("flushed");
    }

    /// The next message of any kind; `None` once the connection is over.
    pub async fn next_message(&mut self) -> Option<Message> {
        match within(self.ws.next()).await {
            Some(Ok(message)) => Some(message),
            Some(Err(_)) | None => None,
        }
    }

    /// The next text frame, skipping pings and pongs. Fails the test on anything else.
    pub async fn recv(&mut self) -> String {
        loop {
            match self.next_message().await {
                Some(Message::Text(text)) => return text.as_str().to_owned(),
                Some(Message::Ping(_) | Message::Pong(_)) => continue,
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// Sends `text` and returns the reply.
    pub async fn request(&mut self, text: &str) -> String {
        self.send(text).await;
        self.recv().await
    }

    /// Sends `text` and returns the reply parsed as JSON.
    pub async fn request_json(&mut self, text: &str) -> Value {
        let reply = self.request(text).await;
        serde_json::from_str(&reply).expect("reply is JSON")
    }

    /// Fails the test unless the connection still answers requests.
    pub async fn assert_usable(&mut self) {
        assert_eq!(self.request(QUIET_PING).await, QUIET_PING_REPLY);
    }
}

// ---------------------------------------------------------------------------------------------
// A hand-made client: the HTTP upgrade and frames written and parsed by hand

/// A frame as the server sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub opcode: u8,
    pub payload: Vec<u8>,
}

pub const OP_TEXT: u8 = 0x1;
pub const OP_BINARY: u8 = 0x2;
pub const OP_CLOSE: u8 = 0x8;
pub const OP_PING: u8 = 0x9;
pub const OP_PONG: u8 = 0xA;

impl Frame {
    /// The close code and reason of a close frame.
    pub fn close(&self) -> (u16, String) {
        assert_eq!(self.opcode, OP_CLOSE, "not a close frame: {self:?}");
        assert!(self.payload.len() >= 2, "close frame without a code");
        let code = u16::from_be_bytes([self.payload[0], self.payload[1]]);
        let reason = String::from_utf8(self.payload[2..].to_vec()).expect("UTF-8 close reason");
        (code, reason)
    }
}

/// A WebSocket client with no library underneath: it never answers a ping unless told to.
pub struct RawClient {
    stream: TcpStream,
}

/// A fixed key is fine: the server only echoes its digest.
const SEC_WEBSOCKET_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

fn upgrade_request(address: SocketAddr, path_and_query: &str) -> String {
    test_support::wire::upgrade_request(&address.to_string(), path_and_query, SEC_WEBSOCKET_KEY)
}

impl RawClient {
    /// Connects to the server's `/ws-api/v3` and completes the upgrade.
    pub async fn connect(server: &MockServer) -> RawClient {
        let mut stream = within(TcpStream::connect(server.address()))
            .await
            .expect("TCP connect");
        let request = upgrade_request(server.address(), mock_server::PATH);
        within(stream.write_all(request.as_bytes()))
            .await
            .expect("upgrade request sent");
        // Read the response head byte by byte, so no frame byte is taken with it.
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let byte = within(stream.read_u8()).await.expect("upgrade response");
            head.push(byte);
        }
        let head = String::from_utf8(head).expect("ASCII response head");
        assert!(head.starts_with("HTTP/1.1 101"), "upgrade refused:\n{head}");
        assert!(
            // The digest of the fixed key, from RFC 6455 §1.3.
            head.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
            "wrong Sec-WebSocket-Accept:\n{head}"
        );
        RawClient { stream }
    }

    /// The next frame, or `None` at end of stream.
    pub async fn read_frame(&mut self) -> Option<Frame> {
        let mut header = [0u8; 2];
        match within(self.stream.read_exact(&mut header)).await {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return None,
            Err(e) => panic!("reading a frame header: {e}"),
        }
        assert_eq!(header[0] & 0x80, 0x80, "fragmented frames are not expected");
        assert_eq!(header[1] & 0x80, 0, "server frames must not be masked");
        let length = match header[1] & 0x7F {
            126 => u64::from(within(self.stream.read_u16()).await.expect("16-bit length")),
            127 => within(self.stream.read_u64()).await.expect("64-bit length"),
            short => u64::from(short),
        };
        let mut payload = vec![0u8; usize::try_from(length).expect("frame fits in memory")];
        within(self.stream.read_exact(&mut payload))
            .await
            .expect("frame payload");
        Some(Frame {
            opcode: header[0] & 0x0F,
            payload,
        })
    }

    /// Writes one final, masked frame.
    pub async fn write_frame(&mut self, opcode: u8, payload: &[u8]) {
        self.write_bytes(&masked_frame(opcode, payload)).await;
    }

    /// Writes `bytes` as they are, in one write: several frames back to back arrive together.
    pub async fn write_bytes(&mut self, bytes: &[u8]) {
        within(self.stream.write_all(bytes))
            .await
            .expect("bytes written");
    }

    /// Sends a text frame and returns the next text frame, failing on anything but pings.
    pub async fn request(&mut self, text: &str) -> String {
        self.write_frame(OP_TEXT, text.as_bytes()).await;
        loop {
            let frame = self.read_frame().await.expect("a reply before EOF");
            match frame.opcode {
                OP_TEXT => return String::from_utf8(frame.payload).expect("UTF-8 text frame"),
                OP_PING => continue,
                _ => panic!("expected a text frame, got {frame:?}"),
            }
        }
    }

    /// Fails the test unless the connection still answers requests.
    pub async fn assert_usable(&mut self) {
        assert_eq!(self.request(QUIET_PING).await, QUIET_PING_REPLY);
    }
}

/// One final text or control frame as a client writes it: masked (RFC 6455 §5.3).
pub fn masked_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x37, 0xFA, 0x21, 0x3D];
    let mut frame = vec![0x80 | opcode];
    match payload.len() {
        n if n < 126 => frame.push(0x80 | u8::try_from(n).expect("short length")),
        n if n <= usize::from(u16::MAX) => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&u16::try_from(n).expect("16-bit length").to_be_bytes());
        }
        n => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&u64::try_from(n).expect("64-bit length").to_be_bytes());
        }
    }
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

/// An HTTP response to an upgrade request the server refused: status, head and whole body.
pub type HttpRefusal = test_support::wire::UpgradeResponse;

/// Sends an upgrade request for `path_and_query` and reads the response, head and whole
/// body, for handshakes the server is expected to refuse.
pub async fn refused_upgrade(server: &MockServer, path_and_query: &str) -> HttpRefusal {
    let url = format!("ws://{}{path_and_query}", server.address());
    test_support::wire::upgrade(&url)
        .await
        .unwrap_or_else(|e| panic!("an HTTP response to the upgrade of {url}: {e}"))
}

// ---------------------------------------------------------------------------------------------
// Who a client is to the server, how its connection ended, and silence

/// How a connection ended, as its client saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// A Close frame with this code (1005 when it had none) and reason.
    Closed(u16, String),
    /// The stream ended (or was reset) without a Close frame.
    Cut,
}

impl Client {
    /// The client's end of the TCP connection: the `peer` the server sees.
    pub fn local_addr(&self) -> SocketAddr {
        match self.ws.get_ref() {
            MaybeTlsStream::Plain(stream) => stream.local_addr().expect("a local address"),
            _ => panic!("a plain TCP stream"),
        }
    }

    /// Reads to the end of the connection, skipping pings and pongs: the text frames that
    /// came first, and how it ended. Fails the test if it does not end within [`STEP`].
    pub async fn ending(&mut self) -> (Vec<String>, Ending) {
        let mut texts = Vec::new();
        loop {
            match self.next_message().await {
                Some(Message::Text(text)) => texts.push(text.as_str().to_owned()),
                Some(Message::Ping(_) | Message::Pong(_)) => continue,
                Some(Message::Close(frame)) => {
                    let ending = match frame {
                        Some(frame) => {
                            Ending::Closed(u16::from(frame.code), frame.reason.to_string())
                        }
                        None => Ending::Closed(1005, String::new()),
                    };
                    // Nothing but the end of the stream may follow a Close frame.
                    assert!(self.next_message().await.is_none(), "a frame after Close");
                    return (texts, ending);
                }
                Some(other) => panic!("unexpected frame {other:?}"),
                None => return (texts, Ending::Cut),
            }
        }
    }

    /// Fails the test if anything at all arrives within `quiet` (real time). For proving
    /// that nothing comes where no later frame can show it, such as on a stalled connection.
    pub async fn assert_silent_for(&mut self, quiet: Duration) {
        if let Ok(next) = tokio::time::timeout(quiet, self.ws.next()).await {
            panic!("expected silence for {quiet:?}, got {next:?}");
        }
    }
}

impl RawClient {
    /// The client's end of the TCP connection: the `peer` the server sees.
    pub fn local_addr(&self) -> SocketAddr {
        self.stream.local_addr().expect("a local address")
    }

    /// Reads frames until the stream ends or is reset; the frames read. Fails the test if
    /// it does not end within [`STEP`].
    pub async fn frames_until_end(&mut self) -> Vec<Frame> {
        let mut frames = Vec::new();
        loop {
            let mut header = [0u8; 2];
            if within(self.stream.read_exact(&mut header)).await.is_err() {
                return frames;
            }
            let length = match header[1] & 0x7F {
                126 => match within(self.stream.read_u16()).await {
                    Ok(length) => u64::from(length),
                    Err(_) => return frames,
                },
                127 => match within(self.stream.read_u64()).await {
                    Ok(length) => length,
                    Err(_) => return frames,
                },
                short => u64::from(short),
            };
            let mut payload = vec![0u8; usize::try_from(length).expect("frame fits in memory")];
            if within(self.stream.read_exact(&mut payload)).await.is_err() {
                return frames;
            }
            frames.push(Frame {
                opcode: header[0] & 0x0F,
                payload,
            });
        }
    }

    /// Fails the test if any byte arrives, or the stream ends, within `quiet` (real time).
    pub async fn assert_silent_for(&mut self, quiet: Duration) {
        let mut byte = [0u8; 1];
        if let Ok(read) = tokio::time::timeout(quiet, self.stream.read(&mut byte)).await {
            panic!(
                "expected silence for {quiet:?}, got {read:?} (byte {:#04x})",
                byte[0]
            );
        }
    }
}
