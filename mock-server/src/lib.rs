//! A faithful, fast mock of the Binance Spot WebSocket API (`/ws-api/v3`).
//!
//! Start a server in-process per test: it binds a free loopback port before returning, speaks
//! the same envelope, signature rules, timing rules, weights and error codes as the real API,
//! reads time from a [`Clock`] the test controls, and stops when dropped.
//!
//! # Quick start
//!
//! ```
//! use futures_util::{SinkExt, StreamExt};
//! use mock_server::MockServer;
//! use tokio_tungstenite::tungstenite::Message;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let server = MockServer::start().await;
//! let (mut ws, _) = tokio_tungstenite::connect_async(server.url()).await?;
//! ws.send(Message::text(r#"{"id":1,"method":"ping","params":{"returnRateLimits":false}}"#)).await?;
//! let reply = ws.next().await.expect("a reply")?;
//! assert_eq!(reply.to_text()?, r#"{"id":1,"status":200,"result":{}}"#);
//! # Ok(())
//! # }
//! ```
//!
//! The server starts with the built-in [`demo`] key registered, so a client can
//! `session.logon` at once; [`MockServerBuilder`] registers other keys (Ed25519, HMAC, RSA),
//! shortens keepalive durations, lowers limits or freezes the clock. While it runs, a test can
//! push User Data Stream events ([`MockServer::push_user_data_event`]), revoke keys
//! ([`MockServer::revoke_key`]) and move time ([`MockServer::clock`]).
//!
//! Every such knob is also a call of the control plane, `/__admin/*` on the server's own port
//! (on by default on loopback): clock, keys, accounts, events, connections (close, drop,
//! stall), `serverShutdown`, faults, the request journal and reset, from any language over
//! HTTP, and as methods of [`MockServer`] in Rust ([`MockServer::add_fault`],
//! [`MockServer::journal`], [`MockServer::reset`], [`MockServer::expect`], …): one
//! implementation, two faces.
//!
//! Methods: `ping`, `time`, `session.logon`, `session.status`, `session.logout`,
//! `session.subscriptions`, `account.status`, `account.rateLimits.orders`,
//! `userDataStream.subscribe`, `userDataStream.subscribe.signature`,
//! `userDataStream.unsubscribe`; the market data `exchangeInfo`, `depth`, `avgPrice`,
//! `ticker.price`, `ticker.book`, `klines`, `uiKlines`; `order.test` (every check before the
//! matching engine, for a key with `TRADE`) and `account.commission` (the account's
//! [`Commission`]); the orders `order.place`, `order.status`, `order.cancel`,
//! `openOrders.status`, `openOrders.cancelAll`, `allOrders`, `myTrades`, which fill against
//! the synthetic book, rest, and report `executionReport` and `outboundAccountPosition` to
//! the account's subscriptions (resting orders fill when a test moves the price or calls
//! [`MockServer::fill_order`]). Where Binance documents nothing, the choices made are listed in
//! `docs/FIDELITY.md`.
//!
//! The binary `mock-server` runs the same server from the command line
//! (`cargo run --release -p mock-server`); [`socketless`] is the same server without sockets.
//! The binary's dependencies (clap, toml, tracing-subscriber) come with the default `cli`
//! feature: a test suite that only starts servers in-process can depend on this crate with
//! `default-features = false` and compile none of them.
//!
//! # Layout
//!
//! The modules in the order a request passes through them:
//!
//! - `server`: accepts TCP connections, serves HTTP/1.1 on them (hyper), holds the
//!   connection cap, admits or refuses the WebSocket upgrade (`handshake` reads its URL
//!   options), routes `/__admin/*` to `admin`, owns the state every connection shares and
//!   each connection's control link, and shuts down.
//! - `admin`: the control plane's HTTP routes, each reading its JSON and calling `control`,
//!   which implements every control-plane call once (for the routes and for [`MockServer`]).
//! - `connection`: the pump between one socket and its [`socketless::Connection`]: frames
//!   in, queued frames out, one timer on the server's [`Clock`]; the close handshake.
//! - `socketless`: one connection's state machine without I/O: requests, keepalive
//!   (`keepalive`), lifetime and shutdown, on the time it is given; [`socketless::Server`]
//!   (`state`) is what all connections share.
//! - `envelope`: parses a request (`id`, `method`, `params` and the cursor that counts the
//!   params read) and writes a reply in the documented key order.
//! - `rate_limit`: REQUEST_WEIGHT per IP, CONNECTIONS, bans.
//! - `method`: the table of methods and one file per method (`method/<name>.rs`), each
//!   reading its params and acting on the `session` state (`session`) and the shared state.
//! - `auth`, `signature`, `timing`, `keys`: who a signed request is performed for, over which
//!   payload, within which time window, with which key material.
//! - `user_data`, `account`: User Data Stream subscriptions and events; account fixtures.
//! - `orders`: accounts' orders without I/O: fills against the market's synthetic book,
//!   live balances, unfilled order counts, and the `executionReport` and
//!   `outboundAccountPosition` events each change causes, returned for the caller to deliver.
//! - `fault`, `journal`: the fault rules a request may match, and the journal each answered
//!   request is written to.
//! - `error`: every error, with its one mapping to status, code and message; `close`: why a
//!   connection is closed, with its one mapping to close codes; `clock`: the time everything
//!   reads.

