//! The requests the benchmarks send, and a signer for `session.logon`.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use mock_server::{demo, Account, Balance};
use test_support::signer::{payload, KeyPair};

/// `ping` with `id` 1 (weight 1).
pub const PING: &str = r#"{"id":1,"method":"ping"}"#;

/// `session.status` with `id` 1 (weight 2).
pub const STATUS: &str = r#"{"id":1,"method":"session.status"}"#;

/// A kind of request in a load mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestKind {
    /// `ping`.
    Ping,
    /// `session.status`.
    Status,
    /// `session.logon`, signed with the load's key.
    Logon,
    /// `order.place` of [`write_place`]: a `LIMIT` buy that rests, on a connection logged
    /// on once before the load.
    Place,
    /// `order.test` of the same order ([`write_test`]), on a connection logged on once
    /// before the load.
    Test,
    /// `depth` of BTCUSDT, `limit` 100 ([`DEPTH`]).
    Depth,
    /// `order.cancel` ([`write_cancel`]) of the oldest order the connection placed and has
    /// not cancelled yet, by its `newClientOrderId`; with none left, the order of
    /// [`write_place_named`] instead. With `cancel` in a mix, every placement of the
    /// connection is named, so that it can be cancelled.
    Cancel,
}

impl RequestKind {
    /// The method name, as in the API.
    pub fn method(self) -> &'static str {
        match self {
            RequestKind::Ping => "ping",
            RequestKind::Status => "session.status",
            RequestKind::Logon => "session.logon",
            RequestKind::Place => "order.place",
            RequestKind::Test => "order.test",
            RequestKind::Depth => "depth",
            RequestKind::Cancel => "order.cancel",
        }
    }

    /// Parses `ping`, `status` / `session.status`, `logon` / `session.logon`, `place` /
    /// `order.place`, `test` / `order.test`, `depth`, `cancel` / `order.cancel`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "ping" => Some(RequestKind::Ping),
            "status" | "session.status" => Some(RequestKind::Status),
            "logon" | "session.logon" => Some(RequestKind::Logon),
            "place" | "order.place" => Some(RequestKind::Place),
            "test" | "order.test" => Some(RequestKind::Test),
            "depth" => Some(RequestKind::Depth),
            "cancel" | "order.cancel" => Some(RequestKind::Cancel),
            _ => None,
        }
    }
}

/// The payload a signature covers (spec §3.2), for params given as (name, raw JSON text):
/// the shared builder of `test_support::signer`.
pub fn signature_payload(params: &[(&str, &str)]) -> String {
    payload(params)
}

/// Milliseconds since the Unix epoch, as `timestamp` wants them.
pub fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Signs `session.logon` requests with one Ed25519 key.
#[derive(Debug, Clone)]
pub struct LogonSigner {
    key: KeyPair,
}

/// The signed part of a logon: reusable with any `id` until `timestamp` leaves the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedLogon {
    /// The `timestamp` param, in milliseconds.
    pub timestamp: i64,
    /// The `recvWindow` param, if sent.
    pub recv_window: Option<u32>,
    /// The base64 Ed25519 signature.
    pub signature: String,
}

impl LogonSigner {
    /// The mock's built-in demo key.
    ///
    /// # Errors
    /// Never in practice: only if the demo PEM shipped with the mock did not parse.
    pub fn demo() -> anyhow::Result<Self> {
        Self::from_pem(
            mock_server::demo::API_KEY,
            mock_server::demo::PRIVATE_KEY_PEM,
        )
    }

    /// A key from its API key and PKCS#8 PEM private key (`openssl genpkey -algorithm ed25519`).
    ///
    /// # Errors
    /// When the PEM is not an Ed25519 private key.
    pub fn from_pem(api_key: &str, private_key_pem: &str) -> anyhow::Result<Self> {
        let key = KeyPair::ed25519_from_pem(api_key, private_key_pem)
            .context("not an Ed25519 PKCS#8 PEM private key")?;
        Ok(LogonSigner { key })
    }

    /// The API key.
    pub fn api_key(&self) -> &str {
        self.key.api_key()
    }

    /// Signs `apiKey`, `timestamp` and, if given, `recvWindow`.
    pub fn sign(&self, timestamp: i64, recv_window: Option<u32>) -> SignedLogon {
        let api_key = serde_json::Value::from(self.api_key()).to_string();
        let ts = timestamp.to_string();
        let window = recv_window.map(|w| w.to_string());
        let mut params = vec![("apiKey", api_key.as_str()), ("timestamp", &ts)];
        if let Some(window) = &window {
            params.push(("recvWindow", window));
        }
        let signature = self.key.sign(&payload(&params));
        SignedLogon {
            timestamp,
            recv_window,
            signature,
        }
    }

