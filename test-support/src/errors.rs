//! The golden table: every error reply the mock gives, as status, code and message template,
//! one row each. The mock's tests, the conformance harness and the docs check
//! (`tests/fidelity_messages.rs`) all read it, so a message changes in one place.
//!
//! Sources: the spec (§2.5, §3.3, §4.6, §5.3, §7) and, where Binance documents nothing,
//! `docs/FIDELITY.md`. Templates name their blanks `{name}`; [`Golden::render`] fills them.

/// An error reply's status, code and message (spec §7, docs/FIDELITY.md).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// The reply's `status` (or the HTTP status of a refused handshake).
    pub status: u16,
    /// `error.code` (0 for a refusal without a body).
    pub code: i32,
    /// `error.msg`, exactly.
    pub msg: String,
}

impl ApiError {
    /// The whole reply carrying this error: `id` as raw JSON, then `tail` (a `rateLimits`
    /// member with its leading comma, or nothing), in the documented member order.
    pub fn reply(&self, id: &str, tail: &str) -> String {
        format!(
            r#"{{"id":{id},"status":{},"error":{{"code":{},"msg":{}}}{tail}}}"#,
            self.status,
            self.code,
            serde_json::Value::from(self.msg.as_str())
        )
    }

    /// As [`ApiError::reply`], the error carrying `data` (raw JSON), as a 429 or 418 does.
    pub fn reply_with_data(&self, id: &str, data: &str, tail: &str) -> String {
        format!(
            r#"{{"id":{id},"status":{},"error":{{"code":{},"msg":{},"data":{data}}}{tail}}}"#,
            self.status,
            self.code,
            serde_json::Value::from(self.msg.as_str())
        )
    }

    /// The JSON body of a refused handshake carrying this error.
    pub fn body(&self) -> String {
        format!(
            r#"{{"code":{},"msg":{}}}"#,
            self.code,
            serde_json::Value::from(self.msg.as_str())
        )
    }
}

/// The methods the mock implements, in the order of its method table: the legal range the
/// -1100 for an unknown method names (docs/FIDELITY.md §10.2).
pub const MOCK_METHODS: &[&str] = &[
    "ping",
    "time",
    "session.logon",
    "session.status",
    "session.logout",
    "session.subscriptions",
    "account.status",
    "account.rateLimits.orders",
    "userDataStream.subscribe",
    "userDataStream.subscribe.signature",
    "userDataStream.unsubscribe",
    "exchangeInfo",
    "depth",
    "avgPrice",
    "ticker.price",
    "ticker.book",
    "klines",
    "uiKlines",
    "order.test",
    "account.commission",
    "order.place",
    "order.status",
    "order.cancel",
    "openOrders.status",
    "openOrders.cancelAll",
    "allOrders",
    "myTrades",
];

/// The -1100 for an unknown method: [`ILLEGAL_CHARACTERS`] for `method`, the range being
/// [`MOCK_METHODS`] joined with `|`.
pub fn unknown_method() -> ApiError {
    ILLEGAL_CHARACTERS.render(&[("name", "method"), ("legal_range", &MOCK_METHODS.join("|"))])
}

/// The -1102 for a missing mandatory parameter `name`.
pub fn mandatory(name: &str) -> ApiError {
    MANDATORY.render(&[("name", name)])
}

/// One row of the golden table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Golden {
    /// The reply's status.
    pub status: u16,
    /// The error code.
    pub code: i32,
    /// The message, with blanks written `{name}`.
    pub template: &'static str,
}

