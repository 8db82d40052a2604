//! The reference model: a pure state machine of the connections of one client IP, which gives
//! the reply each operation must get (spec §3–§6, docs/FIDELITY.md).
//!
//! State: per connection, anonymous or logged on with key K since T, its User Data Stream
//! subscriptions and the next subscription id, the URL's `returnRateLimits`; shared by the
//! connections, the weight used in the current minute. Time is known exactly when the
//! target's clock is frozen, and left to the checker (which binds what it observes) when the
//! target runs on a live clock.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::keys::TargetKeys;
use crate::op::{tampered_text, Auth, KeyRef, Op, SignedParam, Signing};
use crate::spec::{self, ApiErr};

/// A key as the model sees it: registered or not, Ed25519 or not, whose account.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ModelKey {
    api_key: String,
    ed25519: bool,
    account: String,
}

/// How a subscription was made, which decides what ends it (spec §4.4, §4.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// `userDataStream.subscribe`: ends on logout and on logon with another key.
    Logon,
    /// `userDataStream.subscribe.signature`: outlives logout.
    Signature,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Subscription {
    account: String,
    kind: Kind,
}

/// The authenticated key of a connection.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Logon {
    api_key: String,
    /// When it logged on (frozen clocks only).
    since_ms: Option<i64>,
}

/// One connection.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Connection {
    url_return_rate_limits: bool,
    connected_since_ms: Option<i64>,
    logon: Option<Logon>,
    subscriptions: BTreeMap<u32, Subscription>,
    issued: u32,
}

/// `authorizedSince` as the model expects it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Since {
    /// `null`: anonymous.
    Null,
    /// Set by an earlier logon: at this time (frozen), or as first observed (live).
    Earlier(Option<i64>),
    /// Set by this very reply: equal to its `serverTime`.
    ThisReply,
}

/// The result object of the `session.*` methods (spec §4.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SessionResult {
    pub api_key: Option<String>,
    pub authorized_since: Since,
    pub connected_since_ms: Option<i64>,
    pub return_rate_limits: bool,
    pub user_data_stream: bool,
}

/// The `result` a successful reply must carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ResultExpect {
    /// `{}` (`ping`, `userDataStream.unsubscribe`).
    Empty,
    /// `{"serverTime": now}` (`time`).
    ServerTime,
    Session(SessionResult),
    /// `{"subscriptionId": n}`.
    SubscriptionId(u32),
    /// `[{"subscriptionId": n}, ...]`.
    Subscriptions(Vec<u32>),
    /// An account (spec §6.4): compared by shape, and by `uid` per key.
    AccountStatus {
        api_key: String,
    },
    /// The ORDERS limits (spec §6.3).
    OrdersRateLimits,
    /// Anything: the case checks the result itself (the market methods' cases).
    Unchecked,
}

/// The `error.data` of a 429 (docs/FIDELITY.md §10.16).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RetryData {
    pub server_time_ms: Option<i64>,
    pub retry_after_ms: Option<i64>,
}

/// The outcome a reply must report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Ok(ResultExpect),
    Err(ApiErr, Option<RetryData>),
}

/// Everything the model expects of one request's reply and the frames after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Expected {
    pub conn: usize,
    pub id: Value,
    pub outcome: Outcome,
    /// Whether the reply carries `rateLimits`.
    pub rate_limits: bool,
    /// The weight this request adds to the count.
    pub charged: u32,
    /// The count after it, when the model knows it (frozen clock).
    pub count: Option<u32>,
    /// `eventStreamTerminated` events that must follow, by subscription id.
    pub terminated: Vec<u32>,
    /// The server's time at receipt (frozen clock).
    pub now_ms: Option<i64>,
}

/// The model of one client IP's connections to a target.
#[derive(Clone, Debug)]
pub(crate) struct Model {
    keys: Vec<(KeyRef, ModelKey)>,
    weight_limit: Option<u32>,
    /// The target's time, for frozen clocks; `None` on a live clock.
    now_us: Option<i64>,
    minute: Option<i64>,
    used: u32,
    connections: Vec<Option<Connection>>,
}

const MINUTE_US: i64 = 60_000_000;

