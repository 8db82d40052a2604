//! Fixed sequences: sessions (spec §4), time and timing (§3.3, §6.2), weights (§5), signed
//! account requests (§4.2, §6.3, §6.4) and User Data Stream subscriptions (§4.4–§4.6). Each
//! runs against the model, which checks every reply and event; some add an explicit check of
//! the point they make.

use serde_json::Value;

use super::*;
use crate::env::Env;
use crate::op::{Auth, KeyRef, Signing, Tamper};
use crate::report::Exchange;
use crate::sequence::{Scenario, Step};

const FROZEN: &[Need] = &[Need::FrozenClock, Need::UsableKey];
const KEY: &[Need] = &[Need::UsableKey];
const TWO_KEYS: &[Need] = &[Need::UsableKey, Need::SecondKey];

fn ops(scenario: fn() -> Scenario) -> Body {
    Body::Ops {
        scenario,
        then: None,
    }
}

fn ops_then(scenario: fn() -> Scenario, then: fn(&Env, &[Step]) -> Result<(), String>) -> Body {
    Body::Ops {
        scenario,
        then: Some(then),
    }
}

/// A member of the result of step `index`.
fn result_member<'s>(steps: &'s [Step], index: usize, name: &str) -> Option<&'s Value> {
    steps
        .get(index)
        .and_then(|s| s.reply.as_ref())
        .and_then(|r| r.get("result"))
        .and_then(|r| r.get(name))
}

