//! What every connection of a server shares: keys, accounts, weight windows, subscription
//! routes and the method table. Held behind one short-lived lock by the network server.

use std::net::IpAddr;
use std::time::Duration;

use fnv::FnvHashMap;

use crate::account::{Account, Accounts};
use crate::auth::SignatureCheck;
use crate::clock::Timestamp;
use crate::control::ConnectionInfo;
use crate::envelope::parse_request;
use crate::error::ApiError;
use crate::fault::Faults;
use crate::handshake::Refusal;
use crate::journal::Journal;
use crate::keys::{KeyMaterial, KeyRegistry};
use crate::market::Market;
use crate::method::{self, MethodTable};
use crate::orders::{AccountEvent, OrderLimits, Orders};
use crate::rate_limit::{ConnectionRefusal, Limiter};
use crate::user_data::{ConnectionId, Routes};
use crate::Config;

/// What every connection of a server shares: keys, accounts, per-IP weight windows and
/// where User Data Stream events go.
#[derive(Debug)]
pub struct Server {
    pub(crate) limiter: Limiter,
    pub(crate) keys: KeyRegistry,
    pub(crate) accounts: Accounts,
    pub(crate) routes: Routes,
    pub(crate) strict_signing: bool,
    pub(crate) next_connection: ConnectionId,
    /// The methods requests are dispatched to: [`method::TABLE`] but in tests.
    pub(crate) methods: &'static MethodTable,
    pub(crate) timers: Timers,
    /// The open connections, as the control plane lists them.
    pub(crate) directory: FnvHashMap<ConnectionId, ConnectionInfo>,
    /// What was received and answered.
    pub(crate) journal: Journal,
    /// The fault rules in force.
    pub(crate) faults: Faults,
    /// How many requests each method has had since the server started.
    pub(crate) calls: Calls,
    /// The symbols, their prices and books.
    pub(crate) market: Market,
    /// Accounts' orders, trades and live balances.
    pub(crate) orders: Orders,
    /// Whether the events a request causes on its own connection go before its reply
    /// ([`Config::events_before_reply`]).
    pub(crate) events_before_reply: bool,
    /// Frames requests caused for other connections (their subscriptions' events), for
    /// whoever pumps the connections to deliver: [`Server::take_outbox`].
    pub(crate) outbox: Vec<(ConnectionId, String)>,
}

/// The durations that end or ping a connection, from [`Config`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timers {
    pub ping_interval: Duration,
    pub pong_timeout: Duration,
    pub max_lifetime: Duration,
}

impl Server {
    /// A server with `config`'s limits and these keys, no connection yet.
    pub fn new(config: &Config, keys: KeyRegistry) -> Self {
        Server {
            limiter: Limiter::new(
                config.weight_limit,
                config.connection_rate_limit,
                config.bans.clone(),
            ),
            keys,
            accounts: Accounts::default(),
            routes: Routes::default(),
            strict_signing: !config.lenient_signing,
            next_connection: 0,
            methods: &method::TABLE,
            timers: Timers {
                ping_interval: config.ping_interval,
                pong_timeout: config.pong_timeout,
                max_lifetime: config.max_lifetime,
            },
            directory: FnvHashMap::default(),
            journal: Journal::new(config.journal_size),
            faults: Faults::default(),
            calls: Calls::default(),
            market: Market::new(&config.symbols, Timestamp::EPOCH),
            orders: Orders::new(OrderLimits {
                per_10s: config.orders_per_10s,
                per_day: config.orders_per_day,
            }),
            events_before_reply: config.events_before_reply,
            outbox: Vec::new(),
        }
    }

    /// Forgets weight, connection counts and bans: the limiter as at start-up.
    pub(crate) fn reset_limits(&mut self, config: &Config) {
        self.limiter = Limiter::new(
            config.weight_limit,
            config.connection_rate_limit,
            config.bans.clone(),
        );
    }

