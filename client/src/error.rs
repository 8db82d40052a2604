//! The one error type every call returns, and the API error it may carry.

use std::fmt;
use std::time::Duration;

use serde_json::Value;

use crate::response::RateLimit;

/// Why a call failed.
///
/// [`Error::Api`] is the server saying no (an error reply, spec §2.3); every other variant
/// means no usable reply arrived.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with an error reply (spec §2.3), or refused the WebSocket
    /// handshake with a JSON `{code, msg}` body (spec §1.2, e.g. a bad `timeUnit`).
    #[error(transparent)]
    Api(Box<ApiError>),
    /// The connection could not be opened, or failed while sending or receiving.
    #[error("transport error: {0}")]
    Transport(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A reply arrived but does not have the shape the call expects.
    #[error("cannot decode the reply to `{method}`: {reason}")]
    Decode {
        /// The method whose reply this was.
        method: String,
        /// What was wrong with it.
        reason: String,
    },
    /// No reply arrived within the request timeout.
    #[error("no reply within {0:?}")]
    Timeout(Duration),
    /// The connection closed before the reply arrived, or was already closed.
    #[error(transparent)]
    Closed(Closed),
    /// A signed call was made on a client without credentials.
    #[error("a signed request needs credentials: set them with `ClientBuilder::credentials`")]
    MissingCredentials,
    /// The params given to a signed request are not a JSON object (or null).
    #[error("params must be a JSON object or null, not {0}")]
    Params(String),
}

impl Error {
    /// The API error, when the server answered with one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(error) => Some(error),
            _ => None,
        }
    }
}

impl From<ApiError> for Error {
    fn from(error: ApiError) -> Self {
        Error::Api(Box::new(error))
    }
}

/// An error reply from the server (spec §2.3): the HTTP-like `status` and the `error` object.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub struct ApiError {
    /// HTTP-like status of the reply: 400, 401, 403, 418, 429, 5xx (spec §2.4).
    pub status: u16,
    /// Binance error code, negative (spec §7), e.g. -1022 for a bad signature.
    pub code: i64,
    /// The human-readable message, as sent.
    pub msg: String,
    /// `error.data` when present, e.g. `{"serverTime", "retryAfter"}` on 429/418 (spec §5.3).
    pub data: Option<Value>,
    /// The reply's `rateLimits`, when it carried them.
    pub rate_limits: Option<Vec<RateLimit>>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "API error {} (status {}): {}",
            self.code, self.status, self.msg
        )?;
        if let Some(data) = &self.data {
            write!(f, " {data}")?;
        }
        Ok(())
    }
}

/// How a connection ended: the close frame's code and reason, or what broke it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub struct Closed {
    /// The WebSocket close code, when a close frame was exchanged (1000 normal,
    /// 1001 going away, 1008 policy, ...).
    pub code: Option<u16>,
    /// The close frame's reason, or a description of why the connection ended.
    pub reason: String,
}

impl fmt::Display for Closed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "connection closed: {}", self.reason)?;
        if let Some(code) = self.code {
            write!(f, " (close code {code})")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_errors_read_as_code_status_and_message() {
        let error = Error::from(ApiError {
            status: 400,
            code: -1022,
            msg: "Signature for this request is not valid.".to_owned(),
            data: None,
            rate_limits: None,
        });
        assert_eq!(
            error.to_string(),
            "API error -1022 (status 400): Signature for this request is not valid."
        );
        assert_eq!(error.api().map(|e| e.code), Some(-1022));
    }

    #[test]
    fn closed_errors_name_the_close_code_when_there_was_one() {
        let closed = Closed {
            code: Some(1008),
            reason: "pong timeout".to_owned(),
        };
        assert_eq!(
            Error::Closed(closed).to_string(),
            "connection closed: pong timeout (close code 1008)"
        );
        let broken = Closed {
            code: None,
            reason: "connection reset".to_owned(),
        };
        assert_eq!(broken.to_string(), "connection closed: connection reset");
    }
}