fn count_of(steps: &[Step], index: usize) -> Option<u64> {
    steps
        .get(index)
        .and_then(|s| s.reply.as_ref())
        .and_then(|r| r.get("rateLimits"))
        .and_then(|r| r.get(0))
        .and_then(|r| r.get("count"))
        .and_then(Value::as_u64)
}

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "SESSION-STATUS-ANONYMOUS",
            title: "a new connection is anonymous: apiKey and authorizedSince null",
            basis: "spec §4.3",
            needs: &[],
            body: ops(|| Scenario::new(vec![status(0)])),
        },
        Case {
            id: "SESSION-LOGON-ED25519",
            title: "logon with an Ed25519 key sets apiKey and authorizedSince (its serverTime)",
            basis: "spec §4.1, §4.2",
            needs: KEY,
            body: ops(|| Scenario::new(vec![logon(0, KeyRef::Primary), status(0)])),
        },
        Case {
            id: "SESSION-RELOGON-REPLACES-KEY",
            title: "logon with a second key replaces the first",
            basis: "spec §4.2",
            needs: TWO_KEYS,
            body: ops_then(
                || {
                    Scenario::new(vec![
                        logon(0, KeyRef::Primary),
                        logon(0, KeyRef::Secondary),
                        status(0),
                    ])
                },
                |env, steps| {
                    let want = env.keys.secondary.as_ref().map(|k| k.api_key().to_owned());
                    let got = result_member(steps, 2, "apiKey").and_then(Value::as_str);
                    if got == want.as_deref() {
                        Ok(())
                    } else {
                        Err(format!("status apiKey {got:?}, expected {want:?}"))
                    }
                },
            ),
        },
        Case {
            id: "SESSION-RELOGON-SAME-KEY-MOVES-AUTHORIZED-SINCE",
            title: "logon again with the same key moves authorizedSince to the new logon",
            basis: "spec §4.1, §4.2",
            needs: KEY,
            body: ops_then(
                || {
                    Scenario::new(vec![
                        logon(0, KeyRef::Primary),
                        Op::AdvanceClock { ms: 2500 },
                        logon(0, KeyRef::Primary),
                        status(0),
                    ])
                },
                |_, steps| {
                    let first = result_member(steps, 0, "authorizedSince").and_then(Value::as_i64);
                    let second = result_member(steps, 2, "authorizedSince").and_then(Value::as_i64);
                    let after = result_member(steps, 3, "authorizedSince").and_then(Value::as_i64);
                    match (first, second, after) {
                        (Some(a), Some(b), Some(c)) if a <= b && b == c => Ok(()),
                        other => Err(format!("authorizedSince of logon, logon, status: {other:?}")),
                    }
                },
            ),
        },
        Case {
            id: "SESSION-FAILED-LOGON-KEEPS-SESSION",
            title: "a failed logon (unknown or malformed key, bad signature, bad timing) keeps the session",
            basis: "docs/FIDELITY.md §10.8",
            needs: KEY,
            body: ops(|| {
                let failures = [
                    logon(0, KeyRef::Unknown),
                    logon(0, KeyRef::Malformed),
                    logon_with(
                        0,
                        KeyRef::Primary,
                        good().tampered(Tamper::SignatureByte { index: 7, xor: 1 }),
                    ),
                    logon_with(0, KeyRef::Primary, Signing::offset_ms(-20_000)),
                    logon_with(0, KeyRef::Primary, Signing::offset_ms(20_000)),
                    logon_with(0, KeyRef::Primary, good().recv_window("60001")),
                ];
                let mut ops = vec![logon(0, KeyRef::Primary)];
                for failure in failures {
                    ops.push(failure);
                    ops.push(status(0));
                }
                Scenario::new(ops)
            }),
        },
        Case {
            id: "SESSION-LOGOUT-FORGETS-KEY",
            title: "logout forgets the key; the connection stays open",
            basis: "spec §4.4",
            needs: KEY,
            body: ops(|| Scenario::new(vec![logon(0, KeyRef::Primary), logout(0), status(0), ping(0)])),
        },
        Case {
            id: "SESSION-LOGOUT-ANONYMOUS-IS-200",
            title: "logout when anonymous does nothing and answers 200",
            basis: "spec §4.4",
            needs: &[],
            body: ops(|| Scenario::new(vec![logout(0), status(0)])),
        },
        Case {
            id: "SESSION-LOGON-AFTER-LOGOUT",
            title: "logon works again after logout",
            basis: "spec §4.4",
            needs: KEY,
            body: ops(|| {
                Scenario::new(vec![
                    logon(0, KeyRef::Primary),
                    logout(0),
                    Op::AdvanceClock { ms: 3000 },
                    logon(0, KeyRef::Primary),
                    status(0),
                ])
            }),
        },
        Case {
            id: "SESSION-PER-CONNECTION",
            title: "a logon belongs to its connection only",
            basis: "spec §4.2",
            needs: KEY,
            body: ops(|| {
                Scenario::new(vec![
                    logon(0, KeyRef::Primary),
                    status(1),
                    logon(1, KeyRef::Primary),
                    logout(1),
                    status(0),
                    status(1),
                ])
            }),
        },
        Case {
            id: "SESSION-CONNECTED-SINCE",
            title: "connectedSince is when each connection opened and never changes",
            basis: "spec §4.1",
            needs: &[],
            body: ops(|| {
                Scenario::new(vec![
                    status(0),
                    Op::AdvanceClock { ms: 2500 },
                    status(1),
                    Op::AdvanceClock { ms: 500 },
                    status(0),
                    status(1),
                ])
            }),
        },
        Case {
            id: "SESSION-URL-RETURN-RATE-LIMITS-FALSE",
            title: "?returnRateLimits=false hides rateLimits, a request's true shows them, the session result says false",
            basis: "spec §1.2, §5.2, §4.1",
            needs: &[],
            body: ops(|| Scenario {
                url_return_rate_limits: vec![Some(false), None, None],
                ops: vec![
                    status(0),
                    ping(0),
                    Op::Ping {
                        conn: 0,
                        id: id("shown"),
                        rrl: Some(true),
                    },
                    status(0),
                ],
            }),
        },
        Case {
            id: "SESSION-REQUEST-RETURN-RATE-LIMITS",
            title: "a request's returnRateLimits false hides rateLimits for that request only",
            basis: "spec §5.2, docs/FIDELITY.md §10.11",
            needs: &[],
            body: ops(|| {
                Scenario::new(vec![
                    Op::Ping {
                        conn: 0,
                        id: id("hidden"),
                        rrl: Some(false),
                    },
                    Op::Status {
                        conn: 0,
                        id: id("hidden"),
                        rrl: Some(false),
                    },
                    ping(0),
                ])
            }),
        },
        Case {
            id: "TIME-SERVER-TIME",
            title: "time answers the server's time",
            basis: "spec §6.2",
            needs: &[],
            body: ops(|| {
                Scenario::new(vec![
                    Op::Time {
                        conn: 0,
                        id: id("time"),
                        rrl: None,
                    },
                    Op::AdvanceClock { ms: 1234 },
                    Op::Time {
                        conn: 0,
                        id: id("time"),
                        rrl: None,
                    },
                ])
            }),
        },
        Case {
            id: "TIME-UNIT-MICROSECOND",
            title: "?timeUnit=MICROSECOND writes serverTime and connectedSince in microseconds",
            basis: "spec §1.2",
            needs: &[],
            body: custom!(time_unit_microsecond),
        },
        Case {
            id: "TIMING-EDGES",
            title: "timestamps exactly at the edges: +999 ms ok, +1000 ms ahead, -recvWindow ok, one µs more stale",
            basis: "spec §3.3",
            needs: FROZEN,
            body: ops(|| {
                let micros = |offset_us: i64, window: &str| Signing {
                    offset_us,
                    micros: true,
                    recv_window: Some(window.to_owned()),
                    tamper: None,
                };
                Scenario::new(vec![
                    logon_with(0, KeyRef::Primary, Signing::offset_ms(999)),
                    logon_with(0, KeyRef::Primary, Signing::offset_ms(1000)),
                    logon_with(0, KeyRef::Primary, Signing::offset_ms(-5000)),
                    logon_with(0, KeyRef::Primary, Signing::offset_ms(-5001)),
                    logon_with(0, KeyRef::Primary, micros(-6_000_346, "6000.346")),
                    logon_with(0, KeyRef::Primary, micros(-6_000_347, "6000.346")),
                    logon_with(0, KeyRef::Primary, micros(999_999, "0")),
                    logon_with(0, KeyRef::Primary, micros(1_000_000, "60000")),
                    logon_with(0, KeyRef::Primary, Signing::offset_ms(-60_000).recv_window("60000")),
                    logon_with(0, KeyRef::Primary, Signing::offset_ms(0).recv_window("60000.001")),
                ])
            }),
        },
        Case {
            id: "TIMING-MICROSECOND-TIMESTAMPS",
            title: "timestamps in microseconds are accepted",
            basis: "spec §3.3",
            needs: KEY,
            body: ops(|| {
                let micros = Signing {
                    offset_us: -1_000_123,
                    micros: true,
                    recv_window: None,
                    tamper: None,
                };
                Scenario::new(vec![
                    logon_with(0, KeyRef::Primary, micros.clone()),
                    account_status(0, Auth::Session, micros),
                ])
            }),
        },
        Case {
            id: "WEIGHT-METHODS",
            title: "each method adds its documented weight",
            basis: "spec §5.4",
            needs: KEY,
            body: ops_then(
                || {
                    Scenario::new(vec![
                        ping(0),
                        Op::Time {
                            conn: 0,
                            id: id("time"),
                            rrl: None,
                        },
                        status(0),
                        logon(0, KeyRef::Primary),
                        subscriptions(0),
                        subscribe(0),
                        unsubscribe(0, None),
                        subscribe_signature(0, KeyRef::Primary),
                        unsubscribe(0, Some(1)),
                        account_status(0, Auth::Session, good()),
                        orders(0, Auth::Session),
                        logout(0),
                    ])
                },
                |env, steps| {
                    if !env.is_frozen() {
                        return Ok(()); // the model checked each count against the last
                    }
                    let weights: Vec<u64> = (1..steps.len())
                        .map(|i| {
                            count_of(steps, i)
                                .zip(count_of(steps, i - 1))
                                .map_or(0, |(b, a)| b - a)
                        })
                        .collect();
                    let documented = [1, 2, 2, 2, 2, 2, 2, 2, 20, 40, 2];
                    if weights == documented {
                        Ok(())
                    } else {
                        Err(format!("weights {weights:?}, documented {documented:?}"))
                    }
                },
            ),
        },
        Case {
            id: "WEIGHT-NEW-CONNECTION-COSTS-2",
            title: "opening a connection adds 2",
            basis: "spec §5.1",
            needs: &[],
            body: ops(|| {
                Scenario::new(vec![ping(0), ping(1), Op::Reconnect { conn: 0 }, ping(0)])
            }),
        },
        Case {
            id: "WEIGHT-SHARED-BY-CONNECTIONS",
            title: "connections from one IP share one count",
            basis: "spec §5.1",
            needs: &[],
            body: ops(|| Scenario::new(vec![ping(0), status(1), ping(0), status(2), ping(1)])),
        },
        Case {
            id: "WEIGHT-INVALID-ID-NOT-CHARGED",
            title: "a request refused for its id carries no rateLimits and is not counted",
            basis: "spec §2.5, §5.2; docs/FIDELITY.md §10.11",
            needs: &[],
            body: ops(|| {
                Scenario::new(vec![
                    ping(0),
                    Op::InvalidId {
                        conn: 0,
                        raw_id: "\"no spaces allowed\"".to_owned(),
                    },
                    ping(0),
                ])
            }),
        },
        Case {
            id: "WEIGHT-FAILED-REQUESTS-CHARGED",
            title: "failed requests are charged their method's full weight",
            basis: "spec §3.3; docs/FIDELITY.md (weights)",
            needs: &[],
            body: ops(|| {
                Scenario::new(vec![
                    ping(0),
                    logon(0, KeyRef::Unknown),
                    account_status(0, Auth::Session, good()),
                    subscribe(0),
                    ping(0),
                ])
            }),
        },
        Case {
            id: "WEIGHT-WINDOW-IS-A-CALENDAR-MINUTE",
            title: "the count starts again at each minute of the server's clock",
            basis: "spec §5.1",
            needs: &[],
            body: custom!(window_is_a_calendar_minute),
        },
        Case {
            id: "ACCOUNT-STATUS-SESSION-KEY",
            title: "after logon, account.status needs only a timestamp",
            basis: "spec §4.2, §6.4",
            needs: KEY,
            body: ops(|| {
                Scenario::new(vec![
                    logon(0, KeyRef::Primary),
                    account_status(0, Auth::Session, good()),
                ])
            }),
        },
        Case {
            id: "ACCOUNT-STATUS-OWN-SIGNATURE",
            title: "anonymous, account.status with its own apiKey and signature",
            basis: "spec §3.1, §6.4",
            needs: KEY,
            body: ops(|| {
                Scenario::new(vec![account_status(
                    0,
                    Auth::Own(KeyRef::Primary),
                    good(),
                )])
            }),
        },
        Case {
            id: "ACCOUNT-OWN-SIGNATURE-FOR-ONE-REQUEST",
            title: "a request's own credentials serve that request only; the session keeps its key",
            basis: "spec §4.2",
            needs: TWO_KEYS,
            body: ops(|| {
                Scenario::new(vec![
                    logon(0, KeyRef::Primary),
                    account_status(0, Auth::Own(KeyRef::Secondary), good()),
                    orders(0, Auth::Own(KeyRef::Secondary)),
                    status(0),
                    account_status(0, Auth::Session, good()),
                ])
            }),
        },
        Case {
            id: "ACCOUNT-NEEDS-CREDENTIALS",
            title: "anonymous without apiKey, account.status and account.rateLimits.orders get -1102",
            basis: "docs/FIDELITY.md (signed requests)",
            needs: &[],
            body: ops(|| {
                Scenario::new(vec![
                    account_status(0, Auth::Session, good()),
                    orders(0, Auth::Session),
                ])
            }),
        },
        Case {
            id: "ACCOUNT-RATE-LIMITS-ORDERS",
            title: "account.rateLimits.orders lists the ORDERS limits, by session key or own signature",
            basis: "spec §6.3",
            needs: KEY,
            body: ops(|| {
                Scenario::new(vec![
                    orders(0, Auth::Own(KeyRef::Primary)),
                    logon(0, KeyRef::Primary),
                    orders(0, Auth::Session),
                ])
            }),
        },
        Case {
            id: "ACCOUNT-TIMING",
            title: "a session-key request still follows the timing rules",
            basis: "spec §4.2, §3.3",
            needs: KEY,
            body: ops(|| {
                Scenario::new(vec![
                    logon(0, KeyRef::Primary),
                    account_status(0, Auth::Session, Signing::offset_ms(-20_000)),
                    account_status(0, Auth::Session, Signing::offset_ms(20_000)),
                    orders(0, Auth::Session),
                ])
            }),
        },
        Case {
            id: "UDS-SUBSCRIBE-AFTER-LOGON",
            title: "subscribe after logon: id 0, userDataStream true, listed by session.subscriptions",
            basis: "spec §4.5, §4.6",
            needs: KEY,
            body: ops(|| {
                Scenario::new(vec![
                    logon(0, KeyRef::Primary),
                    subscribe(0),
                    status(0),
                    subscriptions(0),
                ])
            }),
        },
        Case {
            id: "UDS-SUBSCRIBE-NEEDS-LOGON",
            title: "subscribe without logon: 401 -1002",
            basis: "docs/FIDELITY.md §10.10 (mock choice)",
            needs: &[],
            body: ops(|| Scenario::new(vec![subscribe(0), subscriptions(0)])),
        },
        Case {
            id: "UDS-SUBSCRIBE-SIGNATURE-WITHOUT-LOGON",
            title: "subscribe.signature works anonymous; userDataStream true with apiKey null",
            basis: "spec §4.6",
            needs: KEY,
            body: ops(|| {
                Scenario::new(vec![
                    subscribe_signature(0, KeyRef::Primary),
                    status(0),
                    subscriptions(0),
                ])
            }),
        },
        Case {
            id: "UDS-ONE-SUBSCRIPTION-PER-ACCOUNT",
            title: "a second subscription for one account on one connection: -2035, by either method",
            basis: "spec §4.6; docs/FIDELITY.md §10.10",
            needs: KEY,
            body: ops(|| {
                Scenario::new(vec![
                    logon(0, KeyRef::Primary),
                    subscribe(0),
                    subscribe(0),
                    subscribe_signature(0, KeyRef::Primary),
                    subscriptions(0),
                ])
            }),
        },
        Case {
            id: "UDS-LOGOUT-ENDS-LOGON-SUBSCRIPTION-ONLY",
            title: "logout ends the logon subscription (eventStreamTerminated) but not a signature one",
            basis: "spec §4.4, §4.6",
            needs: TWO_KEYS,
            body: ops(|| {
                Scenario::new(vec![
                    logon(0, KeyRef::Primary),
                    subscribe(0),
                    subscribe_signature(0, KeyRef::Secondary),
                    logout(0),
                    subscriptions(0),
                    status(0),
                ])
            }),
        },
        Case {
            id: "UDS-RELOGON-OTHER-KEY-ENDS-LOGON-SUBSCRIPTION",
            title: "logon with another key ends the logon subscription; the same key keeps it",
            basis: "docs/FIDELITY.md §10.9 (mock choice)",
            needs: TWO_KEYS,
            body: ops(|| {
                Scenario::new(vec![
                    logon(0, KeyRef::Primary),
                    subscribe(0),
                    logon(0, KeyRef::Primary),
                    subscriptions(0),
                    logon(0, KeyRef::Secondary),
                    subscriptions(0),
                ])
            }),
        },
        Case {
            id: "UDS-UNSUBSCRIBE",
            title: "unsubscribe ends one subscription; unknown ids and nothing active are silent",
            basis: "spec §4.6; docs/FIDELITY.md §10.10",
            needs: KEY,
            body: ops(|| {
                Scenario::new(vec![
                    unsubscribe(0, None),
                    logon(0, KeyRef::Primary),
                    subscribe(0),
                    unsubscribe(0, Some(7)),
                    unsubscribe(0, Some(0)),
                    unsubscribe(0, Some(0)),
                    subscriptions(0),
                    status(0),
                ])
            }),
        },
        Case {
            id: "UDS-UNSUBSCRIBE-ALL",
            title: "unsubscribe without subscriptionId ends every subscription, in id order",
            basis: "spec §4.6",
            needs: TWO_KEYS,
            body: ops(|| {
                Scenario::new(vec![
                    logon(0, KeyRef::Primary),
                    subscribe(0),
                    subscribe_signature(0, KeyRef::Secondary),
                    unsubscribe(0, None),
                    subscriptions(0),
                ])
            }),
        },
        Case {
            id: "UDS-IDS-PER-CONNECTION-NEVER-REUSED",
            title: "subscription ids count from 0 per connection and are never reused",
            basis: "docs/FIDELITY.md §10.19",
            needs: KEY,
            body: ops(|| {
                Scenario::new(vec![
                    logon(0, KeyRef::Primary),
                    subscribe(0),
                    unsubscribe(0, Some(0)),
                    subscribe(0),
                    logon(1, KeyRef::Primary),
                    subscribe(1),
                    Op::Reconnect { conn: 0 },
                    logon(0, KeyRef::Primary),
                    subscribe(0),
                ])
            }),
        },
    ]
}