mod account;
mod admin;
mod auth;
mod clock;
mod close;
mod config;
mod connection;
mod control;
mod envelope;
mod error;
mod fault;
mod handshake;
mod journal;
mod keepalive;
mod keys;
mod market;
mod method;
mod orders;
mod rate_limit;
mod server;
mod session;
mod signature;
pub mod socketless;
mod state;
mod timing;
mod user_data;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ed25519_dalek::VerifyingKey;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use account::{Account, Balance, Commission, CommissionDiscount, CommissionRates};
pub use clock::{Clock, Timestamp};
pub use close::CloseReason;
pub use config::Config;
pub use control::{
    AccountView, BalanceView, ClockChange, ClockView, CommissionView, ConnectionInfo, ControlError,
    DiscountView, FillChange, KeyInfo, NewKey, OrderQuery, RatesView, ResetConnections, SymbolView,
};
pub use envelope::TimeUnit;
pub use fault::{CannedError, Fault, FaultAction, FaultRule};
pub use handshake::PATH;
pub use journal::{JournalEntry, JournalError, JournalQuery, SignatureRecord};
pub use keys::{
    demo, ed25519_public_key_from_pem, is_well_formed_api_key, rsa_public_key_from_pem, KeyError,
    KeyMaterial, KeyRegistry, Permissions, RegisteredKey,
};
pub use market::{
    NotionalFilter, OrderType, PriceFilter, SelfTradePreventionMode, SizeFilter, SymbolConfig,
    SymbolStatus,
};
pub use rate_limit::BanPolicy;
pub use session::ConnectionOptions;

use server::{Origin, Setup, Shared, Shutdown};
use socketless::Server;

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The listen address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address asked for.
        address: SocketAddr,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// A key given to the builder was refused.
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// Configures and starts a [`MockServer`].
///
/// ```
/// use std::time::Duration;
/// use mock_server::{Clock, MockServer, Timestamp};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), mock_server::StartError> {
/// let server = MockServer::builder()
///     .clock(Clock::frozen_at(Timestamp::from_millis(1_700_000_000_000)))
///     .weight_limit(100)
///     .ping_interval(Duration::from_secs(1))
///     .start()
///     .await?; // listening on a free port when this returns
/// assert!(server.url().ends_with("/ws-api/v3"));
/// server.clock().advance(Duration::from_secs(61)); // every connection sees the new time
/// assert_eq!(server.clock().now().as_millis(), 1_700_000_061_000);
/// # Ok(()) }
/// ```
#[must_use = "a builder does nothing until `.start().await`"]
#[derive(Debug)]
pub struct MockServerBuilder {
    listen: SocketAddr,
    config: Config,
    keys: KeyRegistry,
    key_errors: Vec<KeyError>,
    accounts: Vec<(String, Account)>,
    demo_key: bool,
    clock: Clock,
}

impl Default for MockServerBuilder {
    fn default() -> Self {
        MockServerBuilder {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            config: Config::default(),
            keys: KeyRegistry::new(),
            key_errors: Vec::new(),
            accounts: Vec::new(),
            demo_key: true,
            clock: Clock::system(),
        }
    }
}

impl MockServerBuilder {
    /// The address to listen on; the default `127.0.0.1:0` picks a free port.
    pub fn listen(mut self, address: SocketAddr) -> Self {
        self.listen = address;
        self
    }

    /// Replaces every setting at once.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// REQUEST_WEIGHT allowed per IP per minute.
    pub fn weight_limit(mut self, limit: u32) -> Self {
        self.config.weight_limit = limit;
        self
    }

