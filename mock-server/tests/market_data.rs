//! The market-data methods over real sockets: `exchangeInfo`, `depth`, `avgPrice`,
//! `ticker.price` and `ticker.book`, their shapes against the docs' examples
//! (web-socket-api.md:1448, 1701, 2231, 2980, 3103), their weights and errors, prices and
//! statuses moved through the control plane, and the admin symbol routes themselves.

mod common;

use std::time::Duration;

use common::admin::Admin;
use common::{frozen_builder, frozen_server, start, weight, weight_under, Client, T0};
use mock_server::{ResetConnections, SymbolStatus};
use rstest::rstest;
use serde_json::{json, Value};
use test_support::errors as golden;

/// A request for `method` with `params` (raw JSON) and the raw JSON `id`.
fn request(id: &str, method: &str, params: &str) -> String {
    format!(r#"{{"id":{id},"method":"{method}","params":{params}}}"#)
}

/// The reply of a successful request: `result` is raw JSON, then the `rateLimits` tail.
fn ok_reply(id: &str, result: &str, count: u32) -> String {
    format!(
        r#"{{"id":{id},"status":200,"result":{result}{}}}"#,
        weight(count)
    )
}

/// The member names of a JSON object, in the order written.
fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .map(String::as_str)
        .collect()
}

/// The `result` of a reply, failing the test unless its status is 200.
fn result(reply: &Value) -> &Value {
    assert_eq!(reply["status"], 200, "{reply}");
    &reply["result"]
}

/// The `count` of a reply's REQUEST_WEIGHT entry.
fn count(reply: &Value) -> u64 {
    reply["rateLimits"][0]["count"]
        .as_u64()
        .unwrap_or_else(|| panic!("no rateLimits in {reply}"))
}

/// The symbol names of an array result.
fn names(result: &Value) -> Vec<&str> {
    result
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {result}"))
        .iter()
        .map(|entry| entry["symbol"].as_str().expect("a symbol name"))
        .collect()
}

/// Sends `method` with `params` and returns the parsed reply.
async fn call(client: &mut Client, method: &str, params: &str) -> Value {
    client.request_json(&request("1", method, params)).await
}

/// The error of a reply, failing the test unless it is `expected` exactly.
fn assert_error(reply: &Value, expected: &golden::ApiError) {
    assert_eq!(reply["status"], expected.status, "{reply}");
    assert_eq!(reply["error"]["code"], expected.code, "{reply}");
    assert_eq!(reply["error"]["msg"], expected.msg.as_str(), "{reply}");
}

fn exclusive(first: &str, second: &str) -> golden::ApiError {
    golden::PARAMS_EXCLUSIVE.render(&[("first", first), ("second", second)])
}

fn illegal(name: &str, legal_range: &str) -> golden::ApiError {
    golden::ILLEGAL_CHARACTERS.render(&[("name", name), ("legal_range", legal_range)])
}

fn invalid(name: &str) -> golden::ApiError {
    golden::INVALID_PARAMETER.render(&[("name", name)])
}

const SYMBOL_RANGE: &str = r"^[\w\-._&&[^a-z]]{1,50}$";
const SYMBOLS_RANGE: &str =
    r#"^\[("[\w\-._&&[^a-z]]{1,50}"(,"[\w\-._&&[^a-z]]{1,50}"){0,}){0,1}\]$"#;

// The docs' example shapes, member by member.
const EXCHANGE_INFO_KEYS: [&str; 5] = [
    "timezone",
    "serverTime",
    "rateLimits",
    "exchangeFilters",
    "symbols",
];
const RATE_LIMIT_KEYS: [&str; 4] = ["rateLimitType", "interval", "intervalNum", "limit"];
const SYMBOL_KEYS: [&str; 26] = test_support::shapes::EXCHANGE_INFO_SYMBOL;
const DEPTH_KEYS: [&str; 3] = ["lastUpdateId", "bids", "asks"];
const AVG_PRICE_KEYS: [&str; 3] = ["mins", "price", "closeTime"];
const PRICE_TICKER_KEYS: [&str; 2] = ["symbol", "price"];
const BOOK_TICKER_KEYS: [&str; 5] = ["symbol", "bidPrice", "bidQty", "askPrice", "askQty"];

