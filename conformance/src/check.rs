//! Comparing what a target sent with what the model expects.
//!
//! On a frozen clock everything is compared exactly, time fields and counts included. On a
//! live clock, time fields are compared with what was seen before (`connectedSince` never
//! changes, `authorizedSince` is the `serverTime` of the logon that set it) and with the
//! server's time as estimated; counts are checked relative to the last one seen; the content
//! of an account (balances, commissions) is compared by shape only.

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use crate::env::Env;
use crate::model::{Expected, Outcome, ResultExpect, SessionResult, Since};

/// What a live run has learnt of values the model cannot know.
#[derive(Debug, Default)]
pub(crate) struct Bindings {
    connected_since: HashMap<usize, i64>,
    authorized_since: HashMap<usize, i64>,
    uids: HashMap<String, Value>,
}

impl Bindings {
    /// Connection `conn` was (re)opened: what was seen of the old one no longer holds.
    pub fn reopened(&mut self, conn: usize) {
        self.connected_since.remove(&conn);
        self.authorized_since.remove(&conn);
    }
}

/// Compares the reply `text` with `expected`; returns every difference found. Feeds the
/// count to the env's weight tracker when the model does not know it exactly.
pub(crate) fn reply(
    env: &mut Env,
    expected: &Expected,
    text: &str,
    bindings: &mut Bindings,
) -> Vec<String> {
    let mut diffs = Vec::new();
    // Spec §2.2: `id`, `status`, `result` or `error`, then `rateLimits` if any.
    let envelope = match test_support::envelope::check(text) {
        Ok(envelope) => Some(envelope),
        Err(why) => {
            diffs.push(format!("not a well-formed envelope: {why}"));
            None
        }
    };
    let value: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(_) => {
            env.weight.unobserved(expected.charged);
            return diffs;
        }
    };
    let Some(object) = value.as_object() else {
        env.weight.unobserved(expected.charged);
        return diffs;
    };
    if let Some(envelope) = envelope {
        let expected_result = matches!(expected.outcome, Outcome::Ok(_));
        if envelope.is_result != expected_result {
            diffs.push(format!(
                "a {}, expected a {}",
                if envelope.is_result {
                    "result"
                } else {
                    "error"
                },
                if expected_result { "result" } else { "error" },
            ));
        }
        if envelope.has_rate_limits != expected.rate_limits {
            diffs.push(format!(
                "rateLimits {}, expected {}",
                if envelope.has_rate_limits {
                    "present"
                } else {
                    "absent"
                },
                if expected.rate_limits {
                    "present"
                } else {
                    "absent"
                },
            ));
        }
    }
    if object.get("id") != Some(&expected.id) {
        diffs.push(format!(
            "id {}, expected {}",
            shown(object.get("id")),
            expected.id
        ));
    }
    let status = match &expected.outcome {
        Outcome::Ok(_) => 200,
        Outcome::Err(e, _) => e.status,
    };
    if object.get("status").and_then(Value::as_u64) != Some(u64::from(status)) {
        diffs.push(format!(
            "status {}, expected {status}",
            shown(object.get("status"))
        ));
    }
    match &expected.outcome {
        Outcome::Err(error, data) => {
            let got = object.get("error").cloned().unwrap_or(Value::Null);
            let mut want = json!({"code": error.code, "msg": error.msg});
            if let Some(data) = data {
                let data_value = json!({
                    "serverTime": data.server_time_ms,
                    "retryAfter": data.retry_after_ms,
                });
                want["data"] = data_value;
            }
            let exact = data.is_none_or(|d| d.server_time_ms.is_some());
            if exact && got != want {
                diffs.push(format!("error {got}, expected {want}"));
            } else if !exact && (got["code"] != want["code"] || got["msg"] != want["msg"]) {
                diffs.push(format!("error {got}, expected code and msg of {want}"));
            }
        }
        Outcome::Ok(result) => {
            let got = object.get("result").cloned().unwrap_or(Value::Null);
            diffs.extend(
                check_result(env, expected, result, &got, bindings)
                    .into_iter()
                    .map(|d| format!("result: {d}")),
            );
        }
    }
    match object.get("rateLimits") {
        Some(limits) => match check_rate_limits(env, expected, limits) {
            Ok(()) => {}
            Err(d) => diffs.push(format!("rateLimits: {d}")),
        },
        None => env.weight.unobserved(expected.charged),
    }
    diffs
}