impl Model {
    /// A model of a target that knows `keys`, with the weight limit if known (a live target's
    /// limit is left to pacing: the model then never predicts a 429), on a clock frozen at
    /// `now_us` or live (`None`). The weight used so far in the minute is zero: callers start
    /// frozen cases at a fresh minute.
    pub fn new(keys: &TargetKeys, weight_limit: Option<u32>, now_us: Option<i64>) -> Model {
        let mut model_keys = Vec::new();
        let account = |api_key: &str| {
            if keys.same_account {
                "shared account".to_owned()
            } else {
                api_key.to_owned()
            }
        };
        for (which, pair) in [
            (KeyRef::Primary, Some(&keys.primary)),
            (KeyRef::Secondary, keys.secondary.as_ref()),
            (KeyRef::Tertiary, keys.tertiary.as_ref()),
            (KeyRef::Hmac, keys.hmac.as_ref()),
        ] {
            if let Some(pair) = pair {
                model_keys.push((
                    which,
                    ModelKey {
                        api_key: pair.api_key().to_owned(),
                        ed25519: pair.is_ed25519(),
                        account: account(pair.api_key()),
                    },
                ));
            }
        }
        Model {
            keys: model_keys,
            weight_limit,
            now_us,
            minute: now_us.map(|now| now.div_euclid(MINUTE_US)),
            used: 0,
            connections: Vec::new(),
        }
    }

    /// The target's time in milliseconds (frozen clocks).
    pub fn now_ms(&self) -> Option<i64> {
        self.now_us.map(|us| us.div_euclid(1000))
    }

    /// Opens connection `conn` (replacing any), with the URL's `returnRateLimits` (default
    /// true): charges the weight of a new connection (spec §5.1).
    pub fn open(&mut self, conn: usize, url_return_rate_limits: Option<bool>) {
        self.charge(spec::CONNECTION_WEIGHT);
        if self.connections.len() <= conn {
            self.connections.resize(conn + 1, None);
        }
        self.connections[conn] = Some(Connection {
            url_return_rate_limits: url_return_rate_limits.unwrap_or(true),
            connected_since_ms: self.now_ms(),
            logon: None,
            subscriptions: BTreeMap::new(),
            issued: 0,
        });
    }

    /// Forgets connection `conn`: it was closed.
    pub fn close(&mut self, conn: usize) {
        if let Some(slot) = self.connections.get_mut(conn) {
            *slot = None;
        }
    }

    /// Moves a frozen clock forward.
    pub fn advance(&mut self, ms: u32) {
        if let Some(now) = &mut self.now_us {
            *now = now.saturating_add(i64::from(ms) * 1000);
        }
    }

    fn charge(&mut self, weight: u32) -> bool {
        if let Some(now) = self.now_us {
            let minute = now.div_euclid(MINUTE_US);
            if self.minute != Some(minute) {
                self.minute = Some(minute);
                self.used = 0;
            }
        }
        self.used = self.used.saturating_add(weight);
        self.weight_limit.is_some_and(|limit| self.used > limit)
    }

    fn key(&self, which: KeyRef) -> Option<&ModelKey> {
        self.keys.iter().find(|(k, _)| *k == which).map(|(_, k)| k)
    }

    fn registered(&self, api_key: &str) -> Option<&ModelKey> {
        self.keys
            .iter()
            .map(|(_, k)| k)
            .find(|k| k.api_key == api_key)
    }

    /// The API key `which` stands for, as sent before any tampering.
    fn api_key_of(&self, which: KeyRef) -> String {
        match self.key(which) {
            Some(key) => key.api_key.clone(),
            None => match which {
                KeyRef::Unknown => crate::keys::unknown_key().api_key().to_owned(),
                _ => crate::keys::malformed_key().api_key().to_owned(),
            },
        }
    }

    /// The checks of a request signed with its own `apiKey` (docs/FIDELITY.md order): key
    /// format, key known, key type, signature, `recvWindow`, timing.
    fn authenticate(
        &self,
        which: KeyRef,
        signing: &Signing,
        ed25519_only: bool,
    ) -> Result<ModelKey, ApiErr> {
        let own = self.api_key_of(which);
        let sent = tampered_text(&own, SignedParam::ApiKey, &signing.tamper);
        if !spec::is_well_formed_api_key(&sent) {
            return Err(spec::bad_api_key_format());
        }
        let key = self
            .registered(&sent)
            .cloned()
            .ok_or_else(spec::rejected_api_key)?;
        if ed25519_only && !key.ed25519 {
            return Err(spec::invalid_signature());
        }
        // Any change after signing, or a key signing for another's name, breaks the signature.
        if signing.changes_signed_bytes() || sent != own {
            return Err(spec::invalid_signature());
        }
        check_timing(signing)?;
        Ok(key)
    }

