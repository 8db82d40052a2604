//! The error table: one case per error the mock returns, each with the exact reply expected
//! (status, code, message, `id`, and whether `rateLimits` comes and what it counts).

use std::time::Duration;

use mock_server::{BanPolicy, MockServer, MockServerBuilder, Permissions};

use super::{Body, Case, Need, RunResult, Transcript};
use crate::check::{self, Bindings};
use crate::env::Env;
use crate::keys::KeyPair;
use crate::model::{Expected, Outcome, RetryData};
use crate::op::{payload, render, request_text, KeyRef, Op, ReqId, Signing};
use crate::report::Exchange;
use crate::spec::{self, ApiErr};
use crate::target::in_process_builder;
use crate::wire::{handshake, Handshake, Wire, EVENT_TIMEOUT};

/// What is on the connection before the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Setup {
    Nothing,
    /// Logged on with the primary key.
    Logon,
    /// Logged on and subscribed with `userDataStream.subscribe`.
    LogonAndSubscribe,
}

/// The request of a row.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Req {
    /// This text frame, as is.
    Text(&'static str),
    /// This binary frame.
    Binary(&'static str),
    /// `method` with `apiKey` of `key`, a good `timestamp` (unless `params` has one), `params`
    /// (name, raw JSON) and a signature over them all; then `tamper` one signature byte,
    /// and leave out the params in `drop`.
    Signed {
        method: &'static str,
        key: KeyRef,
        params: &'static [(&'static str, &'static str)],
        offset_ms: i64,
        tamper: bool,
        drop: &'static [&'static str],
    },
    /// `method` with a good `timestamp` and `params`, no credentials (the session's key).
    Timed {
        method: &'static str,
        params: &'static [(&'static str, &'static str)],
    },
    /// A handshake to `path` (the target's own when empty) with `query`.
    Handshake {
        path: &'static str,
        query: &'static str,
    },
}

/// One row of the table.
pub(crate) struct ErrorRow {
    pub setup: Setup,
    pub request: Req,
    pub expect: fn() -> ApiErr,
    /// Whether the reply echoes the request's `id` (`"err"`) or answers `null`.
    pub echo_id: bool,
    /// Whether the reply carries `rateLimits` (charged requests, URL default).
    pub rate_limits: bool,
    /// The weight the request adds.
    pub charged: u32,
}

const KEY: &[Need] = &[Need::UsableKey];
const PRIVATE: &[Need] = &[Need::PrivateServers];

fn row(
    id: &'static str,
    title: &'static str,
    basis: &'static str,
    needs: &'static [Need],
    row: ErrorRow,
) -> Case {
    Case {
        id,
        title,
        basis,
        needs,
        body: Body::Row(row),
    }
}

/// A text frame sent on a fresh connection.
const fn text(text: &'static str, expect: fn() -> ApiErr, echo_id: bool, charged: u32) -> ErrorRow {
    ErrorRow {
        setup: Setup::Nothing,
        request: Req::Text(text),
        expect,
        echo_id,
        rate_limits: charged > 0,
        charged,
    }
}

/// `row` sent after `setup`.
const fn after(setup: Setup, row: ErrorRow) -> ErrorRow {
    ErrorRow { setup, ..row }
}

/// `account.status` with a good `timestamp` and `params`: charged its 20 whatever it answers.
const fn account_status(
    params: &'static [(&'static str, &'static str)],
    expect: fn() -> ApiErr,
) -> ErrorRow {
    ErrorRow {
        setup: Setup::Nothing,
        request: Req::Timed {
            method: "account.status",
            params,
        },
        expect,
        echo_id: true,
        rate_limits: true,
        charged: 20,
    }
}

/// `session.logon` signed as `Req::Signed` says.
const fn signed_logon(
    key: KeyRef,
    params: &'static [(&'static str, &'static str)],
    offset_ms: i64,
    tamper: bool,
    drop: &'static [&'static str],
    expect: fn() -> ApiErr,
) -> ErrorRow {
    ErrorRow {
        setup: Setup::Nothing,
        request: Req::Signed {
            method: "session.logon",
            key,
            params,
            offset_ms,
            tamper,
            drop,
        },
        expect,
        echo_id: true,
        rate_limits: true,
        charged: 2,
    }
}

/// A logon with the primary key, `params` and a timestamp `offset_ms` from the server's now.
const fn logon(
    params: &'static [(&'static str, &'static str)],
    offset_ms: i64,
    expect: fn() -> ApiErr,
) -> ErrorRow {
    signed_logon(KeyRef::Primary, params, offset_ms, false, &[], expect)
}

/// A good logon with `key` in place of the primary key.
const fn logon_as(key: KeyRef, expect: fn() -> ApiErr) -> ErrorRow {
    signed_logon(key, &[], -1000, false, &[], expect)
}

/// A good logon, but for the params in `drop`.
const fn logon_without(drop: &'static [&'static str], expect: fn() -> ApiErr) -> ErrorRow {
    signed_logon(KeyRef::Primary, &[], -1000, false, drop, expect)
}

fn illegal_timestamp() -> ApiErr {
    spec::illegal_chars("timestamp", spec::TIMESTAMP_RANGE)
}

fn illegal_recv_window() -> ApiErr {
    spec::illegal_chars("recvWindow", spec::RECV_WINDOW_RANGE)
}

const fn handshake_refusal(
    path: &'static str,
    query: &'static str,
    expect: fn() -> ApiErr,
) -> ErrorRow {
    ErrorRow {
        setup: Setup::Nothing,
        request: Req::Handshake { path, query },
        expect,
        echo_id: false,
        rate_limits: false,
        charged: 0,
    }
}

/// A frame without a string `method`: -1102 naming 'method', not charged.
fn no_method_row(id: &'static str, title: &'static str, frame: &'static str) -> Case {
    let missing = text(frame, || spec::mandatory("method"), true, 0);
    let basis = "docs/FIDELITY.md (method absent or not a string)";
    row(id, title, basis, &[], missing)
}