    /// How often the server pings.
    pub fn ping_interval(mut self, interval: Duration) -> Self {
        self.config.ping_interval = interval;
        self
    }

    /// How long a ping may go unanswered.
    pub fn pong_timeout(mut self, timeout: Duration) -> Self {
        self.config.pong_timeout = timeout;
        self
    }

    /// How long a connection may stay open.
    pub fn max_lifetime(mut self, lifetime: Duration) -> Self {
        self.config.max_lifetime = lifetime;
        self
    }

    /// Also accept signatures over the percent-encoded payload the official connectors have
    /// signed; see [`Config::lenient_signing`]. Off by default.
    pub fn lenient_signing(mut self, lenient: bool) -> Self {
        self.config.lenient_signing = lenient;
        self
    }

    /// Send the User Data Stream events a request causes on its own connection before its
    /// reply (`true`) or after it (`false`, the default); see [`Config::events_before_reply`].
    pub fn events_before_reply(mut self, first: bool) -> Self {
        self.config.events_before_reply = first;
        self
    }

    /// Accept signatures over the raw payload only (`true`, the default), or also over the
    /// percent-encoded one (`false`): the inverse of [`lenient_signing`](Self::lenient_signing),
    /// kept for callers written when lenient signing was the default.
    pub fn strict_signing(mut self, strict: bool) -> Self {
        self.config.lenient_signing = !strict;
        self
    }

    /// New connections allowed per IP per five minutes.
    pub fn connection_rate_limit(mut self, limit: u32) -> Self {
        self.config.connection_rate_limit = limit;
        self
    }

    /// Connections open at once, from all IPs.
    pub fn max_connections(mut self, max: usize) -> Self {
        self.config.max_connections = max;
        self
    }

    /// When repeated 429s become a ban, and how long bans last.
    pub fn ban_policy(mut self, bans: BanPolicy) -> Self {
        self.config.bans = bans;
        self
    }

