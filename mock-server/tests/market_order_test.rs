//! `order.test` and `account.commission` over real sockets: each order type's mandatory
//! params, the filters, enums and formats with their exact errors, symbol statuses, the TRADE
//! permission, commission rates from the account model (Rust and the control plane), the
//! weights, and a signature over the non-ASCII default symbol.

mod common;

use common::admin::Admin;
use common::*;
use mock_server::{
    Account, Commission, Config, MockServer, MockServerBuilder, Permissions,
    SelfTradePreventionMode, SymbolConfig, SymbolStatus,
};
use serde_json::{json, Value};
use test_support::errors::{self as golden, ApiError};

fn trader() -> TestKey {
    TestKey::from_seed("Trader", 3)
}

/// A key with the default permissions: no TRADE.
fn viewer() -> TestKey {
    TestKey::from_seed("Viewer", 4)
}

/// `builder` with `Trader` (every permission) and `Viewer` (no TRADE) registered.
fn with_keys(builder: MockServerBuilder) -> MockServerBuilder {
    trader()
        .register(viewer().register(builder))
        .with_keys(|keys| {
            if let Some(key) = keys.get_mut("Trader") {
                key.permissions = Permissions::ALL;
            }
        })
}

async fn server() -> MockServer {
    start(with_keys(frozen_builder())).await
}

/// A request of `method` signed by `key`: `apiKey`, then `params` (name, raw JSON), then
/// `timestamp`.
fn signed(key: &TestKey, id: u32, method: &str, params: &[(&str, &str)]) -> String {
    let api_key = format!("\"{}\"", key.api_key);
    let timestamp = T0.to_string();
    let mut all: Vec<(&str, &str)> = vec![("apiKey", &api_key)];
    all.extend_from_slice(params);
    all.push(("timestamp", &timestamp));
    format!(
        r#"{{"id":{id},"method":"{method}","params":{}}}"#,
        key.signed_params(&all)
    )
}

fn order_test(id: u32, params: &[(&str, &str)]) -> String {
    signed(&trader(), id, "order.test", params)
}

/// A valid order of `order_type` on BTCUSDT (price 60000.00), as (name, raw JSON).
fn valid(order_type: &str) -> Vec<(&'static str, &'static str)> {
    let mut params = vec![("symbol", "\"BTCUSDT\""), ("side", "\"BUY\"")];
    params.push(match order_type {
        "LIMIT" => ("type", "\"LIMIT\""),
        "LIMIT_MAKER" => ("type", "\"LIMIT_MAKER\""),
        "MARKET" => ("type", "\"MARKET\""),
        "STOP_LOSS" => ("type", "\"STOP_LOSS\""),
        "STOP_LOSS_LIMIT" => ("type", "\"STOP_LOSS_LIMIT\""),
        "TAKE_PROFIT" => ("type", "\"TAKE_PROFIT\""),
        _ => ("type", "\"TAKE_PROFIT_LIMIT\""),
    });
    let limit_like = matches!(
        order_type,
        "LIMIT" | "STOP_LOSS_LIMIT" | "TAKE_PROFIT_LIMIT"
    );
    if limit_like {
        params.push(("timeInForce", "\"GTC\""));
    }
    if limit_like || order_type == "LIMIT_MAKER" {
        params.push(("price", "\"60000.00\""));
    }
    params.push(("quantity", "\"0.01000\""));
    if order_type.starts_with("STOP_LOSS") || order_type.starts_with("TAKE_PROFIT") {
        params.push(("stopPrice", "\"59000.00\""));
    }
    params
}

/// `params` with `name` set to `value` (raw JSON), in its place or at the end.
fn with(
    params: &[(&'static str, &'static str)],
    name: &'static str,
    value: &'static str,
) -> Vec<(&'static str, &'static str)> {
    let mut params = params.to_vec();
    match params.iter_mut().find(|(n, _)| *n == name) {
        Some(entry) => entry.1 = value,
        None => params.push((name, value)),
    }
    params
}