/// `?timeUnit=MICROSECOND`: time fields in microseconds (spec §1.2).
async fn time_unit_microsecond(env: &mut Env, transcript: &mut Transcript) -> RunResult {
    env.fresh_case();
    let opened_us = env.server_now_us();
    let mut wire = env
        .connect("timeUnit=MICROSECOND")
        .await
        .map_err(|e| e.to_string())?;
    let mut problems = Vec::new();
    for (method, request) in [
        (
            "time",
            r#"{"id":"time","method":"time","params":{"returnRateLimits":false}}"#,
        ),
        (
            "session.status",
            r#"{"id":"status","method":"session.status","params":{"returnRateLimits":false}}"#,
        ),
    ] {
        wire.send_text(request).await.map_err(|e| e.to_string())?;
        let (_, reply) = wire.reply().await.map_err(|e| e.to_string())?;
        env.weight.unobserved(crate::spec::weight(method));
        transcript.push(Exchange::new(request, vec![reply.clone()]));
        let value: Value = serde_json::from_str(&reply).map_err(|e| format!("{e}: {reply}"))?;
        let result = &value["result"];
        let now_us = env.server_now_us();
        for name in ["serverTime", "connectedSince"] {
            let Some(got) = result.get(name).and_then(Value::as_i64) else {
                continue;
            };
            let reference = if name == "serverTime" {
                now_us
            } else {
                opened_us
            };
            let ok = if env.is_frozen() {
                got == reference
            } else {
                (got - reference).abs() <= env.time_tolerance_ms() * 1000
            };
            if !ok {
                problems.push(format!(
                    "{name} {got}, expected microseconds near {reference}"
                ));
            }
        }
        if result.get("serverTime").is_none() {
            problems.push(format!("no serverTime in {reply}"));
        }
    }
    wire.close().await;
    verdict(&problems)
}