pub(super) fn cases() -> Vec<Case> {
    vec![
        row(
            "ERR-1135-INVALID-JSON",
            "text that is not JSON: -1135, id null, no rateLimits",
            "docs/FIDELITY.md §10.1",
            &[],
            text(
                r#"{"id":"err","method":"ping""#,
                spec::invalid_json,
                false,
                0,
            ),
        ),
        row(
            "ERR-1135-NOT-AN-OBJECT",
            "JSON that is not an object: -1135, id null",
            "docs/FIDELITY.md §10.1",
            &[],
            text(r#"["err","ping"]"#, spec::invalid_json, false, 0),
        ),
        row(
            "ERR-1135-BINARY-FRAME",
            "a binary frame: -1135, id null, the connection stays",
            "spec §1.3; docs/FIDELITY.md",
            &[],
            ErrorRow {
                request: Req::Binary(r#"{"id":"err","method":"ping"}"#),
                ..text("", spec::invalid_json, false, 0)
            },
        ),
        row(
            "ERR-1135-INVALID-ID",
            "an invalid id: -1135 with the observed message, id null",
            "spec §2.5 (observed)",
            &[],
            text(
                r#"{"id":"not valid","method":"ping"}"#,
                spec::invalid_id,
                false,
                0,
            ),
        ),
        row(
            "ERR-1135-PARAMS-NOT-AN-OBJECT",
            "params that is not an object: -1135, id echoed",
            "spec §7; docs/FIDELITY.md",
            &[],
            text(
                r#"{"id":"err","method":"ping","params":["returnRateLimits"]}"#,
                spec::params_not_an_object,
                true,
                0,
            ),
        ),
        no_method_row(
            "ERR-1102-METHOD-MISSING",
            "no method: -1102 naming 'method'",
            r#"{"id":"err","params":{}}"#,
        ),
        no_method_row(
            "ERR-1102-METHOD-NOT-A-STRING",
            "a number as the method: -1102 naming 'method', not charged",
            r#"{"id":"err","method":1}"#,
        ),
        row(
            "ERR-1100-UNKNOWN-METHOD",
            "an unknown method: -1100 listing the methods, not charged",
            "docs/FIDELITY.md §10.2 (mock choice)",
            &[],
            text(
                r#"{"id":"err","method":"order.amend.keepPriority"}"#,
                spec::unknown_method,
                true,
                0,
            ),
        ),
        row(
            "ERR-1104-UNREAD-PARAMETER",
            "a param the method does not read: -1104, charged",
            "spec §2.5 (observed)",
            &[],
            text(
                r#"{"id":"err","method":"ping","params":{"symbol":"BTCUSDT"}}"#,
                || spec::unread_parameters(0, 1),
                true,
                1,
            ),
        ),
        row(
            "ERR-1104-READ-AND-UNREAD",
            "one param read and one not: -1104 counts read '1', sent '2'",
            "spec §2.5 (observed)",
            &[],
            text(
                r#"{"id":"err","method":"userDataStream.unsubscribe","params":{"subscriptionId":0,"symbol":"BTCUSDT"}}"#,
                || spec::unread_parameters(1, 2),
                true,
                2,
            ),
        ),
        row(
            "ERR-1104-READ-AND-TWO-UNREAD",
            "one param read and two not: -1104 counts read '1', sent '3'",
            "spec §2.5 (observed)",
            &[],
            text(
                r#"{"id":"err","method":"userDataStream.unsubscribe","params":{"symbol":"BTCUSDT","subscriptionId":0,"side":"BUY"}}"#,
                || spec::unread_parameters(1, 3),
                true,
                2,
            ),
        ),
        row(
            "ERR-1102-NULL-IS-NOT-SENT",
            "apiKey and signature sent as JSON null count as not sent: -1102 naming 'apiKey'",
            "spec §2.5 (empty/null mandatory params)",
            &[],
            account_status(&[("apiKey", "null"), ("signature", "null")], || {
                spec::mandatory("apiKey")
            }),
        ),
        row(
            "ERR-1102-EMPTY-APIKEY",
            "an empty apiKey is missing: -1102 naming 'apiKey'",
            "spec §2.5 (empty/null mandatory params)",
            &[],
            text(
                r#"{"id":"err","method":"session.logon","params":{"apiKey":"","signature":"c2ln","timestamp":1}}"#,
                || spec::mandatory("apiKey"),
                true,
                2,
            ),
        ),
        row(
            "ERR-1102-EMPTY-SIGNATURE",
            "an empty signature is missing: -1102 naming 'signature'",
            "spec §2.5 (empty/null mandatory params)",
            &[],
            text(
                r#"{"id":"err","method":"session.logon","params":{"apiKey":"abc","signature":"","timestamp":1}}"#,
                || spec::mandatory("signature"),
                true,
                2,
            ),
        ),
        row(
            "ERR-1102-EMPTY-TIMESTAMP",
            "an empty timestamp is missing: -1102 naming 'timestamp'",
            "spec §2.5 (empty/null mandatory params)",
            &[],
            text(
                r#"{"id":"err","method":"session.logon","params":{"apiKey":"abc","signature":"c2ln","timestamp":""}}"#,
                || spec::mandatory("timestamp"),
                true,
                2,
            ),
        ),
        row(
            "ERR-1102-APIKEY-WITHOUT-SIGNATURE-AFTER-LOGON",
            "after logon, a SIGNED request with apiKey alone is its own: -1102 naming 'signature'",
            "spec §4.2 (apiKey or signature: the request's own credentials)",
            KEY,
            after(
                Setup::Logon,
                account_status(&[("apiKey", "\"abc\"")], || spec::mandatory("signature")),
            ),
        ),
        row(
            "ERR-1102-SIGNATURE-WITHOUT-APIKEY-AFTER-LOGON",
            "after logon, a SIGNED request with signature alone is its own: -1102 naming 'apiKey'",
            "spec §4.2 (apiKey or signature: the request's own credentials)",
            KEY,
            after(
                Setup::Logon,
                account_status(&[("signature", "\"c2ln\"")], || spec::mandatory("apiKey")),
            ),
        ),
        row(
            "ERR-1101-DUPLICATE-PARAMETER",
            "a param sent twice: -1101",
            "spec §7",
            &[],
            text(
                r#"{"id":"err","method":"ping","params":{"symbol":"A","symbol":"B"}}"#,
                spec::duplicate_parameter,
                true,
                1,
            ),
        ),
        row(
            "ERR-1130-RETURN-RATE-LIMITS",
            "returnRateLimits neither true nor false: -1130",
            "docs/FIDELITY.md",
            &[],
            text(
                r#"{"id":"err","method":"ping","params":{"returnRateLimits":"yes"}}"#,
                || spec::invalid_parameter("returnRateLimits"),
                true,
                1,
            ),
        ),
        row(
            "ERR-1102-APIKEY-MISSING",
            "a SIGNED request, anonymous, without apiKey: -1102",
            "docs/FIDELITY.md (signed requests)",
            &[],
            account_status(&[], || spec::mandatory("apiKey")),
        ),
        row(
            "ERR-1102-SIGNATURE-MISSING",
            "logon without signature: -1102 naming 'signature'",
            "spec §2.5, §4.2",
            KEY,
            logon_without(&["signature"], || spec::mandatory("signature")),
        ),
        row(
            "ERR-1102-TIMESTAMP-MISSING",
            "logon without timestamp: -1102 naming 'timestamp'",
            "spec §2.5, §4.2",
            KEY,
            logon_without(&["timestamp"], || spec::mandatory("timestamp")),
        ),
        row(
            "ERR-1102-TIMESTAMP-MISSING-AFTER-LOGON",
            "after logon, a SIGNED request still needs timestamp",
            "spec §4.2",
            KEY,
            after(
                Setup::Logon,
                text(
                    r#"{"id":"err","method":"account.status"}"#,
                    || spec::mandatory("timestamp"),
                    true,
                    20,
                ),
            ),
        ),
        row(
            "ERR-1100-TIMESTAMP-ILLEGAL",
            "a timestamp that is not digits: -1100",
            "docs/FIDELITY.md (signing and timing)",
            KEY,
            logon(&[("timestamp", "\"12a\"")], 0, illegal_timestamp),
        ),
        row(
            "ERR-1100-RECVWINDOW-ILLEGAL",
            "recvWindow with four decimals: -1100",
            "docs/FIDELITY.md §10.14",
            KEY,
            logon(&[("recvWindow", "1.2345")], -1000, illegal_recv_window),
        ),
        row(
            "ERR-1100-RECVWINDOW-EMPTY-FRACTION",
            "recvWindow \"5000.\", a point and no decimals: -1100",
            "docs/FIDELITY.md §10.14 (the legal range)",
            KEY,
            logon(&[("recvWindow", "\"5000.\"")], -1000, illegal_recv_window),
        ),
        row(
            "ERR-1100-RECVWINDOW-FRACTION-NOT-DIGITS",
            "recvWindow \"5000.1a\", a letter among the decimals: -1100",
            "docs/FIDELITY.md §10.14 (the legal range)",
            KEY,
            logon(&[("recvWindow", "\"5000.1a\"")], -1000, illegal_recv_window),
        ),
        row(
            "ERR-1102-RECVWINDOW-TOO-LARGE",
            "recvWindow over 60000: -1102",
            "docs/FIDELITY.md §10.14",
            KEY,
            logon(
                &[("recvWindow", "60001")],
                -1000,
                spec::recv_window_too_large,
            ),
        ),
        row(
            "ERR-1021-OUTSIDE-RECVWINDOW",
            "a timestamp older than recvWindow: -1021",
            "spec §3.3",
            KEY,
            logon(&[], -20_000, spec::outside_recv_window),
        ),
        row(
            "ERR-1021-AHEAD",
            "a timestamp 1000 ms or more ahead: -1021",
            "spec §3.3",
            KEY,
            logon(&[], 20_000, spec::timestamp_ahead),
        ),
        row(
            "ERR-1021-TIMESTAMP-20-DIGITS",
            "a timestamp of 20 digits is legal, and far ahead: -1021",
            "spec §3.3 (legal range ^[0-9]{1,20}$)",
            KEY,
            logon(
                &[("timestamp", "99999999999999999999")],
                0,
                spec::timestamp_ahead,
            ),
        ),
        row(
            "ERR-1100-TIMESTAMP-21-DIGITS",
            "a timestamp of 21 digits is outside the legal range: -1100",
            "spec §3.3 (legal range ^[0-9]{1,20}$)",
            KEY,
            logon(
                &[("timestamp", "100000000000000000000")],
                0,
                illegal_timestamp,
            ),
        ),
        row(
            "ERR-1102-RECVWINDOW-20-DIGITS",
            "a recvWindow of 20 digits is legal, and over 60000: -1102",
            "spec §3.3; docs/FIDELITY.md §10.14",
            KEY,
            logon(
                &[("recvWindow", "99999999999999999999")],
                -1000,
                spec::recv_window_too_large,
            ),
        ),
        row(
            "ERR-1100-RECVWINDOW-21-DIGITS",
            "a recvWindow of 21 digits is outside the legal range: -1100",
            "spec §3.3; docs/FIDELITY.md §10.14",
            KEY,
            logon(
                &[("recvWindow", "100000000000000000000")],
                -1000,
                illegal_recv_window,
            ),
        ),
        row(
            "ERR-1022-INVALID-SIGNATURE",
            "one byte of the signature changed: -1022",
            "spec §3.3",
            KEY,
            signed_logon(
                KeyRef::Primary,
                &[],
                -1000,
                true,
                &[],
                spec::invalid_signature,
            ),
        ),
        Case {
            id: "ERR-1022-ESCAPED-SIGNATURE-NAME",
            title: "one byte of the signature changed, its name sent as \"signatur\\u0065\": -1022",
            basis: "spec §3.3; RFC 8259 §7 (an escaped name is the same name)",
            needs: KEY,
            body: custom!(escaped_signature_name),
        },
        Case {
            id: "ERR-1022-SIGNED-OVER-ENCODED-PAYLOAD",
            title: "a signature over the encodeURIComponent payload, not the raw one: -1022",
            basis: "spec §3.2 (the raw UTF-8 payload is signed); docs/FIDELITY.md §10.13",
            needs: &[Need::InProcess],
            body: custom!(signed_over_encoded_payload),
        },
        Case {
            id: "ERR-1100-ENCODED-PAYLOAD-WITH-LENIENT-SIGNING",
            title: "lenient signing: a signature over the encodeURIComponent payload passes, to \
                    the -1100 of its timestamp \"1 2\"",
            basis: "docs/FIDELITY.md §10.13 (--lenient-signing)",
            needs: PRIVATE,
            body: custom!(encoded_payload_with_lenient_signing),
        },
        row(
            "ERR-1022-HMAC-LOGON",
            "logon with an HMAC key: -1022",
            "docs/FIDELITY.md §10.7 (mock choice)",
            &[Need::HmacKey],
            logon_as(KeyRef::Hmac, spec::invalid_signature),
        ),
        row(
            "ERR-2014-BAD-API-KEY-FORMAT",
            "an API key that is not letters and digits: 401 -2014",
            "spec §3.3; docs/FIDELITY.md §10.17",
            &[],
            logon_as(KeyRef::Malformed, spec::bad_api_key_format),
        ),
        row(
            "ERR-2015-UNKNOWN-API-KEY",
            "an unknown API key: 401 -2015",
            "spec §3.3, §4.7",
            &[],
            logon_as(KeyRef::Unknown, spec::rejected_api_key),
        ),
        Case {
            id: "ERR-2015-NO-PERMISSION",
            title: "a key without USER_DATA: 401 -2015",
            basis: "spec §3.1; docs/FIDELITY.md",
            needs: PRIVATE,
            body: custom!(no_permission),
        },
        Case {
            id: "ERR-2015-KEY-REVOKED",
            title:
                "the session's key revoked: its next request answered, then 401 -2015 with id null",
            basis: "spec §4.7; docs/FIDELITY.md §10.18",
            needs: PRIVATE,
            body: custom!(key_revoked),
        },
        row(
            "ERR-1002-SUBSCRIBE-WITHOUT-LOGON",
            "userDataStream.subscribe anonymous: 401 -1002",
            "docs/FIDELITY.md §10.10 (mock choice)",
            &[],
            text(
                r#"{"id":"err","method":"userDataStream.subscribe"}"#,
                spec::unauthorized,
                true,
                2,
            ),
        ),
        row(
            "ERR-2035-SUBSCRIPTION-ACTIVE",
            "a second subscription for the account: -2035",
            "docs/FIDELITY.md §10.10",
            KEY,
            after(
                Setup::LogonAndSubscribe,
                text(
                    r#"{"id":"err","method":"userDataStream.subscribe"}"#,
                    spec::subscription_active,
                    true,
                    2,
                ),
            ),
        ),
        row(
            "ERR-1100-SUBSCRIPTION-ID-ILLEGAL",
            "a subscriptionId that is not a number: -1100",
            "docs/FIDELITY.md",
            &[],
            text(
                r#"{"id":"err","method":"userDataStream.unsubscribe","params":{"subscriptionId":"first"}}"#,
                || spec::illegal_chars("subscriptionId", "^[0-9]{1,5}$"),
                true,
                2,
            ),
        ),
        row(
            "ERR-1130-OMIT-ZERO-BALANCES",
            "omitZeroBalances neither true nor false: -1130",
            "docs/FIDELITY.md",
            KEY,
            after(
                Setup::Logon,
                account_status(&[("omitZeroBalances", "\"yes\"")], || {
                    spec::invalid_parameter("omitZeroBalances")
                }),
            ),
        ),
        Case {
            id: "ERR-2042-TOO-MANY-SUBSCRIPTIONS",
            title: "a 1,001st active subscription on one connection: -2042",
            basis: "spec §4.6",
            needs: PRIVATE,
            body: custom!(too_many_subscriptions),
        },
        Case {
            id: "ERR-1003-TOO-MUCH-WEIGHT",
            title: "over the weight limit: 429 -1003 with serverTime and retryAfter",
            basis: "spec §5.3; docs/FIDELITY.md §10.16",
            needs: PRIVATE,
            body: custom!(too_much_weight),
        },
        Case {
            id: "ERR-1003-BANS-DISABLED",
            title: "with bans turned off, every request over the limit gets 429, never 418",
            basis: "spec §5.3; docs/FIDELITY.md (bans: `--ban-after 0` never bans)",
            needs: PRIVATE,
            body: custom!(bans_disabled),
        },
        Case {
            id: "ERR-1003-BAN-ENDS-AT-RETRY-AFTER",
            title: "at exactly the ban's retryAfter the IP connects again and gets 429, not 418",
            basis: "spec §5.3; docs/FIDELITY.md (the ban reply: retryAfter is the ban's end)",
            needs: PRIVATE,
            body: custom!(ban_ends_at_retry_after),
        },
        Case {
            id: "WEIGHT-A-MINUTE-AFTER-THE-BAN",
            title: "a minute after the ban's retryAfter the IP gets 429 for going over, not 418",
            basis: "spec §5.3; docs/FIDELITY.md (the ban reply: retryAfter is the ban's end)",
            needs: PRIVATE,
            body: custom!(a_minute_after_the_ban),
        },
        Case {
            id: "ERR-1003-IP-BANNED",
            title: "429s repeated past the threshold: 418 -1003, then close 1008",
            basis: "spec §5.3; docs/FIDELITY.md (bans)",
            needs: PRIVATE,
            body: custom!(ip_banned),
        },
        row(
            "ERR-HANDSHAKE-1194-TIME-UNIT",
            "an invalid timeUnit: HTTP 400 -1194",
            "spec §1.2; docs/FIDELITY.md §10.20",
            &[],
            handshake_refusal("", "timeUnit=SECOND", spec::invalid_time_unit),
        ),
        row(
            "ERR-HANDSHAKE-1130-RETURN-RATE-LIMITS",
            "an invalid returnRateLimits in the URL: HTTP 400 -1130",
            "docs/FIDELITY.md §10.20 (mock choice)",
            &[],
            handshake_refusal("", "returnRateLimits=maybe", || {
                spec::invalid_parameter("returnRateLimits")
            }),
        ),
        row(
            "ERR-HANDSHAKE-1155-SBE",
            "responseFormat=sbe on the JSON-only mock: HTTP 400 -1155",
            "spec §1.2; docs/FIDELITY.md (mock only)",
            &[Need::InProcess],
            handshake_refusal("", "responseFormat=sbe", spec::sbe_disabled),
        ),
        row(
            "ERR-HANDSHAKE-404-PATH",
            "another path: HTTP 404, empty body",
            "spec §1.1; docs/FIDELITY.md",
            &[],
            handshake_refusal("/ws-api/v4", "", spec::not_found),
        ),
        Case {
            id: "ERR-HANDSHAKE-429-CONNECTIONS",
            title: "past the CONNECTIONS limit: HTTP 429 -1034",
            basis: "spec §5.1; docs/FIDELITY.md",
            needs: PRIVATE,
            body: custom!(too_many_connections),
        },
        Case {
            id: "ERR-HANDSHAKE-429-CONNECTIONS-WINDOW",
            title: "the CONNECTIONS count lasts five calendar minutes of the server's clock",
            basis: "spec §5.1; docs/FIDELITY.md (CONNECTIONS limit: calendar-aligned 5 minutes)",
            needs: PRIVATE,
            body: custom!(connections_window),
        },
        Case {
            id: "ERR-HANDSHAKE-503-BUSY",
            title: "past the mock's connection cap: HTTP 503 -1008",
            basis: "docs/FIDELITY.md (mock only)",
            needs: PRIVATE,
            body: custom!(server_busy),
        },
        Case {
            id: "ERR-HANDSHAKE-418-BANNED",
            title: "a banned IP reconnecting: HTTP 418 -1003",
            basis: "docs/FIDELITY.md (bans)",
            needs: PRIVATE,
            body: custom!(banned_handshake),
        },
    ]
}

/// The reply `expected` of a row's request.
fn expected(env: &Env, row: &ErrorRow) -> Expected {
    Expected {
        conn: 0,
        id: if row.echo_id {
            serde_json::Value::from("err")
        } else {
            serde_json::Value::Null
        },
        outcome: Outcome::Err((row.expect)(), None),
        rate_limits: row.rate_limits,
        charged: row.charged,
        count: None,
        terminated: Vec::new(),
        now_ms: env.frozen_now_us().map(|us| us / 1000),
    }
}

/// Runs one row on a fresh connection.
pub(super) async fn run_row(
    env: &mut Env,
    row: &ErrorRow,
    transcript: &mut Vec<Exchange>,
) -> Result<(), String> {
    env.fresh_case();
    if let Req::Handshake { path, query } = row.request {
        return handshake_row(env, path, query, (row.expect)(), transcript).await;
    }
    let mut wire = env.connect("").await.map_err(|e| e.to_string())?;
    let outcome = request_row(env, row, &mut wire, transcript).await;
    wire.close().await;
    outcome
}

async fn request_row(
    env: &mut Env,
    row: &ErrorRow,
    wire: &mut Wire,
    transcript: &mut Vec<Exchange>,
) -> Result<(), String> {
    match row.setup {
        Setup::Nothing => {}
        Setup::Logon => setup_step(env, wire, &setup_logon(KeyRef::Primary), transcript).await?,
        Setup::LogonAndSubscribe => logon_and_subscribe(env, wire, transcript).await?,
    }
    let sent = match row.request {
        Req::Text(text) => {
            wire.send_text(text).await.map_err(|e| e.to_string())?;
            text.to_owned()
        }
        Req::Binary(text) => {
            wire.send_binary(text.as_bytes())
                .await
                .map_err(|e| e.to_string())?;
            format!("<binary> {text}")
        }
        Req::Signed {
            method,
            key,
            params,
            offset_ms,
            tamper,
            drop,
        } => {
            let pair = key
                .pair(&env.keys)
                .ok_or("the target lacks the key this row needs")?;
            let text = signed_request(env, method, &pair, params, offset_ms, tamper, drop);
            wire.send_text(&text).await.map_err(|e| e.to_string())?;
            text
        }
        Req::Timed { method, params } => {
            let timestamp = (env.server_now_us() / 1000 - 1000).to_string();
            let mut all = vec![("timestamp".to_owned(), timestamp)];
            all.extend(
                params
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
            );
            let text = request_text(&ReqId::Str("err".to_owned()), method, &all);
            wire.send_text(&text).await.map_err(|e| e.to_string())?;
            text
        }
        Req::Handshake { .. } => return Err("a handshake row has no request".to_owned()),
    };
    let expected = expected(env, row);
    check_reply(env, wire, &sent, &expected, true, transcript).await
}

/// A quiet logon with `key` (no `rateLimits`), for [`setup_step`].
pub(super) fn setup_logon(key: KeyRef) -> Op {
    Op::Logon {
        conn: 0,
        id: ReqId::Str("setup".to_owned()),
        key,
        signing: super::good(),
        rrl: Some(false),
    }
}

/// Logs `wire` on with the primary key and subscribes it, quietly.
pub(super) async fn logon_and_subscribe(
    env: &mut Env,
    wire: &mut Wire,
    transcript: &mut Vec<Exchange>,
) -> Result<(), String> {
    setup_step(env, wire, &setup_logon(KeyRef::Primary), transcript).await?;
    let subscribe = Op::Subscribe {
        conn: 0,
        id: ReqId::Str("setup".to_owned()),
        rrl: Some(false),
    };
    setup_step(env, wire, &subscribe, transcript).await
}

/// A setup request that must succeed (quietly: no `rateLimits`).
pub(super) async fn setup_step(
    env: &mut Env,
    wire: &mut Wire,
    op: &Op,
    transcript: &mut Vec<Exchange>,
) -> Result<(), String> {
    let text = render(op, &env.keys, env.server_now_us())
        .ok_or("nothing to send")?
        .text;
    wire.send_text(&text).await.map_err(|e| e.to_string())?;
    let (_, reply) = wire.reply().await.map_err(|e| e.to_string())?;
    env.weight.unobserved(2);
    transcript.push(Exchange::new(&text, vec![reply.clone()]));
    if reply.contains(r#""status":200"#) {
        Ok(())
    } else {
        Err(format!("setup failed: {text}\n  got: {reply}"))
    }
}

pub(super) fn signed_request(
    env: &Env,
    method: &str,
    pair: &KeyPair,
    params: &[(&str, &str)],
    offset_ms: i64,
    tamper: bool,
    drop: &[&str],
) -> String {
    let mut all = vec![(
        "apiKey".to_owned(),
        serde_json::Value::from(pair.api_key()).to_string(),
    )];
    if !params.iter().any(|(name, _)| *name == "timestamp") {
        let timestamp = env.server_now_us() / 1000 + offset_ms;
        all.push(("timestamp".to_owned(), timestamp.to_string()));
    }
    all.extend(
        params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let mut signature = pair.sign(&payload(&all));
    if tamper {
        signature = pair.tamper(&signature, 11, 0x20);
    }
    all.insert(
        1,
        (
            "signature".to_owned(),
            serde_json::Value::from(signature).to_string(),
        ),
    );
    all.retain(|(name, _)| !drop.contains(&name.as_str()));
    request_text(&ReqId::Str("err".to_owned()), method, &all)
}

/// Checks that connecting is refused with `expect`'s HTTP status and JSON body.
async fn handshake_row(
    env: &Env,
    path: &str,
    query: &str,
    expect: ApiErr,
    transcript: &mut Vec<Exchange>,
) -> Result<(), String> {
    let mut url = env.url_with(query);
    if !path.is_empty() {
        url = url.replacen(mock_server::PATH, path, 1);
    }
    refused(&url, &expect, transcript).await
}

/// Sends an upgrade request to `url`; it must be refused as `expect` says: its HTTP status,
/// and `{"code":..,"msg":..}` as the body (an empty body for code 0).
async fn refused(url: &str, expect: &ApiErr, transcript: &mut Vec<Exchange>) -> Result<(), String> {
    let outcome = handshake(url).await;
    let shown = match &outcome {
        Ok(Handshake::Accepted) => "101 Switching Protocols".to_owned(),
        Ok(Handshake::Refused { status, body }) => format!("HTTP {status} {body}"),
        Err(e) => e.clone(),
    };
    transcript.push(Exchange::new(&format!("GET {url}"), vec![shown.clone()]));
    let want_body = if expect.code == 0 {
        String::new()
    } else {
        serde_json::json!({"code": expect.code, "msg": expect.msg}).to_string()
    };
    let want = format!("HTTP {} {want_body}", expect.status);
    if shown == want {
        Ok(())
    } else {
        Err(format!("{shown}, expected {want}"))
    }
}

// Rows that need a mock of their own, with a special setting.

pub(super) async fn private(
    env: &Env,
    builder: MockServerBuilder,
    limit: u32,
) -> Result<(MockServer, Env), String> {
    let server = builder
        .start()
        .await
        .map_err(|e| format!("the case's own mock did not start: {e}"))?;
    let mut sub = env.private(server.url(), server.clock().clone(), limit);
    sub.fresh_case();
    Ok((server, sub))
}

/// Sends `text` and checks the reply against `expected`.
pub(super) async fn exchange(
    env: &mut Env,
    wire: &mut Wire,
    text: &str,
    expected: &Expected,
    transcript: &mut Vec<Exchange>,
) -> Result<(), String> {
    wire.send_text(text).await.map_err(|e| e.to_string())?;
    check_reply(env, wire, text, expected, false, transcript).await
}

/// Receives the reply to `sent` and checks it against `expected`; with `alone`, a frame
/// before the reply is a problem too.
async fn check_reply(
    env: &mut Env,
    wire: &mut Wire,
    sent: &str,
    expected: &Expected,
    alone: bool,
    transcript: &mut Transcript,
) -> RunResult {
    let (before, reply) = wire.reply().await.map_err(|e| format!("no reply: {e}"))?;
    let mut problems: Vec<String> = if alone {
        before
            .iter()
            .map(|frame| format!("unexpected frame before the reply: {frame}"))
            .collect()
    } else {
        Vec::new()
    };
    let mut received = before;
    received.push(reply.clone());
    transcript.push(Exchange::new(sent, received));
    problems.extend(check::reply(
        env,
        expected,
        &reply,
        &mut Bindings::default(),
    ));
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "sent:     {sent}\nreceived: {reply}\n{}",
            problems.join("\n")
        ))
    }
}