    /// How long clients may stay after `serverShutdown`, on the server's clock.
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.config.shutdown_grace = grace;
        self
    }

    /// How long sending one frame may take before the client is disconnected.
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.config.write_timeout = timeout;
        self
    }

    /// How many pushed events may wait for one connection before it is closed.
    pub fn event_queue(mut self, capacity: usize) -> Self {
        self.config.event_queue = capacity;
        self
    }

    /// Turns the control plane (`/__admin/*`) on or off whatever the address; by default it
    /// is on for a loopback address and, elsewhere, only with an [`admin_token`](Self::admin_token).
    pub fn admin(mut self, on: bool) -> Self {
        self.config.admin = Some(on);
        self
    }

    /// Requires `Authorization: Bearer TOKEN` on every control-plane call (401 without it);
    /// also turns the control plane on off loopback.
    pub fn admin_token(mut self, token: impl Into<String>) -> Self {
        self.config.admin_token = Some(token.into());
        self
    }

    /// How many requests the journal keeps ([`MockServer::journal`]); 0 keeps none.
    pub fn journal_size(mut self, entries: usize) -> Self {
        self.config.journal_size = entries;
        self
    }

    /// `ORDERS`: new orders one account may place per 10 seconds (50, as the API); see
    /// [`Config::orders_per_10s`]. `exchangeInfo` and `account.rateLimits.orders` show it.
    pub fn orders_per_10s(mut self, limit: u32) -> Self {
        self.config.orders_per_10s = limit;
        self
    }

    /// `ORDERS`: new orders one account may place per UTC day (160,000, as the API); see
    /// [`Config::orders_per_day`].
    pub fn orders_per_day(mut self, limit: u32) -> Self {
        self.config.orders_per_day = limit;
        self
    }

    /// Adds `symbol` to the market, or replaces the symbol of the same name in its place.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), mock_server::StartError> {
    /// use mock_server::{MockServer, SymbolConfig};
    /// let server = MockServer::builder()
    ///     .symbol(SymbolConfig::new("SOLUSDT", "SOL", "USDT", "150.00"))
    ///     .start()
    ///     .await?;
    /// assert_eq!(server.symbols().len(), 6);
    /// # Ok(()) }
    /// ```
    pub fn symbol(mut self, symbol: SymbolConfig) -> Self {
        match self
            .config
            .symbols
            .iter_mut()
            .find(|s| s.symbol == symbol.symbol)
        {
            Some(existing) => *existing = symbol,
            None => self.config.symbols.push(symbol),
        }
        self
    }

    /// Replaces the whole market with `symbols`, in the order `exchangeInfo` lists them.
    pub fn symbols(mut self, symbols: Vec<SymbolConfig>) -> Self {
        self.config.symbols = symbols;
        self
    }

    /// The largest message accepted, in bytes.
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.config.max_message_size = bytes;
        self
    }

    /// Registers an RSA key (RSASSA-PKCS1-v1_5 with SHA-256 signatures). A malformed
    /// `api_key` makes [`start`](Self::start) fail.
    pub fn rsa_key(mut self, api_key: &str, public_key: rsa::RsaPublicKey) -> Self {
        if let Err(e) = self.keys.insert(api_key, KeyMaterial::Rsa(public_key)) {
            self.key_errors.push(e);
        }
        self
    }

    /// Changes the keys registered so far: permissions, accounts, more keys.
    ///
    /// ```
    /// use mock_server::{MockServer, Permissions};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), mock_server::StartError> {
    /// let server = MockServer::builder()
    ///     .hmac_key("TradeKey", "secret")
    ///     .with_keys(|keys| {
    ///         if let Some(key) = keys.get_mut("TradeKey") {
    ///             key.permissions = Permissions::ALL;
    ///             key.account = "main".to_owned();
    ///         }
    ///     })
    ///     .start()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn with_keys(mut self, change: impl FnOnce(&mut KeyRegistry)) -> Self {
        change(&mut self.keys);
        self
    }

    /// Sets the fixture of account `name`.
    pub fn account(mut self, name: &str, account: Account) -> Self {
        self.accounts.push((name.to_owned(), account));
        self
    }

    /// Registers an Ed25519 key. A malformed `api_key` makes [`start`](Self::start) fail.
    pub fn ed25519_key(mut self, api_key: &str, public_key: VerifyingKey) -> Self {
        if let Err(e) = self.keys.insert_ed25519(api_key, public_key) {
            self.key_errors.push(e);
        }
        self
    }

    /// Registers an HMAC-SHA256 key. A malformed `api_key` or empty secret makes
    /// [`start`](Self::start) fail.
    pub fn hmac_key(mut self, api_key: &str, secret: impl Into<Vec<u8>>) -> Self {
        if let Err(e) = self.keys.insert_hmac(api_key, secret) {
            self.key_errors.push(e);
        }
        self
    }

    /// Does not register the built-in [`demo`] key.
    pub fn without_demo_key(mut self) -> Self {
        self.demo_key = false;
        self
    }

    /// The clock the server reads; keep a clone to freeze or advance it (or use
    /// [`MockServer::clock`]).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Binds the address and starts serving; returns once the server is listening.
    ///
    /// # Errors
    /// [`StartError::Key`] for a key the builder was given that was refused,
    /// [`StartError::Bind`] when the address cannot be bound.
    pub async fn start(mut self) -> Result<MockServer, StartError> {
        if let Some(error) = self.key_errors.into_iter().next() {
            return Err(StartError::Key(error));
        }
        if self.demo_key {
            self.keys.add_demo_key();
        }
        let listener = TcpListener::bind(self.listen)
            .await
            .map_err(|source| StartError::Bind {
                address: self.listen,
                source,
            })?;
        let address = listener.local_addr().map_err(|source| StartError::Bind {
            address: self.listen,
            source,
        })?;
        let mut state = Server::new(&self.config, self.keys.clone());
        state.market = market::Market::new(&self.config.symbols, self.clock.now());
        for (name, account) in &self.accounts {
            state.set_account(name, account.clone());
        }
        let setup = Setup {
            server: state,
            config: self.config,
            clock: self.clock.clone(),
            origin: Origin {
                keys: self.keys,
                accounts: self.accounts,
                clock: self.clock.snapshot(),
            },
        };
        let (shared, shutdown, task) = server::spawn(listener, address, setup);
        Ok(MockServer {
            shared,
            address,
            clock: self.clock,
            shutdown,
            task: Some(task),
        })
    }
}

/// A running mock server. Dropping it stops the server at once: every connection gets
/// `serverShutdown` and is closed without a grace period. [`MockServer::shutdown`] serves the
/// grace period and waits for every connection to close.
#[derive(Debug)]
pub struct MockServer {
    shared: Arc<Shared>,
    address: SocketAddr,
    clock: Clock,
    shutdown: Shutdown,
    task: Option<JoinHandle<()>>,
}