/// The count starts again at each calendar minute: on a frozen clock, at 59.999 s and then
/// at the minute; on a live one, after waiting for the next minute of the server's clock.
async fn window_is_a_calendar_minute(env: &mut Env, transcript: &mut Transcript) -> RunResult {
    let _ = transcript;
    if env.is_frozen() {
        let scenario = Scenario::new(vec![
            ping(0),
            Op::AdvanceClock { ms: 59_999 },
            ping(0),
            Op::AdvanceClock { ms: 1 },
            ping(0),
        ]);
        let steps = crate::sequence::run(env, &scenario)
            .await
            .map_err(|m| format!("{scenario}{m}"))?;
        let counts: Vec<Option<u64>> = [0, 2, 4].iter().map(|i| count_of(&steps, *i)).collect();
        return if counts == [Some(3), Some(4), Some(1)] {
            Ok(())
        } else {
            Err(format!(
                "counts {counts:?}, expected 3, 4, then 1 in the new minute"
            ))
        };
    }
    // Live: ping, wait for the next minute, ping again: only that ping is in the window.
    let scenario = Scenario::new(vec![ping(0)]);
    crate::sequence::run(env, &scenario)
        .await
        .map_err(|m| format!("{scenario}{m}"))?;
    env.wait_for_fresh_minute().await;
    let mut wire = env.connect("").await.map_err(|e| e.to_string())?;
    let request = r#"{"id":"after","method":"ping"}"#;
    wire.send_text(request).await.map_err(|e| e.to_string())?;
    let (_, reply) = wire.reply().await.map_err(|e| e.to_string())?;
    wire.close().await;
    transcript.push(Exchange::new(request, vec![reply.clone()]));
    let value: Value = serde_json::from_str(&reply).map_err(|e| format!("{e}: {reply}"))?;
    let count = value["rateLimits"][0]["count"].as_u64();
    let expected = 3; // the new connection and the ping
    let accepted = match count {
        Some(c) if env.foreign_weight => c >= expected,
        Some(c) => c == expected,
        None => false,
    };
    env.weight
        .observe(1, u32::try_from(count.unwrap_or(0)).unwrap_or(0))
        .ok();
    if accepted {
        Ok(())
    } else {
        Err(format!(
            "count {count:?} in a fresh minute, expected {expected} (the connection and the ping)"
        ))
    }
}