/// `exchangeInfo` for BTCUSDT on a default server at [`T0`], as written.
const BTCUSDT_INFO: &str = concat!(
    r#"{"timezone":"UTC","serverTime":1700000000000,"rateLimits":["#,
    r#"{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":6000},"#,
    r#"{"rateLimitType":"ORDERS","interval":"SECOND","intervalNum":10,"limit":50},"#,
    r#"{"rateLimitType":"ORDERS","interval":"DAY","intervalNum":1,"limit":160000},"#,
    r#"{"rateLimitType":"CONNECTIONS","interval":"MINUTE","intervalNum":5,"limit":300}],"#,
    r#""exchangeFilters":[],"symbols":[{"symbol":"BTCUSDT","status":"TRADING","#,
    r#""baseAsset":"BTC","baseAssetPrecision":8,"quoteAsset":"USDT","quotePrecision":8,"#,
    r#""quoteAssetPrecision":8,"baseCommissionPrecision":8,"quoteCommissionPrecision":8,"#,
    r#""orderTypes":["LIMIT","LIMIT_MAKER","MARKET","STOP_LOSS","STOP_LOSS_LIMIT","#,
    r#""TAKE_PROFIT","TAKE_PROFIT_LIMIT"],"icebergAllowed":true,"ocoAllowed":true,"#,
    r#""otoAllowed":true,"opoAllowed":true,"quoteOrderQtyMarketAllowed":true,"#,
    r#""allowTrailingStop":true,"cancelReplaceAllowed":true,"amendAllowed":true,"#,
    r#""pegInstructionsAllowed":true,"isSpotTradingAllowed":true,"#,
    r#""isMarginTradingAllowed":false,"filters":["#,
    r#"{"filterType":"PRICE_FILTER","minPrice":"0.01000000","maxPrice":"1000000.00000000","#,
    r#""tickSize":"0.01000000"},"#,
    r#"{"filterType":"LOT_SIZE","minQty":"0.00001000","maxQty":"9000.00000000","#,
    r#""stepSize":"0.00001000"},"#,
    r#"{"filterType":"MARKET_LOT_SIZE","minQty":"0.00000000","maxQty":"100.00000000","#,
    r#""stepSize":"0.00000000"},"#,
    r#"{"filterType":"NOTIONAL","minNotional":"5.00000000","applyMinToMarket":true,"#,
    r#""maxNotional":"9000000.00000000","applyMaxToMarket":false,"avgPriceMins":5},"#,
    r#"{"filterType":"MAX_NUM_ORDERS","maxNumOrders":200}],"#,
    r#""permissions":[],"permissionSets":[["SPOT"]],"#,
    r#""defaultSelfTradePreventionMode":"EXPIRE_MAKER","#,
    r#""allowedSelfTradePreventionModes":["NONE","EXPIRE_TAKER","EXPIRE_MAKER","#,
    r#""EXPIRE_BOTH","DECREMENT","TRANSFER"]}]}"#,
);

// ---------------------------------------------------------------------------------------------
// exchangeInfo

