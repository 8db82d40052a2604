//! What the harness runs against: the in-process mock on a frozen clock, a mock you started
//! yourself (its clock in hand), or any URL on a live clock.

use std::time::Duration;

use mock_server::{Clock, MockServer, MockServerBuilder, StartError, Timestamp};

use crate::keys::TargetKeys;
use crate::spec;

/// Where the frozen clocks of in-process targets start: 2023-11-14T22:14:00Z, the start of
/// a calendar minute.
pub const FROZEN_START_MS: i64 = 1_700_000_040_000;

/// An endpoint to check, with what the harness knows about it.
///
/// ```
/// # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
/// # async fn main() -> Result<(), mock_server::StartError> {
/// let in_process = conformance::Target::in_process().await?;
/// assert!(in_process.url().starts_with("ws://127.0.0.1:"));
/// assert!(in_process.is_frozen());
///
/// let remote = conformance::Target::remote(
///     "wss://ws-api.testnet.binance.vision/ws-api/v3",
///     conformance::TargetKeys::demo(),
/// );
/// assert!(!remote.is_frozen());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Target {
    pub(crate) url: String,
    pub(crate) clock: Option<Clock>,
    pub(crate) keys: TargetKeys,
    pub(crate) weight_limit: Option<u32>,
    pub(crate) private_servers: bool,
    pub(crate) in_process: bool,
    _server: Option<MockServer>,
}

impl Target {
    /// Starts the mock in-process on a free loopback port, on a clock frozen at
    /// [`FROZEN_START_MS`], with the keys of [`TargetKeys::in_process`]. Every case can run:
    /// those that need the frozen clock, and those that start mocks of their own with special
    /// settings (a low weight limit, few connections).
    ///
    /// # Errors
    /// When the mock cannot start (no loopback port).
    pub async fn in_process() -> Result<Target, StartError> {
        let server = in_process_builder().start().await?;
        Ok(Target {
            url: server.url(),
            clock: Some(server.clock().clone()),
            keys: TargetKeys::in_process(),
            weight_limit: Some(spec::DOCUMENTED_WEIGHT_LIMIT),
            private_servers: true,
            in_process: true,
            _server: Some(server),
        })
    }

    /// A mock you started, reached at `url` (directly, or through something in between),
    /// whose frozen `clock` the harness may move, with these keys and weight limit. Cases
    /// that start mocks of their own are skipped.
    pub fn frozen(url: &str, clock: Clock, keys: TargetKeys, weight_limit: u32) -> Target {
        Target {
            url: url.to_owned(),
            clock: Some(clock),
            keys,
            weight_limit: Some(weight_limit),
            private_servers: false,
            in_process: false,
            _server: None,
        }
    }

    /// Any endpoint on a live clock: the mock binary, another implementation, or Binance's
    /// testnet. Cases that need a frozen clock are skipped.
    pub fn remote(url: &str, keys: TargetKeys) -> Target {
        Target {
            url: url.to_owned(),
            clock: None,
            keys,
            weight_limit: None,
            private_servers: false,
            in_process: false,
            _server: None,
        }
    }

    /// The URL connections go to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether the harness controls the target's (frozen) clock.
    pub fn is_frozen(&self) -> bool {
        self.clock.is_some()
    }

    /// The keys the target is expected to know.
    pub fn keys(&self) -> &TargetKeys {
        &self.keys
    }
}

/// The settings of the in-process mock: frozen clock, the keys of
/// [`TargetKeys::in_process`], and keepalive and lifetime so long that moving the clock never
/// triggers them (the cases here are not about keepalive).
pub fn in_process_builder() -> MockServerBuilder {
    let keys = TargetKeys::in_process();
    let year = Duration::from_secs(365 * 24 * 60 * 60);
    let mut builder = MockServer::builder()
        .clock(Clock::frozen_at(Timestamp::from_millis(FROZEN_START_MS)))
        .ping_interval(year)
        .pong_timeout(year)
        .max_lifetime(year);
    for pair in [&keys.secondary, &keys.tertiary].into_iter().flatten() {
        if let Some(public) = pair.verifying_key() {
            builder = builder.ed25519_key(pair.api_key(), public);
        }
    }
    if let Some(hmac) = &keys.hmac {
        if let Some(secret) = hmac.hmac_secret() {
            builder = builder.hmac_key(hmac.api_key(), secret.to_vec());
        }
    }
    builder
}