/// Declares each row once: its constant, and its place in [`TABLE`].
macro_rules! golden_table {
    ($($(#[$doc:meta])* $name:ident = ($status:expr, $code:expr, $template:expr);)*) => {
        $(
            $(#[$doc])*
            pub const $name: Golden = Golden {
                status: $status,
                code: $code,
                template: $template,
            };
        )*

        /// Every row, one per error.
        pub const TABLE: &[Golden] = &[$($name),*];
    };
}

// One line a row, so that the table reads as one.
#[rustfmt::skip]
golden_table! {
    /// A frame that is not a JSON object (docs/FIDELITY.md §10.1).
    INVALID_JSON = (400, -1135, "Invalid JSON Request");
    /// An invalid `id` (spec §2.5, observed).
    INVALID_ID = (400, -1135, "Invalid 'id' in JSON request; expected an integer, a string matching '^[a-zA-Z0-9-_]{1,36}$', or null.");
    /// `params` that is not an object.
    PARAMS_NOT_AN_OBJECT = (400, -1135, "JSON sent for parameter 'params' is not valid");
    /// A mandatory parameter missing, empty, `null` or malformed.
    MANDATORY = (400, -1102, "Mandatory parameter '{name}' was not sent, was empty/null, or malformed.");
    /// A value outside its legal range (an unknown method names the methods as the range).
    ILLEGAL_CHARACTERS = (400, -1100, "Illegal characters found in parameter '{name}'; legal range is '{legal_range}'.");
    /// A value that is not valid.
    INVALID_PARAMETER = (400, -1130, "Data sent for parameter '{name}' is not valid.");
    /// A number over its maximum (`recvWindow` over 60000, docs/FIDELITY.md §10.14).
    GREATER_THAN_MAXIMUM = (400, -1102, "'{name}' contains unexpected value. Cannot be greater than {max}.");
    /// Params a method does not read (spec §2.5).
    UNREAD_PARAMETERS = (400, -1104, "Not all sent parameters were read; read '{read}' parameter(s) but was sent '{sent}'.");
    /// A parameter sent twice.
    DUPLICATE_PARAMETER = (400, -1101, "Duplicate values for a parameter detected.");
    /// Request weight over the limit (spec §5.3).
    TOO_MUCH_WEIGHT = (429, -1003, "Too much request weight used; current limit is {limit} request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.");
    /// The IP banned (spec §5.3).
    IP_BANNED = (418, -1003, "Way too much request weight used; IP banned until {until}. Please use WebSocket Streams for live updates to avoid bans.");
    /// A timestamp older than `recvWindow` (spec §3.3).
    OUTSIDE_RECV_WINDOW = (400, -1021, "Timestamp for this request is outside of the recvWindow.");
    /// A timestamp 1000 ms or more ahead (spec §3.3).
    TIMESTAMP_AHEAD = (400, -1021, "Timestamp for this request was 1000ms ahead of the server's time.");
    /// A bad signature (spec §3.3; status per docs/FIDELITY.md §10.17).
    INVALID_SIGNATURE = (400, -1022, "Signature for this request is not valid.");
    /// A malformed API key.
    BAD_API_KEY_FORMAT = (401, -2014, "API-key format invalid.");
    /// An unknown or revoked key, or a missing permission.
    REJECTED_API_KEY = (401, -2015, "Invalid API-key, IP, or permissions for action.");
    /// Past the CONNECTIONS limit at the handshake (spec §5.1).
    TOO_MANY_CONNECTIONS = (429, -1034, "Too many connection attempts from IP; current limit is {limit} per '5 MINUTE'.");
    /// Past the mock's connection cap at the handshake.
    SERVER_BUSY = (503, -1008, "Server is currently overloaded with other requests. Please try again in a few minutes.");
    /// An invalid `timeUnit` at connect (spec §1.2).
    INVALID_TIME_UNIT = (400, -1194, "Invalid value for time unit; expected either MICROSECOND or MILLISECOND.");
    /// `responseFormat=sbe`: the mock speaks JSON only.
    SBE_DISABLED = (400, -1155, "SBE is not enabled.");
    /// A kline `interval` that is none of the documented ones (errors.md -1120).
    BAD_INTERVAL = (400, -1120, "Invalid interval.");
    /// A `symbol` the market does not list (errors.md -1121).
    BAD_SYMBOL = (400, -1121, "Invalid symbol.");
    /// Klines asked with `startTime` after `endTime` (docs/FIDELITY.md "Klines").
    START_AFTER_END = (400, -1023, "Start time is greater than end time.");
    /// A fault of the server's own.
    INTERNAL = (500, -1000, "An unknown error occurred while processing the request.");
    /// `userDataStream.subscribe` without logon (docs/FIDELITY.md §10.10).
    UNAUTHORIZED = (401, -1002, "You are not authorized to execute this request.");
    /// A second subscription for one account on one connection (docs/FIDELITY.md §10.10).
    SUBSCRIPTION_ACTIVE = (400, -2035, "User Data Stream subscription already active.");
    /// Subscription ids exhausted (spec §4.6).
    MAX_SUBSCRIPTION_IDS = (400, -2042, "Maximum subscription ID reached for this connection.");
    /// A `symbolStatus` other than `TRADING`, `HALT` or `BREAK` (errors.md -1122).
    INVALID_SYMBOL_STATUS = (400, -1122, "Invalid symbolStatus.");
    /// The one symbol asked for has another status than `symbolStatus` (errors.md -1220).
    SYMBOL_STATUS_MISMATCH = (400, -1220, "The symbol's status does not match the requested symbolStatus.");
    /// A symbol named twice in `symbols` (errors.md -1151).
    DUPLICATE_SYMBOLS = (400, -1151, "Symbol is present multiple times in the list.");
    /// Two params that exclude each other, such as `symbol` and `symbols`.
    PARAMS_EXCLUSIVE = (400, -1128, "Combination of optional parameters invalid. Recommendation: '{first}' and '{second}' cannot both be sent.");
    /// Any path but the API's: HTTP 404 with an empty body.
    NOT_FOUND = (404, 0, "");
    /// Neither of two params an order needs one of (errors.md -1102).
    EITHER_PARAM = (400, -1102, "Param '{name}' or '{other}' must be sent, but both were empty/null!");
    /// A param the order's type does not take (errors.md -1106; `timeInForce` too, as real servers answer).
    PARAM_NOT_REQUIRED = (400, -1106, "Parameter '{name}' sent when not required.");
    /// A decimal with more places than the symbol's precision (errors.md -1111).
    TOO_MUCH_PRECISION = (400, -1111, "Parameter '{name}' has too much precision.");
    /// A `timeInForce` none of GTC, IOC, FOK (errors.md -1115).
    INVALID_TIME_IN_FORCE = (400, -1115, "Invalid timeInForce.");
    /// A `type` that is no order type (errors.md -1116).
    INVALID_ORDER_TYPE = (400, -1116, "Invalid orderType.");
    /// A `side` of letters that is neither BUY nor SELL (errors.md -1117).
    INVALID_SIDE = (400, -1117, "Invalid side.");
    /// `newClientOrderId` sent empty (errors.md -1118).
    EMPTY_NEW_CLIENT_ORDER_ID = (400, -1118, "New client order ID was empty.");
    /// `pegOffsetValue` without `pegOffsetType` or the other way round (errors.md -1128).
    NOT_BOTH_SENT = (400, -1128, "Combination of optional fields invalid. Recommendation: '{name}' and '{other}' must both be sent.");
    /// `strategyType` below 1000000 (errors.md -1134).
    BAD_STRATEGY_TYPE = (400, -1134, "strategyType was less than 1000000.");
    /// `icebergQty` with a time in force other than GTC (errors.md -1014).
    UNSUPPORTED_ORDER_COMBINATION = (400, -1014, "Unsupported order combination.");
    /// A filter an order fails (errors.md "Filter failures").
    FILTER_FAILURE = (400, -1013, "Filter failure: {filter}");
    /// An order on a symbol that is not TRADING (errors.md; -1013 as real servers answer).
    MARKET_CLOSED = (400, -1013, "Market is closed.");
    /// An order type, or iceberg, trailing stop or pegged orders, the symbol does not allow (errors.md; its form for LIMIT and LIMIT_MAKER).
    ORDER_TYPE_NOT_SUPPORTED = (400, -1013, "{order_kind} orders are not supported for this symbol.");
    /// `quoteOrderQty` on a symbol that does not allow it (errors.md, its spelling kept).
    QUOTE_ORDER_QTY_NOT_SUPPORTED = (400, -1013, "Quote order qty market orders are not support for this symbol.");
    /// `icebergQty` no smaller than `quantity` (errors.md).
    ICEBERG_EXCEEDS_QTY = (400, -1013, "IcebergQty exceeds QTY.");
    /// A zero notional where no filter rule catches it (errors.md).
    ZERO_NOTIONAL = (400, -1013, "Price * QTY is zero or less.");
    /// Peg params on a type that cannot be pegged (errors.md).
    PEG_NOT_FOR_TYPE = (400, -1013, "This order type may not use pegged price.");
    /// `MARKET_PEG` on `LIMIT_MAKER` (errors.md).
    PEG_NOT_FOR_THIS_TYPE = (400, -1013, "This price peg cannot be used with this order type.");
    /// A trailing stop without `stopPrice`: not modelled (docs/FIDELITY.md "Orders"; an invented message).
    TRAILING_NOT_MODELLED = (400, -1013, "Trailing stop orders are not supported by this mock.");
    /// Past an `ORDERS` limit (errors.md -1015; "10 SECOND" or "1 DAY").
    TOO_MANY_ORDERS = (429, -1015, "Too many new orders; current limit is {limit} orders per {interval}.");
    /// A `newClientOrderId` an open order of the account has (errors.md -2010 messages).
    DUPLICATE_ORDER = (400, -2010, "Duplicate order sent.");
    /// A free balance short of what the order locks (errors.md -2010 messages).
    INSUFFICIENT_BALANCE = (400, -2010, "Account has insufficient balance for requested action.");
    /// A `LIMIT_MAKER` that would take (errors.md -2010 messages).
    WOULD_MATCH = (400, -2010, "Order would immediately match and take.");
    /// A stop whose trigger is already met (errors.md -2010 messages).
    WOULD_TRIGGER = (400, -2010, "Order would trigger immediately.");
    /// A cancel of an order the account has not open (errors.md -2011 messages).
    UNKNOWN_ORDER = (400, -2011, "Unknown order sent.");
    /// `order.cancel` with `cancelRestrictions` the order's status does not meet (errors.md -2011 messages).
    CANCEL_RESTRICTED = (400, -2011, "Order was not canceled due to cancel restrictions.");
    /// `allOrders` or `myTrades` with `startTime` and `endTime` more than 24 hours apart (errors.md -1127).
    SPAN_TOO_LONG = (400, -1127, "More than {hours} hours between startTime and endTime.");
    /// `order.status` of an order the account does not have (errors.md -2013).
    NO_SUCH_ORDER = (400, -2013, "Order does not exist.");
}

impl Golden {
    /// The error with every `{blank}` of the template filled from `values` (name, text).
    /// A blank without a value stays as written, so a test that forgets one fails.
    pub fn render(&self, values: &[(&str, &str)]) -> ApiError {
        let mut msg = self.template.to_owned();
        for (blank, value) in values {
            msg = msg.replace(&format!("{{{blank}}}"), value);
        }
        ApiError {
            status: self.status,
            code: self.code,
            msg,
        }
    }

    /// The error of a template without blanks.
    pub fn error(&self) -> ApiError {
        self.render(&[])
    }

    /// Whether `msg` is this template with its blanks filled in any way (each blank by at
    /// least one character).
    pub fn matches(&self, msg: &str) -> bool {
        template_regex(self.template).is_match(msg)
    }
}

/// The template as an anchored regex: its literal text escaped, each `{blank}` as `.+`.
fn template_regex(template: &str) -> regex::Regex {
    let blank = regex::Regex::new(r"\{[a-z_]+\}").expect("a valid regex");
    let mut pattern = String::from("^");
    let mut last = 0;
    for found in blank.find_iter(template) {
        pattern.push_str(&regex::escape(&template[last..found.start()]));
        pattern.push_str(".+");
        last = found.end();
    }
    pattern.push_str(&regex::escape(&template[last..]));
    pattern.push('$');
    regex::Regex::new(&pattern).expect("escaped text is a valid regex")
}

/// The golden row whose code and template fit this reply, if any.
pub fn find(code: i32, msg: &str) -> Option<&'static Golden> {
    TABLE.iter().find(|g| g.code == code && g.matches(msg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rendered_template_matches_its_row_and_no_other() {
        let error = MANDATORY.render(&[("name", "apiKey")]);
        assert_eq!(
            error.msg,
            "Mandatory parameter 'apiKey' was not sent, was empty/null, or malformed."
        );
        assert_eq!(find(error.code, &error.msg), Some(&MANDATORY));
        assert_eq!(
            find(
                -1102,
                "'recvWindow' contains unexpected value. Cannot be greater than 60000."
            ),
            Some(&GREATER_THAN_MAXIMUM)
        );
        assert_eq!(find(-1102, "Mandatory parameter '' was not sent"), None);
    }

    #[test]
    fn a_regex_quoted_in_a_message_is_not_a_blank() {
        assert!(INVALID_ID.matches(INVALID_ID.template));
        assert!(!INVALID_ID.matches("Invalid 'id' in JSON request; expected an integer, a string matching '^[a-zA-Z0-9-_]1,36$', or null."));
    }

    #[test]
    fn an_error_reply_has_the_documented_member_order() {
        assert_eq!(
            mandatory("method").reply("7", ""),
            r#"{"id":7,"status":400,"error":{"code":-1102,"msg":"Mandatory parameter 'method' was not sent, was empty/null, or malformed."}}"#
        );
        assert_eq!(
            SBE_DISABLED.error().body(),
            r#"{"code":-1155,"msg":"SBE is not enabled."}"#
        );
    }

    #[test]
    fn no_two_rows_share_a_code_and_a_template() {
        for (i, a) in TABLE.iter().enumerate() {
            for b in &TABLE[i + 1..] {
                assert!(a.code != b.code || a.template != b.template, "{a:?}");
            }
        }
    }
}