#[tokio::test]
async fn exchange_info_for_one_symbol_is_written_byte_for_byte() {
    let server = frozen_server().await;
    let mut client = Client::connect(&server).await;
    // 2 for the connection, 20 for the call.
    assert_eq!(
        client
            .request(&request("1", "exchangeInfo", r#"{"symbols":["BTCUSDT"]}"#))
            .await,
        ok_reply("1", BTCUSDT_INFO, 22)
    );
}

#[tokio::test]
async fn exchange_info_has_every_documented_member_in_order() {
    let server = frozen_server().await;
    let mut client = Client::connect(&server).await;
    let reply = call(&mut client, "exchangeInfo", "{}").await;
    let info = result(&reply);
    assert_eq!(keys(info), EXCHANGE_INFO_KEYS);
    for limit in info["rateLimits"].as_array().expect("an array") {
        assert_eq!(keys(limit), RATE_LIMIT_KEYS);
    }
    let symbols = info["symbols"].as_array().expect("an array");
    assert_eq!(
        names(&info["symbols"]),
        ["BTCUSDT", "ETHUSDT", "BNBUSDT", "ETHBTC", "币安人生USDT"]
    );
    for symbol in symbols {
        assert_eq!(keys(symbol), SYMBOL_KEYS);
        let filters: Vec<&str> = symbol["filters"]
            .as_array()
            .expect("an array")
            .iter()
            .map(|f| f["filterType"].as_str().expect("a filter type"))
            .collect();
        assert_eq!(
            filters,
            [
                "PRICE_FILTER",
                "LOT_SIZE",
                "MARKET_LOT_SIZE",
                "NOTIONAL",
                "MAX_NUM_ORDERS"
            ]
        );
        // filters.md's shapes, member by member.
        let shapes: Vec<Vec<&str>> = symbol["filters"]
            .as_array()
            .expect("an array")
            .iter()
            .map(keys)
            .collect();
        assert_eq!(
            shapes,
            [
                vec!["filterType", "minPrice", "maxPrice", "tickSize"],
                vec!["filterType", "minQty", "maxQty", "stepSize"],
                vec!["filterType", "minQty", "maxQty", "stepSize"],
                vec![
                    "filterType",
                    "minNotional",
                    "applyMinToMarket",
                    "maxNotional",
                    "applyMaxToMarket",
                    "avgPriceMins"
                ],
                vec!["filterType", "maxNumOrders"],
            ]
        );
    }
    let ethbtc = &symbols[3];
    assert_eq!(ethbtc["filters"][0]["tickSize"], "0.00001000");
    assert_eq!(ethbtc["filters"][3]["minNotional"], "0.00010000");
}

#[tokio::test]
async fn exchange_info_reports_the_limits_the_server_enforces() {
    let server = start(frozen_builder().weight_limit(1200).connection_rate_limit(7)).await;
    let mut client = Client::connect(&server).await;
    let reply = call(&mut client, "exchangeInfo", r#"{"symbol":"ETHBTC"}"#).await;
    let limits = &result(&reply)["rateLimits"];
    assert_eq!(
        limits,
        &json!([
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 50},
            {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 160000},
            {"rateLimitType": "CONNECTIONS", "interval": "MINUTE", "intervalNum": 5, "limit": 7}
        ])
    );
    assert_eq!(reply["rateLimits"][0]["limit"], 1200);
}

#[tokio::test]
async fn exchange_info_server_time_is_in_the_connections_time_unit() {
    let server = frozen_server().await;
    let mut micros = Client::connect_with_query(&server, "timeUnit=MICROSECOND").await;
    let reply = call(&mut micros, "exchangeInfo", r#"{"symbol":"BTCUSDT"}"#).await;
    assert_eq!(result(&reply)["serverTime"], T0 * 1000);
    let reply = call(&mut micros, "avgPrice", r#"{"symbol":"BTCUSDT"}"#).await;
    assert_eq!(result(&reply)["closeTime"], T0 * 1000);
}

#[tokio::test]
async fn permission_sets_are_empty_when_not_asked_for() {
    let server = frozen_server().await;
    let mut client = Client::connect(&server).await;
    for (params, sets) in [
        (
            r#"{"symbol":"BTCUSDT","showPermissionSets":false}"#,
            json!([]),
        ),
        (
            r#"{"symbol":"BTCUSDT","showPermissionSets":"false"}"#,
            json!([]),
        ),
        (
            r#"{"symbol":"BTCUSDT","showPermissionSets":true}"#,
            json!([["SPOT"]]),
        ),
    ] {
        let reply = call(&mut client, "exchangeInfo", params).await;
        assert_eq!(
            result(&reply)["symbols"][0]["permissionSets"],
            sets,
            "{params}"
        );
        assert_eq!(result(&reply)["symbols"][0]["permissions"], json!([]));
    }
    let reply = call(
        &mut client,
        "exchangeInfo",
        r#"{"symbol":"BTCUSDT","showPermissionSets":"no"}"#,
    )
    .await;
    assert_error(&reply, &invalid("showPermissionSets"));
}

#[tokio::test]
async fn exchange_info_filters_by_permissions_and_by_status() {
    let server = frozen_server().await;
    server
        .set_symbol_status("ETHUSDT", SymbolStatus::Halt)
        .expect("listed");
    let mut client = Client::connect(&server).await;
    let listed = |reply: &Value| -> Vec<String> {
        names(&result(reply)["symbols"])
            .into_iter()
            .map(str::to_owned)
            .collect()
    };
    let all = ["BTCUSDT", "ETHUSDT", "BNBUSDT", "ETHBTC", "币安人生USDT"];
    for params in [
        r#"{"permissions":"SPOT"}"#,
        r#"{"permissions":["MARGIN","SPOT"]}"#,
        r#"{"permissions":"[\"SPOT\"]"}"#,
    ] {
        assert_eq!(
            listed(&call(&mut client, "exchangeInfo", params).await),
            all
        );
    }
    let reply = call(
        &mut client,
        "exchangeInfo",
        r#"{"permissions":["TRD_GRP_004"]}"#,
    )
    .await;
    assert!(listed(&reply).is_empty());
    let reply = call(&mut client, "exchangeInfo", r#"{"symbolStatus":"HALT"}"#).await;
    assert_eq!(listed(&reply), ["ETHUSDT"]);
    assert_eq!(result(&reply)["symbols"][0]["status"], "HALT");
    let reply = call(
        &mut client,
        "exchangeInfo",
        r#"{"permissions":"SPOT","symbolStatus":"TRADING"}"#,
    )
    .await;
    assert_eq!(
        listed(&reply),
        ["BTCUSDT", "BNBUSDT", "ETHBTC", "币安人生USDT"]
    );
    let reply = call(&mut client, "exchangeInfo", r#"{"permissions":"FUTURES"}"#).await;
    assert_error(&reply, &invalid("permissions"));
}

#[rstest]
#[case::symbol_and_symbols(r#"{"symbol":"BTCUSDT","symbols":["ETHUSDT"]}"#, "symbol", "symbols")]
#[case::symbol_and_permissions(
    r#"{"symbol":"BTCUSDT","permissions":"SPOT"}"#,
    "symbol",
    "permissions"
)]
#[case::symbols_and_permissions(
    r#"{"symbols":["BTCUSDT"],"permissions":["SPOT"]}"#,
    "symbols",
    "permissions"
)]
#[case::symbol_and_status(
    r#"{"symbol":"BTCUSDT","symbolStatus":"TRADING"}"#,
    "symbol",
    "symbolStatus"
)]
#[case::symbols_and_status(
    r#"{"symbols":["BTCUSDT"],"symbolStatus":"HALT"}"#,
    "symbols",
    "symbolStatus"
)]
#[tokio::test]
async fn exchange_info_refuses_params_that_exclude_each_other(
    #[case] params: &str,
    #[case] first: &str,
    #[case] second: &str,
) {
    let server = frozen_server().await;
    let mut client = Client::connect(&server).await;
    let reply = client.request(&request("3", "exchangeInfo", params)).await;
    // The weight is charged before the params are checked.
    assert_eq!(reply, exclusive(first, second).reply("3", &weight(22)));
}

