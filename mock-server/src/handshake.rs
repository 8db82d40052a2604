//! The HTTP side of connecting (spec §1.1, §1.2): the path, and the query parameters that
//! set a connection's options. Refusals are HTTP errors with a JSON body, before the upgrade.

use tokio_tungstenite::tungstenite::http::{header, Response, StatusCode, Uri};

use crate::envelope::TimeUnit;
use crate::error::ApiError;
use crate::session::ConnectionOptions;

/// The only path served.
pub const PATH: &str = "/ws-api/v3";

/// Why a handshake is refused: an HTTP status and, but for 404, a `{code, msg}` JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub status: u16,
    pub body: Option<(i32, String)>,
}

impl Refusal {
    /// Another path: 404 with an empty body.
    pub const NOT_FOUND: Refusal = Refusal {
        status: 404,
        body: None,
    };

    /// The refusal for `error`: its status, and its code and message as the body.
    pub fn from_error(error: &ApiError) -> Self {
        Refusal {
            status: error.status(),
            body: Some((error.code(), error.message())),
        }
    }

    /// The HTTP response that carries this refusal.
    pub fn response(&self) -> Response<Option<String>> {
        let body = self
            .body
            .as_ref()
            .map(|(code, msg)| serde_json::json!({ "code": code, "msg": msg }).to_string());
        let length = body.as_ref().map_or(0, String::len);
        let has_body = body.is_some();
        let mut response = Response::new(body);
        *response.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        let headers = response.headers_mut();
        if has_body {
            headers.insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("application/json;charset=UTF-8"),
            );
        }
        // The body's end must not depend on the server closing the connection.
        headers.insert(header::CONTENT_LENGTH, header::HeaderValue::from(length));
        headers.insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
        response
    }
}

/// The connection options a request URI asks for.
///
/// `timeUnit` takes `MILLISECOND` or `MICROSECOND` in any letter case; `returnRateLimits`
/// takes `true` or `false` in any letter case; `responseFormat=sbe` is refused because this
/// server speaks JSON only. Unknown parameters are ignored.
pub(crate) fn connection_options(uri: &Uri) -> Result<ConnectionOptions, Refusal> {
    if uri.path() != PATH {
        return Err(Refusal::NOT_FOUND);
    }
    let mut options = ConnectionOptions::default();
    let query = uri.query().unwrap_or("");
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        match name.as_ref() {
            "timeUnit" => {
                options.time_unit = if value.eq_ignore_ascii_case("MILLISECOND") {
                    TimeUnit::Millisecond
                } else if value.eq_ignore_ascii_case("MICROSECOND") {
                    TimeUnit::Microsecond
                } else {
                    return Err(Refusal::from_error(&ApiError::InvalidTimeUnit));
                };
            }
            "returnRateLimits" => {
                options.return_rate_limits = if value.eq_ignore_ascii_case("true") {
                    true
                } else if value.eq_ignore_ascii_case("false") {
                    false
                } else {
                    return Err(Refusal::from_error(&ApiError::InvalidParameter(
                        "returnRateLimits",
                    )));
                };
            }
            "responseFormat" if !value.eq_ignore_ascii_case("json") => {
                return Err(Refusal::from_error(&ApiError::SbeDisabled));
            }
            _ => {}
        }
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(uri: &str) -> Result<ConnectionOptions, Refusal> {
        connection_options(&uri.parse().expect("test URI"))
    }

    #[test]
    fn defaults_and_both_parameters() {
        assert_eq!(options("/ws-api/v3"), Ok(ConnectionOptions::default()));
        let o = options("/ws-api/v3?returnRateLimits=false&timeUnit=microsecond").expect("valid");
        assert!(!o.return_rate_limits);
        assert_eq!(o.time_unit, TimeUnit::Microsecond);
        assert_eq!(
            options("/ws-api/v3?timeUnit=MILLISECOND&x=1").map(|o| o.time_unit),
            Ok(TimeUnit::Millisecond)
        );
    }

    #[test]
    fn bad_values_and_paths_are_refused() {
        assert_eq!(options("/ws-api/v2"), Err(Refusal::NOT_FOUND));
        assert_eq!(options("/"), Err(Refusal::NOT_FOUND));
        assert!(matches!(
            options("/ws-api/v3?timeUnit=SECOND"),
            Err(Refusal {
                status: 400,
                body: Some((-1194, _))
            })
        ));
        assert!(matches!(
            options("/ws-api/v3?returnRateLimits=yes"),
            Err(Refusal {
                status: 400,
                body: Some((-1130, _))
            })
        ));
        assert!(matches!(
            options("/ws-api/v3?responseFormat=sbe"),
            Err(Refusal {
                status: 400,
                body: Some((-1155, _))
            })
        ));
    }
}
