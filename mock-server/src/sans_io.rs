//! The server without sockets: the same code the network server runs, driven by hand.
//!
//! For fuzzing, benchmarks and property tests that want thousands of requests a second
//! without a socket in the way: a [`ServerCore`] holds what all connections share (keys,
//! weight windows), a [`ConnectionCore`] what one connection remembers, and time is an
//! argument.
//!
//! ```
//! use std::net::{IpAddr, Ipv4Addr};
//! use mock_server::sans_io::{ConnectionCore, ServerCore};
//! use mock_server::{Config, ConnectionOptions, KeyRegistry, Timestamp};
//!
//! let mut server = ServerCore::new(&Config::default(), KeyRegistry::with_demo_key());
//! let now = Timestamp::from_millis(1_700_000_000_000);
//! let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
//! let mut conn = ConnectionCore::open(&mut server, ip, now, ConnectionOptions::default());
//! let reply = conn.handle_text(r#"{"id":1,"method":"time"}"#, now, &mut server);
//! assert!(reply.starts_with(r#"{"id":1,"status":200,"result":{"serverTime":1700000000000}"#));
//! // Opening the connection cost 2, `time` 1.
//! assert!(reply.ends_with(r#""count":3}]}"#));
//! ```

use std::net::IpAddr;

use crate::account::{Account, Accounts};
use crate::clock::Timestamp;
use crate::close::CloseReason;
use crate::envelope::TimeUnit;
use crate::error::ApiError;
use crate::handshake::Refusal;
use crate::keys::KeyRegistry;
use crate::rate_limit::{ConnectionRefusal, Limiter};
use crate::session::{ConnectionOptions, ServerState, Session};
use crate::Config;

/// REQUEST_WEIGHT charged for opening a connection (spec §5.1).
const CONNECTION_WEIGHT: u32 = 2;

/// What every connection of a server shares: keys and per-IP weight windows.
#[derive(Debug)]
pub struct ServerCore {
    pub(crate) state: ServerState,
}

impl ServerCore {
    /// A server core with `config`'s limits and these keys.
    pub fn new(config: &Config, keys: KeyRegistry) -> Self {
        ServerCore {
            state: ServerState::new(
                Limiter::new(
                    config.weight_limit,
                    config.connection_rate_limit,
                    config.bans.clone(),
                ),
                keys,
                Accounts::default(),
                !config.lenient_signing,
            ),
        }
    }

    /// Admits a new connection from `ip` at `now` (spec §5.1 CONNECTIONS, §5.3 bans), or
    /// says which HTTP refusal to answer the handshake with.
    pub(crate) fn admit(&mut self, ip: IpAddr, now: Timestamp) -> Result<(), Refusal> {
        self.state
            .limiter
            .connection_attempt(ip, now)
            .map_err(|refusal| {
                Refusal::from_error(&match refusal {
                    ConnectionRefusal::Banned { until } => ApiError::IpBanned {
                        server_time: now,
                        until,
                    },
                    ConnectionRefusal::TooManyConnections { limit } => {
                        ApiError::TooManyConnections { limit }
                    }
                })
            })
    }

    /// How many client IPs the server currently keeps rate-limit state for.
    pub fn tracked_ips(&self) -> usize {
        self.state.limiter.tracked_ips()
    }

    /// Sets the fixture of account `name` (keys belong to the account named after them
    /// unless [`RegisteredKey::account`](crate::RegisteredKey::account) says otherwise).
    pub fn set_account(&mut self, name: &str, account: Account) {
        self.state.accounts.set(name, account);
    }

    /// The frames that deliver a User Data Stream `event` to every subscription of
    /// `account`, each with the connection it goes to (spec §4.6:
    /// `{"subscriptionId": N, "event": {...}}`).
    pub fn user_data_event(&self, account: &str, event: &serde_json::Value) -> Vec<(u64, String)> {
        self.state.routes.deliver(account, event)
    }

    /// The registered keys, to add or revoke one while connections are open.
    pub fn keys_mut(&mut self) -> &mut KeyRegistry {
        &mut self.state.keys
    }
}