fn ok_ping(env: &Env) -> Expected {
    Expected {
        conn: 0,
        id: serde_json::Value::from("ok"),
        outcome: Outcome::Ok(crate::model::ResultExpect::Empty),
        rate_limits: true,
        charged: 1,
        count: None,
        terminated: Vec::new(),
        now_ms: env.frozen_now_us().map(|us| us / 1000),
    }
}

pub(super) fn failing(env: &Env, error: ApiErr, data: Option<RetryData>, charged: u32) -> Expected {
    Expected {
        conn: 0,
        id: serde_json::Value::from("err"),
        outcome: Outcome::Err(error, data),
        rate_limits: true,
        charged,
        count: None,
        terminated: Vec::new(),
        now_ms: env.frozen_now_us().map(|us| us / 1000),
    }
}

/// The `data` of a 429 at `now_ms`: the weight is counted again from the next minute.
fn retry_next_minute(now_ms: Option<i64>) -> RetryData {
    RetryData {
        server_time_ms: now_ms,
        retry_after_ms: now_ms.map(|t| (t.div_euclid(60_000) + 1) * 60_000),
    }
}

const PING_OK: &str = r#"{"id":"ok","method":"ping"}"#;
const PING_ERR: &str = r#"{"id":"err","method":"ping"}"#;