impl MockServer {
    /// A builder for a server with non-default settings.
    pub fn builder() -> MockServerBuilder {
        MockServerBuilder::default()
    }

    /// Starts a server with the default settings and the demo key on a free loopback port.
    ///
    /// # Panics
    /// When no loopback port can be bound: a test cannot go on without its server.
    pub async fn start() -> MockServer {
        match MockServer::builder().start().await {
            Ok(server) => server,
            Err(error) => panic!("mock server failed to start: {error}"),
        }
    }

    /// The WebSocket URL to connect to: `ws://127.0.0.1:PORT/ws-api/v3`.
    pub fn url(&self) -> String {
        format!("ws://{}{}", self.address, PATH)
    }

    /// The address the server listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The clock the server reads: freeze, advance or skew it here.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// How many connections are open (or in their handshake) right now.
    pub fn open_connections(&self) -> usize {
        self.shared.open_connections()
    }

    /// Waits until [`open_connections`](Self::open_connections) satisfies `condition`: a
    /// test's way to know the server has let go of closed connections, without sleeping.
    pub async fn wait_for_open_connections(&self, condition: impl Fn(usize) -> bool) {
        self.shared.wait_for_open_connections(condition).await;
    }

    /// How many client IPs the server keeps rate-limit state for.
    pub fn tracked_ips(&self) -> usize {
        self.shared.lock().tracked_ips()
    }

    /// Delivers a User Data Stream `event` (for example an `outboundAccountPosition` or
    /// `balanceUpdate` object) to every subscription of `account`, as
    /// `{"subscriptionId": N, "event": event}` (spec §4.6). Returns how many subscriptions it
    /// went to. A connection whose event queue is full is closed.
    pub fn push_user_data_event(&self, account: &str, event: serde_json::Value) -> usize {
        let frames = self.shared.lock().user_data_event(account, &event);
        self.shared.post(&frames);
        frames.len()
    }

    /// Changes the registered keys while the server runs: add a key, change its permissions
    /// or account, or remove it. A session logged on with a removed key is revoked on its
    /// next request (spec §4.7).
    pub fn update_keys<R>(&self, change: impl FnOnce(&mut KeyRegistry) -> R) -> R {
        change(self.shared.lock().keys_mut())
    }

    /// Removes `api_key`; see [`update_keys`](Self::update_keys). Returns whether it existed.
    pub fn revoke_key(&self, api_key: &str) -> bool {
        self.update_keys(|keys| keys.remove(api_key))
    }

    /// Sets the fixture of account `name` while the server runs.
    pub fn set_account(&self, name: &str, account: Account) {
        self.shared.lock().set_account(name, account);
    }

