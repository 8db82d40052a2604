//! The operations the model and the targets are driven with, and how each becomes a frame.
//!
//! An operation says what to do in the spec's terms ("log on with the second key, its
//! timestamp 5001 ms old"); [`render`] turns it into the exact request text, signing with
//! the keys the target knows. Timestamps are offsets from the server's time, so that one
//! sequence means the same against a frozen clock and a live one.

use std::fmt;

use crate::keys::{malformed_key, unknown_key, KeyPair, TargetKeys};

/// Which key an operation uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum KeyRef {
    /// The target's first registered Ed25519 key.
    Primary,
    /// The second registered Ed25519 key.
    Secondary,
    /// The third registered Ed25519 key.
    Tertiary,
    /// The registered HMAC key.
    Hmac,
    /// A well-formed key the target does not know.
    Unknown,
    /// A key name outside the API key format.
    Malformed,
}

impl KeyRef {
    /// The key pair, if the target has this one.
    pub fn pair(self, keys: &TargetKeys) -> Option<KeyPair> {
        match self {
            KeyRef::Primary => Some(keys.primary.clone()),
            KeyRef::Secondary => keys.secondary.clone(),
            KeyRef::Tertiary => keys.tertiary.clone(),
            KeyRef::Hmac => keys.hmac.clone(),
            KeyRef::Unknown => Some(unknown_key()),
            KeyRef::Malformed => Some(malformed_key()),
        }
    }

    fn label(self) -> &'static str {
        match self {
            KeyRef::Primary => "key1",
            KeyRef::Secondary => "key2",
            KeyRef::Tertiary => "key3",
            KeyRef::Hmac => "hmac",
            KeyRef::Unknown => "unknown-key",
            KeyRef::Malformed => "malformed-key",
        }
    }
}

/// A signed parameter whose text can be changed after signing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SignedParam {
    ApiKey,
    Timestamp,
    RecvWindow,
}

/// A change made after signing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Tamper {
    /// One byte of the decoded signature XORed with `xor` (not 0).
    SignatureByte { index: usize, xor: u8 },
    /// The character at `index` (modulo the length) of a signed param replaced by `with`
    /// (or, if it already is `with`, by the next character of the alphabet).
    Param {
        param: SignedParam,
        index: usize,
        with: char,
    },
}

/// How a signed request is timed and what is done to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Signing {
    /// `timestamp` minus the server's time at receipt, in microseconds.
    pub offset_us: i64,
    /// Send `timestamp` in microseconds (spec §3.3) rather than milliseconds.
    pub micros: bool,
    /// `recvWindow` as sent (a JSON number's text), if sent.
    pub recv_window: Option<String>,
    /// A change made after signing.
    pub tamper: Option<Tamper>,
}

impl Signing {
    /// A timestamp at the server's time, no `recvWindow`, nothing changed.
    #[cfg(test)]
    pub fn now() -> Signing {
        Signing::offset_ms(0)
    }

    /// A timestamp `ms` from the server's time (negative: in the past).
    pub fn offset_ms(ms: i64) -> Signing {
        Signing {
            offset_us: ms * 1000,
            micros: false,
            recv_window: None,
            tamper: None,
        }
    }

    /// The same with `recvWindow`.
    pub fn recv_window(mut self, text: &str) -> Signing {
        self.recv_window = Some(text.to_owned());
        self
    }

    /// Whether the change after signing (if any) changes what was signed: a change to
    /// `recvWindow` changes nothing when none is sent.
    pub fn changes_signed_bytes(&self) -> bool {
        match &self.tamper {
            None => false,
            Some(Tamper::Param {
                param: SignedParam::RecvWindow,
                ..
            }) => self.recv_window.as_deref().is_some_and(|w| !w.is_empty()),
            Some(_) => true,
        }
    }

    /// The same with a change after signing.
    pub fn tampered(mut self, tamper: Tamper) -> Signing {
        self.tamper = Some(tamper);
        self
    }
}

/// Whose credentials a SIGNED request (`account.*`) carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Auth {
    /// None: performed for the session's key, with only `timestamp` (spec §4.2).
    Session,
    /// Its own `apiKey` and `signature`, for this request only.
    Own(KeyRef),
}

/// A request `id` (spec §2.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ReqId {
    /// No `id` member at all: answered with `id: null` (docs/FIDELITY.md §10.3).
    Absent,
    Null,
    Int(i64),
    Str(String),
}