    /// Models one request op on an open connection; `None` for ops without a request
    /// (`Reconnect`, `AdvanceClock`).
    pub fn request(&mut self, op: &Op) -> Option<Expected> {
        let conn = op.conn().unwrap_or(0);
        let now_ms = self.now_ms();
        let (id, method, rrl) = match op {
            Op::InvalidId { .. } => {
                return Some(Expected {
                    conn,
                    id: Value::Null,
                    outcome: Outcome::Err(spec::invalid_id(), None),
                    rate_limits: false,
                    charged: 0,
                    count: self.now_us.map(|_| self.used),
                    terminated: Vec::new(),
                    now_ms,
                })
            }
            Op::Ping { id, rrl, .. } => (id, "ping", rrl),
            Op::Time { id, rrl, .. } => (id, "time", rrl),
            Op::Logon { id, rrl, .. } => (id, "session.logon", rrl),
            Op::Status { id, rrl, .. } => (id, "session.status", rrl),
            Op::Logout { id, rrl, .. } => (id, "session.logout", rrl),
            Op::Subscriptions { id, rrl, .. } => (id, "session.subscriptions", rrl),
            Op::AccountStatus { id, rrl, .. } => (id, "account.status", rrl),
            Op::OrdersRateLimits { id, rrl, .. } => (id, "account.rateLimits.orders", rrl),
            Op::Subscribe { id, rrl, .. } => (id, "userDataStream.subscribe", rrl),
            Op::SubscribeSignature { id, rrl, .. } => {
                (id, "userDataStream.subscribe.signature", rrl)
            }
            Op::Unsubscribe { id, rrl, .. } => (id, "userDataStream.unsubscribe", rrl),
            Op::Reconnect { .. } | Op::AdvanceClock { .. } => return None,
        };
        let url_default = self
            .connections
            .get(conn)
            .and_then(Option::as_ref)
            .is_none_or(|c| c.url_return_rate_limits);
        let rate_limits = rrl.unwrap_or(url_default);
        let charged = spec::weight(method);
        let over = self.charge(charged);
        let count = self.now_us.map(|_| self.used);
        let mut terminated = Vec::new();
        let outcome = if over {
            let limit = self.weight_limit.unwrap_or(u32::MAX);
            Outcome::Err(
                spec::too_much_weight(limit),
                Some(RetryData {
                    server_time_ms: now_ms,
                    retry_after_ms: self
                        .minute
                        .map(|m| (m + 1) * MINUTE_US / 1000)
                        .filter(|_| self.now_us.is_some()),
                }),
            )
        } else {
            match self.run(op, conn, &mut terminated) {
                Ok(result) => Outcome::Ok(result),
                Err(error) => Outcome::Err(error, None),
            }
        };
        Some(Expected {
            conn,
            id: id.echoed(),
            outcome,
            rate_limits,
            charged,
            count,
            terminated,
            now_ms,
        })
    }

    /// Runs the method of `op` on connection `conn`.
    fn run(
        &mut self,
        op: &Op,
        conn: usize,
        terminated: &mut Vec<u32>,
    ) -> Result<ResultExpect, ApiErr> {
        let now_ms = self.now_ms();
        match op {
            Op::Ping { .. } => Ok(ResultExpect::Empty),
            Op::Time { .. } => Ok(ResultExpect::ServerTime),
            Op::Status { .. } => Ok(self.session_result(conn, false)),
            Op::Logout { .. } => {
                let c = self.connection(conn);
                c.logon = None;
                terminated.extend(end_subscriptions(c, |s| s.kind == Kind::Logon));
                Ok(self.session_result(conn, false))
            }
            Op::Logon { key, signing, .. } => {
                let key = self.authenticate(*key, signing, true)?;
                let c = self.connection(conn);
                let previous = c.logon.replace(Logon {
                    api_key: key.api_key.clone(),
                    since_ms: now_ms,
                });
                if previous.is_some_and(|p| p.api_key != key.api_key) {
                    terminated.extend(end_subscriptions(c, |s| s.kind == Kind::Logon));
                }
                Ok(self.session_result(conn, true))
            }
            Op::Subscriptions { .. } => Ok(ResultExpect::Subscriptions(
                self.connection(conn)
                    .subscriptions
                    .keys()
                    .copied()
                    .collect(),
            )),
            Op::AccountStatus { auth, signing, .. } => {
                let key = self.signed_request(conn, *auth, signing)?;
                Ok(ResultExpect::AccountStatus {
                    api_key: key.api_key,
                })
            }
            Op::OrdersRateLimits { auth, signing, .. } => {
                self.signed_request(conn, *auth, signing)?;
                Ok(ResultExpect::OrdersRateLimits)
            }
            Op::Subscribe { .. } => {
                let Some(logon) = self.connection(conn).logon.clone() else {
                    return Err(spec::unauthorized());
                };
                let key = self
                    .registered(&logon.api_key)
                    .cloned()
                    .ok_or_else(spec::rejected_api_key)?;
                subscribe(self.connection(conn), &key.account, Kind::Logon)
            }
            Op::SubscribeSignature { key, signing, .. } => {
                let key = self.authenticate(*key, signing, false)?;
                subscribe(self.connection(conn), &key.account, Kind::Signature)
            }
            Op::Unsubscribe { subscription, .. } => {
                let only = *subscription;
                let c = self.connection(conn);
                terminated.extend(end_subscriptions_by_id(c, only));
                Ok(ResultExpect::Empty)
            }
            Op::InvalidId { .. } | Op::Reconnect { .. } | Op::AdvanceClock { .. } => {
                Ok(ResultExpect::Empty)
            }
        }
    }