fn shown(value: Option<&Value>) -> String {
    value.map_or_else(|| "absent".to_owned(), Value::to_string)
}

fn check_rate_limits(env: &mut Env, expected: &Expected, limits: &Value) -> Result<(), String> {
    let entry = match limits.as_array().map(Vec::as_slice) {
        Some([entry]) => entry,
        _ => {
            env.weight.unobserved(expected.charged);
            return Err(format!("{limits}, expected one REQUEST_WEIGHT entry"));
        }
    };
    let count = entry.get("count").and_then(Value::as_u64);
    let limit = entry.get("limit").and_then(Value::as_u64);
    let (Some(count), Some(limit)) = (count, limit) else {
        env.weight.unobserved(expected.charged);
        return Err(format!("{entry}: count and limit must be integers"));
    };
    let count = u32::try_from(count).unwrap_or(u32::MAX);
    let limit = u32::try_from(limit).unwrap_or(u32::MAX);
    let known_limit = *env.weight_limit.get_or_insert(limit);
    let want = json!({
        "rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
        "limit": known_limit, "count": count,
    });
    let keys: Vec<&str> = entry
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let mut problems = Vec::new();
    if entry != &want || keys != ["rateLimitType", "interval", "intervalNum", "limit", "count"] {
        problems.push(format!("{entry}, expected {want}"));
    }
    let counted = match expected.count {
        Some(exact) if exact == count => Ok(()),
        Some(exact) => Err(format!("count {count}, expected {exact}")),
        None => env.weight.observe(expected.charged, count),
    };
    if let Err(d) = counted {
        problems.push(d);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

fn check_result(
    env: &Env,
    expected: &Expected,
    result: &ResultExpect,
    got: &Value,
    bindings: &mut Bindings,
) -> Vec<String> {
    let mut diffs = Vec::new();
    let exact = |want: Value| {
        if got != &want {
            vec![format!("{got}, expected {want}")]
        } else {
            Vec::new()
        }
    };
    match result {
        ResultExpect::Empty => return exact(json!({})),
        ResultExpect::SubscriptionId(id) => return exact(json!({ "subscriptionId": id })),
        ResultExpect::Subscriptions(ids) => {
            let want: Vec<Value> = ids
                .iter()
                .map(|id| json!({ "subscriptionId": id }))
                .collect();
            return exact(Value::Array(want));
        }
        ResultExpect::ServerTime => {
            let keys: Vec<&str> = got
                .as_object()
                .map(|o| o.keys().map(String::as_str).collect())
                .unwrap_or_default();
            if keys != ["serverTime"] {
                diffs.push(format!("{got}, expected {{\"serverTime\": now}}"));
            }
            check_server_time(env, expected, got.get("serverTime"), &mut diffs);
        }
        ResultExpect::Session(session) => match got.as_object() {
            Some(object) => diffs.extend(check_session(env, expected, session, object, bindings)),
            None => diffs.push(format!("{got} is not an object")),
        },
        ResultExpect::AccountStatus { api_key } => {
            diffs.extend(account_shape(got));
            if let Some(uid) = got.get("uid") {
                let known = bindings.uids.entry(api_key.clone()).or_insert(uid.clone());
                if known != uid {
                    diffs.push(format!("uid {uid}, but {known} for the same key before"));
                }
            }
        }
        ResultExpect::Unchecked => {}
        ResultExpect::OrdersRateLimits => {
            if env.in_process {
                // The mock's documented values (spec §6.3; no orders exist).
                diffs.extend(exact(json!([
                    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 50, "count": 0},
                    {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 160000, "count": 0}
                ])));
            } else {
                diffs.extend(orders_shape(got));
            }
        }
    }
    diffs
}

/// Checks a `serverTime` member against the time of receipt; gives its value.
fn check_server_time(
    env: &Env,
    expected: &Expected,
    member: Option<&Value>,
    diffs: &mut Vec<String>,
) -> Option<i64> {
    let time = member.and_then(Value::as_i64);
    match time {
        Some(t) => diffs.extend(env.check_now("serverTime", expected.now_ms, t).err()),
        None => diffs.push("serverTime is not an integer".to_owned()),
    }
    time
}

fn check_session(
    env: &Env,
    expected: &Expected,
    want: &SessionResult,
    object: &Map<String, Value>,
    bindings: &mut Bindings,
) -> Vec<String> {
    let mut diffs = Vec::new();
    // Spec §4.1, in the documented order.
    let keys: Vec<&str> = object.keys().map(String::as_str).collect();
    let documented = [
        "apiKey",
        "authorizedSince",
        "connectedSince",
        "returnRateLimits",
        "serverTime",
        "userDataStream",
    ];
    if keys != documented {
        diffs.push(format!("members {keys:?}, expected {documented:?}"));
    }
    let want_key = want.api_key.as_deref().map_or(Value::Null, Value::from);
    if object.get("apiKey") != Some(&want_key) {
        diffs.push(format!(
            "apiKey {}, expected {want_key}",
            shown(object.get("apiKey"))
        ));
    }
    for (name, want_bool) in [
        ("returnRateLimits", want.return_rate_limits),
        ("userDataStream", want.user_data_stream),
    ] {
        if object.get(name) != Some(&Value::from(want_bool)) {
            diffs.push(format!(
                "{name} {}, expected {want_bool}",
                shown(object.get(name))
            ));
        }
    }
    let server_time = check_server_time(env, expected, object.get("serverTime"), &mut diffs);
    let conn = expected.conn;
    match object.get("connectedSince").and_then(Value::as_i64) {
        None => diffs.push("connectedSince is not an integer".to_owned()),
        Some(got_since) => match want.connected_since_ms {
            Some(since) if since != got_since => {
                diffs.push(format!("connectedSince {got_since}, expected {since}"))
            }
            Some(_) => {}
            None => {
                let known = *bindings.connected_since.entry(conn).or_insert(got_since);
                if known != got_since {
                    diffs.push(format!(
                        "connectedSince {got_since}, but {known} on this connection before"
                    ));
                }
                if server_time.is_some_and(|now| got_since > now) {
                    diffs.push(format!("connectedSince {got_since} is after serverTime"));
                }
            }
        },
    }
    let authorized = object.get("authorizedSince");
    match want.authorized_since {
        Since::Null => {
            if authorized != Some(&Value::Null) {
                diffs.push(format!(
                    "authorizedSince {}, expected null",
                    shown(authorized)
                ));
            }
            bindings.authorized_since.remove(&conn);
        }
        Since::ThisReply => match (authorized.and_then(Value::as_i64), server_time) {
            (Some(since), Some(now)) if since == now => {
                bindings.authorized_since.insert(conn, since);
            }
            _ => diffs.push(format!(
                "authorizedSince {}, expected the serverTime of this logon",
                shown(authorized)
            )),
        },
        Since::Earlier(exact) => {
            let want_since = exact.or_else(|| bindings.authorized_since.get(&conn).copied());
            match (authorized.and_then(Value::as_i64), want_since) {
                (Some(got_since), Some(since)) if got_since == since => {}
                (Some(got_since), None) => {
                    bindings.authorized_since.insert(conn, got_since);
                }
                _ => diffs.push(format!(
                    "authorizedSince {}, expected {}",
                    shown(authorized),
                    want_since
                        .map_or_else(|| "the time of the logon".to_owned(), |s| s.to_string())
                )),
            }
        }
    }
    diffs
}

/// The fields of `account.status` (spec §6.4) with their JSON types; values are not compared
/// (a real account's differ).
fn account_shape(got: &Value) -> Vec<String> {
    let mut diffs = Vec::new();
    let Some(object) = got.as_object() else {
        return vec![format!("{got} is not an object")];
    };
    let integers = [
        "makerCommission",
        "takerCommission",
        "buyerCommission",
        "sellerCommission",
        "updateTime",
        "uid",
    ];
    let booleans = [
        "canTrade",
        "canWithdraw",
        "canDeposit",
        "brokered",
        "requireSelfTradePrevention",
        "preventSor",
    ];
    for name in integers {
        if !object.get(name).is_some_and(Value::is_i64) {
            diffs.push(format!("{name} missing or not an integer"));
        }
    }
    for name in booleans {
        if !object.get(name).is_some_and(Value::is_boolean) {
            diffs.push(format!("{name} missing or not a boolean"));
        }
    }
    if !object.get("accountType").is_some_and(Value::is_string) {
        diffs.push("accountType missing or not a string".to_owned());
    }
    match object.get("commissionRates").and_then(Value::as_object) {
        Some(rates) => {
            for name in ["maker", "taker", "buyer", "seller"] {
                if !rates.get(name).is_some_and(Value::is_string) {
                    diffs.push(format!("commissionRates.{name} missing or not a string"));
                }
            }
        }
        None => diffs.push("commissionRates missing or not an object".to_owned()),
    }
    match object.get("balances").and_then(Value::as_array) {
        Some(balances) => {
            for balance in balances {
                if ["asset", "free", "locked"]
                    .iter()
                    .any(|name| !balance.get(name).is_some_and(Value::is_string))
                {
                    diffs.push(format!(
                        "balance {balance}: asset, free, locked must be strings"
                    ));
                }
            }
        }
        None => diffs.push("balances missing or not an array".to_owned()),
    }
    match object.get("permissions").and_then(Value::as_array) {
        Some(permissions) if permissions.iter().all(Value::is_string) => {}
        _ => diffs.push("permissions missing or not an array of strings".to_owned()),
    }
    diffs
}

/// The shape of `account.rateLimits.orders` (spec §6.3).
fn orders_shape(got: &Value) -> Vec<String> {
    match got.as_array() {
        Some(entries) if !entries.is_empty() => entries
            .iter()
            .filter(|e| {
                e.get("rateLimitType") != Some(&Value::from("ORDERS"))
                    || !e.get("interval").is_some_and(Value::is_string)
                    || !["intervalNum", "limit", "count"]
                        .iter()
                        .all(|n| e.get(n).is_some_and(Value::is_u64))
            })
            .map(|e| format!("{e} is not an ORDERS limit"))
            .collect(),
        _ => vec![format!(
            "{got}, expected a non-empty array of ORDERS limits"
        )],
    }
}

/// Compares an event with `{"subscriptionId": id, "event": {"e": "eventStreamTerminated",
/// "E": now}}` (spec §4.6), in that member order.
pub(crate) fn terminated_event(env: &Env, expected: &Expected, id: u32, text: &str) -> Vec<String> {
    let value: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(e) => return vec![format!("event is not JSON ({e})")],
    };
    let mut diffs = Vec::new();
    let keys: Vec<&str> = value
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    if keys != ["subscriptionId", "event"] {
        diffs.push(format!(
            "event members {keys:?}, expected [\"subscriptionId\", \"event\"]"
        ));
    }
    if value.get("subscriptionId") != Some(&Value::from(id)) {
        diffs.push(format!(
            "event for subscription {}, expected {id}",
            shown(value.get("subscriptionId"))
        ));
    }
    let event = value.get("event");
    if event.and_then(|e| e.get("e")) != Some(&Value::from("eventStreamTerminated")) {
        diffs.push(format!(
            "event {}, expected eventStreamTerminated",
            shown(event)
        ));
    }
    match event.and_then(|e| e.get("E")).and_then(Value::as_i64) {
        Some(t) => diffs.extend(env.check_now("event time E", expected.now_ms, t).err()),
        None => diffs.push("event time E is not an integer".to_owned()),
    }
    diffs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_with_every_documented_field_and_type_passes_and_a_wrong_type_is_named() {
        let documented = json!({
            "makerCommission": 10, "takerCommission": 10, "buyerCommission": 0,
            "sellerCommission": 0, "canTrade": false, "canWithdraw": true, "canDeposit": true,
            "commissionRates": {"maker": "0.00100000", "taker": "0.00100000", "buyer": "0", "seller": "0"},
            "brokered": false, "requireSelfTradePrevention": false, "preventSor": false,
            "updateTime": 0, "accountType": "SPOT",
            "balances": [{"asset": "BTC", "free": "1.00000000", "locked": "0.00000000"}],
            "permissions": ["SPOT"], "uid": 1
        });
        assert_eq!(account_shape(&documented), Vec::<String>::new());
        let mut missing = documented.clone();
        missing["uid"] = json!("1");
        assert_eq!(
            account_shape(&missing),
            vec!["uid missing or not an integer"]
        );
    }
}
