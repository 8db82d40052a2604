//! A minimal async client for the Binance Spot WebSocket API (`/ws-api/v3`): the mock in
//! this workspace, or the real thing.
//!
//! # Quick start
//!
//! ```
//! use mock_server::{demo, Clock, MockServer, Timestamp};
//! use ws_client::{Client, Signer};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A mock on a frozen clock; or any endpoint, e.g. "ws://127.0.0.1:9443/ws-api/v3".
//! let server = MockServer::builder()
//!     .clock(Clock::frozen_at(Timestamp::from_millis(1_700_000_000_000)))
//!     .start()
//!     .await?;
//! let client = Client::builder(&server.url())
//!     .credentials(demo::API_KEY, Signer::ed25519_from_pem(demo::PRIVATE_KEY_PEM)?)
//!     // Sign with the mock's time: the system clock's would be refused with -1021.
//!     .clock(server.clock().millis_fn())
//!     .connect()
//!     .await?;
//!
//! let time = client.time().await?;
//! println!("server time {} ms, weight used {:?}", time.result.server_time, time.rate_limits);
//!
//! let session = client.session_logon().await?.result;
//! assert_eq!(session.api_key.as_deref(), Some(demo::API_KEY));
//!
//! // Any other method, with the raw JSON result.
//! let pong = client.request("ping", serde_json::Value::Null).await?;
//! assert_eq!(pong.result, serde_json::json!({}));
//!
//! // Errors from the server keep their code and message.
//! let error = client.request("no.such.method", serde_json::Value::Null).await;
//! let error = error.expect_err("the mock knows no such method");
//! assert_eq!(error.api().map(|e| e.code), Some(-1100));
//! # Ok(())
//! # }
//! ```
//!
//! # What it does
//!
//! - **Calls.** Typed calls for `ping`, `time` and the `session.*` methods return a
//!   [`Response`] with the typed `result` and the reply's `rateLimits` beside it;
//!   [`Client::request`] and [`Client::signed_request`] call any method and return its raw
//!   JSON `result`. Connection options (`returnRateLimits`, `timeUnit`) are set on the
//!   [`ClientBuilder`].
//! - **Signing** (spec §3.2). A [`Signer`] holds an Ed25519 key (PKCS#8 PEM as
//!   `openssl genpkey -algorithm ed25519` writes it, or 32 raw bytes) or an HMAC-SHA256
//!   secret. Signed calls add `apiKey` and `timestamp`, sort the params by name, join them
//!   as `name=value` with `&` and sign that, values as raw UTF-8, never percent-encoded.
//!   The `timestamp` comes from a [`Clock`] the caller may replace: to follow a mock's
//!   frozen or skewed clock (`server.clock().millis_fn()`), or to send stale or future
//!   timestamps on purpose.
//! - **Concurrency.** One task owns the socket; any number of requests may be in flight,
//!   each matched to its reply by `id`. [`Client`] is cheap to clone and usable from many
//!   tasks. When the connection closes, every waiting call fails with [`Error::Closed`];
//!   [`ClientBuilder::request_timeout`] bounds the wait.
//! - **Keepalive and events.** Server pings are answered (spec §1.3). Frames without an
//!   `id` — `serverShutdown`, User Data Stream events — arrive on [`Client::events`].
//! - **Errors.** One [`Error`]: [`Error::Api`] for the server's error replies (status, code,
//!   msg, data), and separate variants for transport, decoding, timeouts and a closed
//!   connection.
//!
//! **TLS.** `ws://` works out of the box. The real endpoints are `wss://` (spec §1.1): enable
//! this crate's `tls` feature (rustls with the webpki root certificates, ring as the crypto
//! provider). Without it, connecting to a `wss://` URL fails with [`Error::Transport`].
//!
//! The `ws-client` binary of this crate is a command-line front end: `ws-client session`
//! logs on, checks the status, logs out and checks again, printing each reply as a JSON line.

mod client;
mod clock;
mod connection;
mod error;
mod events;
mod response;
mod signing;

pub use client::{Client, ClientBuilder, TimeUnit};
pub use clock::Clock;
pub use error::{ApiError, Closed, Error};
pub use events::{Event, Events};
pub use response::{RateLimit, Response, ServerTime, SessionStatus};
pub use signing::{KeyError, Signer};

/// The README's Rust examples, compiled (and, unless marked `no_run`, run) as doctests of
/// this crate, so that they keep working when pasted.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
