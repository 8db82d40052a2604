//! What the spec (`shared/spec/binance-ws-api.md`) and docs/FIDELITY.md say, as data: weights,
//! error codes and messages. The model and the tables read them from here only.

/// REQUEST_WEIGHT of opening a connection (spec §5.1).
pub(crate) const CONNECTION_WEIGHT: u32 = 2;

/// The REQUEST_WEIGHT limit per IP per minute (spec §5.1).
pub(crate) const DOCUMENTED_WEIGHT_LIMIT: u32 = 6000;

/// Weights of the methods (spec §5.4).
pub(crate) fn weight(method: &str) -> u32 {
    match method {
        "ping" | "time" => 1,
        "account.status" => 20,
        "account.rateLimits.orders" => 40,
        // session.logon/status/logout/subscriptions, userDataStream.*
        _ => 2,
    }
}

/// `recvWindow` when none is sent, in microseconds (spec §3.3).
pub(crate) const DEFAULT_RECV_WINDOW_US: i64 = 5_000_000;

/// The largest `recvWindow`, in microseconds (spec §3.3).
pub(crate) const MAX_RECV_WINDOW_US: i64 = 60_000_000;

/// How far ahead a timestamp may be, exclusive, in microseconds (spec §3.3).
pub(crate) const AHEAD_LIMIT_US: i64 = 1_000_000;

/// An error reply's status, code and message (spec §7, docs/FIDELITY.md).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ApiErr {
    pub status: u16,
    pub code: i32,
    pub msg: String,
}

fn err(status: u16, code: i32, msg: impl Into<String>) -> ApiErr {
    ApiErr {
        status,
        code,
        msg: msg.into(),
    }
}

/// -1135 for an invalid `id` (spec §2.5, observed).
pub(crate) fn invalid_id() -> ApiErr {
    err(
        400,
        -1135,
        "Invalid 'id' in JSON request; expected an integer, a string matching \
         '^[a-zA-Z0-9-_]{1,36}$', or null.",
    )
}

/// -1135 for a frame that is not a JSON object (docs/FIDELITY.md §10.1).
pub(crate) fn invalid_json() -> ApiErr {
    err(400, -1135, "Invalid JSON Request")
}

/// -1102 for a missing mandatory parameter.
pub(crate) fn mandatory(name: &str) -> ApiErr {
    err(
        400,
        -1102,
        format!("Mandatory parameter '{name}' was not sent, was empty/null, or malformed."),
    )
}

/// -1100 for a parameter outside its legal range.
pub(crate) fn illegal_chars(name: &str, legal_range: &str) -> ApiErr {
    err(
        400,
        -1100,
        format!("Illegal characters found in parameter '{name}'; legal range is '{legal_range}'."),
    )
}

/// The legal range of `recvWindow` (docs/FIDELITY.md, signing and timing).
pub(crate) const RECV_WINDOW_RANGE: &str = "^[0-9]{1,20}(\\.[0-9]{1,3})?$";

/// The legal range of `timestamp`.
pub(crate) const TIMESTAMP_RANGE: &str = "^[0-9]{1,20}$";

/// -1102 for `recvWindow` over 60000 (docs/FIDELITY.md §10.14).
pub(crate) fn recv_window_too_large() -> ApiErr {
    err(
        400,
        -1102,
        "'recvWindow' contains unexpected value. Cannot be greater than 60000.",
    )
}

/// -1130 for a value that is not valid.
pub(crate) fn invalid_parameter(name: &str) -> ApiErr {
    err(
        400,
        -1130,
        format!("Data sent for parameter '{name}' is not valid."),
    )
}

/// -1104 for params a method does not read (spec §2.5).
pub(crate) fn unread_parameters(read: usize, sent: usize) -> ApiErr {
    err(
        400,
        -1104,
        format!(
            "Not all sent parameters were read; read '{read}' parameter(s) but was sent '{sent}'."
        ),
    )
}

/// -1021, timestamp older than `recvWindow` (spec §3.3).
pub(crate) fn outside_recv_window() -> ApiErr {
    err(
        400,
        -1021,
        "Timestamp for this request is outside of the recvWindow.",
    )
}

/// -1021, timestamp 1000 ms or more ahead (spec §3.3).
pub(crate) fn timestamp_ahead() -> ApiErr {
    err(
        400,
        -1021,
        "Timestamp for this request was 1000ms ahead of the server's time.",
    )
}

/// -1022, bad signature (spec §3.3; status per docs/FIDELITY.md §10.17).
pub(crate) fn invalid_signature() -> ApiErr {
    err(400, -1022, "Signature for this request is not valid.")
}

/// -2014, malformed API key.
pub(crate) fn bad_api_key_format() -> ApiErr {
    err(401, -2014, "API-key format invalid.")
}

/// -2015, unknown or revoked key, or missing permission.
pub(crate) fn rejected_api_key() -> ApiErr {
    err(
        401,
        -2015,
        "Invalid API-key, IP, or permissions for action.",
    )
}

/// -1002, `userDataStream.subscribe` without logon (docs/FIDELITY.md §10.10).
pub(crate) fn unauthorized() -> ApiErr {
    err(
        401,
        -1002,
        "You are not authorized to execute this request.",
    )
}