impl ReqId {
    /// The member's JSON text, if any.
    pub fn json(&self) -> Option<String> {
        match self {
            ReqId::Absent => None,
            ReqId::Null => Some("null".to_owned()),
            ReqId::Int(n) => Some(n.to_string()),
            ReqId::Str(s) => Some(serde_json::Value::from(s.as_str()).to_string()),
        }
    }

    /// The `id` a reply must carry.
    pub fn echoed(&self) -> serde_json::Value {
        match self {
            ReqId::Absent | ReqId::Null => serde_json::Value::Null,
            ReqId::Int(n) => serde_json::Value::from(*n),
            ReqId::Str(s) => serde_json::Value::from(s.as_str()),
        }
    }
}

/// One thing a test does to a target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Ping {
        conn: usize,
        id: ReqId,
        rrl: Option<bool>,
    },
    Time {
        conn: usize,
        id: ReqId,
        rrl: Option<bool>,
    },
    Logon {
        conn: usize,
        id: ReqId,
        key: KeyRef,
        signing: Signing,
        rrl: Option<bool>,
    },
    Status {
        conn: usize,
        id: ReqId,
        rrl: Option<bool>,
    },
    Logout {
        conn: usize,
        id: ReqId,
        rrl: Option<bool>,
    },
    Subscriptions {
        conn: usize,
        id: ReqId,
        rrl: Option<bool>,
    },
    AccountStatus {
        conn: usize,
        id: ReqId,
        auth: Auth,
        signing: Signing,
        rrl: Option<bool>,
    },
    OrdersRateLimits {
        conn: usize,
        id: ReqId,
        auth: Auth,
        signing: Signing,
        rrl: Option<bool>,
    },
    Subscribe {
        conn: usize,
        id: ReqId,
        rrl: Option<bool>,
    },
    SubscribeSignature {
        conn: usize,
        id: ReqId,
        key: KeyRef,
        signing: Signing,
        rrl: Option<bool>,
    },
    Unsubscribe {
        conn: usize,
        id: ReqId,
        subscription: Option<u32>,
        rrl: Option<bool>,
    },
    /// A `ping` whose `id` is not valid: the raw JSON text of the `id` member.
    InvalidId { conn: usize, raw_id: String },
    /// Close the connection (if open); the next operation on it opens a new one.
    Reconnect { conn: usize },
    /// Move the target's frozen clock forward (in-process targets only).
    AdvanceClock { ms: u32 },
}

impl Op {
    /// The connection the operation runs on (none for the clock).
    pub fn conn(&self) -> Option<usize> {
        match self {
            Op::Ping { conn, .. }
            | Op::Time { conn, .. }
            | Op::Logon { conn, .. }
            | Op::Status { conn, .. }
            | Op::Logout { conn, .. }
            | Op::Subscriptions { conn, .. }
            | Op::AccountStatus { conn, .. }
            | Op::OrdersRateLimits { conn, .. }
            | Op::Subscribe { conn, .. }
            | Op::SubscribeSignature { conn, .. }
            | Op::Unsubscribe { conn, .. }
            | Op::InvalidId { conn, .. }
            | Op::Reconnect { conn } => Some(*conn),
            Op::AdvanceClock { .. } => None,
        }
    }

    /// The API method the operation sends (none for an invalid `id`, a reconnection or the
    /// clock).
    pub fn method(&self) -> Option<&'static str> {
        Some(match self {
            Op::Ping { .. } => "ping",
            Op::Time { .. } => "time",
            Op::Logon { .. } => "session.logon",
            Op::Status { .. } => "session.status",
            Op::Logout { .. } => "session.logout",
            Op::Subscriptions { .. } => "session.subscriptions",
            Op::AccountStatus { .. } => "account.status",
            Op::OrdersRateLimits { .. } => "account.rateLimits.orders",
            Op::Subscribe { .. } => "userDataStream.subscribe",
            Op::SubscribeSignature { .. } => "userDataStream.subscribe.signature",
            Op::Unsubscribe { .. } => "userDataStream.unsubscribe",
            Op::InvalidId { .. } | Op::Reconnect { .. } | Op::AdvanceClock { .. } => return None,
        })
    }

    /// The keys the operation needs the target to have.
    pub fn keys(&self) -> Vec<KeyRef> {
        match self {
            Op::Logon { key, .. } | Op::SubscribeSignature { key, .. } => vec![*key],
            Op::AccountStatus {
                auth: Auth::Own(key),
                ..
            }
            | Op::OrdersRateLimits {
                auth: Auth::Own(key),
                ..
            } => vec![*key],
            _ => Vec::new(),
        }
    }
}