    /// Admits a new connection from `ip` at `now` (spec §5.1 CONNECTIONS, §5.3 bans), or
    /// says which HTTP refusal to answer the handshake with.
    pub(crate) fn admit(&mut self, ip: IpAddr, now: Timestamp) -> Result<(), Refusal> {
        self.limiter.connection_attempt(ip, now).map_err(|refusal| {
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
        self.limiter.tracked_ips()
    }

    /// Sets the fixture of account `name` (keys belong to the account named after them
    /// unless [`RegisteredKey::account`](crate::RegisteredKey::account) says otherwise).
    pub fn set_account(&mut self, name: &str, account: Account) {
        self.accounts.set(name, account);
        // The new fixture's balances and rates apply from now on.
        self.orders.forget_account(name);
    }

    /// The frames that deliver a User Data Stream `event` to every subscription of
    /// `account`, each with the connection it goes to (spec §4.6:
    /// `{"subscriptionId": N, "event": {...}}`).
    pub fn user_data_event(&self, account: &str, event: &serde_json::Value) -> Vec<(u64, String)> {
        self.routes.deliver(account, event, None)
    }

    /// The frames that deliver events of the orders core (times in ms) to every
    /// subscription of their accounts, times in each connection's unit.
    pub(crate) fn account_events(&self, events: &[AccountEvent]) -> Vec<(u64, String)> {
        events
            .iter()
            .flat_map(|e| self.routes.deliver_timed(&e.account, &e.event))
            .collect()
    }

    /// The frames requests handled so far caused for other connections than their own
    /// (User Data Stream events of an order placed or canceled), each with the connection it
    /// goes to, oldest first. Whoever drives connections delivers them with
    /// [`Connection::push_text`](crate::socketless::Connection::push_text); the network
    /// server does so after every request.
    pub fn take_outbox(&mut self) -> Vec<(u64, String)> {
        std::mem::take(&mut self.outbox)
    }

    /// [`user_data_event`](Self::user_data_event), with `E` set to `now` (in each
    /// connection's time unit) in an event that has none.
    pub fn stamped_user_data_event(
        &self,
        account: &str,
        event: &serde_json::Value,
        now: Timestamp,
    ) -> Vec<(u64, String)> {
        self.routes.deliver(account, event, Some(now))
    }

    /// The signature check a text frame calls for, if it is a request that carries its own
    /// `apiKey` and `signature` for a registered key: cheap to make under the server lock,
    /// to be [run](SignatureCheck::run) after releasing it, and its outcome handed to
    /// [`Connection::handle_checked_text`](crate::socketless::Connection::handle_checked_text).
    pub fn check_signature_of(&self, text: &str) -> Option<SignatureCheck> {
        let request = parse_request(text).ok()?;
        SignatureCheck::prepare(&request.params, |api_key| self.signing_key(api_key))
    }

    /// The key material of `api_key`, if registered, and whether signing is strict: what
    /// a [`SignatureCheck`] made outside the lock asks of the server.
    pub(crate) fn signing_key(&self, api_key: &str) -> Option<(KeyMaterial, bool)> {
        self.keys
            .get(api_key)
            .map(|key| (key.material.clone(), self.strict_signing))
    }

    /// The registered keys, to add or revoke one while connections are open.
    pub fn keys_mut(&mut self) -> &mut KeyRegistry {
        &mut self.keys
    }
}

/// How many requests each method has had: one count per method called so far, in the order
/// first called. Every request counts one, so a count is found by comparing the name's
/// address first (the names counted are the method table's own) rather than by hashing it.
#[derive(Debug, Default)]
pub(crate) struct Calls(Vec<(&'static str, u64)>);

impl Calls {
    /// Counts a request for `method`.
    pub fn count(&mut self, method: &'static str) {
        let same = |name: &&str| std::ptr::eq(*name, method) || *name == method;
        match self.0.iter_mut().find(|(name, _)| same(name)) {
            Some((_, n)) => *n += 1,
            None => self.0.push((method, 1)),
        }
    }

    /// How many requests `method` has had.
    pub fn get(&self, method: &str) -> u64 {
        self.0
            .iter()
            .find(|(name, _)| *name == method)
            .map_or(0, |(_, n)| *n)
    }
}

#[cfg(test)]
mod tests {
    use super::Calls;

    #[test]
    fn calls_are_counted_per_method_and_read_by_name() {
        let mut calls = Calls::default();
        calls.count("ping");
        calls.count("order.place");
        calls.count("ping");
        // The same name from elsewhere (not the table's): the same count.
        let name = String::from("ping");
        assert_eq!(calls.get(&name), 2);
        assert_eq!(calls.get("order.place"), 1);
        assert_eq!(calls.get("depth"), 0);
    }
}