/// One connection's session, opened on a [`ServerCore`].
#[derive(Debug)]
pub struct ConnectionCore {
    session: Session,
}

impl ConnectionCore {
    /// Opens a connection from `ip` at `now`, charging the weight of a new connection.
    pub fn open(
        server: &mut ServerCore,
        ip: IpAddr,
        now: Timestamp,
        options: ConnectionOptions,
    ) -> Self {
        server.state.limiter.charge(ip, CONNECTION_WEIGHT, now);
        ConnectionCore {
            session: Session::new(&mut server.state, ip, now, options),
        }
    }

    /// This connection's id, as [`ServerCore::user_data_event`] names it.
    pub fn id(&self) -> u64 {
        self.session.connection()
    }

    /// The unit of time fields on this connection.
    pub fn time_unit(&self) -> TimeUnit {
        self.session.time_unit()
    }

    /// Whether the connection has any User Data Stream subscription.
    pub fn has_subscriptions(&self) -> bool {
        self.session.has_subscriptions()
    }

    /// Takes the frames to send after the last reply, in order: events such as
    /// `eventStreamTerminated`, or the revocation notice of spec §4.7.
    pub fn take_events(&mut self) -> Vec<String> {
        self.session.take_outbox()
    }

    /// Ends the connection: its subscriptions stop receiving events.
    pub fn close(mut self, server: &mut ServerCore) {
        self.session.close(&mut server.state);
    }

    /// The reply to one text frame received at `now`.
    pub fn handle_text(&mut self, text: &str, now: Timestamp, server: &mut ServerCore) -> String {
        self.session.handle_text(text, now, &mut server.state)
    }

    /// Set once the connection must close after the last reply was sent (after a 418 ban).
    pub fn closing(&self) -> Option<CloseReason> {
        self.session.closing()
    }

    /// The reply to one binary frame.
    pub fn handle_binary(&mut self) -> String {
        self.session.handle_binary()
    }
}

/// Drives a fresh server core with arbitrary bytes and panics if any invariant breaks: the
/// body of the fuzz target (`fuzz/`), also replayed over its committed corpus by the tests.
///
/// The bytes are split at `0xFF` (never part of UTF-8) into frames: valid UTF-8 is sent as
/// a text frame, anything else as a binary frame. Every reply must be a JSON object with the
/// envelope's keys in order and a negative error code whenever the status is not 200.
///
/// # Panics
/// On a malformed reply: that is the point.
pub fn exercise(data: &[u8]) {
    use std::net::{IpAddr, Ipv4Addr};

    let now = Timestamp::from_millis(1_700_000_000_000);
    let mut server = ServerCore::new(&Config::default(), KeyRegistry::with_demo_key());
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut connection = ConnectionCore::open(&mut server, ip, now, ConnectionOptions::default());
    for frame in data.split(|&b| b == 0xFF) {
        let reply = match std::str::from_utf8(frame) {
            Ok(text) => connection.handle_text(text, now, &mut server),
            Err(_) => connection.handle_binary(),
        };
        check_envelope(&reply);
    }
}

fn check_envelope(reply: &str) {
    let value: serde_json::Value = match serde_json::from_str(reply) {
        Ok(value) => value,
        Err(error) => panic!("reply is not JSON ({error}): {reply}"),
    };
    let Some(object) = value.as_object() else {
        panic!("reply is not an object: {reply}");
    };
    let keys: Vec<&str> = object.keys().map(String::as_str).collect();
    let outcome = if object.get("status").and_then(serde_json::Value::as_u64) == Some(200) {
        "result"
    } else {
        let code = object
            .get("error")
            .and_then(|e| e.get("code"))
            .and_then(serde_json::Value::as_i64);
        assert!(
            code.is_some_and(|c| c < 0),
            "error without a negative code: {reply}"
        );
        "error"
    };
    assert!(
        keys == ["id", "status", outcome] || keys == ["id", "status", outcome, "rateLimits"],
        "envelope keys {keys:?}: {reply}"
    );
}
