//! User Data Stream subscriptions (spec §4.6): per connection, ids from 0 up and never
//! reused; per server, which connections receive an account's events.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::clock::Timestamp;
use crate::envelope::TimeUnit;
use crate::error::ApiError;
use crate::session::SessionState;

/// Identifies one connection of a server.
pub(crate) type ConnectionId = u64;

/// Subscriptions active at once on one connection (spec §4.6).
const MAX_ACTIVE: usize = 1_000;
/// Subscription ids one connection may use over its life (spec §4.6).
const MAX_IDS: u32 = 65_535;

/// The time members of the orders core's events (`executionReport`,
/// `outboundAccountPosition`, `user-data-stream.md:29`, `:73`).
const EVENT_TIMES: [&str; 5] = ["E", "T", "O", "W", "u"];

/// How a subscription was made: it decides what ends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SubscriptionKind {
    /// `userDataStream.subscribe` with the session's key: ends on logout (spec §4.4).
    Logon,
    /// `userDataStream.subscribe.signature`: outlives logout.
    Signature,
}

/// One active subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Subscription {
    pub account: String,
    pub api_key: String,
    pub kind: SubscriptionKind,
}

/// A connection's subscriptions.
#[derive(Debug, Default, Clone)]
pub(crate) struct Subscriptions {
    active: BTreeMap<u32, Subscription>,
    issued: u32,
}

impl Subscriptions {
    /// Whether any subscription is active: the session result's `userDataStream`.
    pub fn any(&self) -> bool {
        !self.active.is_empty()
    }

    /// The active subscriptions' ids, ascending.
    pub fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.active.keys().copied()
    }

    /// The active subscriptions.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &Subscription)> {
        self.active.iter().map(|(id, s)| (*id, s))
    }
}

/// Which connections' subscriptions receive each account's events.
#[derive(Debug, Default)]
pub(crate) struct Routes {
    by_account: foldhash::HashMap<String, Vec<Target>>,
}

/// One subscription an account's events go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Target {
    connection: ConnectionId,
    id: u32,
    /// The connection's unit for time fields.
    unit: TimeUnit,
}

impl crate::orders::Audience for Routes {
    fn hears(&self, account: &str) -> bool {
        self.by_account.contains_key(account)
    }
}

impl Routes {
    fn add(&mut self, account: &str, target: Target) {
        self.by_account
            .entry(account.to_owned())
            .or_default()
            .push(target);
    }

    fn remove(&mut self, account: &str, connection: ConnectionId, id: u32) {
        if let Some(targets) = self.by_account.get_mut(account) {
            targets.retain(|target| (target.connection, target.id) != (connection, id));
            if targets.is_empty() {
                self.by_account.remove(account);
            }
        }
    }

    /// Forgets every subscription of a connection that is gone.
    pub fn remove_connection(&mut self, session: &SessionState) {
        for (id, subscription) in session.subscriptions.iter() {
            self.remove(&subscription.account, session.connection, id);
        }
    }

    /// The frames that deliver `event`, an event of the orders core whose times (`E`, `T`,
    /// `O`, `W`, `u`) are in ms, to every subscription of `account`, by connection, its
    /// times in each connection's unit.
    pub fn deliver_timed(&self, account: &str, event: &Value) -> Vec<(ConnectionId, String)> {
        let Some(targets) = self.by_account.get(account) else {
            return Vec::new();
        };
        targets
            .iter()
            .map(|target| {
                let mut event = event.clone();
                target.unit.convert_millis(&mut event, &EVENT_TIMES);
                let frame = json!({"subscriptionId": target.id, "event": event});
                (target.connection, frame.to_string())
            })
            .collect()
    }

    /// The frames that deliver `event` to every subscription of `account`, by connection.
    /// With `stamp`, an event without `E` gets that time as `E`, in each connection's unit.
    pub fn deliver(
        &self,
        account: &str,
        event: &Value,
        stamp: Option<Timestamp>,
    ) -> Vec<(ConnectionId, String)> {
        let stamp = stamp.filter(|_| event.get("E").is_none());
        let Some(targets) = self.by_account.get(account) else {
            return Vec::new();
        };
        targets
            .iter()
            .map(|target| {
                let frame = match (stamp, event) {
                    (Some(now), Value::Object(fields)) => {
                        let mut fields = fields.clone();
                        fields.insert("E".to_owned(), target.unit.render(now).into());
                        json!({"subscriptionId": target.id, "event": fields})
                    }
                    _ => json!({"subscriptionId": target.id, "event": event}),
                };
                (target.connection, frame.to_string())
            })
            .collect()
    }
}

/// Opens a subscription on `session` for `account`.
///
/// # Errors
/// -2035 when the account already has one on this connection; -2042 past 1,000 active or
/// 65,535 over the connection's life.
pub(crate) fn subscribe(
    session: &mut SessionState,
    routes: &mut Routes,
    account: &str,
    api_key: &str,
    kind: SubscriptionKind,
) -> Result<u32, ApiError> {
    let subscriptions = &mut session.subscriptions;
    if subscriptions.active.values().any(|s| s.account == account) {
        return Err(ApiError::SubscriptionActive);
    }
    if subscriptions.active.len() >= MAX_ACTIVE || subscriptions.issued >= MAX_IDS {
        return Err(ApiError::MaxSubscriptionIds);
    }
    let id = subscriptions.issued;
    subscriptions.issued += 1;
    subscriptions.active.insert(
        id,
        Subscription {
            account: account.to_owned(),
            api_key: api_key.to_owned(),
            kind,
        },
    );
    routes.add(
        account,
        Target {
            connection: session.connection,
            id,
            unit: session.time_unit,
        },
    );
    Ok(id)
}

/// Ends every subscription of `session` that `ends` selects, queueing an
/// `eventStreamTerminated` event for each (spec §4.6).
pub(crate) fn terminate(
    session: &mut SessionState,
    routes: &mut Routes,
    now: Timestamp,
    ends: impl Fn(u32, &Subscription) -> bool,
) {
    let ending: Vec<u32> = session
        .subscriptions
        .iter()
        .filter(|(id, s)| ends(*id, s))
        .map(|(id, _)| id)
        .collect();
    for id in ending {
        if let Some(subscription) = session.subscriptions.active.remove(&id) {
            routes.remove(&subscription.account, session.connection, id);
            let event = json!({
                "subscriptionId": id,
                "event": {"e": "eventStreamTerminated", "E": session.time_unit.render(now)}
            });
            session.follow_ups.push(event.to_string());
        }
    }
}