#[rstest]
#[case::exchange_info_one("exchangeInfo", r#"{"symbol":"NOPEUSDT"}"#)]
#[case::exchange_info_among_several("exchangeInfo", r#"{"symbols":["BTCUSDT","NOPEUSDT"]}"#)]
#[case::depth("depth", r#"{"symbol":"NOPEUSDT"}"#)]
#[case::avg_price("avgPrice", r#"{"symbol":"NOPEUSDT"}"#)]
#[case::ticker_price_one("ticker.price", r#"{"symbol":"NOPEUSDT"}"#)]
#[case::ticker_price_among_several("ticker.price", r#"{"symbols":["NOPEUSDT","BTCUSDT"]}"#)]
#[case::ticker_book_one("ticker.book", r#"{"symbol":"NOPEUSDT"}"#)]
#[case::ticker_book_among_several("ticker.book", r#"{"symbols":["BTCUSDT","NOPEUSDT"]}"#)]
#[tokio::test]
async fn a_symbol_not_listed_is_invalid_alone_or_among_several(
    #[case] method: &str,
    #[case] params: &str,
) {
    let server = frozen_server().await;
    let mut client = Client::connect(&server).await;
    let reply = call(&mut client, method, params).await;
    assert_error(&reply, &golden::BAD_SYMBOL.error());
}

#[rstest]
#[case::lower_case_symbol("depth", r#"{"symbol":"btcusdt"}"#, "symbol")]
#[case::slash_in_symbol("ticker.price", r#"{"symbol":"BTC/USDT"}"#, "symbol")]
#[case::symbols_not_an_array("ticker.price", r#"{"symbols":"BTCUSDT"}"#, "symbols")]
#[case::symbols_of_numbers("ticker.book", r#"{"symbols":[1,2]}"#, "symbols")]
#[case::symbols_lower_case("exchangeInfo", r#"{"symbols":["btcusdt"]}"#, "symbols")]
#[case::symbols_cut_short("exchangeInfo", r#"{"symbols":"[\"BTCUSDT\""}"#, "symbols")]
#[tokio::test]
async fn malformed_symbols_are_refused_with_binances_legal_range(
    #[case] method: &str,
    #[case] params: &str,
    #[case] param: &str,
) {
    let server = frozen_server().await;
    let mut client = Client::connect(&server).await;
    let reply = call(&mut client, method, params).await;
    let range = if param == "symbol" {
        SYMBOL_RANGE
    } else {
        SYMBOLS_RANGE
    };
    assert_error(&reply, &illegal(param, range));
}