async fn too_much_weight(env: &mut Env, transcript: &mut Transcript) -> RunResult {
    let limit = 3;
    let (_server, mut env) = private(env, in_process_builder().weight_limit(limit), limit).await?;
    let mut wire = env.connect("").await.map_err(|e| e.to_string())?;
    let ok = ok_ping(&env);
    exchange(&mut env, &mut wire, PING_OK, &ok, transcript).await?;
    let now = env.frozen_now_us().map(|us| us / 1000);
    let over = failing(
        &env,
        spec::too_much_weight(limit),
        Some(retry_next_minute(now)),
        1,
    );
    let outcome = exchange(&mut env, &mut wire, PING_ERR, &over, transcript).await;
    wire.close().await;
    outcome
}

/// Gets the IP of a private mock banned: limit 2, banned after one 429.
async fn get_banned(
    env: &Env,
    transcript: &mut Vec<Exchange>,
) -> Result<(MockServer, Env, i64), String> {
    let limit = 2;
    let ban = Duration::from_secs(120);
    let policy = BanPolicy {
        after_refusals: 1,
        durations: vec![ban],
    };
    let (server, mut env) = private(
        env,
        in_process_builder().weight_limit(limit).ban_policy(policy),
        limit,
    )
    .await?;
    let mut wire = env.connect("").await.map_err(|e| e.to_string())?;
    let now = env.frozen_now_us().map(|us| us / 1000).unwrap_or(0);
    let data = retry_next_minute(Some(now));
    let refused = failing(&env, spec::too_much_weight(limit), Some(data), 1);
    exchange(&mut env, &mut wire, PING_ERR, &refused, transcript).await?;
    let until = now + 120_000;
    let data = RetryData {
        server_time_ms: Some(now),
        retry_after_ms: Some(until),
    };
    let banned = failing(&env, spec::ip_banned(until), Some(data), 1);
    exchange(&mut env, &mut wire, PING_ERR, &banned, transcript).await?;
    let closed = wire
        .closed(EVENT_TIMEOUT)
        .await
        .map_err(|e| format!("after the 418: {e}"))?;
    transcript.push(Exchange::new("", vec![closed.clone()]));
    if closed != "close 1008 IP banned" {
        return Err(format!(
            "after the 418: {closed}, expected close 1008 IP banned"
        ));
    }
    Ok((server, env, until))
}

