//! What a connection's session is: the options chosen in its URL, its key after
//! `session.logon`, its subscriptions; what methods read and change through their context.

use crate::envelope::Json;

use crate::clock::Timestamp;
use crate::envelope::{push_json_str, RequestId, TimeUnit};
use crate::error::ApiError;
use crate::user_data::{ConnectionId, Subscriptions};

/// Options a client chose in the connection URL (spec §1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionOptions {
    /// Whether replies carry `rateLimits` unless a request says otherwise (default true).
    pub return_rate_limits: bool,
    /// The unit of time fields in replies (default milliseconds).
    pub time_unit: TimeUnit,
}

impl Default for ConnectionOptions {
    fn default() -> Self {
        ConnectionOptions {
            return_rate_limits: true,
            time_unit: TimeUnit::Millisecond,
        }
    }
}

/// The authenticated key of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Logon {
    pub api_key: String,
    pub authorized_since: Timestamp,
}

/// What one connection remembers between requests.
#[derive(Debug, Clone)]
pub(crate) struct SessionState {
    pub connection: ConnectionId,
    pub connected_since: Timestamp,
    pub return_rate_limits: bool,
    pub time_unit: TimeUnit,
    pub logon: Option<Logon>,
    pub subscriptions: Subscriptions,
    /// Frames that follow the current reply: `eventStreamTerminated`, the revocation notice.
    pub follow_ups: Vec<String>,
    /// Frames that go before the current reply: the events it caused on this connection,
    /// when [`Config::events_before_reply`](crate::Config::events_before_reply) is set.
    pub preceding: Vec<String>,
    /// The account's `ORDERS` counts (10 s, 1 day) after the current request, when it is
    /// one that places orders: its reply's `rateLimits` shows them before REQUEST_WEIGHT.
    pub order_counts: Option<[u32; 2]>,
}

impl SessionState {
    /// The result object shared by `session.logon`, `.status` and `.logout` (spec §4.1), with
    /// its keys in the documented order. Written by hand, as the envelope is: `session.status`
    /// is one of the requests a client sends most.
    pub fn result(&self, now: Timestamp) -> Result<Json, ApiError> {
        let unit = self.time_unit;
        let result = SessionResult {
            api_key: self.logon.as_ref().map(|l| l.api_key.as_str()),
            authorized_since: self.logon.as_ref().map(|l| unit.render(l.authorized_since)),
            connected_since: unit.render(self.connected_since),
            return_rate_limits: self.return_rate_limits,
            server_time: unit.render(now),
            user_data_stream: self.subscriptions.any(),
        };
        Ok(Json::written(result.write()))
    }
}

/// Spec §4.1, field for field.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(test, derive(serde::Serialize))]
#[cfg_attr(test, serde(rename_all = "camelCase"))]
struct SessionResult<'a> {
    api_key: Option<&'a str>,
    authorized_since: Option<i64>,
    connected_since: i64,
    return_rate_limits: bool,
    server_time: i64,
    user_data_stream: bool,
}

impl SessionResult<'_> {
    /// The JSON of this result, as serde writes it.
    fn write(&self) -> String {
        fn flag(value: bool) -> &'static str {
            if value {
                "true"
            } else {
                "false"
            }
        }
        let mut numbers = itoa::Buffer::new();
        let mut out = String::with_capacity(160 + self.api_key.map_or(0, str::len));
        out.push_str(r#"{"apiKey":"#);
        match self.api_key {
            Some(key) => push_json_str(&mut out, key),
            None => out.push_str("null"),
        }
        out.push_str(r#","authorizedSince":"#);
        match self.authorized_since {
            Some(since) => out.push_str(numbers.format(since)),
            None => out.push_str("null"),
        }
        out.push_str(r#","connectedSince":"#);
        out.push_str(numbers.format(self.connected_since));
        out.push_str(r#","returnRateLimits":"#);
        out.push_str(flag(self.return_rate_limits));
        out.push_str(r#","serverTime":"#);
        out.push_str(numbers.format(self.server_time));
        out.push_str(r#","userDataStream":"#);
        out.push_str(flag(self.user_data_stream));
        out.push('}');
        out
    }
}

/// How the last request of a connection went: what the connection logs for it, since the
/// core itself does no I/O. Filled from values the reply needed anyway (the `id` is moved in,
/// not copied), so it costs nothing when nobody logs it.
#[derive(Debug)]
pub(crate) struct RequestSummary {
    /// The method, when the frame named a known one.
    pub method: Option<&'static str>,
    /// The request's `id` as echoed (`null` when it had none or an invalid one).
    pub id: RequestId,
    /// The reply's HTTP-like status.
    pub status: u16,
    /// The error code of an error reply.
    pub code: Option<i32>,
    /// REQUEST_WEIGHT charged: 0 for a frame refused before its weight is charged.
    pub weight: u32,
    /// When this request got the IP banned: until when.
    pub banned_until: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The hand-written result is what serde writes of the same members, keys with
        /// characters to escape included.
        #[test]
        fn the_result_is_what_serde_writes(
            api_key in proptest::option::of("[ -~\\\"\\\\\u{0}-\u{1f}é]{0,70}"),
            authorized_since in proptest::option::of(any::<i64>()),
            connected_since in any::<i64>(),
            return_rate_limits in any::<bool>(),
            server_time in any::<i64>(),
            user_data_stream in any::<bool>(),
        ) {
            let result = SessionResult {
                api_key: api_key.as_deref(),
                authorized_since,
                connected_since,
                return_rate_limits,
                server_time,
                user_data_stream,
            };
            let serde = serde_json::to_string(&result).expect("plain data");
            prop_assert_eq!(result.write(), serde);
        }
    }
}
