//! What the spec (`shared/spec/binance-ws-api.md`) and docs/FIDELITY.md say, as data: weights,
//! error codes and messages. The model and the tables read them from here only; the messages
//! come from the golden table (`test_support::errors`), `recvWindow` from its documented
//! legal range (`test_support::recv_window`).

use std::time::Duration;

use test_support::errors::{self as golden, Golden};
use test_support::recv_window;

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

/// How often the server pings each connection (spec §1.3).
pub(crate) const PING_INTERVAL: Duration = Duration::from_secs(20);

/// How long a ping may go unanswered before the server ends the connection (spec §1.3).
pub(crate) const PONG_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a connection may live (spec §1.3).
pub(crate) const MAX_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// The close frame after a ping went unanswered for [`PONG_TIMEOUT`], as the wire shows it
/// (docs/FIDELITY.md, connections: undocumented by Binance).
pub(crate) const PONG_TIMEOUT_CLOSE: &str = "close 1008 pong timeout";

/// The close frame at the end of [`MAX_LIFETIME`], as the wire shows it (docs/FIDELITY.md,
/// connections).
pub(crate) const LIFETIME_CLOSE: &str = "close 1000 connection lifetime exceeded";

/// `recvWindow` when none is sent, in microseconds (spec §3.3).
pub(crate) const DEFAULT_RECV_WINDOW_US: i64 = recv_window::DEFAULT_MS as i64 * 1000;

/// How far ahead a timestamp may be, exclusive, in microseconds (spec §3.3).
pub(crate) const AHEAD_LIMIT_US: i64 = 1_000_000;

/// An error reply's status, code and message (spec §7, docs/FIDELITY.md).
pub(crate) use test_support::errors::ApiError as ApiErr;

fn fixed(row: Golden) -> ApiErr {
    row.error()
}

/// -1135 for an invalid `id` (spec §2.5, observed).
pub(crate) fn invalid_id() -> ApiErr {
    fixed(golden::INVALID_ID)
}

/// -1135 for a frame that is not a JSON object (docs/FIDELITY.md §10.1).
pub(crate) fn invalid_json() -> ApiErr {
    fixed(golden::INVALID_JSON)
}

/// -1102 for a missing mandatory parameter.
pub(crate) fn mandatory(name: &str) -> ApiErr {
    golden::mandatory(name)
}

/// -1100 for a parameter outside its legal range.
pub(crate) fn illegal_chars(name: &str, legal_range: &str) -> ApiErr {
    golden::ILLEGAL_CHARACTERS.render(&[("name", name), ("legal_range", legal_range)])
}

/// The legal range of `recvWindow` (spec §3.3, docs/FIDELITY.md, signing and timing).
pub(crate) const RECV_WINDOW_RANGE: &str = recv_window::LEGAL_RANGE;

/// The legal range of `timestamp`.
pub(crate) const TIMESTAMP_RANGE: &str = "^[0-9]{1,20}$";

/// -1102 for `recvWindow` over 60000 (docs/FIDELITY.md §10.14).
pub(crate) fn recv_window_too_large() -> ApiErr {
    golden::GREATER_THAN_MAXIMUM.render(&[("name", "recvWindow"), ("max", "60000")])
}

/// -1130 for a value that is not valid.
pub(crate) fn invalid_parameter(name: &str) -> ApiErr {
    golden::INVALID_PARAMETER.render(&[("name", name)])
}

/// -1104 for params a method does not read (spec §2.5).
pub(crate) fn unread_parameters(read: usize, sent: usize) -> ApiErr {
    let (read, sent) = (read.to_string(), sent.to_string());
    golden::UNREAD_PARAMETERS.render(&[("read", &read), ("sent", &sent)])
}

/// -1021, timestamp older than `recvWindow` (spec §3.3).
pub(crate) fn outside_recv_window() -> ApiErr {
    fixed(golden::OUTSIDE_RECV_WINDOW)
}

/// -1021, timestamp 1000 ms or more ahead (spec §3.3).
pub(crate) fn timestamp_ahead() -> ApiErr {
    fixed(golden::TIMESTAMP_AHEAD)
}

/// -1022, bad signature (spec §3.3; status per docs/FIDELITY.md §10.17).
pub(crate) fn invalid_signature() -> ApiErr {
    fixed(golden::INVALID_SIGNATURE)
}

/// -2014, malformed API key.
pub(crate) fn bad_api_key_format() -> ApiErr {
    fixed(golden::BAD_API_KEY_FORMAT)
}

/// -2015, unknown or revoked key, or missing permission.
pub(crate) fn rejected_api_key() -> ApiErr {
    fixed(golden::REJECTED_API_KEY)
}

/// -1002, `userDataStream.subscribe` without logon (docs/FIDELITY.md §10.10).
pub(crate) fn unauthorized() -> ApiErr {
    fixed(golden::UNAUTHORIZED)
}

/// -2035, a second subscription for one account on one connection (docs/FIDELITY.md §10.10).
pub(crate) fn subscription_active() -> ApiErr {
    fixed(golden::SUBSCRIPTION_ACTIVE)
}

/// -2042, subscription ids exhausted (spec §4.6).
pub(crate) fn max_subscription_ids() -> ApiErr {
    fixed(golden::MAX_SUBSCRIPTION_IDS)
}

/// 429 / -1003, weight over the limit (spec §5.3).
pub(crate) fn too_much_weight(limit: u32) -> ApiErr {
    golden::TOO_MUCH_WEIGHT.render(&[("limit", &limit.to_string())])
}

/// 418 / -1003, the IP banned until `until_ms` (spec §5.3).
pub(crate) fn ip_banned(until_ms: i64) -> ApiErr {
    golden::IP_BANNED.render(&[("until", &until_ms.to_string())])
}

/// -1100 for an unknown method, naming the mock's methods (docs/FIDELITY.md §10.2).
pub(crate) fn unknown_method() -> ApiErr {
    golden::unknown_method()
}

/// -1101 for a parameter sent twice.
pub(crate) fn duplicate_parameter() -> ApiErr {
    fixed(golden::DUPLICATE_PARAMETER)
}

/// -1135 for `params` that is not an object.
pub(crate) fn params_not_an_object() -> ApiErr {
    fixed(golden::PARAMS_NOT_AN_OBJECT)
}

/// -1194 for an invalid `timeUnit` at connect (spec §1.2).
pub(crate) fn invalid_time_unit() -> ApiErr {
    fixed(golden::INVALID_TIME_UNIT)
}

/// -1155 for `responseFormat=sbe` on the mock, which speaks JSON only.
pub(crate) fn sbe_disabled() -> ApiErr {
    fixed(golden::SBE_DISABLED)
}

/// HTTP 404 with an empty body, for any other path (code 0: no body).
pub(crate) fn not_found() -> ApiErr {
    fixed(golden::NOT_FOUND)
}

/// HTTP 429 at the handshake past the CONNECTIONS limit (spec §5.1).
pub(crate) fn too_many_connections(limit: u32) -> ApiErr {
    golden::TOO_MANY_CONNECTIONS.render(&[("limit", &limit.to_string())])
}

/// HTTP 503 at the handshake past the mock's connection cap.
pub(crate) fn server_busy() -> ApiErr {
    fixed(golden::SERVER_BUSY)
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
    recv_window::parse_us(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recv_window_errors_are_the_ones_the_spec_functions_name() {
        assert_eq!(parse_recv_window("60000.001"), Err(recv_window_too_large()));
        assert_eq!(
            parse_recv_window("1.2345"),
            Err(illegal_chars("recvWindow", RECV_WINDOW_RANGE))
        );
    }
}