async fn bans_disabled(env: &mut Env, transcript: &mut Transcript) -> RunResult {
    let limit = 2;
    let policy = BanPolicy {
        after_refusals: 0,
        durations: Vec::new(),
    };
    let builder = in_process_builder().weight_limit(limit).ban_policy(policy);
    let (_server, mut env) = private(env, builder, limit).await?;
    let mut wire = env.connect("").await.map_err(|e| e.to_string())?;
    let mut outcome = Ok(());
    for _ in 0..3 {
        let now = env.frozen_now_us().map(|us| us / 1000);
        let over = failing(
            &env,
            spec::too_much_weight(limit),
            Some(retry_next_minute(now)),
            1,
        );
        outcome = exchange(&mut env, &mut wire, PING_ERR, &over, transcript).await;
        if outcome.is_err() {
            break;
        }
    }
    wire.close().await;
    outcome
}

async fn ban_ends_at_retry_after(env: &mut Env, transcript: &mut Transcript) -> RunResult {
    after_the_ban(env, 0, transcript).await
}

async fn a_minute_after_the_ban(env: &mut Env, transcript: &mut Transcript) -> RunResult {
    after_the_ban(env, 60_000, transcript).await
}

/// Gets the IP banned, moves the clock `later_ms` past the ban's end, connects and sends a
/// ping: over the limit, but no longer banned, it gets 429.
async fn after_the_ban(env: &mut Env, later_ms: u32, transcript: &mut Transcript) -> RunResult {
    let (_server, mut env, until) = get_banned(env, transcript).await?;
    let now = env.frozen_now_us().map(|us| us / 1000).unwrap_or(0);
    let wait = u32::try_from(until - now).map_err(|e| e.to_string())?;
    env.advance(wait + later_ms);
    let mut wire = env
        .connect("")
        .await
        .map_err(|e| format!("connecting {later_ms} ms after the ban's end: {e}"))?;
    // A new minute: the connection's 2 fill the limit of 2, so the ping is over it.
    let data = retry_next_minute(Some(until + i64::from(later_ms)));
    let over = failing(&env, spec::too_much_weight(2), Some(data), 1);
    let outcome = exchange(&mut env, &mut wire, PING_ERR, &over, transcript).await;
    wire.close().await;
    outcome
}