    /// Stops accepting, sends `serverShutdown` to every connection (spec §1.4), serves them
    /// for the grace period, closes them, and waits until all are gone.
    ///
    /// The grace period is measured on the server's [`Clock`], like every other deadline. On
    /// a frozen clock it ends only when the clock is advanced past it, so this returns once
    /// the test advances the clock, once every client has left, or, if this future is
    /// dropped (a timeout around it, say), at once: the server then closes every connection
    /// without waiting further, as when it is dropped.
    pub async fn shutdown(mut self) {
        self.shared.begin_graceful_shutdown(&self.shutdown);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

/// The control plane from Rust: the same calls `/__admin/*` answers over HTTP, made by the
/// same code.
impl MockServer {
    /// Whether the control plane answers on this server (see
    /// [`MockServerBuilder::admin`]).
    pub fn admin_enabled(&self) -> bool {
        self.shared.admin
    }

    /// The control plane's base URL: `http://127.0.0.1:PORT/__admin`.
    pub fn admin_url(&self) -> String {
        format!("http://{}/__admin", self.address)
    }

    /// Applies a clock change as `POST /__admin/clock` does: `set`, then `advance`, then
    /// `freeze`.
    ///
    /// # Errors
    /// A value out of range (see [`ClockChange`]).
    pub fn change_clock(&self, change: ClockChange) -> Result<ClockView, ControlError> {
        self.shared.change_clock(change)
    }

    /// The registered keys, never their secrets.
    pub fn keys(&self) -> Vec<KeyInfo> {
        self.shared.key_list()
    }

    /// Registers a key from its PEM or secret, replacing any of its name; whether it
    /// replaced one. Sessions logged on with a replaced key stay logged on.
    ///
    /// # Errors
    /// A 400 naming what does not parse.
    pub fn add_key(&self, key: NewKey) -> Result<bool, ControlError> {
        self.shared.add_key(key)
    }

    /// Account `name` as `account.status` reports it: its fixture unless set.
    pub fn account(&self, name: &str) -> Account {
        self.shared.account(name)
    }

    /// Delivers a User Data Stream `event` to every subscription of `account`, as
    /// `POST /__admin/accounts/{name}/events` does: `E` is set from the mock clock unless
    /// given. Returns how many subscriptions it went to.
    ///
    /// # Errors
    /// A 400 for an event that is not an object with an `e`.
    pub fn deliver_event(
        &self,
        account: &str,
        event: serde_json::Value,
    ) -> Result<usize, ControlError> {
        self.shared.deliver_event(account, event)
    }

    /// The open connections, by id.
    pub fn connections(&self) -> Vec<ConnectionInfo> {
        self.shared.connection_list()
    }

    /// Closes connection `id` with a closing handshake, `code` (1000 or 3000 to 4999) and
    /// `reason` (at most 123 bytes).
    ///
    /// # Errors
    /// A 404 for a connection that is not open, a 400 for a code or reason out of range.
    pub fn close_connection(&self, id: u64, code: u16, reason: &str) -> Result<(), ControlError> {
        self.shared.close_connection(id, code, reason)
    }

    /// Cuts connection `id`: no Close frame, the TCP connection just ends.
    ///
    /// # Errors
    /// A 404 for a connection that is not open.
    pub fn drop_connection(&self, id: u64) -> Result<(), ControlError> {
        self.shared.drop_connection(id)
    }

    /// Stalls connection `id`: the server stops reading and writing on it (no replies, no
    /// pings) until it is closed, dropped, reset or reaches its lifetime: a half-open peer.
    ///
    /// # Errors
    /// A 404 for a connection that is not open.
    pub fn stall_connection(&self, id: u64) -> Result<(), ControlError> {
        self.shared.stall_connection(id)
    }

    /// Sends `serverShutdown` to connection `connection`, or to every one, without stopping
    /// the server; with `close_after`, each is closed with 1001 that long after on the mock
    /// clock. Returns how many connections were told.
    ///
    /// # Errors
    /// A 404 for a connection that is not open.
    pub fn announce_shutdown(
        &self,
        connection: Option<u64>,
        close_after: Option<Duration>,
    ) -> Result<usize, ControlError> {
        self.shared.announce_shutdown(connection, close_after)
    }

    /// Adds a fault rule; returns its id.
    ///
    /// ```
    /// use mock_server::{CannedError, Fault, FaultAction, MockServer};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), mock_server::ControlError> {
    /// let server = MockServer::start().await;
    /// let id = server.add_fault(Fault {
    ///     method: Some("session.status".to_owned()),
    ///     connection: None,
    ///     times: Some(1),
    ///     action: FaultAction::Reply {
    ///         status: 400,
    ///         error: CannedError { code: -1001, msg: "Internal error.".to_owned() },
    ///     },
    /// })?;
    /// assert_eq!(server.faults()[0].id, id);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// A 400 for values out of range, a 404 for a connection that is not open.
    pub fn add_fault(&self, fault: Fault) -> Result<u64, ControlError> {
        self.shared.add_fault(fault)
    }

    /// Removes fault rule `id`; whether it existed.
    pub fn remove_fault(&self, id: u64) -> bool {
        self.shared.remove_fault(id)
    }

    /// The fault rules in force, oldest first, with what remains of their `times`.
    pub fn faults(&self) -> Vec<FaultRule> {
        self.shared.fault_list()
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.shared.clear_faults();
    }

    /// What the server received and answered, oldest first, as `query` selects.
    pub fn journal(&self, query: &JournalQuery) -> Vec<JournalEntry> {
        self.shared.journal(query)
    }

    /// Empties the journal.
    pub fn clear_journal(&self) {
        self.shared.clear_journal();
    }

    /// Every symbol with its price and status, in the order configured.
    pub fn symbols(&self) -> Vec<SymbolView> {
        self.shared.symbol_list()
    }

    /// Moves `symbol`'s price to `price` (a decimal string such as `"61000.00"`) at the
    /// mock clock's now: `depth`, `ticker.book`, `ticker.price`, `avgPrice` and the klines
    /// follow at once.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), mock_server::ControlError> {
    /// let server = mock_server::MockServer::start().await;
    /// let btc = server.set_price("BTCUSDT", "61000.00")?;
    /// assert_eq!(btc.price, "61000.00000000");
    /// assert_eq!(server.set_price("BTCUSDT", "61000.005").unwrap_err().status, 400);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// A 400 for a price that is not a positive multiple of the symbol's `tickSize` inside
    /// its `PRICE_FILTER` range, a 404 for an unknown symbol.
    pub fn set_price(&self, symbol: &str, price: &str) -> Result<SymbolView, ControlError> {
        self.shared.set_price(symbol, price)
    }

    /// Fills resting order `order_id` at its own price, as maker: `qty` of it (a decimal
    /// string), or all it has left; its `executionReport` and `outboundAccountPosition` go to
    /// the account's User Data Stream subscriptions. The order as `order.status` shows it,
    /// plus its `account`.
    ///
    /// # Errors
    /// A 404 for an unknown order, a 409 for one not resting on the book (filled, canceled,
    /// expired, or a stop still waiting), a 400 for a `qty` that is not a decimal, is zero or
    /// more than the order has left.
    pub fn fill_order(
        &self,
        order_id: u64,
        qty: Option<&str>,
    ) -> Result<serde_json::Value, ControlError> {
        self.shared.fill_order(order_id, qty)
    }

    /// Every order `query` selects (by account, symbol, status), oldest first, each as
    /// `order.status` shows it plus its `account`.
    ///
    /// # Errors
    /// A 400 for a `status` that is no order status.
    pub fn orders(&self, query: &OrderQuery) -> Result<Vec<serde_json::Value>, ControlError> {
        self.shared.order_list(query)
    }

    /// Sets `symbol`'s trading status.
    ///
    /// # Errors
    /// A 404 for an unknown symbol.
    pub fn set_symbol_status(
        &self,
        symbol: &str,
        status: SymbolStatus,
    ) -> Result<SymbolView, ControlError> {
        self.shared.set_symbol_status(symbol, status)
    }

    /// Back to the start-up state: keys, accounts and the clock as configured; faults, the
    /// journal, weight and connection counters and bans cleared. Open connections are closed
    /// with 1012 ([`ResetConnections::Close`]) or kept.
    pub fn reset(&self, connections: ResetConnections) {
        self.shared.reset(connections);
    }

    /// States how many calls of `method` the test expects from now on; checked when the
    /// server is dropped (a panic lists every expectation not met, expected against
    /// actual) or by [`verify_expectations`](Self::verify_expectations).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let server = mock_server::MockServer::start().await;
    /// server.expect("session.logon").times(0);
    /// assert_eq!(server.verify_expectations(), Ok(()));
    /// # }
    /// ```
    pub fn expect(&self, method: &str) -> Expect<'_> {
        Expect {
            server: self,
            method: method.to_owned(),
        }
    }

    /// Checks every expectation now.
    ///
    /// # Errors
    /// One line per expectation not met, expected against actual.
    pub fn verify_expectations(&self) -> Result<(), String> {
        let unmet = self.shared.unmet_expectations();
        if unmet.is_empty() {
            Ok(())
        } else {
            Err(unmet.join("\n"))
        }
    }
}

/// An expectation being stated: [`MockServer::expect`]`(method)` then one of these.
#[derive(Debug)]
#[must_use = "an expectation is recorded by `times`, `at_least` or `at_most`"]
pub struct Expect<'a> {
    server: &'a MockServer,
    method: String,
}

impl Expect<'_> {
    /// Exactly `n` calls.
    pub fn times(self, n: u64) {
        self.server.shared.expect(&self.method, n, Some(n));
    }

    /// `n` calls or more.
    pub fn at_least(self, n: u64) {
        self.server.shared.expect(&self.method, n, None);
    }

    /// `n` calls or fewer.
    pub fn at_most(self, n: u64) {
        self.server.shared.expect(&self.method, 0, Some(n));
    }
}

impl Drop for MockServer {
    /// Nothing is left to advance a frozen clock or to wait for: close at once. Then the
    /// expectations are checked, unless the test is failing already.
    fn drop(&mut self) {
        self.shared.begin_immediate_shutdown(&self.shutdown);
        if std::thread::panicking() {
            return;
        }
        if let Err(unmet) = self.verify_expectations() {
            panic!("mock server expectations not met:\n{unmet}");
        }
    }
}