/// -2035, a second subscription for one account on one connection (docs/FIDELITY.md §10.10).
pub(crate) fn subscription_active() -> ApiErr {
    err(400, -2035, "User Data Stream subscription already active.")
}

/// -2042, subscription ids exhausted (spec §4.6).
pub(crate) fn max_subscription_ids() -> ApiErr {
    err(
        400,
        -2042,
        "Maximum subscription ID reached for this connection.",
    )
}

/// 429 / -1003, weight over the limit (spec §5.3).
pub(crate) fn too_much_weight(limit: u32) -> ApiErr {
    err(
        429,
        -1003,
        format!(
            "Too much request weight used; current limit is {limit} request weight per 1 MINUTE. \
             Please use WebSocket Streams for live updates to avoid polling the API."
        ),
    )
}

/// 418 / -1003, the IP banned until `until_ms` (spec §5.3).
pub(crate) fn ip_banned(until_ms: i64) -> ApiErr {
    err(
        418,
        -1003,
        format!(
            "Way too much request weight used; IP banned until {until_ms}. \
             Please use WebSocket Streams for live updates to avoid bans."
        ),
    )
}

/// -1100 for an unknown method, naming the mock's methods (docs/FIDELITY.md §10.2).
pub(crate) fn unknown_method() -> ApiErr {
    illegal_chars(
        "method",
        "ping|time|session.logon|session.status|session.logout|session.subscriptions|\
         account.status|account.rateLimits.orders|userDataStream.subscribe|\
         userDataStream.subscribe.signature|userDataStream.unsubscribe",
    )
}

/// -1101 for a parameter sent twice.
pub(crate) fn duplicate_parameter() -> ApiErr {
    err(400, -1101, "Duplicate values for a parameter detected.")
}

/// -1135 for `params` that is not an object.
pub(crate) fn params_not_an_object() -> ApiErr {
    err(400, -1135, "JSON sent for parameter 'params' is not valid")
}

/// -1194 for an invalid `timeUnit` at connect (spec §1.2).
pub(crate) fn invalid_time_unit() -> ApiErr {
    err(
        400,
        -1194,
        "Invalid value for time unit; expected either MICROSECOND or MILLISECOND.",
    )
}

/// -1155 for `responseFormat=sbe` on the mock, which speaks JSON only.
pub(crate) fn sbe_disabled() -> ApiErr {
    err(400, -1155, "SBE is not enabled.")
}

/// HTTP 404 with an empty body, for any other path (code 0: no body).
pub(crate) fn not_found() -> ApiErr {
    err(404, 0, "")
}

/// HTTP 429 at the handshake past the CONNECTIONS limit (spec §5.1).
pub(crate) fn too_many_connections(limit: u32) -> ApiErr {
    err(
        429,
        -1034,
        format!("Too many connection attempts from IP; current limit is {limit} per '5 MINUTE'."),
    )
}

/// HTTP 503 at the handshake past the mock's connection cap.
pub(crate) fn server_busy() -> ApiErr {
    err(
        503,
        -1008,
        "Server is currently overloaded with other requests. Please try again in a few minutes.",
    )
}

/// Whether `api_key` has the format of an API key: 1 to 64 ASCII letters and digits
/// (docs/FIDELITY.md, signing and timing).
pub(crate) fn is_well_formed_api_key(api_key: &str) -> bool {
    (1..=64).contains(&api_key.len()) && api_key.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// `recvWindow` text to microseconds (spec §3.3: up to three decimals, at most 60000).
///
/// # Errors
/// -1100 for a malformed number, -1102 above 60000.
pub(crate) fn parse_recv_window(text: &str) -> Result<i64, ApiErr> {
    let illegal = || illegal_chars("recvWindow", RECV_WINDOW_RANGE);
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || whole.len() > 20
        || !digits(whole)
        || fraction.len() > 3
        || (text.contains('.') && fraction.is_empty())
        || !digits(fraction)
    {
        return Err(illegal());
    }
    let whole_ms: u128 = whole.parse().unwrap_or(u128::MAX);
    let mut fraction_us: u128 = 0;
    for (i, b) in fraction.bytes().enumerate() {
        fraction_us += u128::from(b - b'0') * [100, 10, 1][i];
    }
    let us = whole_ms.saturating_mul(1000).saturating_add(fraction_us);
    match i64::try_from(us) {
        Ok(us) if us <= MAX_RECV_WINDOW_US => Ok(us),
        _ => Err(recv_window_too_large()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recv_window_follows_the_documented_rules() {
        assert_eq!(parse_recv_window("6000.346"), Ok(6_000_346));
        assert_eq!(parse_recv_window("60000"), Ok(60_000_000));
        assert_eq!(parse_recv_window("60000.001"), Err(recv_window_too_large()));
        assert_eq!(
            parse_recv_window("99999999999999999999"),
            Err(recv_window_too_large())
        );
        for bad in ["1.2345", ".5", "5.", "-1", "1e3", ""] {
            assert_eq!(
                parse_recv_window(bad),
                Err(illegal_chars("recvWindow", RECV_WINDOW_RANGE)),
                "{bad}"
            );
        }
    }
}
