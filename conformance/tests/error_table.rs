//! The error table, one case per error the mock returns: each row of the runner's table runs
//! against a fresh in-process mock (frozen at a known minute), must pass, and its last frame
//! must be exactly the reply written here.

use conformance::{catalogue, run, Options, Target, Verdict};
use rstest::rstest;
use test_support::errors as golden;

/// Where each case starts: the minute after the in-process mock's frozen start.
const T: i64 = conformance::FROZEN_START_MS + 60_000;

fn weight(count: u32) -> String {
    weight_under(count, 6000)
}

fn weight_under(count: u32, limit: u32) -> String {
    format!(
        r#","rateLimits":[{{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":{limit},"count":{count}}}]"#
    )
}

fn error(id: &str, status: u16, code: i32, msg: &str, tail: &str) -> String {
    let error = golden::ApiError {
        status,
        code,
        msg: msg.to_owned(),
    };
    assert!(
        golden::find(code, msg).is_some_and(|row| row.status == status),
        "({status}, {code}, {msg:?}) is not in the golden error table"
    );
    error.reply(id, tail)
}

/// A refused handshake as the report shows it: the HTTP status, then the JSON body.
fn refusal(error: golden::ApiError) -> String {
    format!("HTTP {} {}", error.status, error.body())
}

const ERR: &str = r#""err""#;
const INVALID_ID: &str = golden::INVALID_ID.template;
const REJECTED: &str = golden::REJECTED_API_KEY.template;