/// A `session.logon` whose `timestamp` is `"1 2"`, signed over the payload as
/// `encodeURIComponent` writes it (`1%202`), not the raw one.
fn logon_signed_over_encoded_payload(env: &Env) -> String {
    let pair = &env.keys.primary;
    let api_key = pair.api_key().to_owned();
    let signature = pair.sign(&format!("apiKey={api_key}&timestamp=1%202"));
    request_text(
        &ReqId::Str("err".to_owned()),
        "session.logon",
        &[
            (
                "apiKey".to_owned(),
                serde_json::Value::from(api_key).to_string(),
            ),
            (
                "signature".to_owned(),
                serde_json::Value::from(signature).to_string(),
            ),
            ("timestamp".to_owned(), r#""1 2""#.to_owned()),
        ],
    )
}

/// Logs on signed over the encoded payload: a server that verifies the raw payload only
/// (the default) answers -1022.
async fn signed_over_encoded_payload(env: &mut Env, transcript: &mut Transcript) -> RunResult {
    env.fresh_case();
    let text = logon_signed_over_encoded_payload(env);
    let mut wire = env.connect("").await.map_err(|e| e.to_string())?;
    // Raw, the payload holds `1 2`: only a server that also tried the encoded payload
    // would get past the signature, to the -1100 of the value.
    let refused = failing(env, spec::invalid_signature(), None, 2);
    let outcome = exchange(env, &mut wire, &text, &refused, transcript).await;
    wire.close().await;
    outcome
}

/// With lenient signing the encoded payload is tried too: the signature passes, the value
/// does not.
async fn encoded_payload_with_lenient_signing(
    env: &mut Env,
    transcript: &mut Transcript,
) -> RunResult {
    let builder = in_process_builder().lenient_signing(true);
    let (_server, mut env) = private(env, builder, spec::DOCUMENTED_WEIGHT_LIMIT).await?;
    let text = logon_signed_over_encoded_payload(&env);
    let mut wire = env.connect("").await.map_err(|e| e.to_string())?;
    let illegal = spec::illegal_chars("timestamp", spec::TIMESTAMP_RANGE);
    let refused = failing(&env, illegal, None, 2);
    let outcome = exchange(&mut env, &mut wire, &text, &refused, transcript).await;
    wire.close().await;
    outcome
}

/// One byte of the signature changed and its member named with a JSON escape: JSON makes
/// no difference, so neither may the server (one that looked for the name in the raw text
/// would not see it).
async fn escaped_signature_name(env: &mut Env, transcript: &mut Transcript) -> RunResult {
    env.fresh_case();
    let pair = env.keys.primary.clone();
    let text = signed_request(env, "session.logon", &pair, &[], -1000, true, &[]);
    let text = text.replacen(r#""signature":"#, r#""signatur\u0065":"#, 1);
    let mut wire = env.connect("").await.map_err(|e| e.to_string())?;
    let refused = failing(env, spec::invalid_signature(), None, 2);
    let outcome = exchange(env, &mut wire, &text, &refused, transcript).await;
    wire.close().await;
    outcome
}

async fn ip_banned(env: &mut Env, transcript: &mut Transcript) -> RunResult {
    get_banned(env, transcript).await.map(drop)
}

async fn banned_handshake(env: &mut Env, transcript: &mut Transcript) -> RunResult {
    let (_server, env, until) = get_banned(env, transcript).await?;
    refused(&env.url, &spec::ip_banned(until), transcript).await
}

async fn too_many_connections(env: &mut Env, transcript: &mut Transcript) -> RunResult {
    let builder = in_process_builder().connection_rate_limit(1);
    second_connection_refused(env, builder, spec::too_many_connections(1), transcript).await
}

/// With one connection open to a private mock built by `builder`, a second is refused as
/// `expect` says.
async fn second_connection_refused(
    env: &Env,
    builder: MockServerBuilder,
    expect: ApiErr,
    transcript: &mut Vec<Exchange>,
) -> Result<(), String> {
    let (_server, mut env) = private(env, builder, spec::DOCUMENTED_WEIGHT_LIMIT).await?;
    let first = first_connection(&mut env).await?;
    let outcome = refused(&env.url, &expect, transcript).await;
    first.close().await;
    outcome
}

async fn first_connection(env: &mut Env) -> Result<Wire, String> {
    env.connect("")
        .await
        .map_err(|e| format!("the first connection: {e}"))
}

/// With a limit of one, a second connection four minutes into a five-minute window is
/// refused, and one at the next window's start is accepted.
async fn connections_window(env: &mut Env, transcript: &mut Transcript) -> RunResult {
    let (_server, mut env) = private(
        env,
        in_process_builder().connection_rate_limit(1),
        spec::DOCUMENTED_WEIGHT_LIMIT,
    )
    .await?;
    let five_minutes = 300_000;
    let now = env.server_now_us() / 1000;
    let to_window = (now.div_euclid(five_minutes) + 1) * five_minutes - now;
    env.advance(u32::try_from(to_window).map_err(|e| e.to_string())?);
    first_connection(&mut env).await?.close().await;
    env.advance(240_000);
    refused(&env.url, &spec::too_many_connections(1), transcript)
        .await
        .map_err(|e| format!("four minutes into the window: {e}"))?;
    env.advance(60_000);
    let url = env.url.clone();
    let next = env
        .connect("")
        .await
        .map_err(|e| format!("at the next window's start: {e}"))?;
    transcript.push(Exchange::new(
        &format!("GET {url} (the next window)"),
        vec!["101 Switching Protocols".to_owned()],
    ));
    next.close().await;
    Ok(())
}

async fn server_busy(env: &mut Env, transcript: &mut Transcript) -> RunResult {
    let builder = in_process_builder().max_connections(1);
    second_connection_refused(env, builder, spec::server_busy(), transcript).await
}

/// A private mock built by `builder`, and a connection to it logged on with the third key.
async fn logged_on_with_tertiary(
    env: &Env,
    builder: MockServerBuilder,
    transcript: &mut Vec<Exchange>,
) -> Result<(MockServer, Env, Wire), String> {
    let (server, mut env) = private(env, builder, spec::DOCUMENTED_WEIGHT_LIMIT).await?;
    let mut wire = env.connect("").await.map_err(|e| e.to_string())?;
    let logon = setup_logon(KeyRef::Tertiary);
    setup_step(&mut env, &mut wire, &logon, transcript).await?;
    Ok((server, env, wire))
}

async fn no_permission(env: &mut Env, transcript: &mut Transcript) -> RunResult {
    let Some(key) = env.keys.tertiary.clone() else {
        return Err("needs the in-process third key".to_owned());
    };
    let name = key.api_key().to_owned();
    let builder = in_process_builder().with_keys(|keys| {
        if let (Some(registered), Ok(permissions)) = (
            keys.get_mut(&name),
            Permissions::from_names(["USER_STREAM"]),
        ) {
            registered.permissions = permissions;
        }
    });
    let (_server, mut env, mut wire) = logged_on_with_tertiary(env, builder, transcript).await?;
    let timestamp = env.server_now_us() / 1000;
    let text =
        format!(r#"{{"id":"err","method":"account.status","params":{{"timestamp":{timestamp}}}}}"#);
    let refused = failing(&env, spec::rejected_api_key(), None, 20);
    let outcome = exchange(&mut env, &mut wire, &text, &refused, transcript).await;
    wire.close().await;
    outcome
}

async fn key_revoked(env: &mut Env, transcript: &mut Transcript) -> RunResult {
    let Some(key) = env.keys.tertiary.clone() else {
        return Err("needs the in-process third key".to_owned());
    };
    let (server, mut env, mut wire) =
        logged_on_with_tertiary(env, in_process_builder(), transcript).await?;
    server.revoke_key(key.api_key());
    // The request is answered as for an anonymous session; then comes the notice.
    let ok = ok_ping(&env);
    exchange(&mut env, &mut wire, PING_OK, &ok, transcript).await?;
    let notice = wire
        .reply()
        .await
        .map_err(|e| format!("no revocation notice: {e}"))?
        .1;
    transcript.push(Exchange::new("(after the reply)", vec![notice.clone()]));
    wire.close().await;
    let want = spec::rejected_api_key().reply("null", "");
    if notice == want {
        Ok(())
    } else {
        Err(format!("notice {notice}, expected {want}"))
    }
}

async fn too_many_subscriptions(env: &mut Env, transcript: &mut Transcript) -> RunResult {
    // 1,001 accounts: one subscription each on one connection; HMAC signs fast.
    let keys: Vec<KeyPair> = (0..=1000)
        .map(|n| KeyPair::hmac(&format!("Sub{n}"), "secret"))
        .collect();
    let mut builder = in_process_builder();
    for key in &keys {
        builder = builder.hmac_key(key.api_key(), "secret");
    }
    let (_server, mut env) = private(env, builder, spec::DOCUMENTED_WEIGHT_LIMIT).await?;
    let mut wire = env.connect("").await.map_err(|e| e.to_string())?;
    let mut outcome = Ok(());
    for (n, key) in keys.iter().enumerate() {
        let signing = Signing::offset_ms(-1000);
        let op_text = subscribe_signature_text(&env, key, &signing);
        wire.send_text(&op_text).await.map_err(|e| e.to_string())?;
        let (_, reply) = wire.reply().await.map_err(|e| e.to_string())?;
        env.weight.unobserved(2);
        let want = if n < 1000 {
            format!(r#"{{"id":"err","status":200,"result":{{"subscriptionId":{n}}}}}"#)
        } else {
            spec::max_subscription_ids().reply(r#""err""#, "")
        };
        if n >= 999 {
            transcript.push(Exchange::new(&op_text, vec![reply.clone()]));
        }
        if reply != want {
            outcome = Err(format!("subscription {n}: {reply}, expected {want}"));
            break;
        }
    }
    wire.close().await;
    outcome
}

fn subscribe_signature_text(env: &Env, key: &KeyPair, signing: &Signing) -> String {
    let timestamp = (env.server_now_us() + signing.offset_us) / 1000;
    let mut params = vec![
        (
            "apiKey".to_owned(),
            serde_json::Value::from(key.api_key()).to_string(),
        ),
        ("timestamp".to_owned(), timestamp.to_string()),
        ("returnRateLimits".to_owned(), "false".to_owned()),
    ];
    let signature = key.sign(&payload(&params));
    params.push((
        "signature".to_owned(),
        serde_json::Value::from(signature).to_string(),
    ));
    request_text(
        &ReqId::Str("err".to_owned()),
        "userDataStream.subscribe.signature",
        &params,
    )
}