fn without(
    params: &[(&'static str, &'static str)],
    name: &str,
) -> Vec<(&'static str, &'static str)> {
    params.iter().copied().filter(|(n, _)| *n != name).collect()
}

/// Asserts that `reply` is the error `expected`, a row of the golden table.
#[track_caller]
fn assert_error(reply: &Value, expected: &ApiError) {
    assert!(
        golden::find(expected.code, &expected.msg).is_some(),
        "{expected:?} is not in the golden table"
    );
    assert_eq!(reply["status"], expected.status, "{reply}");
    assert_eq!(
        reply["error"],
        json!({"code": expected.code, "msg": expected.msg}),
        "{reply}"
    );
}

fn filter(name: &str) -> ApiError {
    golden::FILTER_FAILURE.render(&[("filter", name)])
}

const ORDER_TYPES: [&str; 7] = [
    "LIMIT",
    "LIMIT_MAKER",
    "MARKET",
    "STOP_LOSS",
    "STOP_LOSS_LIMIT",
    "TAKE_PROFIT",
    "TAKE_PROFIT_LIMIT",
];

#[tokio::test]
async fn a_valid_order_of_each_type_is_answered_with_an_empty_result_at_weight_one() {
    let server = server().await;
    let mut client = Client::connect(&server).await;
    let reply = client.request(&order_test(1, &valid("LIMIT"))).await;
    // 2 for the connection, 1 for the test order.
    assert_eq!(
        reply,
        format!(r#"{{"id":1,"status":200,"result":{{}}{}}}"#, weight(3))
    );
    for (id, order_type) in (2..).zip(ORDER_TYPES) {
        let reply = client
            .request_json(&order_test(id, &valid(order_type)))
            .await;
        assert_eq!(reply["status"], 200, "{order_type}: {reply}");
        assert_eq!(reply["result"], json!({}), "{order_type}");
    }
}

#[tokio::test]
async fn each_order_types_mandatory_parameters_are_asked_for_one_at_a_time() {
    let server = server().await;
    let mut client = Client::connect(&server).await;
    let mut id = 0;
    for order_type in ORDER_TYPES {
        let order = valid(order_type);
        for (name, _) in &order {
            let expected = match (*name, order_type) {
                ("quantity", "MARKET") => {
                    golden::EITHER_PARAM.render(&[("name", "quantity"), ("other", "quoteOrderQty")])
                }
                ("stopPrice", _) => golden::EITHER_PARAM
                    .render(&[("name", "stopPrice"), ("other", "trailingDelta")]),
                _ => golden::mandatory(name),
            };
            id += 1;
            let reply = client
                .request_json(&order_test(id, &without(&order, name)))
                .await;
            assert_error(&reply, &expected);
        }
    }
    // `trailingDelta` stands in for `stopPrice`, `quoteOrderQty` for a MARKET `quantity`.
    let trailing = with(
        &without(&valid("STOP_LOSS_LIMIT"), "stopPrice"),
        "trailingDelta",
        "100",
    );
    assert_eq!(
        client.request_json(&order_test(100, &trailing)).await["status"],
        200
    );
    let quote = with(
        &without(&valid("MARKET"), "quantity"),
        "quoteOrderQty",
        "\"100.00\"",
    );
    assert_eq!(
        client.request_json(&order_test(101, &quote)).await["status"],
        200
    );
}

#[tokio::test]
async fn every_filter_failure_has_its_exact_text() {
    let server = server().await;
    let mut client = Client::connect(&server).await;
    let limit = valid("LIMIT");
    let market = valid("MARKET");
    let stop = valid("STOP_LOSS_LIMIT");
    let cases: Vec<(Vec<(&str, &str)>, ApiError)> = vec![
        (
            with(&limit, "price", "\"60000.005\""),
            filter("PRICE_FILTER"),
        ),
        (
            with(&limit, "price", "\"1000000.01\""),
            filter("PRICE_FILTER"),
        ),
        (with(&limit, "price", "\"0.001\""), filter("PRICE_FILTER")),
        (
            with(&stop, "stopPrice", "\"59000.001\""),
            filter("PRICE_FILTER"),
        ),
        (with(&limit, "quantity", "\"0.000005\""), filter("LOT_SIZE")),
        (
            with(&limit, "quantity", "\"9000.00001\""),
            filter("LOT_SIZE"),
        ),
        (with(&limit, "quantity", "\"0.010005\""), filter("LOT_SIZE")),
        (
            with(&limit, "icebergQty", "\"0.000001\""),
            filter("LOT_SIZE"),
        ),
        (
            with(&market, "quantity", "\"100.00001\""),
            filter("MARKET_LOT_SIZE"),
        ),
        // 0.00008 × 60000.00 = 4.8 < 5.
        (with(&limit, "quantity", "\"0.00008\""), filter("NOTIONAL")),
        // MARKET: valued at the market price, minNotional applies to MARKET.
        (with(&market, "quantity", "\"0.00008\""), filter("NOTIONAL")),
        (
            with(&without(&market, "quantity"), "quoteOrderQty", "\"4.99\""),
            filter("NOTIONAL"),
        ),
        // 999999.99 × 9000 is past maxNotional 9000000 (not applied to MARKET).
        (
            with(
                &with(&limit, "price", "\"999999.99\""),
                "quantity",
                "\"9000\"",
            ),
            filter("NOTIONAL"),
        ),
        (
            with(&limit, "icebergQty", "\"0.01\""),
            golden::ICEBERG_EXCEEDS_QTY.error(),
        ),
    ];
    for (id, (params, expected)) in (1..).zip(&cases) {
        let reply = client.request_json(&order_test(id, params)).await;
        assert_error(&reply, expected);
    }
    // MARKET orders are not held to maxNotional (applyMaxToMarket is off): at 99000.00,
    // 100 × 99000.00 = 9,900,000 passes as a MARKET order and fails as a LIMIT one.
    server
        .set_price("BTCUSDT", "99000.00")
        .expect("on the tick");
    let big = with(&market, "quantity", "\"100\"");
    let reply = client.request_json(&order_test(99, &big)).await;
    assert_eq!(reply["status"], 200, "{reply}");
    let big_limit = with(
        &with(&limit, "price", "\"99000.00\""),
        "quantity",
        "\"100\"",
    );
    let reply = client.request_json(&order_test(100, &big_limit)).await;
    assert_error(&reply, &filter("NOTIONAL"));
}

#[tokio::test]
async fn enums_identifiers_and_formats_get_their_errors() {
    let mut symbols = SymbolConfig::defaults();
    symbols[1].allowed_self_trade_prevention_modes = vec![SelfTradePreventionMode::None];
    symbols[1].default_self_trade_prevention_mode = SelfTradePreventionMode::None;
    let mut config = Config::default();
    config.symbols = symbols;
    let server = start(with_keys(frozen_builder().config(config))).await;
    let mut client = Client::connect(&server).await;
    let limit = valid("LIMIT");
    let market = valid("MARKET");
    let illegal = |name: &str, range: &str| {
        golden::ILLEGAL_CHARACTERS.render(&[("name", name), ("legal_range", range)])
    };
    let decimal_range = r"^([0-9]{1,20})(\.[0-9]{1,20})?$";
    let cases: Vec<(Vec<(&str, &str)>, ApiError)> = vec![
        (
            with(&limit, "side", "\"FOO\""),
            golden::INVALID_SIDE.error(),
        ),
        (
            with(&limit, "side", "\"buy.\""),
            illegal("side", "^[a-zA-Z]{1,36}$"),
        ),
        (
            with(&limit, "type", "\"STOP\""),
            golden::INVALID_ORDER_TYPE.error(),
        ),
        (
            with(&limit, "timeInForce", "\"GTX\""),
            golden::INVALID_TIME_IN_FORCE.error(),
        ),
        (
            with(&limit, "newOrderRespType", "\"ALL\""),
            golden::INVALID_PARAMETER.render(&[("name", "newOrderRespType")]),
        ),
        (
            with(&limit, "selfTradePreventionMode", "\"EXPIRE_ALL\""),
            golden::INVALID_PARAMETER.render(&[("name", "selfTradePreventionMode")]),
        ),
        (
            with(
                &with(&limit, "symbol", "\"ETHUSDT\""),
                "selfTradePreventionMode",
                "\"EXPIRE_MAKER\"",
            ),
            golden::INVALID_PARAMETER.render(&[("name", "selfTradePreventionMode")]),
        ),
        (
            with(&limit, "newClientOrderId", "\"my order\""),
            illegal("newClientOrderId", "^[a-zA-Z0-9-_]{1,36}$"),
        ),
        (
            with(
                &limit,
                "newClientOrderId",
                "\"0123456789012345678901234567890123456\"",
            ),
            illegal("newClientOrderId", "^[a-zA-Z0-9-_]{1,36}$"),
        ),
        (
            with(&limit, "newClientOrderId", "\"\""),
            golden::EMPTY_NEW_CLIENT_ORDER_ID.error(),
        ),
        (
            with(&limit, "price", "\"6e4\""),
            illegal("price", decimal_range),
        ),
        (
            with(&limit, "quantity", "\"-1\""),
            illegal("quantity", decimal_range),
        ),
        (
            with(&limit, "trailingDelta", "\"x\""),
            illegal("trailingDelta", "^[0-9]{1,20}$"),
        ),
        (
            with(&limit, "strategyType", "5"),
            golden::BAD_STRATEGY_TYPE.error(),
        ),
        (
            with(
                &with(&limit, "timeInForce", "\"IOC\""),
                "icebergQty",
                "\"0.001\"",
            ),
            golden::UNSUPPORTED_ORDER_COMBINATION.error(),
        ),
        (
            with(
                &with(&limit, "pegPriceType", "\"PRIMARY_PEG\""),
                "pegOffsetValue",
                "3",
            ),
            golden::NOT_BOTH_SENT.render(&[("name", "pegOffsetValue"), ("other", "pegOffsetType")]),
        ),
        (
            with(&market, "pegPriceType", "\"PRIMARY_PEG\""),
            golden::PEG_NOT_FOR_TYPE.error(),
        ),
        (
            with(
                &without(&valid("LIMIT_MAKER"), "price"),
                "pegPriceType",
                "\"MARKET_PEG\"",
            ),
            golden::PEG_NOT_FOR_THIS_TYPE.error(),
        ),
    ];
    for (id, (params, expected)) in (1..).zip(&cases) {
        let reply = client.request_json(&order_test(id, params)).await;
        assert_error(&reply, expected);
    }
    // The values that are allowed pass.
    for (id, params) in (50..).zip([
        with(
            &limit,
            "newClientOrderId",
            "\"my-order_36-chars-0123456789abcdefgh\"",
        ),
        with(&limit, "newOrderRespType", "\"ACK\""),
        with(&limit, "selfTradePreventionMode", "\"EXPIRE_BOTH\""),
        with(&limit, "strategyType", "1000000"),
        with(&limit, "icebergQty", "\"0.001\""),
        with(&without(&limit, "price"), "pegPriceType", "\"PRIMARY_PEG\""),
    ]) {
        let reply = client.request_json(&order_test(id, &params)).await;
        assert_eq!(reply["status"], 200, "{params:?}: {reply}");
    }
}

#[tokio::test]
async fn params_the_type_does_not_take_too_many_places_and_unknown_symbols_are_refused() {
    let server = server().await;
    let mut client = Client::connect(&server).await;
    let not_required = |name| golden::PARAM_NOT_REQUIRED.render(&[("name", name)]);
    let precision = |name| golden::TOO_MUCH_PRECISION.render(&[("name", name)]);
    let market = valid("MARKET");
    let cases: Vec<(Vec<(&str, &str)>, ApiError)> = vec![
        (
            with(&market, "timeInForce", "\"GTC\""),
            not_required("timeInForce"),
        ),
        (
            with(&valid("LIMIT_MAKER"), "timeInForce", "\"GTC\""),
            not_required("timeInForce"),
        ),
        (
            with(&market, "price", "\"60000.00\""),
            not_required("price"),
        ),
        (
            with(&market, "quoteOrderQty", "\"100\""),
            not_required("quoteOrderQty"),
        ),
        (
            with(&valid("LIMIT"), "stopPrice", "\"59000.00\""),
            not_required("stopPrice"),
        ),
        (
            with(&valid("LIMIT"), "trailingDelta", "100"),
            not_required("trailingDelta"),
        ),
        (
            with(&valid("STOP_LOSS"), "icebergQty", "\"0.001\""),
            not_required("icebergQty"),
        ),
        (
            with(&valid("LIMIT"), "price", "\"60000.000000001\""),
            precision("price"),
        ),
        (
            with(&valid("LIMIT"), "quantity", "\"0.010000001\""),
            precision("quantity"),
        ),
        (
            with(&valid("STOP_LOSS"), "stopPrice", "\"1.123456789\""),
            precision("stopPrice"),
        ),
        (
            with(&valid("LIMIT"), "symbol", "\"NOPEUSDT\""),
            golden::BAD_SYMBOL.error(),
        ),
        // Symbols are case-sensitive, as listed.
        (
            with(&valid("LIMIT"), "symbol", "\"btcusdt\""),
            golden::BAD_SYMBOL.error(),
        ),
    ];
    for (id, (params, expected)) in (1..).zip(&cases) {
        let reply = client.request_json(&order_test(id, params)).await;
        assert_error(&reply, expected);
    }
    // An unknown param is unread: -1104.
    let reply = client
        .request_json(&order_test(
            90,
            &with(&valid("LIMIT"), "reduceOnly", "true"),
        ))
        .await;
    assert_error(
        &reply,
        &golden::UNREAD_PARAMETERS.render(&[("read", "9"), ("sent", "10")]),
    );
    // Trailing zeros are not places: the docs' own example passes.
    let docs = with(
        &with(&valid("LIMIT"), "price", "\"23416.10000000\""),
        "quantity",
        "\"0.00847000\"",
    );
    assert_eq!(
        client.request_json(&order_test(91, &docs)).await["status"],
        200
    );
}

#[tokio::test]
async fn a_symbol_that_is_not_trading_refuses_orders_until_it_trades_again() {
    let server = server().await;
    let mut client = Client::connect(&server).await;
    let closed = golden::MARKET_CLOSED.error();
    let mut id = 0;
    for status in [
        SymbolStatus::Halt,
        SymbolStatus::Break,
        SymbolStatus::EndOfDay,
        SymbolStatus::CancelOnly,
    ] {
        server
            .set_symbol_status("BTCUSDT", status)
            .expect("a listed symbol");
        for order_type in ORDER_TYPES {
            id += 1;
            let reply = client
                .request_json(&order_test(id, &valid(order_type)))
                .await;
            assert_error(&reply, &closed);
        }
        // Other symbols still trade.
        id += 1;
        let eth = with(&valid("LIMIT"), "symbol", "\"ETHUSDT\"");
        assert_eq!(
            client.request_json(&order_test(id, &eth)).await["status"],
            200
        );
    }
    server
        .set_symbol_status("BTCUSDT", SymbolStatus::Trading)
        .expect("a listed symbol");
    let reply = client.request_json(&order_test(100, &valid("LIMIT"))).await;
    assert_eq!(reply["status"], 200, "{reply}");
}

#[tokio::test]
async fn an_order_type_the_symbol_does_not_list_is_refused_with_its_message() {
    let mut symbols = SymbolConfig::defaults();
    symbols[0].order_types = vec![
        mock_server::OrderType::Limit,
        mock_server::OrderType::LimitMaker,
    ];
    symbols[0].quote_order_qty_market_allowed = false;
    symbols[0].iceberg_allowed = false;
    let mut config = Config::default();
    config.symbols = symbols;
    let server = start(with_keys(frozen_builder().config(config))).await;
    let mut client = Client::connect(&server).await;
    let not_supported = |kind| golden::ORDER_TYPE_NOT_SUPPORTED.render(&[("order_kind", kind)]);
    for (id, (order_type, kind)) in (1..).zip([
        ("MARKET", "Market"),
        ("STOP_LOSS", "Stop loss"),
        ("STOP_LOSS_LIMIT", "Stop loss limit"),
        ("TAKE_PROFIT", "Take profit"),
        ("TAKE_PROFIT_LIMIT", "Take profit limit"),
    ]) {
        let reply = client
            .request_json(&order_test(id, &valid(order_type)))
            .await;
        assert_error(&reply, &not_supported(kind));
    }
    let iceberg = with(&valid("LIMIT"), "icebergQty", "\"0.001\"");
    assert_error(
        &client.request_json(&order_test(10, &iceberg)).await,
        &not_supported("Iceberg"),
    );
}

#[tokio::test]
async fn a_key_without_trade_is_refused_signed_or_logged_on() {
    let server = server().await;
    let mut client = Client::connect(&server).await;
    let reply = client
        .request_json(&signed(&viewer(), 1, "order.test", &valid("LIMIT")))
        .await;
    assert_error(&reply, &golden::REJECTED_API_KEY.error());

    // Logged on with it, only a timestamp is needed: still refused.
    let logon = client.request_json(&viewer().logon("2", T0)).await;
    assert_eq!(logon["status"], 200, "{logon}");
    let mut fields: Vec<String> = valid("LIMIT")
        .iter()
        .map(|(name, value)| format!("\"{name}\":{value}"))
        .collect();
    fields.push(format!("\"timestamp\":{T0}"));
    let unsigned = format!(
        r#"{{"id":3,"method":"order.test","params":{{{}}}}}"#,
        fields.join(",")
    );
    assert_error(
        &client.request_json(&unsigned).await,
        &golden::REJECTED_API_KEY.error(),
    );
    // `account.commission` is USER_DATA: the same key may read it.
    let reply = client
        .request_json(&signed(
            &viewer(),
            4,
            "account.commission",
            &[("symbol", "\"BTCUSDT\"")],
        ))
        .await;
    assert_eq!(reply["status"], 200, "{reply}");

    // A TRADE key logged on needs no signature per request.
    let mut client = Client::connect(&server).await;
    assert_eq!(
        client.request_json(&trader().logon("1", T0)).await["status"],
        200
    );
    let reply = client.request_json(&unsigned).await;
    assert_eq!(reply["status"], 200, "{reply}");
    // Anonymous and without credentials: the missing apiKey.
    let mut anonymous = Client::connect(&server).await;
    assert_error(
        &anonymous.request_json(&unsigned).await,
        &golden::mandatory("apiKey"),
    );
}

#[tokio::test]
async fn compute_commission_rates_answers_the_rates_for_the_order_side_at_weight_twenty() {
    let mut commission = Commission::default();
    commission.standard.buyer = "0.0002".parse().expect("decimal");
    commission.standard.seller = "0.0003".parse().expect("decimal");
    commission.tax.maker = "0.00000112".parse().expect("decimal");
    commission.special.taker = "0.05".parse().expect("decimal");
    commission.discount.enabled_for_account = true;
    let server = start(with_keys(frozen_builder()).account(
        "Trader",
        Account::fixture("Trader").with_commission(commission),
    ))
    .await;
    let mut client = Client::connect(&server).await;
    let buy = with(&valid("LIMIT"), "computeCommissionRates", "true");
    let reply = client.request(&order_test(1, &buy)).await;
    assert_eq!(
        reply,
        format!(
            r#"{{"id":1,"status":200,"result":{{"standardCommissionForOrder":{{"maker":"0.00120000","taker":"0.00120000"}},"specialCommissionForOrder":{{"maker":"0.00000000","taker":"0.05000000"}},"taxCommissionForOrder":{{"maker":"0.00000112","taker":"0.00000000"}},"discount":{{"enabledForAccount":true,"enabledForSymbol":true,"discountAsset":"BNB","discount":"0.25000000"}}}}{}}}"#,
            weight(22)
        )
    );
    let sell = with(&buy, "side", "\"SELL\"");
    let reply = client.request_json(&order_test(2, &sell)).await;
    assert_eq!(
        reply["result"]["standardCommissionForOrder"],
        json!({"maker": "0.00130000", "taker": "0.00130000"})
    );
    assert_eq!(reply["rateLimits"][0]["count"], 42);
    // `false` (or as a string) is the plain reply at weight 1.
    let plain = with(&valid("LIMIT"), "computeCommissionRates", "\"false\"");
    let reply = client.request_json(&order_test(3, &plain)).await;
    assert_eq!(reply["result"], json!({}));
    assert_eq!(reply["rateLimits"][0]["count"], 43);
    // An invalid order is not priced, but the weight is charged before the params are read.
    let invalid = with(&buy, "price", "\"1.001\"");
    let reply = client.request_json(&order_test(4, &invalid)).await;
    assert_error(&reply, &filter("PRICE_FILTER"));
    assert_eq!(reply["rateLimits"][0]["count"], 63);
    let bad_flag = with(&valid("LIMIT"), "computeCommissionRates", "\"yes\"");
    assert_error(
        &client.request_json(&order_test(5, &bad_flag)).await,
        &golden::INVALID_PARAMETER.render(&[("name", "computeCommissionRates")]),
    );
}

#[tokio::test]
async fn account_commission_answers_the_defaults_in_the_documented_shape() {
    let server = server().await;
    let mut client = Client::connect(&server).await;
    let reply = client
        .request(&signed(
            &trader(),
            1,
            "account.commission",
            &[("symbol", "\"BTCUSDT\"")],
        ))
        .await;
    assert_eq!(
        reply,
        format!(
            r#"{{"id":1,"status":200,"result":{{"symbol":"BTCUSDT","standardCommission":{{"maker":"0.00100000","taker":"0.00100000","buyer":"0.00000000","seller":"0.00000000"}},"specialCommission":{{"maker":"0.00000000","taker":"0.00000000","buyer":"0.00000000","seller":"0.00000000"}},"taxCommission":{{"maker":"0.00000000","taker":"0.00000000","buyer":"0.00000000","seller":"0.00000000"}},"discount":{{"enabledForAccount":false,"enabledForSymbol":true,"discountAsset":"BNB","discount":"0.25000000"}}}}{}}}"#,
            weight(22)
        )
    );
    let missing = client
        .request_json(&signed(&trader(), 2, "account.commission", &[]))
        .await;
    assert_error(&missing, &golden::mandatory("symbol"));
    let unknown = client
        .request_json(&signed(
            &trader(),
            3,
            "account.commission",
            &[("symbol", "\"NOPE\"")],
        ))
        .await;
    assert_error(&unknown, &golden::BAD_SYMBOL.error());
}

#[tokio::test]
async fn commission_set_from_rust_or_the_control_plane_is_what_clients_read() {
    let server = server().await;
    let mut client = Client::connect(&server).await;
    let commission_of = |reply: &Value| reply["result"]["standardCommission"].clone();
    let ask = |id| {
        signed(
            &trader(),
            id,
            "account.commission",
            &[("symbol", "\"ETHBTC\"")],
        )
    };

    let mut commission = Commission::default();
    commission.standard.maker = "0.00075".parse().expect("decimal");
    server.set_account(
        "Trader",
        Account::fixture("Trader").with_commission(commission),
    );
    let reply = client.request_json(&ask(1)).await;
    assert_eq!(reply["result"]["symbol"], "ETHBTC");
    assert_eq!(commission_of(&reply)["maker"], "0.00075000");

    // The control plane: GET shows no `commission` until one is set, then the whole of it.
    let admin = Admin::new(&server);
    let fresh = admin.get("/__admin/accounts/somebody").await.ok();
    assert!(fresh.get("commission").is_none(), "{fresh}");
    let put = admin
        .put(
            "/__admin/accounts/Trader",
            json!({
                "balances": [],
                "commission": {
                    "tax": {"maker": "0.0001", "taker": "0.0002", "buyer": "0", "seller": "0"},
                    "discount": {"enabledForAccount": true, "enabledForSymbol": false,
                                 "discountAsset": "BNB", "discount": "0.5"}
                }
            }),
        )
        .await
        .ok();
    let shown = admin.get("/__admin/accounts/Trader").await.ok();
    assert_eq!(put, shown);
    assert_eq!(
        shown["commission"],
        json!({
            // Kept from before: only the parts given were replaced.
            "standard": {"maker": "0.00075000", "taker": "0.00100000", "buyer": "0.00000000", "seller": "0.00000000"},
            "tax": {"maker": "0.00010000", "taker": "0.00020000", "buyer": "0.00000000", "seller": "0.00000000"},
            "special": {"maker": "0.00000000", "taker": "0.00000000", "buyer": "0.00000000", "seller": "0.00000000"},
            "discount": {"enabledForAccount": true, "enabledForSymbol": false, "discountAsset": "BNB", "discount": "0.50000000"}
        })
    );
    let reply = client.request_json(&ask(2)).await;
    assert_eq!(reply["result"]["taxCommission"]["taker"], "0.00020000");
    assert_eq!(reply["result"]["discount"]["discount"], "0.50000000");
    assert_eq!(
        server
            .account("Trader")
            .commission
            .discount
            .discount
            .to_string(),
        "0.5"
    );

    // A PUT without `commission` keeps it; a bad rate is a 400 that changes nothing.
    admin
        .put("/__admin/accounts/Trader", json!({"balances": []}))
        .await
        .expect(200);
    let bad = admin
        .put(
            "/__admin/accounts/Trader",
            json!({"balances": [], "commission": {"standard": {"maker": "-1", "taker": "0", "buyer": "0", "seller": "0"}}}),
        )
        .await;
    assert_eq!(bad.status, 400, "{bad:?}");
    let reply = client.request_json(&ask(3)).await;
    assert_eq!(commission_of(&reply)["maker"], "0.00075000");
    assert_eq!(reply["result"]["taxCommission"]["maker"], "0.00010000");
}

#[tokio::test]
async fn an_order_on_the_non_ascii_symbol_is_signed_over_raw_utf8_and_not_percent_encoded() {
    let symbol = "\"币安人生USDT\"";
    let params = [
        ("symbol", symbol),
        ("side", "\"BUY\""),
        ("type", "\"LIMIT\""),
        ("timeInForce", "\"GTC\""),
        ("price", "\"0.1500\""),
        ("quantity", "\"100\""),
    ];
    let key = trader();
    let api_key = format!("\"{}\"", key.api_key);
    let timestamp = T0.to_string();
    let mut all: Vec<(&str, &str)> = vec![("apiKey", &api_key)];
    all.extend_from_slice(&params);
    all.push(("timestamp", &timestamp));
    let raw = raw_payload(&all);
    assert!(raw.contains("symbol=币安人生USDT"), "{raw}");
    let encoded = raw.replace("币安人生", "%E5%B8%81%E5%AE%89%E4%BA%BA%E7%94%9F");
    let request = |id: u32, signed_over: &str| {
        format!(
            r#"{{"id":{id},"method":"order.test","params":{}}}"#,
            key.params_with_signature(&all, &key.sign(signed_over))
        )
    };

    let strict = server().await;
    let mut client = Client::connect(&strict).await;
    let reply = client.request_json(&request(1, &raw)).await;
    assert_eq!(reply["status"], 200, "{reply}");
    let reply = client.request_json(&request(2, &encoded)).await;
    assert_error(&reply, &golden::INVALID_SIGNATURE.error());

    let lenient = start(with_keys(frozen_builder().lenient_signing(true))).await;
    let mut client = Client::connect(&lenient).await;
    let reply = client.request_json(&request(3, &encoded)).await;
    assert_eq!(reply["status"], 200, "{reply}");
    let reply = client.request_json(&request(4, &raw)).await;
    assert_eq!(reply["status"], 200, "{reply}");
}