#[rstest]
#[case::invalid_json("ERR-1135-INVALID-JSON", error("null", 400, -1135, golden::INVALID_JSON.template, ""))]
#[case::not_an_object("ERR-1135-NOT-AN-OBJECT", error("null", 400, -1135, golden::INVALID_JSON.template, ""))]
#[case::binary_frame("ERR-1135-BINARY-FRAME", error("null", 400, -1135, golden::INVALID_JSON.template, ""))]
#[case::invalid_id("ERR-1135-INVALID-ID", error("null", 400, -1135, INVALID_ID, ""))]
#[case::params_not_an_object(
    "ERR-1135-PARAMS-NOT-AN-OBJECT",
    error(ERR, 400, -1135, golden::PARAMS_NOT_AN_OBJECT.template, "")
)]
#[case::method_missing(
    "ERR-1102-METHOD-MISSING",
    error(ERR, 400, -1102, &golden::MANDATORY.render(&[("name", "method")]).msg, "")
)]
#[case::method_not_a_string(
    "ERR-1102-METHOD-NOT-A-STRING",
    error(ERR, 400, -1102, &golden::MANDATORY.render(&[("name", "method")]).msg, "")
)]
#[case::unknown_method(
    "ERR-1100-UNKNOWN-METHOD",
    error(ERR, 400, -1100, &golden::unknown_method().msg, "")
)]
#[case::unread_parameter(
    "ERR-1104-UNREAD-PARAMETER",
    error(ERR, 400, -1104, &golden::UNREAD_PARAMETERS.render(&[("read", "0"), ("sent", "1")]).msg, &weight(3))
)]
#[case::read_and_unread(
    "ERR-1104-READ-AND-UNREAD",
    error(ERR, 400, -1104, "Not all sent parameters were read; read '1' parameter(s) but was sent '2'.", &weight(4))
)]
#[case::read_and_two_unread(
    "ERR-1104-READ-AND-TWO-UNREAD",
    error(ERR, 400, -1104, "Not all sent parameters were read; read '1' parameter(s) but was sent '3'.", &weight(4))
)]
#[case::null_is_not_sent(
    "ERR-1102-NULL-IS-NOT-SENT",
    error(ERR, 400, -1102, "Mandatory parameter 'apiKey' was not sent, was empty/null, or malformed.", &weight(22))
)]
#[case::empty_api_key(
    "ERR-1102-EMPTY-APIKEY",
    error(ERR, 400, -1102, "Mandatory parameter 'apiKey' was not sent, was empty/null, or malformed.", &weight(4))
)]
#[case::empty_signature(
    "ERR-1102-EMPTY-SIGNATURE",
    error(ERR, 400, -1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.", &weight(4))
)]
#[case::empty_timestamp(
    "ERR-1102-EMPTY-TIMESTAMP",
    error(ERR, 400, -1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.", &weight(4))
)]
#[case::api_key_without_signature_after_logon(
    "ERR-1102-APIKEY-WITHOUT-SIGNATURE-AFTER-LOGON",
    error(ERR, 400, -1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.", &weight(24))
)]
#[case::signature_without_api_key_after_logon(
    "ERR-1102-SIGNATURE-WITHOUT-APIKEY-AFTER-LOGON",
    error(ERR, 400, -1102, "Mandatory parameter 'apiKey' was not sent, was empty/null, or malformed.", &weight(24))
)]
#[case::timestamp_20_digits(
    "ERR-1021-TIMESTAMP-20-DIGITS",
    error(ERR, 400, -1021, "Timestamp for this request was 1000ms ahead of the server's time.", &weight(4))
)]
#[case::timestamp_21_digits(
    "ERR-1100-TIMESTAMP-21-DIGITS",
    error(ERR, 400, -1100, "Illegal characters found in parameter 'timestamp'; legal range is '^[0-9]{1,20}$'.", &weight(4))
)]
#[case::recv_window_20_digits(
    "ERR-1102-RECVWINDOW-20-DIGITS",
    error(ERR, 400, -1102, "'recvWindow' contains unexpected value. Cannot be greater than 60000.", &weight(4))
)]
#[case::recv_window_21_digits(
    "ERR-1100-RECVWINDOW-21-DIGITS",
    error(ERR, 400, -1100, r"Illegal characters found in parameter 'recvWindow'; legal range is '^[0-9]{1,20}(\.[0-9]{1,3})?$'.", &weight(4))
)]
#[case::signed_over_encoded_payload(
    "ERR-1022-SIGNED-OVER-ENCODED-PAYLOAD",
    error(ERR, 400, -1022, golden::INVALID_SIGNATURE.template, &weight(4))
)]
#[case::encoded_payload_with_lenient_signing(
    "ERR-1100-ENCODED-PAYLOAD-WITH-LENIENT-SIGNING",
    error(ERR, 400, -1100, "Illegal characters found in parameter 'timestamp'; legal range is '^[0-9]{1,20}$'.", &weight(4))
)]
#[case::duplicate_parameter(
    "ERR-1101-DUPLICATE-PARAMETER",
    error(ERR, 400, -1101, golden::DUPLICATE_PARAMETER.template, &weight(3))
)]
#[case::return_rate_limits(
    "ERR-1130-RETURN-RATE-LIMITS",
    error(ERR, 400, -1130, &golden::INVALID_PARAMETER.render(&[("name", "returnRateLimits")]).msg, &weight(3))
)]
#[case::apikey_missing(
    "ERR-1102-APIKEY-MISSING",
    error(ERR, 400, -1102, &golden::MANDATORY.render(&[("name", "apiKey")]).msg, &weight(22))
)]
#[case::signature_missing(
    "ERR-1102-SIGNATURE-MISSING",
    error(ERR, 400, -1102, &golden::MANDATORY.render(&[("name", "signature")]).msg, &weight(4))
)]
#[case::timestamp_missing(
    "ERR-1102-TIMESTAMP-MISSING",
    error(ERR, 400, -1102, &golden::MANDATORY.render(&[("name", "timestamp")]).msg, &weight(4))
)]
#[case::timestamp_missing_after_logon(
    "ERR-1102-TIMESTAMP-MISSING-AFTER-LOGON",
    error(ERR, 400, -1102, &golden::MANDATORY.render(&[("name", "timestamp")]).msg, &weight(24))
)]
#[case::timestamp_illegal(
    "ERR-1100-TIMESTAMP-ILLEGAL",
    error(ERR, 400, -1100, &golden::ILLEGAL_CHARACTERS.render(&[("name", "timestamp"), ("legal_range", "^[0-9]{1,20}$")]).msg, &weight(4))
)]
#[case::recv_window_illegal(
    "ERR-1100-RECVWINDOW-ILLEGAL",
    error(ERR, 400, -1100, &golden::ILLEGAL_CHARACTERS.render(&[("name", "recvWindow"), ("legal_range", r"^[0-9]{1,20}(\.[0-9]{1,3})?$")]).msg, &weight(4))
)]
#[case::recv_window_empty_fraction(
    "ERR-1100-RECVWINDOW-EMPTY-FRACTION",
    error(ERR, 400, -1100, &golden::ILLEGAL_CHARACTERS.render(&[("name", "recvWindow"), ("legal_range", r"^[0-9]{1,20}(\.[0-9]{1,3})?$")]).msg, &weight(4))
)]
#[case::recv_window_fraction_not_digits(
    "ERR-1100-RECVWINDOW-FRACTION-NOT-DIGITS",
    error(ERR, 400, -1100, &golden::ILLEGAL_CHARACTERS.render(&[("name", "recvWindow"), ("legal_range", r"^[0-9]{1,20}(\.[0-9]{1,3})?$")]).msg, &weight(4))
)]
#[case::recv_window_too_large(
    "ERR-1102-RECVWINDOW-TOO-LARGE",
    error(ERR, 400, -1102, &golden::GREATER_THAN_MAXIMUM.render(&[("name", "recvWindow"), ("max", "60000")]).msg, &weight(4))
)]
#[case::outside_recv_window(
    "ERR-1021-OUTSIDE-RECVWINDOW",
    error(ERR, 400, -1021, golden::OUTSIDE_RECV_WINDOW.template, &weight(4))
)]
#[case::ahead(
    "ERR-1021-AHEAD",
    error(ERR, 400, -1021, golden::TIMESTAMP_AHEAD.template, &weight(4))
)]
#[case::invalid_signature(
    "ERR-1022-INVALID-SIGNATURE",
    error(ERR, 400, -1022, golden::INVALID_SIGNATURE.template, &weight(4))
)]
#[case::escaped_signature_name(
    "ERR-1022-ESCAPED-SIGNATURE-NAME",
    error(ERR, 400, -1022, golden::INVALID_SIGNATURE.template, &weight(4))
)]
#[case::hmac_logon(
    "ERR-1022-HMAC-LOGON",
    error(ERR, 400, -1022, golden::INVALID_SIGNATURE.template, &weight(4))
)]
#[case::bad_api_key_format(
    "ERR-2014-BAD-API-KEY-FORMAT",
    error(ERR, 401, -2014, golden::BAD_API_KEY_FORMAT.template, &weight(4))
)]
#[case::unknown_api_key("ERR-2015-UNKNOWN-API-KEY", error(ERR, 401, -2015, REJECTED, &weight(4)))]
#[case::no_permission("ERR-2015-NO-PERMISSION", error(ERR, 401, -2015, REJECTED, &weight(24)))]
#[case::key_revoked("ERR-2015-KEY-REVOKED", error("null", 401, -2015, REJECTED, ""))]
#[case::subscribe_without_logon(
    "ERR-1002-SUBSCRIBE-WITHOUT-LOGON",
    error(ERR, 401, -1002, golden::UNAUTHORIZED.template, &weight(4))
)]
#[case::subscription_active(
    "ERR-2035-SUBSCRIPTION-ACTIVE",
    error(ERR, 400, -2035, golden::SUBSCRIPTION_ACTIVE.template, &weight(8))
)]
#[case::subscription_id_illegal(
    "ERR-1100-SUBSCRIPTION-ID-ILLEGAL",
    error(ERR, 400, -1100, &golden::ILLEGAL_CHARACTERS.render(&[("name", "subscriptionId"), ("legal_range", "^[0-9]{1,5}$")]).msg, &weight(4))
)]
#[case::omit_zero_balances(
    "ERR-1130-OMIT-ZERO-BALANCES",
    error(ERR, 400, -1130, &golden::INVALID_PARAMETER.render(&[("name", "omitZeroBalances")]).msg, &weight(24))
)]
#[case::too_many_subscriptions(
    "ERR-2042-TOO-MANY-SUBSCRIPTIONS",
    error(ERR, 400, -2042, golden::MAX_SUBSCRIPTION_IDS.template, "")
)]
#[case::too_much_weight(
    "ERR-1003-TOO-MUCH-WEIGHT",
    golden::TOO_MUCH_WEIGHT.render(&[("limit", "3")]).reply_with_data(
        ERR,
        &format!(r#"{{"serverTime":{T},"retryAfter":{}}}"#, T + 60_000),
        &weight_under(4, 3)
    )
)]
#[case::bans_disabled(
    "ERR-1003-BANS-DISABLED",
    format!(
        r#"{{"id":"err","status":429,"error":{{"code":-1003,"msg":"Too much request weight used; current limit is 2 request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.","data":{{"serverTime":{},"retryAfter":{}}}}}{}}}"#,
        T,
        T + 60_000,
        weight_under(5, 2)
    )
)]
#[case::ban_ends_at_retry_after(
    "ERR-1003-BAN-ENDS-AT-RETRY-AFTER",
    format!(
        r#"{{"id":"err","status":429,"error":{{"code":-1003,"msg":"Too much request weight used; current limit is 2 request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.","data":{{"serverTime":{},"retryAfter":{}}}}}{}}}"#,
        T + 120_000,
        T + 180_000,
        weight_under(3, 2)
    )
)]
#[case::ip_banned("ERR-1003-IP-BANNED", "close 1008 IP banned".to_owned())]
#[case::handshake_time_unit(
    "ERR-HANDSHAKE-1194-TIME-UNIT",
    refusal(golden::INVALID_TIME_UNIT.error())
)]
#[case::handshake_return_rate_limits(
    "ERR-HANDSHAKE-1130-RETURN-RATE-LIMITS",
    refusal(golden::INVALID_PARAMETER.render(&[("name", "returnRateLimits")]))
)]
#[case::handshake_sbe(
    "ERR-HANDSHAKE-1155-SBE",
    refusal(golden::SBE_DISABLED.error())
)]
#[case::handshake_path("ERR-HANDSHAKE-404-PATH", "HTTP 404 ".to_owned())]
#[case::handshake_connections(
    "ERR-HANDSHAKE-429-CONNECTIONS",
    refusal(golden::TOO_MANY_CONNECTIONS.render(&[("limit", "1")]))
)]
#[case::handshake_connections_window(
    "ERR-HANDSHAKE-429-CONNECTIONS-WINDOW",
    "101 Switching Protocols".to_owned()
)]
#[case::handshake_busy(
    "ERR-HANDSHAKE-503-BUSY",
    refusal(golden::SERVER_BUSY.error())
)]
#[case::handshake_banned(
    "ERR-HANDSHAKE-418-BANNED",
    refusal(golden::IP_BANNED.render(&[("until", &(T + 120_000).to_string())]))
)]
// The market methods' rows (cases/market.rs).
#[case::market_1121_exchangeinfo_unknown_symbol(
    "ERR-1121-EXCHANGEINFO-UNKNOWN-SYMBOL",
    error(ERR, 400, -1121, golden::BAD_SYMBOL.template, &weight(22))
)]
#[case::market_1121_depth_unknown_symbol(
    "ERR-1121-DEPTH-UNKNOWN-SYMBOL",
    error(ERR, 400, -1121, golden::BAD_SYMBOL.template, &weight(7))
)]
#[case::market_1121_avgprice_unknown_symbol(
    "ERR-1121-AVGPRICE-UNKNOWN-SYMBOL",
    error(ERR, 400, -1121, golden::BAD_SYMBOL.template, &weight(4))
)]
#[case::market_1121_ticker_price_unknown_among_symbols(
    "ERR-1121-TICKER-PRICE-UNKNOWN-AMONG-SYMBOLS",
    error(ERR, 400, -1121, golden::BAD_SYMBOL.template, &weight(6))
)]
#[case::market_1121_ticker_book_unknown_symbol(
    "ERR-1121-TICKER-BOOK-UNKNOWN-SYMBOL",
    error(ERR, 400, -1121, golden::BAD_SYMBOL.template, &weight(4))
)]
#[case::market_1121_klines_unknown_symbol(
    "ERR-1121-KLINES-UNKNOWN-SYMBOL",
    error(ERR, 400, -1121, golden::BAD_SYMBOL.template, &weight(4))
)]
#[case::market_1120_klines_bad_interval(
    "ERR-1120-KLINES-BAD-INTERVAL",
    error(ERR, 400, -1120, r#"Invalid interval."#, &weight(4))
)]
#[case::market_1120_uiklines_bad_interval(
    "ERR-1120-UIKLINES-BAD-INTERVAL",
    error(ERR, 400, -1120, r#"Invalid interval."#, &weight(4))
)]
#[case::market_1122_exchangeinfo_bad_symbol_status(
    "ERR-1122-EXCHANGEINFO-BAD-SYMBOL-STATUS",
    error(ERR, 400, -1122, r#"Invalid symbolStatus."#, &weight(22))
)]
#[case::market_1122_ticker_price_bad_symbol_status(
    "ERR-1122-TICKER-PRICE-BAD-SYMBOL-STATUS",
    error(ERR, 400, -1122, r#"Invalid symbolStatus."#, &weight(6))
)]
#[case::market_1128_exchangeinfo_symbol_and_symbols(
    "ERR-1128-EXCHANGEINFO-SYMBOL-AND-SYMBOLS",
    error(ERR, 400, -1128, r#"Combination of optional parameters invalid. Recommendation: 'symbol' and 'symbols' cannot both be sent."#, &weight(22))
)]
#[case::market_1128_ticker_price_symbol_and_symbols(
    "ERR-1128-TICKER-PRICE-SYMBOL-AND-SYMBOLS",
    error(ERR, 400, -1128, r#"Combination of optional parameters invalid. Recommendation: 'symbol' and 'symbols' cannot both be sent."#, &weight(6))
)]
#[case::market_1151_ticker_book_duplicate_symbols(
    "ERR-1151-TICKER-BOOK-DUPLICATE-SYMBOLS",
    error(ERR, 400, -1151, r#"Symbol is present multiple times in the list."#, &weight(6))
)]
#[case::market_1102_depth_symbol_missing(
    "ERR-1102-DEPTH-SYMBOL-MISSING",
    error(ERR, 400, -1102, r#"Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."#, &weight(7))
)]
#[case::market_1100_depth_limit_not_digits(
    "ERR-1100-DEPTH-LIMIT-NOT-DIGITS",
    error(ERR, 400, -1100, r#"Illegal characters found in parameter 'limit'; legal range is '^[0-9]{1,20}$'."#, &weight(7))
)]
#[case::market_1130_depth_limit_zero(
    "ERR-1130-DEPTH-LIMIT-ZERO",
    error(ERR, 400, -1130, r#"Data sent for parameter 'limit' is not valid."#, &weight(7))
)]
#[case::market_1121_order_test_unknown_symbol(
    "ERR-1121-ORDER-TEST-UNKNOWN-SYMBOL",
    error(ERR, 400, -1121, golden::BAD_SYMBOL.template, &weight(3))
)]
#[case::market_1013_order_test_price_filter(
    "ERR-1013-ORDER-TEST-PRICE-FILTER",
    error(ERR, 400, -1013, r#"Filter failure: PRICE_FILTER"#, &weight(3))
)]
#[case::market_1013_order_test_lot_size(
    "ERR-1013-ORDER-TEST-LOT-SIZE",
    error(ERR, 400, -1013, r#"Filter failure: LOT_SIZE"#, &weight(3))
)]
#[case::market_1013_order_test_market_lot_size(
    "ERR-1013-ORDER-TEST-MARKET-LOT-SIZE",
    error(ERR, 400, -1013, r#"Filter failure: MARKET_LOT_SIZE"#, &weight(3))
)]
#[case::market_1013_order_test_notional(
    "ERR-1013-ORDER-TEST-NOTIONAL",
    error(ERR, 400, -1013, r#"Filter failure: NOTIONAL"#, &weight(3))
)]
#[case::market_1111_order_test_price_precision(
    "ERR-1111-ORDER-TEST-PRICE-PRECISION",
    error(ERR, 400, -1111, r#"Parameter 'price' has too much precision."#, &weight(3))
)]
#[case::market_1106_order_test_time_in_force_on_market(
    "ERR-1106-ORDER-TEST-TIME-IN-FORCE-ON-MARKET",
    error(ERR, 400, -1106, r#"Parameter 'timeInForce' sent when not required."#, &weight(3))
)]
#[case::market_1106_order_test_price_on_market(
    "ERR-1106-ORDER-TEST-PRICE-ON-MARKET",
    error(ERR, 400, -1106, r#"Parameter 'price' sent when not required."#, &weight(3))
)]
#[case::market_1102_order_test_limit_without_time_in_force(
    "ERR-1102-ORDER-TEST-LIMIT-WITHOUT-TIME-IN-FORCE",
    error(ERR, 400, -1102, r#"Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed."#, &weight(3))
)]
#[case::market_1102_order_test_limit_without_price(
    "ERR-1102-ORDER-TEST-LIMIT-WITHOUT-PRICE",
    error(ERR, 400, -1102, r#"Mandatory parameter 'price' was not sent, was empty/null, or malformed."#, &weight(3))
)]
#[case::market_1102_order_test_limit_without_quantity(
    "ERR-1102-ORDER-TEST-LIMIT-WITHOUT-QUANTITY",
    error(ERR, 400, -1102, r#"Mandatory parameter 'quantity' was not sent, was empty/null, or malformed."#, &weight(3))
)]
#[case::market_1102_order_test_limit_maker_without_price(
    "ERR-1102-ORDER-TEST-LIMIT-MAKER-WITHOUT-PRICE",
    error(ERR, 400, -1102, r#"Mandatory parameter 'price' was not sent, was empty/null, or malformed."#, &weight(3))
)]
#[case::market_1102_order_test_market_without_quantity(
    "ERR-1102-ORDER-TEST-MARKET-WITHOUT-QUANTITY",
    error(ERR, 400, -1102, r#"Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!"#, &weight(3))
)]
#[case::market_1102_order_test_stop_loss_without_stop_price(
    "ERR-1102-ORDER-TEST-STOP-LOSS-WITHOUT-STOP-PRICE",
    error(ERR, 400, -1102, r#"Param 'stopPrice' or 'trailingDelta' must be sent, but both were empty/null!"#, &weight(3))
)]
#[case::market_1102_order_test_stop_loss_limit_without_price(
    "ERR-1102-ORDER-TEST-STOP-LOSS-LIMIT-WITHOUT-PRICE",
    error(ERR, 400, -1102, r#"Mandatory parameter 'price' was not sent, was empty/null, or malformed."#, &weight(3))
)]
#[case::market_1115_order_test_time_in_force(
    "ERR-1115-ORDER-TEST-TIME-IN-FORCE",
    error(ERR, 400, -1115, r#"Invalid timeInForce."#, &weight(3))
)]
#[case::market_1116_order_test_order_type(
    "ERR-1116-ORDER-TEST-ORDER-TYPE",
    error(ERR, 400, -1116, r#"Invalid orderType."#, &weight(3))
)]
#[case::market_1117_order_test_side(
    "ERR-1117-ORDER-TEST-SIDE",
    error(ERR, 400, -1117, r#"Invalid side."#, &weight(3))
)]
#[case::market_1130_order_test_compute_commission_rates(
    "ERR-1130-ORDER-TEST-COMPUTE-COMMISSION-RATES",
    error(ERR, 400, -1130, r#"Data sent for parameter 'computeCommissionRates' is not valid."#, &weight(3))
)]
#[case::market_1013_order_test_market_closed(
    "ERR-1013-ORDER-TEST-MARKET-CLOSED",
    error(ERR, 400, -1013, golden::MARKET_CLOSED.template, &weight(3))
)]
#[case::market_1121_account_commission_unknown_symbol(
    "ERR-1121-ACCOUNT-COMMISSION-UNKNOWN-SYMBOL",
    error(ERR, 400, -1121, golden::BAD_SYMBOL.template, &weight(22))
)]
#[case::market_1102_account_commission_symbol_missing(
    "ERR-1102-ACCOUNT-COMMISSION-SYMBOL-MISSING",
    error(ERR, 400, -1102, r#"Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."#, &weight(22))
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_error_gets_its_exact_reply(#[case] id: &str, #[case] reply: String) {
    let target = Target::in_process().await.expect("the mock starts");
    let report = run(&target, &Options::default().only([id]), |_| {})
        .await
        .expect("the run starts");
    let result = &report.results[0];
    assert_eq!(result.verdict, Verdict::Pass, "{}", result.line());
    let last = result
        .transcript
        .last()
        .and_then(|exchange| exchange.received.last());
    assert_eq!(
        last,
        Some(&reply),
        "{}: {:?}",
        result.line(),
        result.transcript
    );
}

/// The rows above, by ID: a new row in the runner's table must get its exact reply here.
const ROWS: &[&str] = &[
    "ERR-1135-INVALID-JSON",
    "ERR-1135-NOT-AN-OBJECT",
    "ERR-1135-BINARY-FRAME",
    "ERR-1135-INVALID-ID",
    "ERR-1135-PARAMS-NOT-AN-OBJECT",
    "ERR-1102-METHOD-MISSING",
    "ERR-1102-METHOD-NOT-A-STRING",
    "ERR-1100-UNKNOWN-METHOD",
    "ERR-1104-UNREAD-PARAMETER",
    "ERR-1104-READ-AND-UNREAD",
    "ERR-1104-READ-AND-TWO-UNREAD",
    "ERR-1102-NULL-IS-NOT-SENT",
    "ERR-1102-EMPTY-APIKEY",
    "ERR-1102-EMPTY-SIGNATURE",
    "ERR-1102-EMPTY-TIMESTAMP",
    "ERR-1102-APIKEY-WITHOUT-SIGNATURE-AFTER-LOGON",
    "ERR-1102-SIGNATURE-WITHOUT-APIKEY-AFTER-LOGON",
    "ERR-1101-DUPLICATE-PARAMETER",
    "ERR-1130-RETURN-RATE-LIMITS",
    "ERR-1102-APIKEY-MISSING",
    "ERR-1102-SIGNATURE-MISSING",
    "ERR-1102-TIMESTAMP-MISSING",
    "ERR-1102-TIMESTAMP-MISSING-AFTER-LOGON",
    "ERR-1100-TIMESTAMP-ILLEGAL",
    "ERR-1100-RECVWINDOW-ILLEGAL",
    "ERR-1100-RECVWINDOW-EMPTY-FRACTION",
    "ERR-1100-RECVWINDOW-FRACTION-NOT-DIGITS",
    "ERR-1102-RECVWINDOW-TOO-LARGE",
    "ERR-1021-OUTSIDE-RECVWINDOW",
    "ERR-1021-AHEAD",
    "ERR-1021-TIMESTAMP-20-DIGITS",
    "ERR-1100-TIMESTAMP-21-DIGITS",
    "ERR-1102-RECVWINDOW-20-DIGITS",
    "ERR-1100-RECVWINDOW-21-DIGITS",
    "ERR-1022-INVALID-SIGNATURE",
    "ERR-1022-ESCAPED-SIGNATURE-NAME",
    "ERR-1022-SIGNED-OVER-ENCODED-PAYLOAD",
    "ERR-1100-ENCODED-PAYLOAD-WITH-LENIENT-SIGNING",
    "ERR-1022-HMAC-LOGON",
    "ERR-2014-BAD-API-KEY-FORMAT",
    "ERR-2015-UNKNOWN-API-KEY",
    "ERR-2015-NO-PERMISSION",
    "ERR-2015-KEY-REVOKED",
    "ERR-1002-SUBSCRIBE-WITHOUT-LOGON",
    "ERR-2035-SUBSCRIPTION-ACTIVE",
    "ERR-1100-SUBSCRIPTION-ID-ILLEGAL",
    "ERR-1130-OMIT-ZERO-BALANCES",
    "ERR-2042-TOO-MANY-SUBSCRIPTIONS",
    "ERR-1003-TOO-MUCH-WEIGHT",
    "ERR-1003-BANS-DISABLED",
    "ERR-1003-BAN-ENDS-AT-RETRY-AFTER",
    "ERR-1003-IP-BANNED",
    "ERR-HANDSHAKE-1194-TIME-UNIT",
    "ERR-HANDSHAKE-1130-RETURN-RATE-LIMITS",
    "ERR-HANDSHAKE-1155-SBE",
    "ERR-HANDSHAKE-404-PATH",
    "ERR-HANDSHAKE-429-CONNECTIONS",
    "ERR-HANDSHAKE-429-CONNECTIONS-WINDOW",
    "ERR-HANDSHAKE-503-BUSY",
    "ERR-HANDSHAKE-418-BANNED",
    "ERR-1121-EXCHANGEINFO-UNKNOWN-SYMBOL",
    "ERR-1121-DEPTH-UNKNOWN-SYMBOL",
    "ERR-1121-AVGPRICE-UNKNOWN-SYMBOL",
    "ERR-1121-TICKER-PRICE-UNKNOWN-AMONG-SYMBOLS",
    "ERR-1121-TICKER-BOOK-UNKNOWN-SYMBOL",
    "ERR-1121-KLINES-UNKNOWN-SYMBOL",
    "ERR-1120-KLINES-BAD-INTERVAL",
    "ERR-1120-UIKLINES-BAD-INTERVAL",
    "ERR-1122-EXCHANGEINFO-BAD-SYMBOL-STATUS",
    "ERR-1122-TICKER-PRICE-BAD-SYMBOL-STATUS",
    "ERR-1128-EXCHANGEINFO-SYMBOL-AND-SYMBOLS",
    "ERR-1128-TICKER-PRICE-SYMBOL-AND-SYMBOLS",
    "ERR-1151-TICKER-BOOK-DUPLICATE-SYMBOLS",
    "ERR-1102-DEPTH-SYMBOL-MISSING",
    "ERR-1100-DEPTH-LIMIT-NOT-DIGITS",
    "ERR-1130-DEPTH-LIMIT-ZERO",
    "ERR-1121-ORDER-TEST-UNKNOWN-SYMBOL",
    "ERR-1013-ORDER-TEST-PRICE-FILTER",
    "ERR-1013-ORDER-TEST-LOT-SIZE",
    "ERR-1013-ORDER-TEST-MARKET-LOT-SIZE",
    "ERR-1013-ORDER-TEST-NOTIONAL",
    "ERR-1111-ORDER-TEST-PRICE-PRECISION",
    "ERR-1106-ORDER-TEST-TIME-IN-FORCE-ON-MARKET",
    "ERR-1106-ORDER-TEST-PRICE-ON-MARKET",
    "ERR-1102-ORDER-TEST-LIMIT-WITHOUT-TIME-IN-FORCE",
    "ERR-1102-ORDER-TEST-LIMIT-WITHOUT-PRICE",
    "ERR-1102-ORDER-TEST-LIMIT-WITHOUT-QUANTITY",
    "ERR-1102-ORDER-TEST-LIMIT-MAKER-WITHOUT-PRICE",
    "ERR-1102-ORDER-TEST-MARKET-WITHOUT-QUANTITY",
    "ERR-1102-ORDER-TEST-STOP-LOSS-WITHOUT-STOP-PRICE",
    "ERR-1102-ORDER-TEST-STOP-LOSS-LIMIT-WITHOUT-PRICE",
    "ERR-1115-ORDER-TEST-TIME-IN-FORCE",
    "ERR-1116-ORDER-TEST-ORDER-TYPE",
    "ERR-1117-ORDER-TEST-SIDE",
    "ERR-1130-ORDER-TEST-COMPUTE-COMMISSION-RATES",
    "ERR-1013-ORDER-TEST-MARKET-CLOSED",
    "ERR-1121-ACCOUNT-COMMISSION-UNKNOWN-SYMBOL",
    "ERR-1102-ACCOUNT-COMMISSION-SYMBOL-MISSING",
];

#[test]
fn every_row_of_the_runners_table_has_its_exact_reply_here() {
    let table: Vec<&str> = catalogue()
        .iter()
        .map(|case| case.id)
        .filter(|id| id.starts_with("ERR-"))
        .collect();
    assert_eq!(table, ROWS);
}