    /// Appends the request text of a signed logon with this `id` to `out`.
    pub fn write_request(&self, id: u64, signed: &SignedLogon, out: &mut String) {
        let _ = write!(
            out,
            r#"{{"id":{id},"method":"session.logon","params":{{"apiKey":"{}","signature":"{}","timestamp":{}"#,
            self.api_key(),
            signed.signature,
            signed.timestamp
        );
        if let Some(window) = signed.recv_window {
            let _ = write!(out, r#","recvWindow":{window}"#);
        }
        out.push_str("}}");
    }

    /// A complete logon request signed now.
    pub fn request_now(&self, id: u64, recv_window: Option<u32>) -> String {
        let mut out = String::new();
        self.write_request(id, &self.sign(now_millis(), recv_window), &mut out);
        out
    }
}

/// The `order.place` of the `place` mix: a `LIMIT` `GTC` buy of 0.00100 BTCUSDT at 30000.00,
/// half the default market's 60000.00, so it rests and never fills; it locks 30 USDT. `ACK`,
/// so the reply is the placement alone (the default for `LIMIT` is `FULL`, whose result is
/// a serialization of the whole order): what is measured is the orders core.
pub const PLACE_PARAMS: &str = r#""symbol":"BTCUSDT","side":"BUY","type":"LIMIT","timeInForce":"GTC","price":"30000.00","quantity":"0.00100","newOrderRespType":"ACK""#;

/// The USDT of the demo account in a mock that takes the `place` mix: each order locks 30
/// USDT, so the fixture's 10,000 would refuse the 334th with -2010; this lasts 3 × 10^10
/// orders.
pub const PLACE_USDT: &str = "1000000000000.00000000";

/// The demo account's free balances for the `place` mix: the fixture's, but [`PLACE_USDT`].
pub fn place_balances() -> [(&'static str, &'static str); 3] {
    [
        ("BTC", "1.00000000"),
        ("USDT", PLACE_USDT),
        ("BNB", "0.00000000"),
    ]
}

/// The demo account with [`place_balances`], nothing locked.
pub fn place_account() -> Account {
    let balances = place_balances()
        .iter()
        .map(|(asset, free)| Balance::new(asset, free, "0.00000000"))
        .collect();
    Account::fixture(demo::API_KEY).with_balances(balances)
}

/// Appends the text of an `order.place` ([`PLACE_PARAMS`]) with this `id` and `timestamp`
/// (ms, the mock's clock: the system's for a mock this tool starts) to `out`. It is not
/// signed: it rides on the session's logon.
pub fn write_place(id: u64, timestamp: i64, out: &mut String) {
    let _ = write!(
        out,
        r#"{{"id":{id},"method":"order.place","params":{{{PLACE_PARAMS},"timestamp":{timestamp}}}}}"#
    );
}

/// Appends the text of the `order.place` of [`write_place`], named `newClientOrderId`
/// `client` (`^[a-zA-Z0-9-_]{1,36}$`), so that [`write_cancel`] can cancel it.
pub fn write_place_named(id: u64, timestamp: i64, client: &str, out: &mut String) {
    let _ = write!(
        out,
        r#"{{"id":{id},"method":"order.place","params":{{{PLACE_PARAMS},"newClientOrderId":"{client}","timestamp":{timestamp}}}}}"#
    );
}

/// Appends the text of an `order.cancel` of the BTCUSDT order named `client`
/// ([`write_place_named`]), with this `id` and `timestamp`.
pub fn write_cancel(id: u64, timestamp: i64, client: &str, out: &mut String) {
    let _ = write!(
        out,
        r#"{{"id":{id},"method":"order.cancel","params":{{"symbol":"BTCUSDT","origClientOrderId":"{client}","timestamp":{timestamp}}}}}"#
    );
}

/// Appends the text of an `order.test` of the order [`write_place`] places, with this `id`
/// and `timestamp`.
pub fn write_test(id: u64, timestamp: i64, out: &mut String) {
    let _ = write!(
        out,
        r#"{{"id":{id},"method":"order.test","params":{{{PLACE_PARAMS},"timestamp":{timestamp}}}}}"#
    );
}

/// The params of the `depth` mix: the book of BTCUSDT, 100 levels a side (the default
/// `limit`, weight 5).
pub const DEPTH_PARAMS: &str = r#""symbol":"BTCUSDT","limit":100"#;

/// Appends the text of a `depth` request ([`DEPTH_PARAMS`]) with this `id` to `out`.
pub fn write_depth(id: u64, out: &mut String) {
    let _ = write!(
        out,
        r#"{{"id":{id},"method":"depth","params":{{{DEPTH_PARAMS}}}}}"#
    );
}

/// Appends the text of a `ping` or `session.status` request with this `id` to `out`;
/// a logon needs [`LogonSigner::write_request`], an order [`write_place`].
pub fn write_unsigned(kind: RequestKind, id: u64, out: &mut String) {
    let _ = write!(out, r#"{{"id":{id},"method":"{}"}}"#, kind.method());
}

#[cfg(test)]
mod tests {
    use super::*;
    use mock_server::socketless::{Connection, Server};
    use mock_server::{Config, ConnectionOptions, KeyRegistry, Timestamp};
    use std::net::{IpAddr, Ipv4Addr};

    #[test]
    fn payload_is_sorted_and_leaves_the_signature_out() {
        assert_eq!(
            signature_payload(&[
                ("timestamp", "2"),
                ("signature", "\"x\""),
                ("apiKey", "\"k\"")
            ]),
            "apiKey=k&timestamp=2"
        );
    }

    #[test]
    fn signed_logon_is_accepted_by_the_mock_core() -> anyhow::Result<()> {
        let signer = LogonSigner::demo()?;
        let mut core = Server::new(&Config::default(), KeyRegistry::with_demo_key());
        let now = Timestamp::from_millis(1_700_000_000_000);
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let mut conn = Connection::open(&mut core, ip, now, ConnectionOptions::default());
        let mut text = String::new();
        signer.write_request(9, &signer.sign(now.as_millis(), Some(60_000)), &mut text);
        let reply = conn.reply_to(&text, now, &mut core).expect("a reply");
        assert!(
            reply.starts_with(r#"{"id":9,"status":200,"result":{"apiKey":"demo"#),
            "{reply}"
        );
        Ok(())
    }

    /// A mock core with a connection logged on with the demo key, and the time it runs at.
    fn logged_on() -> anyhow::Result<(Server, Connection, Timestamp)> {
        let signer = LogonSigner::demo()?;
        let mut core = Server::new(&Config::default(), KeyRegistry::with_demo_key());
        let now = Timestamp::from_millis(1_700_000_000_000);
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let mut conn = Connection::open(&mut core, ip, now, ConnectionOptions::default());
        let mut text = String::new();
        signer.write_request(1, &signer.sign(now.as_millis(), None), &mut text);
        let logon = conn.reply_to(&text, now, &mut core).expect("a reply");
        assert!(logon.contains(r#""status":200"#), "{logon}");
        Ok((core, conn, now))
    }

    #[test]
    fn a_place_rests_on_a_logged_on_session_of_the_mock_core() -> anyhow::Result<()> {
        let (mut core, mut conn, now) = logged_on()?;
        let mut text = String::new();
        write_place(2, now.as_millis(), &mut text);
        let reply = conn.reply_to(&text, now, &mut core).expect("a reply");
        assert!(
            reply.starts_with(r#"{"id":2,"status":200,"result":{"symbol":"BTCUSDT","orderId":1,"#),
            "{reply}"
        );
        assert_eq!(RequestKind::parse("place"), Some(RequestKind::Place));
        assert_eq!(RequestKind::parse("test"), Some(RequestKind::Test));
        assert_eq!(RequestKind::parse("depth"), Some(RequestKind::Depth));
        Ok(())
    }

    #[test]
    fn a_named_place_is_cancelled_by_its_name_on_the_mock_core() -> anyhow::Result<()> {
        let (mut core, mut conn, now) = logged_on()?;
        let mut text = String::new();
        write_place_named(2, now.as_millis(), "load-3-2", &mut text);
        let placed = conn.reply_to(&text, now, &mut core).expect("a reply");
        assert!(placed.contains(r#""clientOrderId":"load-3-2""#), "{placed}");
        text.clear();
        write_cancel(3, now.as_millis(), "load-3-2", &mut text);
        let cancelled = conn.reply_to(&text, now, &mut core).expect("a reply");
        assert!(
            cancelled.starts_with(r#"{"id":3,"status":200,"result":{"symbol":"BTCUSDT","origClientOrderId":"load-3-2","#)
                && cancelled.contains(r#""status":"CANCELED""#),
            "{cancelled}"
        );
        // Gone: a second cancel of the same name is refused.
        text.clear();
        write_cancel(4, now.as_millis(), "load-3-2", &mut text);
        let again = conn.reply_to(&text, now, &mut core).expect("a reply");
        assert!(again.contains(r#""status":400"#), "{again}");
        assert_eq!(RequestKind::parse("cancel"), Some(RequestKind::Cancel));
        Ok(())
    }

    #[test]
    fn unsigned_requests_name_their_method() {
        let mut out = String::new();
        write_unsigned(RequestKind::Status, 3, &mut out);
        assert_eq!(out, r#"{"id":3,"method":"session.status"}"#);
    }
}
