//! The HTTP side of connecting (spec §1.1, §1.2): the path, and the query parameters that
//! set a connection's options. Refusals are HTTP errors with a JSON body, before the upgrade.

use tokio_tungstenite::tungstenite::http::{header, Response, StatusCode, Uri};

use crate::envelope::TimeUnit;
use crate::session::ConnectionOptions;

/// The only path served.
pub const PATH: &str = "/ws-api/v3";

/// Why a handshake is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Another path: 404 with an empty body.
    NotFound,
    /// A query parameter with a value outside its range: 400 with `{code, msg}`.
    BadParameter { code: i32, msg: String },
}

impl Refusal {
    /// The HTTP response that carries this refusal.
    pub fn response(&self) -> Response<Option<String>> {
        let (status, body) = match self {
            Refusal::NotFound => (StatusCode::NOT_FOUND, None),
            Refusal::BadParameter { code, msg } => (
                StatusCode::BAD_REQUEST,
                Some(serde_json::json!({ "code": code, "msg": msg }).to_string()),
            ),
        };
        let mut response = Response::new(body);
        *response.status_mut() = status;
        if matches!(self, Refusal::BadParameter { .. }) {
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("application/json;charset=UTF-8"),
            );
        }
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
        return Err(Refusal::NotFound);
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
                    return Err(Refusal::BadParameter {
                        code: -1194,
                        msg: "Invalid value for time unit; expected either MICROSECOND or MILLISECOND."
                            .to_owned(),
                    });
                };
            }
            "returnRateLimits" => {
                options.return_rate_limits = if value.eq_ignore_ascii_case("true") {
                    true
                } else if value.eq_ignore_ascii_case("false") {
                    false
                } else {
                    return Err(Refusal::BadParameter {
                        code: -1130,
                        msg: "Data sent for parameter 'returnRateLimits' is not valid.".to_owned(),
                    });
                };
            }
            "responseFormat" => {
                if !value.eq_ignore_ascii_case("json") {
                    return Err(Refusal::BadParameter {
                        code: -1155,
                        msg: "SBE is not enabled.".to_owned(),
                    });
                }
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
        assert_eq!(options("/ws-api/v2"), Err(Refusal::NotFound));
        assert_eq!(options("/"), Err(Refusal::NotFound));
        assert!(matches!(
            options("/ws-api/v3?timeUnit=SECOND"),
            Err(Refusal::BadParameter { code: -1194, .. })
        ));
        assert!(matches!(
            options("/ws-api/v3?returnRateLimits=yes"),
            Err(Refusal::BadParameter { code: -1130, .. })
        ));
        assert!(matches!(
            options("/ws-api/v3?responseFormat=sbe"),
            Err(Refusal::BadParameter { code: -1155, .. })
        ));
    }
}