/// The text of a signed param after `tamper`, if it applies to `param`.
pub(crate) fn tampered_text(text: &str, param: SignedParam, tamper: &Option<Tamper>) -> String {
    match tamper {
        Some(Tamper::Param {
            param: p,
            index,
            with,
        }) if *p == param && !text.is_empty() => {
            let chars: Vec<char> = text.chars().collect();
            let at = index % chars.len();
            let mut replacement = *with;
            if chars[at] == replacement {
                replacement = next_char(replacement);
            }
            chars
                .iter()
                .enumerate()
                .map(|(i, c)| if i == at { replacement } else { *c })
                .collect()
        }
        _ => text.to_owned(),
    }
}

fn next_char(c: char) -> char {
    match c {
        '9' => '0',
        'z' => 'a',
        'Z' => 'A',
        c if c.is_ascii_alphanumeric() => char::from(c as u8 + 1),
        _ => 'x',
    }
}

/// A request, ready to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Rendered {
    pub text: String,
}

/// Builds the request text of `op` on a server whose time is `server_now_us`.
///
/// # Panics
/// Never for ops without a request (`Reconnect`, `AdvanceClock`): those yield `None`.
pub(crate) fn render(op: &Op, keys: &TargetKeys, server_now_us: i64) -> Option<Rendered> {
    let unsigned = |method: &str, id: &ReqId, extra: Vec<(String, String)>, rrl: &Option<bool>| {
        let mut params = extra;
        if let Some(show) = rrl {
            params.push(("returnRateLimits".to_owned(), show.to_string()));
        }
        request_text(id, method, &params)
    };
    let text = match op {
        Op::Ping { id, rrl, .. } => unsigned("ping", id, Vec::new(), rrl),
        Op::Time { id, rrl, .. } => unsigned("time", id, Vec::new(), rrl),
        Op::Status { id, rrl, .. } => unsigned("session.status", id, Vec::new(), rrl),
        Op::Logout { id, rrl, .. } => unsigned("session.logout", id, Vec::new(), rrl),
        Op::Subscriptions { id, rrl, .. } => unsigned("session.subscriptions", id, Vec::new(), rrl),
        Op::Subscribe { id, rrl, .. } => unsigned("userDataStream.subscribe", id, Vec::new(), rrl),
        Op::Unsubscribe {
            id,
            subscription,
            rrl,
            ..
        } => {
            let extra = subscription
                .map(|s| vec![("subscriptionId".to_owned(), s.to_string())])
                .unwrap_or_default();
            unsigned("userDataStream.unsubscribe", id, extra, rrl)
        }
        Op::InvalidId { raw_id, .. } => {
            format!(r#"{{"id":{raw_id},"method":"ping","params":{{"returnRateLimits":false}}}}"#)
        }
        Op::Logon {
            id,
            key,
            signing,
            rrl,
            ..
        } => signed_text(
            "session.logon",
            id,
            key.pair(keys)?,
            signing,
            *rrl,
            server_now_us,
        ),
        Op::SubscribeSignature {
            id,
            key,
            signing,
            rrl,
            ..
        } => signed_text(
            "userDataStream.subscribe.signature",
            id,
            key.pair(keys)?,
            signing,
            *rrl,
            server_now_us,
        ),
        Op::AccountStatus {
            id,
            auth,
            signing,
            rrl,
            ..
        } => account_text(
            "account.status",
            id,
            *auth,
            keys,
            signing,
            *rrl,
            server_now_us,
        )?,
        Op::OrdersRateLimits {
            id,
            auth,
            signing,
            rrl,
            ..
        } => account_text(
            "account.rateLimits.orders",
            id,
            *auth,
            keys,
            signing,
            *rrl,
            server_now_us,
        )?,
        Op::Reconnect { .. } | Op::AdvanceClock { .. } => return None,
    };
    Some(Rendered { text })
}

fn account_text(
    method: &str,
    id: &ReqId,
    auth: Auth,
    keys: &TargetKeys,
    signing: &Signing,
    rrl: Option<bool>,
    server_now_us: i64,
) -> Option<String> {
    match auth {
        Auth::Own(key) => Some(signed_text(
            method,
            id,
            key.pair(keys)?,
            signing,
            rrl,
            server_now_us,
        )),
        Auth::Session => {
            let mut params = timing_params(signing, server_now_us);
            if let Some(show) = rrl {
                params.push(("returnRateLimits".to_owned(), show.to_string()));
            }
            Some(request_text(id, method, &params))
        }
    }
}

/// `timestamp` (and `recvWindow`) as sent, after any tampering with them.
fn timing_params(signing: &Signing, server_now_us: i64) -> Vec<(String, String)> {
    let timestamp_us = server_now_us.saturating_add(signing.offset_us);
    let timestamp = if signing.micros {
        timestamp_us.to_string()
    } else {
        timestamp_us.div_euclid(1000).to_string()
    };
    let mut params = vec![("timestamp".to_owned(), timestamp)];
    if let Some(window) = &signing.recv_window {
        params.push(("recvWindow".to_owned(), window.clone()));
    }
    params
}

fn signed_text(
    method: &str,
    id: &ReqId,
    key: KeyPair,
    signing: &Signing,
    rrl: Option<bool>,
    server_now_us: i64,
) -> String {
    let api_key_json = serde_json::Value::from(key.api_key()).to_string();
    let mut params = vec![("apiKey".to_owned(), api_key_json)];
    params.extend(timing_params(signing, server_now_us));
    if let Some(show) = rrl {
        params.push(("returnRateLimits".to_owned(), show.to_string()));
    }
    let mut signature = key.sign(&payload(&params));
    if let Some(Tamper::SignatureByte { index, xor }) = &signing.tamper {
        signature = key.tamper(&signature, *index, *xor);
    }
    let mut sent: Vec<(String, String)> = params
        .into_iter()
        .map(|(name, json)| {
            let param = match name.as_str() {
                "apiKey" => Some(SignedParam::ApiKey),
                "timestamp" => Some(SignedParam::Timestamp),
                "recvWindow" => Some(SignedParam::RecvWindow),
                _ => None,
            };
            let json = match param {
                Some(SignedParam::ApiKey) => {
                    let text = tampered_text(key.api_key(), SignedParam::ApiKey, &signing.tamper);
                    serde_json::Value::from(text).to_string()
                }
                Some(p) => {
                    // Numbers whose text changed may no longer be JSON numbers (`0700...`,
                    // `17x0`): send those as strings, whose text is the same in the payload.
                    let text = tampered_text(&json, p, &signing.tamper);
                    let is_number = serde_json::from_str::<serde_json::Value>(&text)
                        .is_ok_and(|v| v.is_number());
                    if text == json || is_number {
                        text
                    } else {
                        serde_json::Value::from(text).to_string()
                    }
                }
                None => json,
            };
            (name, json)
        })
        .collect();
    sent.insert(
        1,
        (
            "signature".to_owned(),
            serde_json::Value::from(signature).to_string(),
        ),
    );
    request_text(id, method, &sent)
}

pub(crate) use test_support::signer::payload;

/// `{"id":..,"method":..,"params":{..}}` with the params (name, raw JSON) in the order given;
/// no `params` member when there are none, no `id` member for [`ReqId::Absent`].
pub(crate) fn request_text(id: &ReqId, method: &str, params: &[(String, String)]) -> String {
    let mut members = Vec::new();
    if let Some(id) = id.json() {
        members.push(format!(r#""id":{id}"#));
    }
    members.push(format!(r#""method":"{method}""#));
    if !params.is_empty() {
        let inner: Vec<String> = params
            .iter()
            .map(|(name, json)| format!(r#""{name}":{json}"#))
            .collect();
        members.push(format!(r#""params":{{{}}}"#, inner.join(",")));
    }
    format!("{{{}}}", members.join(","))
}

impl fmt::Display for ReqId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.json() {
            Some(json) => write!(f, "id={json}"),
            None => write!(f, "no id"),
        }
    }
}

impl fmt::Display for Signing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = if self.micros { "µs" } else { "ms" };
        if self.micros {
            write!(f, "ts {:+}µs", self.offset_us)?;
        } else {
            write!(f, "ts {:+}{unit}", self.offset_us / 1000)?;
        }
        if let Some(window) = &self.recv_window {
            write!(f, " recvWindow {window}")?;
        }
        match &self.tamper {
            None => Ok(()),
            Some(Tamper::SignatureByte { index, xor }) => {
                write!(f, " signature byte {index} ^ {xor:#04x}")
            }
            Some(Tamper::Param { param, index, with }) => {
                write!(f, " {param:?} char {index} -> {with:?} after signing")
            }
        }
    }
}

fn rrl_text(rrl: &Option<bool>) -> String {
    rrl.map(|show| format!(" returnRateLimits={show}"))
        .unwrap_or_default()
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (conn, id, rrl) = match self {
            Op::InvalidId { conn, raw_id } => {
                return write!(f, "conn {conn}: ping with id {raw_id}")
            }
            Op::Reconnect { conn } => return write!(f, "conn {conn}: reconnect"),
            Op::AdvanceClock { ms } => return write!(f, "clock +{ms} ms"),
            Op::Ping { conn, id, rrl }
            | Op::Time { conn, id, rrl }
            | Op::Status { conn, id, rrl }
            | Op::Logout { conn, id, rrl }
            | Op::Subscriptions { conn, id, rrl }
            | Op::Subscribe { conn, id, rrl }
            | Op::Logon { conn, id, rrl, .. }
            | Op::SubscribeSignature { conn, id, rrl, .. }
            | Op::AccountStatus { conn, id, rrl, .. }
            | Op::OrdersRateLimits { conn, id, rrl, .. }
            | Op::Unsubscribe { conn, id, rrl, .. } => (conn, id, rrl),
        };
        let method = self.method().unwrap_or_default();
        let detail = match self {
            Op::Logon { key, signing, .. } | Op::SubscribeSignature { key, signing, .. } => {
                format!(" {} {signing}", key.label())
            }
            Op::AccountStatus { auth, signing, .. }
            | Op::OrdersRateLimits { auth, signing, .. } => match auth {
                Auth::Session => format!(" session key {signing}"),
                Auth::Own(key) => format!(" signed by {} {signing}", key.label()),
            },
            Op::Unsubscribe { subscription, .. } => {
                subscription.map_or_else(|| " all".to_owned(), |s| format!(" #{s}"))
            }
            _ => String::new(),
        };
        write!(f, "conn {conn}: {method} {id}{detail}{}", rrl_text(rrl))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::TargetKeys;

    #[test]
    fn the_payload_sorts_and_unescapes() {
        let params = vec![
            ("timestamp".to_owned(), "1700000000000".to_owned()),
            ("apiKey".to_owned(), "\"K\"".to_owned()),
            ("signature".to_owned(), "\"s\"".to_owned()),
        ];
        assert_eq!(payload(&params), "apiKey=K&timestamp=1700000000000");
    }

    /// The text of a logon with the primary key and `signing`, at 1_700_000_000_000 ms.
    fn logon_text(keys: &TargetKeys, signing: Signing) -> String {
        let op = Op::Logon {
            conn: 0,
            id: ReqId::Int(1),
            key: KeyRef::Primary,
            signing,
            rrl: None,
        };
        render(&op, keys, 1_700_000_000_000_000)
            .expect("a request")
            .text
    }

    #[test]
    fn a_logon_is_signed_over_the_documented_payload() {
        let keys = TargetKeys::in_process();
        let text = logon_text(&keys, Signing::now());
        let expected_signature = keys.primary.sign(&format!(
            "apiKey={}&timestamp=1700000000000",
            keys.primary.api_key()
        ));
        assert_eq!(
            text,
            format!(
                r#"{{"id":1,"method":"session.logon","params":{{"apiKey":"{}","signature":"{expected_signature}","timestamp":1700000000000}}}}"#,
                keys.primary.api_key()
            )
        );
    }

    #[test]
    fn a_tampered_number_that_is_no_json_number_is_sent_as_a_string() {
        let keys = TargetKeys::in_process();
        let signing = Signing::now().tampered(Tamper::Param {
            param: SignedParam::Timestamp,
            index: 0,
            with: '0',
        });
        let text = logon_text(&keys, signing);
        assert!(text.ends_with(r#""timestamp":"0700000000000"}}"#), "{text}");
        let value: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(value["params"]["timestamp"], "0700000000000");
    }

    #[test]
    fn a_tampered_timestamp_keeps_its_length_and_differs() {
        let tamper = Some(Tamper::Param {
            param: SignedParam::Timestamp,
            index: 3,
            with: '0',
        });
        let changed = tampered_text("1700000000000", SignedParam::Timestamp, &tamper);
        assert_eq!(changed, "1701000000000");
        let at_zero = Some(Tamper::Param {
            param: SignedParam::Timestamp,
            index: 4,
            with: '0',
        });
        assert_eq!(
            tampered_text("1700000000000", SignedParam::Timestamp, &at_zero),
            "1700100000000"
        );
    }
}
