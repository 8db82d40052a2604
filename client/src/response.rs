//! What a successful call returns: the typed `result` with the reply's `status` and
//! `rateLimits` beside it, and the reply decoding shared by every call.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{ApiError, Error};

/// A successful reply (spec §2.2): its `result`, decoded, and what came with it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Response<T> {
    /// HTTP-like status of the reply, 200 for success.
    pub status: u16,
    /// The reply's `result`.
    pub result: T,
    /// The reply's `rateLimits` (spec §5.2): `None` when the reply carried none, e.g. because
    /// the connection or the request asked for `returnRateLimits=false`.
    pub rate_limits: Option<Vec<RateLimit>>,
}

impl<T> Response<T> {
    fn map<U>(self, f: impl FnOnce(T) -> U) -> Response<U> {
        Response {
            status: self.status,
            result: f(self.result),
            rate_limits: self.rate_limits,
        }
    }
}

/// One entry of a reply's `rateLimits` (spec §5.2).
///
/// Types and intervals stay strings so that a limit the server adds later still decodes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RateLimit {
    /// `REQUEST_WEIGHT` or `ORDERS`.
    pub rate_limit_type: String,
    /// `SECOND`, `MINUTE`, `HOUR` or `DAY`.
    pub interval: String,
    /// How many `interval`s the window spans.
    pub interval_num: u32,
    /// The most allowed in the window.
    pub limit: u64,
    /// How much is used in the window, this request included.
    pub count: u64,
}

/// The result of `time` (spec §6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ServerTime {
    /// The server's time, in the connection's time unit (milliseconds unless the client
    /// connected with `timeUnit=MICROSECOND`).
    pub server_time: i64,
}

/// The result of `session.logon`, `session.status` and `session.logout` (spec §4.1).
///
/// Times are in the connection's time unit.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SessionStatus {
    /// The key the session is authenticated with; `None` when it is not.
    pub api_key: Option<String>,
    /// When the session was authenticated; `None` when it is not.
    pub authorized_since: Option<i64>,
    /// When the connection was opened.
    pub connected_since: i64,
    /// The connection's default for including `rateLimits` in replies.
    pub return_rate_limits: bool,
    /// The server's time.
    pub server_time: i64,
    /// Whether the session has a User Data Stream subscription; `None` when the server
    /// offers none.
    #[serde(default)]
    pub user_data_stream: Option<bool>,
}

/// The `error` object of an error reply (spec §2.3).
#[derive(Deserialize)]
pub(crate) struct ErrorBody {
    pub code: i64,
    pub msg: String,
    #[serde(default)]
    pub data: Option<Value>,
}

/// Decodes a reply frame for `method` into a [`Response`] with a `result` of type `T`, or the
/// [`Error::Api`] it carries.
pub(crate) fn decode<T: DeserializeOwned>(
    method: &str,
    mut frame: Map<String, Value>,
) -> Result<Response<T>, Error> {
    let bad = |reason: String| Error::Decode {
        method: method.to_owned(),
        reason,
    };
    let status = frame
        .get("status")
        .and_then(Value::as_u64)
        .and_then(|status| u16::try_from(status).ok())
        .ok_or_else(|| bad("`status` is missing or not a small integer".to_owned()))?;
    let rate_limits = match frame.remove("rateLimits") {
        None | Some(Value::Null) => None,
        Some(limits) => Some(
            serde_json::from_value::<Vec<RateLimit>>(limits)
                .map_err(|e| bad(format!("`rateLimits`: {e}")))?,
        ),
    };
    if let Some(error) = frame.remove("error") {
        let ErrorBody { code, msg, data } =
            serde_json::from_value(error).map_err(|e| bad(format!("`error`: {e}")))?;
        return Err(Error::from(ApiError {
            status,
            code,
            msg,
            data,
            rate_limits,
        }));
    }
    let result = frame
        .remove("result")
        .ok_or_else(|| bad("the reply has neither `result` nor `error`".to_owned()))?;
    let result = serde_json::from_value(result).map_err(|e| bad(format!("`result`: {e}")))?;
    Ok(Response {
        status,
        result,
        rate_limits,
    })
}

/// Decodes a reply whose `result` carries nothing (`ping`'s `{}`).
pub(crate) fn decode_empty(method: &str, frame: Map<String, Value>) -> Result<Response<()>, Error> {
    decode::<serde::de::IgnoredAny>(method, frame).map(|response| response.map(|_| ()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(text: &str) -> Map<String, Value> {
        serde_json::from_str(text).expect("test frame is a JSON object")
    }

    #[test]
    fn a_success_reply_decodes_with_its_rate_limits() {
        let reply = decode::<ServerTime>(
            "time",
            frame(
                r#"{"id":1,"status":200,"result":{"serverTime":1656400526260},
                "rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE",
                "intervalNum":1,"limit":6000,"count":70}]}"#,
            ),
        )
        .expect("a valid reply");
        assert_eq!(reply.status, 200);
        assert_eq!(reply.result.server_time, 1_656_400_526_260);
        let limits = reply.rate_limits.expect("rate limits were sent");
        assert_eq!(limits[0].rate_limit_type, "REQUEST_WEIGHT");
        assert_eq!((limits[0].limit, limits[0].count), (6000, 70));
    }

    #[test]
    fn an_error_reply_becomes_an_api_error_with_its_data() {
        let error = decode::<Value>(
            "ping",
            frame(
                r#"{"id":1,"status":418,"error":{"code":-1003,"msg":"Way too much.",
                "data":{"serverTime":1,"retryAfter":2}}}"#,
            ),
        )
        .expect_err("an error reply");
        let api = error.api().expect("an API error");
        assert_eq!((api.status, api.code), (418, -1003));
        assert_eq!(
            api.data,
            Some(serde_json::json!({"serverTime":1,"retryAfter":2}))
        );
        assert!(api.rate_limits.is_none());
    }

    #[test]
    fn a_reply_of_the_wrong_shape_is_a_decode_error_naming_the_method() {
        let error = decode::<ServerTime>("time", frame(r#"{"id":1,"status":200,"result":{}}"#))
            .expect_err("serverTime is missing");
        assert!(matches!(&error, Error::Decode { method, .. } if method == "time"));
        assert!(error
            .to_string()
            .starts_with("cannot decode the reply to `time`"));
        let error =
            decode_empty("ping", frame(r#"{"id":1,"result":{}}"#)).expect_err("status is missing");
        assert!(matches!(error, Error::Decode { .. }));
    }

    #[test]
    fn an_unauthenticated_session_has_no_key() {
        let status: SessionStatus = serde_json::from_str(
            r#"{"apiKey":null,"authorizedSince":null,"connectedSince":1649729873021,
            "returnRateLimits":false,"serverTime":1649730611671,"userDataStream":false}"#,
        )
        .expect("the spec §4.3 example");
        assert_eq!(status.api_key, None);
        assert_eq!(status.user_data_stream, Some(false));
    }
}