    /// A SIGNED request (spec §4.2): its own credentials for this request only, or the
    /// session's key with only `timestamp`.
    fn signed_request(
        &mut self,
        conn: usize,
        auth: Auth,
        signing: &Signing,
    ) -> Result<ModelKey, ApiErr> {
        match auth {
            Auth::Own(which) => self.authenticate(which, signing, false),
            Auth::Session => {
                let Some(logon) = self.connection(conn).logon.clone() else {
                    return Err(spec::mandatory("apiKey"));
                };
                let key = self
                    .registered(&logon.api_key)
                    .cloned()
                    .ok_or_else(spec::rejected_api_key)?;
                check_timing(signing)?;
                Ok(key)
            }
        }
    }

    fn connection(&mut self, conn: usize) -> &mut Connection {
        if self.connections.len() <= conn {
            self.connections.resize(conn + 1, None);
        }
        let connected_since_ms = self.now_us.map(|us| us.div_euclid(1000));
        self.connections[conn].get_or_insert_with(|| Connection {
            url_return_rate_limits: true,
            connected_since_ms,
            logon: None,
            subscriptions: BTreeMap::new(),
            issued: 0,
        })
    }

    fn session_result(&mut self, conn: usize, fresh_logon: bool) -> ResultExpect {
        let c = self.connection(conn).clone();
        ResultExpect::Session(SessionResult {
            api_key: c.logon.as_ref().map(|l| l.api_key.clone()),
            authorized_since: match &c.logon {
                None => Since::Null,
                Some(_) if fresh_logon => Since::ThisReply,
                Some(logon) => Since::Earlier(logon.since_ms),
            },
            connected_since_ms: c.connected_since_ms,
            return_rate_limits: c.url_return_rate_limits,
            user_data_stream: !c.subscriptions.is_empty(),
        })
    }
}

/// The timing checks (spec §3.3): `recvWindow` format and maximum, then the two rules.
fn check_timing(signing: &Signing) -> Result<(), ApiErr> {
    // A tampered request never gets here: its signature failed first.
    let window = match &signing.recv_window {
        Some(text) => spec::parse_recv_window(text)?,
        None => spec::DEFAULT_RECV_WINDOW_US,
    };
    if signing.offset_us >= spec::AHEAD_LIMIT_US {
        Err(spec::timestamp_ahead())
    } else if signing.offset_us.saturating_neg() > window {
        Err(spec::outside_recv_window())
    } else {
        Ok(())
    }
}

fn subscribe(c: &mut Connection, account: &str, kind: Kind) -> Result<ResultExpect, ApiErr> {
    if c.subscriptions.values().any(|s| s.account == account) {
        return Err(spec::subscription_active());
    }
    if c.subscriptions.len() >= 1_000 || c.issued >= 65_535 {
        return Err(spec::max_subscription_ids());
    }
    let id = c.issued;
    c.issued += 1;
    let account = account.to_owned();
    c.subscriptions.insert(id, Subscription { account, kind });
    Ok(ResultExpect::SubscriptionId(id))
}

fn end_subscriptions(c: &mut Connection, ends: impl Fn(&Subscription) -> bool) -> Vec<u32> {
    let ending: Vec<u32> = c
        .subscriptions
        .iter()
        .filter(|(_, s)| ends(s))
        .map(|(id, _)| *id)
        .collect();
    for id in &ending {
        c.subscriptions.remove(id);
    }
    ending
}

