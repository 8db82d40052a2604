//! [`Config`]: the server's settings, their defaults (what the real API does) written once,
//! and their file form, which the `mock-server` binary's `--config` file uses.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::market::SymbolConfig;
use crate::rate_limit::BanPolicy;

/// Server settings; [`Config::default`] is what the real API does.
///
/// It (de)serializes as the `mock-server` binary's config file spells it: each field under
/// its name in kebab-case (`weight-limit`), durations as text (`"20s"`, `"24h"`), the ban
/// policy as the two keys `ban-after` and `ban-durations`. A key left out keeps its default;
/// an unknown key is refused, so that a misspelt setting cannot silently do nothing.
///
/// ```
/// # use std::time::Duration;
/// # use mock_server::Config;
/// let config: Config = serde_json::from_str(r#"{"weight-limit": 50, "ping-interval": "5s"}"#)?;
/// assert_eq!(config.weight_limit, 50);
/// assert_eq!(config.ping_interval, Duration::from_secs(5));
/// assert_eq!(config.pong_timeout, Config::default().pong_timeout);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
#[non_exhaustive]
pub struct Config {
    /// REQUEST_WEIGHT allowed per client IP per calendar minute (spec §5.1: 6000).
    pub weight_limit: u32,
    /// How often the server pings each connection (spec §1.3: 20 s).
    #[serde(with = "humantime_serde")]
    pub ping_interval: Duration,
    /// How long a ping may go unanswered before the server disconnects (spec §1.3: 60 s).
    #[serde(with = "humantime_serde")]
    pub pong_timeout: Duration,
    /// How long a connection may stay open (spec §1.3: 24 h).
    #[serde(with = "humantime_serde")]
    pub max_lifetime: Duration,
    /// Also accept a signature over the payload percent-encoded as the official connectors
    /// have encoded it (JavaScript's `encodeURIComponent`, Rust's `form_urlencoded`, Python's
    /// `urlencode`), not only over the raw UTF-8 payload. Off by default: Binance verifies
    /// over the raw payload (spec §3.2) and answers an encoded one with -1022, so a mock that
    /// accepted it would hide exactly that client bug (docs/FIDELITY.md §10.13).
    pub lenient_signing: bool,
    /// The largest message (and frame) accepted, in bytes; a larger one closes the
    /// connection with 1009. Binance documents none.
    pub max_message_size: usize,
    /// New connections allowed per client IP per five minutes (spec §5.1: 300).
    pub connection_rate_limit: u32,
    /// Connections open at once, from all IPs; past it the handshake gets HTTP 503.
    pub max_connections: usize,
    /// When repeated 429s become a ban, and how long bans last (spec §5.3).
    #[serde(flatten)]
    pub bans: BanPolicy,
    /// How long clients may stay after `serverShutdown` before the server closes them,
    /// measured on the server's [`Clock`](crate::Clock): on a frozen clock the grace ends
    /// when the clock is advanced past it (or when the clients leave).
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,
    /// How long sending one frame may take before the client is deemed to have stopped
    /// reading and is disconnected.
    #[serde(with = "humantime_serde")]
    pub write_timeout: Duration,
    /// How many pushed User Data Stream events may wait for one connection; past it the
    /// connection is closed (1008) rather than allowed to grow the server's memory.
    pub event_queue: usize,
    /// Send the User Data Stream events a request causes on its own connection before its
    /// reply instead of after it. Binance documents no order between the two; off by
    /// default (the reply first), so a client can be tested against both.
    pub events_before_reply: bool,
    /// Whether the control plane (`/__admin/*`) answers: `None` (the default) turns it on
    /// when the server listens on a loopback address, or when `admin_token` is set.
    pub admin: Option<bool>,
    /// The token every control-plane call must carry (`Authorization: Bearer TOKEN`); it
    /// also turns the control plane on off loopback. Never written out.
    #[serde(skip_serializing)]
    pub admin_token: Option<String>,
    /// How many requests the journal keeps (`GET /__admin/requests`); 0 keeps none.
    pub journal_size: usize,
    /// `ORDERS`: new orders one account may place per 10 seconds (`web-socket-api.md:3817`:
    /// 50); past it `order.place` is refused with -1015. A first fill takes one off the count.
    pub orders_per_10s: u32,
    /// `ORDERS`: new orders one account may place per UTC day (`web-socket-api.md:3817`:
    /// 160,000).
    pub orders_per_day: u32,
    /// The market's symbols, in the order `exchangeInfo` lists them (`[[symbols]]` in the
    /// config file); [`SymbolConfig::defaults`] unless given.
    pub symbols: Vec<SymbolConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            weight_limit: 6000,
            ping_interval: Duration::from_secs(20),
            pong_timeout: Duration::from_secs(60),
            max_lifetime: Duration::from_secs(24 * 60 * 60),
            lenient_signing: false,
            max_message_size: 1 << 20,
            connection_rate_limit: 300,
            max_connections: 10_000,
            bans: BanPolicy::default(),
            shutdown_grace: Duration::from_secs(5),
            write_timeout: Duration::from_secs(30),
            event_queue: 1024,
            events_before_reply: false,
            admin: None,
            admin_token: None,
            journal_size: 10_000,
            orders_per_10s: 50,
            orders_per_day: 160_000,
            symbols: SymbolConfig::defaults(),
        }
    }
}