#[tokio::test]
async fn a_symbol_named_twice_is_refused() {
    let server = frozen_server().await;
    let mut client = Client::connect(&server).await;
    for method in ["exchangeInfo", "ticker.price", "ticker.book"] {
        let reply = call(&mut client, method, r#"{"symbols":["BTCUSDT","BTCUSDT"]}"#).await;
        assert_error(&reply, &golden::DUPLICATE_SYMBOLS.error());
    }
}

// ---------------------------------------------------------------------------------------------
// depth

#[tokio::test]
async fn depth_is_written_byte_for_byte() {
    let server = frozen_server().await;
    let mut client = Client::connect(&server).await;
    assert_eq!(
        client
            .request(&request("1", "depth", r#"{"symbol":"BTCUSDT","limit":2}"#))
            .await,
        ok_reply(
            "1",
            concat!(
                r#"{"lastUpdateId":1,"#,
                r#""bids":[["59999.99000000","1.00000000"],["59999.98000000","1.00000000"]],"#,
                r#""asks":[["60000.01000000","1.00000000"],["60000.02000000","1.00000000"]]}"#
            ),
            7
        )
    );
}

#[tokio::test]
async fn depth_has_the_documented_members_and_a_hundred_levels_by_default() {
    let server = frozen_server().await;
    let mut client = Client::connect(&server).await;
    let reply = call(&mut client, "depth", r#"{"symbol":"ETHUSDT"}"#).await;
    let book = result(&reply);
    assert_eq!(keys(book), DEPTH_KEYS);
    assert_eq!(book["bids"].as_array().map(Vec::len), Some(100));
    assert_eq!(book["asks"].as_array().map(Vec::len), Some(100));
    assert_eq!(book["bids"][99], json!(["2999.00000000", "10.00000000"]));
    assert_eq!(book["asks"][0], json!(["3000.01000000", "10.00000000"]));
    // Sent as a string, the limit reads the same.
    let reply = call(&mut client, "depth", r#"{"symbol":"ETHUSDT","limit":"3"}"#).await;
    assert_eq!(result(&reply)["asks"].as_array().map(Vec::len), Some(3));
}

#[rstest]
#[case(1, 5)]
#[case(100, 5)]
#[case(101, 25)]
#[case(500, 25)]
#[case(501, 50)]
#[case(1000, 50)]
#[case(1001, 250)]
#[case(5000, 250)]
#[tokio::test]
async fn depth_weight_follows_the_documented_tiers(#[case] limit: u32, #[case] cost: u64) {
    let server = frozen_server().await;
    let mut client = Client::connect(&server).await;
    let params = format!(r#"{{"symbol":"BTCUSDT","limit":{limit}}}"#);
    let reply = call(&mut client, "depth", &params).await;
    assert_eq!(count(&reply), 2 + cost);
    let levels = result(&reply)["bids"].as_array().map(Vec::len);
    // The book is 1000 levels deep each side.
    assert_eq!(levels, Some(limit.min(1000) as usize));
}

#[tokio::test]
async fn a_limit_over_5000_is_cut_to_5000_at_the_top_weight() {
    let server = frozen_server().await;
    let mut client = Client::connect(&server).await;
    let reply = call(
        &mut client,
        "depth",
        r#"{"symbol":"BTCUSDT","limit":99999}"#,
    )
    .await;
    assert_eq!(count(&reply), 252);
    assert_eq!(result(&reply)["asks"].as_array().map(Vec::len), Some(1000));
}

#[tokio::test]
async fn depth_refuses_a_limit_that_is_no_count_after_charging_the_default_weight() {
    let server = frozen_server().await;
    let mut client = Client::connect(&server).await;
    let digits = illegal("limit", "^[0-9]{1,20}$");
    let cases = [
        (r#"{"symbol":"BTCUSDT","limit":0}"#, invalid("limit"), 7),
        (r#"{"symbol":"BTCUSDT","limit":-5}"#, digits.clone(), 12),
        (r#"{"symbol":"BTCUSDT","limit":"ten"}"#, digits.clone(), 17),
        (r#"{"symbol":"BTCUSDT","limit":2.5}"#, digits, 22),
        (r#"{"limit":5}"#, golden::mandatory("symbol"), 27),
        (r#"{"symbol":""}"#, golden::mandatory("symbol"), 32),
    ];
    for (params, error, count) in cases {
        assert_eq!(
            client.request(&request("4", "depth", params)).await,
            error.reply("4", &weight(count)),
            "{params}"
        );
    }
}

#[tokio::test]
async fn depth_checks_the_symbol_status_asked_for() {
    let server = frozen_server().await;
    server
        .set_symbol_status("BNBUSDT", SymbolStatus::Break)
        .expect("listed");
    let mut client = Client::connect(&server).await;
    let reply = call(
        &mut client,
        "depth",
        r#"{"symbol":"BNBUSDT","symbolStatus":"TRADING"}"#,
    )
    .await;
    assert_error(&reply, &golden::SYMBOL_STATUS_MISMATCH.error());
    let reply = call(
        &mut client,
        "depth",
        r#"{"symbol":"BNBUSDT","symbolStatus":"BREAK"}"#,
    )
    .await;
    assert_eq!(
        result(&reply)["bids"][0],
        json!(["599.99000000", "20.00000000"])
    );
    // Without a filter, a symbol on a break still has a book.
    let reply = call(&mut client, "depth", r#"{"symbol":"BNBUSDT","limit":1}"#).await;
    assert_eq!(result(&reply)["asks"][0][0], "600.01000000");
    let reply = call(
        &mut client,
        "depth",
        r#"{"symbol":"BNBUSDT","symbolStatus":"END_OF_DAY"}"#,
    )
    .await;
    assert_error(&reply, &golden::INVALID_SYMBOL_STATUS.error());
}

#[tokio::test]
async fn params_a_method_does_not_read_are_refused() {
    let server = frozen_server().await;
    let mut client = Client::connect(&server).await;
    let unread = |read: &str, sent: &str| {
        golden::UNREAD_PARAMETERS.render(&[("read", read), ("sent", sent)])
    };
    let reply = call(
        &mut client,
        "avgPrice",
        r#"{"symbol":"BTCUSDT","symbolStatus":"TRADING"}"#,
    )
    .await;
    assert_error(&reply, &unread("1", "2"));
    let reply = call(&mut client, "depth", r#"{"symbol":"BTCUSDT","depth":5}"#).await;
    assert_error(&reply, &unread("1", "2"));
    let reply = call(&mut client, "ticker.price", r#"{"limit":5}"#).await;
    assert_error(&reply, &unread("0", "1"));
}

// ---------------------------------------------------------------------------------------------
// ticker.price, ticker.book, avgPrice

#[tokio::test]
async fn tickers_and_avg_price_are_written_byte_for_byte() {
    let server = frozen_server().await;
    let mut client = Client::connect(&server).await;
    let cases = [
        (
            "ticker.price",
            r#"{"symbol":"BTCUSDT"}"#,
            r#"{"symbol":"BTCUSDT","price":"60000.00000000"}"#,
            4,
        ),
        (
            "ticker.price",
            r#"{"symbols":["ETHBTC","BTCUSDT"]}"#,
            r#"[{"symbol":"ETHBTC","price":"0.05000000"},{"symbol":"BTCUSDT","price":"60000.00000000"}]"#,
            8,
        ),
        (
            "ticker.book",
            r#"{"symbol":"BTCUSDT"}"#,
            r#"{"symbol":"BTCUSDT","bidPrice":"59999.99000000","bidQty":"1.00000000","askPrice":"60000.01000000","askQty":"1.00000000"}"#,
            10,
        ),
        (
            "ticker.book",
            r#"{"symbols":["ETHBTC"]}"#,
            r#"[{"symbol":"ETHBTC","bidPrice":"0.04999000","bidQty":"10.00000000","askPrice":"0.05001000","askQty":"10.00000000"}]"#,
            14,
        ),
        (
            "avgPrice",
            r#"{"symbol":"BTCUSDT"}"#,
            r#"{"mins":5,"price":"60000.00000000","closeTime":1700000000000}"#,
            16,
        ),
    ];
    for (method, params, expected, count) in cases {
        assert_eq!(
            client.request(&request("1", method, params)).await,
            ok_reply("1", expected, count),
            "{method} {params}"
        );
    }
}

#[tokio::test]
async fn tickers_have_the_documented_members_one_as_an_object_several_as_an_array() {
    let server = frozen_server().await;
    let mut client = Client::connect(&server).await;
    for (method, members) in [
        ("ticker.price", &PRICE_TICKER_KEYS[..]),
        ("ticker.book", &BOOK_TICKER_KEYS[..]),
    ] {
        let one = call(&mut client, method, r#"{"symbol":"ETHUSDT"}"#).await;
        assert_eq!(keys(result(&one)), members);
        let all = call(&mut client, method, "{}").await;
        let entries = result(&all).as_array().expect("an array");
        assert_eq!(entries.len(), 5);
        for entry in entries {
            assert_eq!(keys(entry), members);
        }
        let none = call(&mut client, method, r#"{"symbols":[]}"#).await;
        assert_eq!(result(&none), &json!([]));
    }
    let avg = call(&mut client, "avgPrice", r#"{"symbol":"ETHUSDT"}"#).await;
    assert_eq!(keys(result(&avg)), AVG_PRICE_KEYS);
}

#[tokio::test]
async fn ticker_weights_are_2_for_one_symbol_and_4_for_several_or_all() {
    let server = frozen_server().await;
    let mut client = Client::connect(&server).await;
    let mut used = 2;
    for method in ["ticker.price", "ticker.book"] {
        for (params, cost) in [
            (r#"{"symbol":"BTCUSDT"}"#, 2),
            (r#"{"symbols":["BTCUSDT"]}"#, 4),
            ("{}", 4),
            // Refused, and still charged as the pair's weight.
            (r#"{"symbol":"BTCUSDT","symbols":["BTCUSDT"]}"#, 4),
        ] {
            used += cost;
            let reply = call(&mut client, method, params).await;
            assert_eq!(count(&reply), used, "{method} {params}");
        }
    }
    let reply = call(&mut client, "avgPrice", r#"{"symbol":"BTCUSDT"}"#).await;
    assert_eq!(count(&reply), used + 2);
}

#[tokio::test]
async fn ticker_params_and_their_errors() {
    let server = frozen_server().await;
    server
        .set_symbol_status("ETHBTC", SymbolStatus::Halt)
        .expect("listed");
    let mut client = Client::connect(&server).await;
    for method in ["ticker.price", "ticker.book"] {
        let reply = call(
            &mut client,
            method,
            r#"{"symbol":"BTCUSDT","symbols":["ETHUSDT"]}"#,
        )
        .await;
        assert_error(&reply, &exclusive("symbol", "symbols"));
        let reply = call(&mut client, method, r#"{"symbolStatus":"halt"}"#).await;
        assert_error(&reply, &golden::INVALID_SYMBOL_STATUS.error());
        let reply = call(
            &mut client,
            method,
            r#"{"symbol":"ETHBTC","symbolStatus":"TRADING"}"#,
        )
        .await;
        assert_error(&reply, &golden::SYMBOL_STATUS_MISMATCH.error());
        let reply = call(
            &mut client,
            method,
            r#"{"symbol":"ETHBTC","symbolStatus":"HALT"}"#,
        )
        .await;
        assert_eq!(result(&reply)["symbol"], "ETHBTC");
        // Several: those of another status are left out, in the order named.
        let reply = call(
            &mut client,
            method,
            r#"{"symbols":["ETHBTC","BNBUSDT","BTCUSDT"],"symbolStatus":"TRADING"}"#,
        )
        .await;
        assert_eq!(names(result(&reply)), ["BNBUSDT", "BTCUSDT"]);
        let reply = call(
            &mut client,
            method,
            r#"{"symbols":"[\"ETHBTC\"]","symbolStatus":"BREAK"}"#,
        )
        .await;
        assert_eq!(result(&reply), &json!([]));
        // All: the status asked for picks them.
        let reply = call(&mut client, method, r#"{"symbolStatus":"HALT"}"#).await;
        assert_eq!(names(result(&reply)), ["ETHBTC"]);
    }
}

// ---------------------------------------------------------------------------------------------
// Prices and statuses moved by the test

#[tokio::test]
async fn a_moved_price_shows_in_depth_tickers_and_avg_price() {
    let server = frozen_server().await;
    let mut client = Client::connect(&server).await;
    // The book as it was, asked for first: what the move changes must not be served from
    // the book written before it.
    let before = call(&mut client, "depth", r#"{"symbol":"BTCUSDT","limit":1}"#).await;
    assert_eq!(result(&before)["lastUpdateId"], 1);
    server.clock().advance(Duration::from_secs(90));
    server.set_price("BTCUSDT", "61234.50").expect("on tick");
    let reply = call(&mut client, "depth", r#"{"symbol":"BTCUSDT","limit":1}"#).await;
    assert_eq!(
        result(&reply),
        &json!({
            "lastUpdateId": 2,
            "bids": [["61234.49000000", "1.00000000"]],
            "asks": [["61234.51000000", "1.00000000"]]
        })
    );
    let reply = call(&mut client, "ticker.book", r#"{"symbol":"BTCUSDT"}"#).await;
    assert_eq!(result(&reply)["bidPrice"], "61234.49000000");
    assert_eq!(result(&reply)["askPrice"], "61234.51000000");
    let reply = call(&mut client, "ticker.price", r#"{"symbol":"BTCUSDT"}"#).await;
    assert_eq!(result(&reply)["price"], "61234.50000000");
    let reply = call(&mut client, "avgPrice", r#"{"symbol":"BTCUSDT"}"#).await;
    assert_eq!(
        result(&reply),
        &json!({"mins": 5, "price": "61234.50000000", "closeTime": T0 + 90_000})
    );
    // Others stay where they were.
    let reply = call(&mut client, "ticker.price", r#"{"symbol":"ETHUSDT"}"#).await;
    assert_eq!(result(&reply)["price"], "3000.00000000");
}

#[tokio::test]
async fn a_changed_status_shows_in_exchange_info_and_leaves_the_all_symbol_tickers() {
    let server = frozen_server().await;
    server
        .set_symbol_status("BTCUSDT", SymbolStatus::Halt)
        .expect("listed");
    let mut client = Client::connect(&server).await;
    let reply = call(&mut client, "exchangeInfo", r#"{"symbol":"BTCUSDT"}"#).await;
    assert_eq!(result(&reply)["symbols"][0]["status"], "HALT");
    let trading = ["ETHUSDT", "BNBUSDT", "ETHBTC", "币安人生USDT"];
    for method in ["ticker.price", "ticker.book"] {
        let reply = call(&mut client, method, "{}").await;
        assert_eq!(names(result(&reply)), trading, "{method}");
        let reply = call(
            &mut client,
            method,
            r#"{"symbol":"BTCUSDT","symbolStatus":"TRADING"}"#,
        )
        .await;
        assert_error(&reply, &golden::SYMBOL_STATUS_MISMATCH.error());
        // Named, a halted symbol is still reported.
        let reply = call(&mut client, method, r#"{"symbols":["BTCUSDT"]}"#).await;
        assert_eq!(names(result(&reply)), ["BTCUSDT"]);
    }
    server
        .set_symbol_status("BTCUSDT", SymbolStatus::Trading)
        .expect("listed");
    let reply = call(&mut client, "ticker.price", "{}").await;
    assert_eq!(names(result(&reply)).len(), 5);
}

#[tokio::test]
async fn the_non_ascii_symbol_works_in_every_method() {
    let server = frozen_server().await;
    let mut client = Client::connect(&server).await;
    let one = r#"{"symbol":"币安人生USDT"}"#;
    let reply = call(&mut client, "exchangeInfo", one).await;
    let info = &result(&reply)["symbols"][0];
    assert_eq!(info["symbol"], "币安人生USDT");
    assert_eq!(info["baseAsset"], "币安人生");
    assert_eq!(info["filters"][0]["tickSize"], "0.00010000");
    let reply = call(
        &mut client,
        "exchangeInfo",
        r#"{"symbols":["币安人生USDT"]}"#,
    )
    .await;
    assert_eq!(names(&result(&reply)["symbols"]), ["币安人生USDT"]);
    let reply = call(
        &mut client,
        "depth",
        r#"{"symbol":"币安人生USDT","limit":1}"#,
    )
    .await;
    assert_eq!(
        result(&reply),
        &json!({"lastUpdateId": 1, "bids": [["0.14990000", "10000.00000000"]], "asks": [["0.15010000", "10000.00000000"]]})
    );
    let reply = call(&mut client, "avgPrice", one).await;
    assert_eq!(result(&reply)["price"], "0.15000000");
    let reply = call(&mut client, "ticker.price", one).await;
    assert_eq!(
        result(&reply),
        &json!({"symbol": "币安人生USDT", "price": "0.15000000"})
    );
    let reply = call(
        &mut client,
        "ticker.book",
        r#"{"symbols":["币安人生USDT"]}"#,
    )
    .await;
    assert_eq!(result(&reply)[0]["askQty"], "10000.00000000");
    // Escaped in the frame, the name is the same.
    let reply = call(
        &mut client,
        "ticker.price",
        r#"{"symbol":"\u5e01\u5b89\u4eba\u751fUSDT"}"#,
    )
    .await;
    assert_eq!(result(&reply)["price"], "0.15000000");
}

#[tokio::test]
async fn market_data_needs_no_key_and_no_logon_and_counts_under_a_custom_limit() {
    let server = start(frozen_builder().without_demo_key().weight_limit(100)).await;
    let mut client = Client::connect(&server).await;
    assert_eq!(
        client
            .request(&request("\"a\"", "ticker.price", r#"{"symbol":"BTCUSDT"}"#))
            .await,
        format!(
            r#"{{"id":"a","status":200,"result":{{"symbol":"BTCUSDT","price":"60000.00000000"}}{}}}"#,
            weight_under(4, 100)
        )
    );
}

// ---------------------------------------------------------------------------------------------
// The admin symbol routes

#[tokio::test]
async fn a_price_posted_over_http_shows_in_depth_the_tickers_and_the_klines() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let answer = admin
        .post(
            "/__admin/symbols/BTCUSDT/price",
            json!({"price": "59000.10"}),
        )
        .await
        .ok();
    assert_eq!(
        answer,
        json!({"symbol": "BTCUSDT", "price": "59000.10000000", "status": "TRADING"})
    );
    let mut client = Client::connect(&server).await;
    let reply = call(&mut client, "depth", r#"{"symbol":"BTCUSDT","limit":1}"#).await;
    assert_eq!(
        result(&reply),
        &json!({"lastUpdateId": 2, "bids": [["59000.09000000", "1.00000000"]], "asks": [["59000.11000000", "1.00000000"]]})
    );
    let ticker = call(&mut client, "ticker.price", r#"{"symbol":"BTCUSDT"}"#).await;
    assert_eq!(
        result(&ticker),
        &json!({"symbol": "BTCUSDT", "price": "59000.10000000"})
    );
    let book = call(&mut client, "ticker.book", r#"{"symbol":"BTCUSDT"}"#).await;
    assert_eq!(
        result(&book),
        &json!({"symbol": "BTCUSDT", "bidPrice": "59000.09000000", "bidQty": "1.00000000",
                "askPrice": "59000.11000000", "askQty": "1.00000000"})
    );
    // A minute on, the candle that held the move closes at the new price and the next one
    // is flat at it.
    server.clock().advance(Duration::from_secs(60));
    let klines = call(
        &mut client,
        "klines",
        r#"{"symbol":"BTCUSDT","interval":"1m","limit":2}"#,
    )
    .await;
    let candles = result(&klines).as_array().expect("candles");
    assert_eq!(candles.len(), 2, "{klines}");
    assert_eq!(candles[0][4], "59000.10000000", "{klines}");
    let flat = candles[1].as_array().expect("a candle");
    for price in &flat[1..=4] {
        assert_eq!(price, "59000.10000000", "{klines}");
    }
}

#[tokio::test]
async fn the_symbol_list_names_each_symbol_with_its_price_and_status() {
    let server = frozen_server().await;
    server
        .set_symbol_status("ETHBTC", SymbolStatus::Break)
        .expect("listed");
    let listed = Admin::new(&server).get("/__admin/symbols").await.ok();
    assert_eq!(
        listed,
        json!({"symbols": [
            {"symbol": "BTCUSDT", "price": "60000.00000000", "status": "TRADING"},
            {"symbol": "ETHUSDT", "price": "3000.00000000", "status": "TRADING"},
            {"symbol": "BNBUSDT", "price": "600.00000000", "status": "TRADING"},
            {"symbol": "ETHBTC", "price": "0.05000000", "status": "BREAK"},
            {"symbol": "币安人生USDT", "price": "0.15000000", "status": "TRADING"}
        ]})
    );
}

#[tokio::test]
async fn bad_symbol_changes_are_refused_with_a_json_error() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let off_tick = admin
        .post(
            "/__admin/symbols/BTCUSDT/price",
            json!({"price": "61000.005"}),
        )
        .await
        .expect(400);
    assert!(off_tick.error().contains("tickSize"), "{off_tick:?}");
    let negative = admin
        .post("/__admin/symbols/BTCUSDT/price", json!({"price": "-1"}))
        .await
        .expect(400);
    assert!(!negative.error().is_empty());
    let unknown = admin
        .post("/__admin/symbols/NOPEUSDT/price", json!({"price": "1.00"}))
        .await
        .expect(404);
    assert!(unknown.error().contains("NOPEUSDT"), "{unknown:?}");
    let unknown = admin
        .post(
            "/__admin/symbols/NOPEUSDT/status",
            json!({"status": "HALT"}),
        )
        .await
        .expect(404);
    assert!(!unknown.error().is_empty());
    let bad_status = admin
        .post(
            "/__admin/symbols/BTCUSDT/status",
            json!({"status": "PAUSED"}),
        )
        .await
        .expect(400);
    assert!(!bad_status.error().is_empty());
    // Nothing moved.
    let mut client = Client::connect(&server).await;
    let reply = call(&mut client, "ticker.price", "{}").await;
    assert_eq!(result(&reply)[0]["price"], "60000.00000000");
}

#[tokio::test]
async fn reset_restores_prices_and_statuses() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    admin
        .post(
            "/__admin/symbols/ETHUSDT/price",
            json!({"price": "3100.00"}),
        )
        .await
        .ok();
    admin
        .post("/__admin/symbols/ETHUSDT/status", json!({"status": "HALT"}))
        .await
        .ok();
    let mut client = Client::connect(&server).await;
    let reply = call(&mut client, "exchangeInfo", r#"{"symbol":"ETHUSDT"}"#).await;
    assert_eq!(result(&reply)["symbols"][0]["status"], "HALT");
    admin.post("/__admin/reset", json!({})).await.ok();
    let listed = admin.get("/__admin/symbols").await.ok();
    assert_eq!(
        listed["symbols"][1],
        json!({"symbol": "ETHUSDT", "price": "3000.00000000", "status": "TRADING"})
    );
    let mut client = Client::connect(&server).await;
    let reply = call(&mut client, "depth", r#"{"symbol":"ETHUSDT","limit":1}"#).await;
    assert_eq!(result(&reply)["lastUpdateId"], 1);
    assert_eq!(result(&reply)["asks"][0][0], "3000.01000000");
    // The Rust face resets the same way.
    server.set_price("ETHUSDT", "2900.00").expect("on tick");
    server.reset(ResetConnections::Keep);
    let reply = call(&mut client, "ticker.price", r#"{"symbol":"ETHUSDT"}"#).await;
    assert_eq!(result(&reply)["price"], "3000.00000000");
}