fn end_subscriptions_by_id(c: &mut Connection, only: Option<u32>) -> Vec<u32> {
    let ending: Vec<u32> = c
        .subscriptions
        .keys()
        .copied()
        .filter(|id| only.is_none_or(|only| only == *id))
        .collect();
    for id in &ending {
        c.subscriptions.remove(id);
    }
    ending
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::{ReqId, Tamper};

    const T: i64 = 1_700_000_040_000_000;

    fn model() -> Model {
        let mut model = Model::new(&TargetKeys::in_process(), Some(6000), Some(T));
        model.open(0, None);
        model
    }

    fn logon(key: KeyRef, signing: Signing) -> Op {
        Op::Logon {
            conn: 0,
            id: ReqId::Int(1),
            key,
            signing,
            rrl: None,
        }
    }

    fn status_op() -> Op {
        Op::Status {
            conn: 0,
            id: ReqId::Null,
            rrl: None,
        }
    }

    fn request(model: &mut Model, op: &Op) -> Expected {
        model.request(op).expect("a request op")
    }

    fn error_of(expected: &Expected) -> Option<i32> {
        match &expected.outcome {
            Outcome::Err(e, _) => Some(e.code),
            Outcome::Ok(_) => None,
        }
    }

    #[test]
    fn logon_checks_come_in_the_documented_order() {
        let mut m = model();
        assert_eq!(
            error_of(&request(&mut m, &logon(KeyRef::Malformed, Signing::now()))),
            Some(-2014)
        );
        assert_eq!(
            error_of(&request(&mut m, &logon(KeyRef::Unknown, Signing::now()))),
            Some(-2015)
        );
        assert_eq!(
            error_of(&request(&mut m, &logon(KeyRef::Hmac, Signing::now()))),
            Some(-1022)
        );
        let stale_and_tampered =
            Signing::offset_ms(-9000).tampered(Tamper::SignatureByte { index: 0, xor: 1 });
        assert_eq!(
            error_of(&request(
                &mut m,
                &logon(KeyRef::Primary, stale_and_tampered)
            )),
            Some(-1022)
        );
        assert_eq!(
            request(&mut m, &logon(KeyRef::Primary, Signing::offset_ms(1000))).outcome,
            Outcome::Err(spec::timestamp_ahead(), None)
        );
        assert_eq!(
            request(&mut m, &logon(KeyRef::Primary, Signing::offset_ms(-5001))).outcome,
            Outcome::Err(spec::outside_recv_window(), None)
        );
        let ok = request(&mut m, &logon(KeyRef::Primary, Signing::offset_ms(-5000)));
        assert!(matches!(ok.outcome, Outcome::Ok(ResultExpect::Session(_))));
        // The connection (2) and seven logons (2 each).
        assert_eq!(ok.count, Some(16));
    }

    #[test]
    fn relogon_with_another_key_ends_only_the_logon_subscription() {
        let mut m = model();
        request(&mut m, &logon(KeyRef::Primary, Signing::now()));
        let sub = request(
            &mut m,
            &Op::Subscribe {
                conn: 0,
                id: ReqId::Null,
                rrl: None,
            },
        );
        assert_eq!(sub.outcome, Outcome::Ok(ResultExpect::SubscriptionId(0)));
        let by_signature = request(
            &mut m,
            &Op::SubscribeSignature {
                conn: 0,
                id: ReqId::Null,
                key: KeyRef::Tertiary,
                signing: Signing::now(),
                rrl: None,
            },
        );
        assert_eq!(
            by_signature.outcome,
            Outcome::Ok(ResultExpect::SubscriptionId(1))
        );
        let relogon = request(&mut m, &logon(KeyRef::Secondary, Signing::now()));
        assert_eq!(relogon.terminated, vec![0]);
        let Outcome::Ok(ResultExpect::Session(result)) = relogon.outcome else {
            panic!("a session result");
        };
        assert!(result.user_data_stream, "the signature subscription stays");
    }

    #[test]
    fn over_the_limit_the_method_is_not_run() {
        let mut m = Model::new(&TargetKeys::in_process(), Some(4), Some(T));
        m.open(0, None);
        request(
            &mut m,
            &Op::Ping {
                conn: 0,
                id: ReqId::Null,
                rrl: None,
            },
        );
        let over = request(&mut m, &logon(KeyRef::Primary, Signing::now()));
        assert_eq!(over.count, Some(5));
        assert_eq!(
            over.outcome,
            Outcome::Err(
                spec::too_much_weight(4),
                Some(RetryData {
                    server_time_ms: Some(T / 1000),
                    retry_after_ms: Some(T / 1000 + 60_000)
                })
            )
        );
        let status = request(&mut m, &status_op());
        assert_eq!(status.count, Some(7));
        m.advance(60_000);
        let status = request(&mut m, &status_op());
        assert_eq!(status.count, Some(2));
        let Outcome::Ok(ResultExpect::Session(result)) = status.outcome else {
            panic!("a session result");
        };
        assert_eq!(result.api_key, None, "the refused logon did not run");
    }
}
