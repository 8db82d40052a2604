//! One error type for everything a request can fail with, and its mapping to the API's
//! HTTP-like status, error code and message (spec §7).
//!
//! The mapping is two exhaustive `match`es without a catch-all arm, one for the status and
//! code, one for the message: a new error cannot compile without its code and message.

use crate::clock::Timestamp;

/// Why a request was refused. Each variant maps to exactly one status, code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ApiError {
    /// The frame is not valid JSON, or not a JSON object (spec §10.1: our choice, -1135).
    InvalidJson,
    /// A binary frame on a JSON session (our choice: treated like unparseable JSON).
    BinaryFrame,
    /// The `id` is neither a 64-bit signed integer, a matching string, nor null (spec §2.5).
    InvalidId,
    /// `params` is present but not a JSON object.
    ParamsNotObject,
    /// A mandatory parameter is absent, empty or null (spec §2.5, -1102).
    MandatoryParam(&'static str),
    /// A parameter's value is outside its legal character range (-1100); for `method`, the
    /// name of no method this server knows (docs/FIDELITY.md §10.2).
    IllegalChars {
        param: &'static str,
        legal_range: &'static str,
    },
    /// A parameter's value is well-formed but not acceptable (-1130).
    InvalidParameter(&'static str),
    /// A numeric parameter exceeds its maximum (-1102, the "Cannot be greater than" form).
    GreaterThan {
        param: &'static str,
        max: &'static str,
    },
    /// Parameters the method does not read were sent (spec §2.5, -1104).
    UnreadParameters { read: usize, sent: usize },
    /// The same parameter name appears twice in `params` (-1101).
    DuplicateParameter,
    /// REQUEST_WEIGHT exhausted for this window (spec §5.3, 429 / -1003).
    TooMuchWeight {
        limit: u32,
        server_time: Timestamp,
        retry_after: Timestamp,
    },
    /// The IP is banned for repeated rate-limit violations (spec §5.3, 418 / -1003); the
    /// connection is closed after this reply.
    IpBanned {
        server_time: Timestamp,
        until: Timestamp,
    },
    /// `timestamp` is older than `recvWindow` allows (spec §3.3, -1021).
    OutsideRecvWindow,
    /// `timestamp` is 1000 ms or more ahead of the server (spec §3.3, -1021).
    TimestampAhead,
    /// The signature does not verify, or the key type cannot sign this request (-1022).
    InvalidSignature,
    /// The API key is not of the format API keys have (-2014).
    BadApiKeyFormat,
    /// The API key is unknown, revoked, or lacks permission (-2015).
    RejectedApiKey,
    /// Too many new connections from this IP in five minutes (spec §5.1 CONNECTIONS): an
    /// HTTP 429 at the handshake, with -1034's documented message for connection attempts
    /// from an IP (no Binance document shows the WebSocket handshake's own refusal).
    TooManyConnections { limit: u32 },
    /// The server's connection cap is reached: an HTTP 503 at the handshake.
    ServerBusy,
    /// `timeUnit` in the URL is neither unit (spec §1.2, -1194).
    InvalidTimeUnit,
    /// `responseFormat=sbe`: this server speaks JSON only (-1155).
    SbeDisabled,
    /// `interval` is none of the documented kline intervals (-1120).
    BadInterval,
    /// `symbol` names no symbol of the market (-1121).
    BadSymbol,
    /// `startTime` is after `endTime` (-1023, docs/FIDELITY.md "Klines").
    StartAfterEnd,
    /// Something that cannot happen did (a result that would not serialize): 500 / -1000.
    Internal,
    /// The request needs a logged-on session and there is none (-1002; spec §10.10: our
    /// choice for `userDataStream.subscribe`).
    Unauthorized,
    /// The account already has a User Data Stream subscription on this connection (-2035).
    SubscriptionActive,
    /// The connection has used all its subscription ids, or has too many active (-2042).
    MaxSubscriptionIds,
    /// A `symbolStatus` that is not one of the values a filter accepts (-1122).
    InvalidSymbolStatus,
    /// The one symbol asked for does not have the `symbolStatus` asked for (-1220).
    SymbolStatusMismatch,
    /// A symbol named twice in `symbols` (-1151).
    DuplicateSymbols,
    /// Two optional params sent that exclude each other (-1128).
    ParamsExclusive {
        first: &'static str,
        second: &'static str,
    },
    /// A canned reply a fault rule gives instead of the method's own (`/__admin/faults`).
    Canned { status: u16, code: i32, msg: String },
    /// Neither of two params one of which the order needs was sent (-1102, the "Param '%s'
    /// or '%s' must be sent" form).
    EitherParam(&'static str, &'static str),
    /// A param the order's type does not take was sent (-1106).
    ParamNotRequired(&'static str),
    /// A decimal with more places than the symbol's precision allows (-1111).
    TooMuchPrecision(&'static str),
    /// `timeInForce` is none of the documented values (-1115).
    InvalidTimeInForce,
    /// `type` is none of the documented order types (-1116).
    InvalidOrderType,
    /// `side` is neither `BUY` nor `SELL` (-1117).
    InvalidSide,
    /// `newClientOrderId` was sent empty (-1118).
    EmptyNewClientOrderId,
    /// Two params that go together were not both sent (-1128).
    NotBothSent(&'static str, &'static str),
    /// `strategyType` below 1000000 (-1134).
    BadStrategyType,
    /// The order's type, time in force and iceberg quantity do not combine (-1014).
    UnsupportedOrderCombination,
    /// An order failed one of the symbol's filters (-1013 "Filter failure: NAME").
    FilterFailure(&'static str),
    /// An order the API refuses before the matching engine, with one of the documented
    /// messages (`errors.md`, "Messages for -1010 ... -2010"): -1013 on `order.test`.
    OrderRefused(&'static str),
    /// An account past one of its `ORDERS` limits (429 / -1015, `errors.md`; the interval
    /// written as `"10 SECOND"` or `"1 DAY"`, as a real server answered).
    TooManyOrders { limit: u32, interval: String },
    /// The matching engine refused a new order (-2010, one of `errors.md`'s messages).
    OrderRejected(&'static str),
    /// The matching engine refused a cancel (-2011, one of `errors.md`'s messages).
    CancelRejected(&'static str),
    /// -2013: an order the account does not have (`errors.md:335`).
    NoSuchOrder,
    /// -1127: `startTime` and `endTime` further apart than a history query allows
    /// (`errors.md:147`).
    SpanTooLong { hours: u32 },
}

/// `data` member of an error reply (spec §2.3): present only for rate-limit errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ErrorData {
    pub server_time: Timestamp,
    pub retry_after: Timestamp,
}

impl ApiError {
    /// The reply's `status`.
    pub fn status(&self) -> u16 {
        self.status_and_code().0
    }

    /// The error's `code`.
    pub fn code(&self) -> i32 {
        self.status_and_code().1
    }

    /// The error's `data`, if it has one.
    pub fn data(&self) -> Option<ErrorData> {
        match *self {
            ApiError::TooMuchWeight {
                server_time,
                retry_after,
                ..
            } => Some(ErrorData {
                server_time,
                retry_after,
            }),
            ApiError::IpBanned { server_time, until } => Some(ErrorData {
                server_time,
                retry_after: until,
            }),
            _ => None,
        }
    }

    /// The reply's `status` and the error's `code`.
    fn status_and_code(&self) -> (u16, i32) {
        match self {
            ApiError::InvalidJson
            | ApiError::BinaryFrame
            | ApiError::InvalidId
            | ApiError::ParamsNotObject => (400, -1135),
            ApiError::MandatoryParam(_) | ApiError::GreaterThan { .. } => (400, -1102),
            ApiError::IllegalChars { .. } => (400, -1100),
            ApiError::InvalidParameter(_) => (400, -1130),
            ApiError::UnreadParameters { .. } => (400, -1104),
            ApiError::DuplicateParameter => (400, -1101),
            ApiError::TooMuchWeight { .. } => (429, -1003),
            ApiError::IpBanned { .. } => (418, -1003),
            ApiError::OutsideRecvWindow | ApiError::TimestampAhead => (400, -1021),
            ApiError::InvalidSignature => (400, -1022),
            ApiError::BadApiKeyFormat => (401, -2014),
            ApiError::RejectedApiKey => (401, -2015),
            ApiError::TooManyConnections { .. } => (429, -1034),
            ApiError::ServerBusy => (503, -1008),
            ApiError::InvalidTimeUnit => (400, -1194),
            ApiError::SbeDisabled => (400, -1155),
            ApiError::BadInterval => (400, -1120),
            ApiError::StartAfterEnd => (400, -1023),
            ApiError::Internal => (500, -1000),
            ApiError::Unauthorized => (401, -1002),
            ApiError::SubscriptionActive => (400, -2035),
            ApiError::MaxSubscriptionIds => (400, -2042),
            ApiError::InvalidSymbolStatus => (400, -1122),
            ApiError::SymbolStatusMismatch => (400, -1220),
            ApiError::DuplicateSymbols => (400, -1151),
            ApiError::ParamsExclusive { .. } => (400, -1128),
            ApiError::Canned { status, code, .. } => (*status, *code),
            ApiError::EitherParam(..) => (400, -1102),
            ApiError::ParamNotRequired(_) => (400, -1106),
            ApiError::TooMuchPrecision(_) => (400, -1111),
            ApiError::InvalidTimeInForce => (400, -1115),
            ApiError::InvalidOrderType => (400, -1116),
            ApiError::InvalidSide => (400, -1117),
            ApiError::EmptyNewClientOrderId => (400, -1118),
            ApiError::BadSymbol => (400, -1121),
            ApiError::NotBothSent(..) => (400, -1128),
            ApiError::BadStrategyType => (400, -1134),
            ApiError::UnsupportedOrderCombination => (400, -1014),
            ApiError::FilterFailure(_) | ApiError::OrderRefused(_) => (400, -1013),
            ApiError::TooManyOrders { .. } => (429, -1015),
            ApiError::OrderRejected(_) => (400, -2010),
            ApiError::CancelRejected(_) => (400, -2011),
            ApiError::NoSuchOrder => (400, -2013),
            ApiError::SpanTooLong { .. } => (400, -1127),
        }
    }

    /// The error's `msg`.
    pub fn message(&self) -> String {
        match self {
            ApiError::InvalidJson | ApiError::BinaryFrame => "Invalid JSON Request".to_owned(),
            ApiError::InvalidId => "Invalid 'id' in JSON request; expected an integer, a string \
                                    matching '^[a-zA-Z0-9-_]{1,36}$', or null."
                .to_owned(),
            ApiError::ParamsNotObject => "JSON sent for parameter 'params' is not valid".to_owned(),
            ApiError::MandatoryParam(name) => {
                format!("Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")
            }
            ApiError::IllegalChars { param, legal_range } => format!(
                "Illegal characters found in parameter '{param}'; legal range is '{legal_range}'."
            ),
            ApiError::InvalidParameter(name) => {
                format!("Data sent for parameter '{name}' is not valid.")
            }
            ApiError::GreaterThan { param, max } => {
                format!("'{param}' contains unexpected value. Cannot be greater than {max}.")
            }
            ApiError::UnreadParameters { read, sent } => format!(
                "Not all sent parameters were read; read '{read}' parameter(s) but was sent \
                 '{sent}'."
            ),
            ApiError::DuplicateParameter => "Duplicate values for a parameter detected.".to_owned(),
            ApiError::TooMuchWeight { limit, .. } => format!(
                "Too much request weight used; current limit is {limit} request weight per 1 \
                 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API."
            ),
            ApiError::IpBanned { until, .. } => format!(
                "Way too much request weight used; IP banned until {}. Please use WebSocket \
                 Streams for live updates to avoid bans.",
                until.as_millis()
            ),
            ApiError::OutsideRecvWindow => {
                "Timestamp for this request is outside of the recvWindow.".to_owned()
            }
            ApiError::TimestampAhead => {
                "Timestamp for this request was 1000ms ahead of the server's time.".to_owned()
            }
            ApiError::InvalidSignature => "Signature for this request is not valid.".to_owned(),
            ApiError::BadApiKeyFormat => "API-key format invalid.".to_owned(),
            ApiError::RejectedApiKey => {
                "Invalid API-key, IP, or permissions for action.".to_owned()
            }
            ApiError::TooManyConnections { limit } => format!(
                "Too many connection attempts from IP; current limit is {limit} per '5 MINUTE'."
            ),
            ApiError::ServerBusy => "Server is currently overloaded with other requests. Please \
                                     try again in a few minutes."
                .to_owned(),
            ApiError::InvalidTimeUnit => {
                "Invalid value for time unit; expected either MICROSECOND or MILLISECOND."
                    .to_owned()
            }
            ApiError::SbeDisabled => "SBE is not enabled.".to_owned(),
            ApiError::BadInterval => "Invalid interval.".to_owned(),
            ApiError::BadSymbol => "Invalid symbol.".to_owned(),
            ApiError::StartAfterEnd => "Start time is greater than end time.".to_owned(),
            ApiError::Internal => {
                "An unknown error occurred while processing the request.".to_owned()
            }
            ApiError::Unauthorized => "You are not authorized to execute this request.".to_owned(),
            ApiError::SubscriptionActive => {
                "User Data Stream subscription already active.".to_owned()
            }
            ApiError::MaxSubscriptionIds => {
                "Maximum subscription ID reached for this connection.".to_owned()
            }
            ApiError::InvalidSymbolStatus => "Invalid symbolStatus.".to_owned(),
            ApiError::SymbolStatusMismatch => {
                "The symbol's status does not match the requested symbolStatus.".to_owned()
            }
            ApiError::DuplicateSymbols => {
                "Symbol is present multiple times in the list.".to_owned()
            }
            ApiError::ParamsExclusive { first, second } => format!(
                "Combination of optional parameters invalid. Recommendation: '{first}' and \
                 '{second}' cannot both be sent."
            ),
            ApiError::Canned { msg, .. } => msg.clone(),
            ApiError::EitherParam(a, b) => {
                format!("Param '{a}' or '{b}' must be sent, but both were empty/null!")
            }
            ApiError::ParamNotRequired(name) => {
                format!("Parameter '{name}' sent when not required.")
            }
            ApiError::TooMuchPrecision(name) => {
                format!("Parameter '{name}' has too much precision.")
            }
            ApiError::InvalidTimeInForce => "Invalid timeInForce.".to_owned(),
            ApiError::InvalidOrderType => "Invalid orderType.".to_owned(),
            ApiError::InvalidSide => "Invalid side.".to_owned(),
            ApiError::EmptyNewClientOrderId => "New client order ID was empty.".to_owned(),
            ApiError::NotBothSent(a, b) => format!(
                "Combination of optional fields invalid. Recommendation: '{a}' and '{b}' must \
                 both be sent."
            ),
            ApiError::BadStrategyType => "strategyType was less than 1000000.".to_owned(),
            ApiError::UnsupportedOrderCombination => "Unsupported order combination.".to_owned(),
            ApiError::FilterFailure(filter) => format!("Filter failure: {filter}"),
            ApiError::OrderRefused(msg)
            | ApiError::OrderRejected(msg)
            | ApiError::CancelRejected(msg) => (*msg).to_owned(),
            ApiError::NoSuchOrder => "Order does not exist.".to_owned(),
            ApiError::SpanTooLong { hours } => {
                format!("More than {hours} hours between startTime and endTime.")
            }
            ApiError::TooManyOrders { limit, interval } => {
                format!("Too many new orders; current limit is {limit} orders per {interval}.")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_id_message_is_the_observed_one() {
        assert_eq!(
            ApiError::InvalidId.message(),
            "Invalid 'id' in JSON request; expected an integer, a string matching \
             '^[a-zA-Z0-9-_]{1,36}$', or null."
        );
    }

    #[test]
    fn weight_error_carries_its_data_and_429() {
        let e = ApiError::TooMuchWeight {
            limit: 6000,
            server_time: Timestamp::from_millis(5),
            retry_after: Timestamp::from_millis(60_000),
        };
        assert_eq!((e.status(), e.code()), (429, -1003));
        assert!(e.message().contains("6000 request weight per 1 MINUTE"));
        assert_eq!(e.data().map(|d| d.retry_after.as_millis()), Some(60_000));
        assert_eq!(ApiError::InvalidSignature.data(), None);
    }
}