/// A list of durations as a list of texts (`["2m", "1h"]`): `humantime_serde` reads one
/// duration or an optional one, not a sequence.
pub(crate) mod duration_list {
    use std::time::Duration;

    use humantime_serde::Serde;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Reads `["2m", "1h"]`.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Duration>, D::Error> {
        let texts = Vec::<Serde<Duration>>::deserialize(d)?;
        Ok(texts.into_iter().map(Serde::into_inner).collect())
    }

    /// Writes `["2m", "1h"]`.
    pub(crate) fn serialize<S: Serializer>(list: &[Duration], s: S) -> Result<S::Ok, S::Error> {
        let texts: Vec<Serde<&Duration>> = list.iter().map(Serde::from).collect();
        texts.serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_document_is_the_default_config() {
        let config: Config = serde_json::from_str("{}").expect("parses");
        assert_eq!(config, Config::default());
    }

    #[test]
    fn the_default_config_reads_back_as_itself() {
        let text = serde_json::to_string(&Config::default()).expect("serializes");
        let config: Config = serde_json::from_str(&text).expect("parses");
        assert_eq!(config, Config::default());
    }

    #[test]
    fn every_field_is_read_under_its_kebab_case_key() {
        let text = r#"{
            "weight-limit": 1, "ping-interval": "2s", "pong-timeout": "3s",
            "max-lifetime": "4s", "lenient-signing": true, "max-message-size": 5,
            "connection-rate-limit": 6, "max-connections": 7, "ban-after": 8,
            "ban-durations": ["9s", "1h"], "shutdown-grace": "10s",
            "write-timeout": "11s", "event-queue": 12, "events-before-reply": true, "admin": false,
            "admin-token": "t", "journal-size": 13, "orders-per-10s": 14,
            "orders-per-day": 15,
            "symbols": [{"symbol":"XUSDT","base-asset":"X","quote-asset":"USDT",
                "price":"1.00","level-quantity":"10",
                "price-filter":{"min-price":"0.01","max-price":"100","tick-size":"0.01"},
                "lot-size":{"min-qty":"1","max-qty":"100","step-size":"1"},
                "market-lot-size":{"min-qty":"0","max-qty":"100","step-size":"0"},
                "notional":{"min-notional":"5","apply-min-to-market":true,
                    "max-notional":"1000","apply-max-to-market":false,"avg-price-mins":5}}]
        }"#;
        let config: Config = serde_json::from_str(text).expect("parses");
        let secs = Duration::from_secs;
        let expected = Config {
            weight_limit: 1,
            ping_interval: secs(2),
            pong_timeout: secs(3),
            max_lifetime: secs(4),
            lenient_signing: true,
            max_message_size: 5,
            connection_rate_limit: 6,
            max_connections: 7,
            bans: BanPolicy {
                after_refusals: 8,
                durations: vec![secs(9), secs(3600)],
            },
            shutdown_grace: secs(10),
            write_timeout: secs(11),
            event_queue: 12,
            events_before_reply: true,
            admin: Some(false),
            admin_token: Some("t".to_owned()),
            journal_size: 13,
            orders_per_10s: 14,
            orders_per_day: 15,
            symbols: config.symbols.clone(),
        };
        assert_eq!(config, expected);
        assert_eq!(config.symbols.len(), 1);
        assert_eq!(config.symbols[0].symbol, "XUSDT");
    }

    #[test]
    fn an_unknown_key_is_refused_by_name() {
        for (text, unknown) in [
            (r#"{"weight_limit": 5}"#, "weight_limit"),
            (r#"{"ban-after": 1, "ban-never": true}"#, "ban-never"),
        ] {
            let error = serde_json::from_str::<Config>(text).expect_err("refused");
            assert!(error.to_string().contains(unknown), "{text}: {error}");
        }
    }

    #[test]
    fn a_ban_policy_alone_reads_the_same_two_keys() {
        let bans: BanPolicy = serde_json::from_str(r#"{"ban-after": 3}"#).expect("parses");
        assert_eq!(bans.after_refusals, 3);
        assert_eq!(bans.durations, BanPolicy::default().durations);
        let error =
            serde_json::from_str::<BanPolicy>(r#"{"ban-afterwards": 3}"#).expect_err("refused");
        assert!(error.to_string().contains("ban-afterwards"), "{error}");
    }

    #[test]
    fn a_duration_without_a_unit_is_refused() {
        let error =
            serde_json::from_str::<Config>(r#"{"ping-interval": "20"}"#).expect_err("refused");
        assert!(error.to_string().contains("expected a duration"), "{error}");
    }
}
