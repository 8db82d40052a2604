//! The market methods: `exchangeInfo`, `depth`, `avgPrice`, `ticker.price`, `ticker.book`,
//! `klines`, `uiKlines` (public), `order.test` (TRADE) and `account.commission` (USER_DATA).
//!
//! Each method's case checks the envelope (the `id` echoed, status 200, `rateLimits` counting
//! the documented weight) and the result's members in the documented order. They run against
//! any target on a symbol every Binance endpoint lists (`BTCUSDT`); only what depends on the
//! mock's synthetic market (its prices, its book, its filters' values) needs the in-process
//! mock. Against another endpoint, members a newer API adds are allowed between the
//! documented ones; against the mock, the members are exactly the documented ones.
//!
//! The error rows use the error table's machinery (`errors::ErrorRow`); the property case
//! (`MKT-PROP-ORDER-TEST-FILTERS`) computes from the target's own `exchangeInfo` which
//! generated orders pass the symbol's filters, and checks that `order.test` accepts exactly
//! those.

use std::str::FromStr as _;

use proptest::strategy::{Strategy, ValueTree};
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::Value;

use super::errors::{self, ErrorRow, Req, Setup};
use super::{Body, Case, Need, RunResult, Transcript};
use crate::check::{self, Bindings};
use crate::env::Env;
use crate::model::{Expected, Outcome, ResultExpect};
use crate::op::{payload, request_text, KeyRef, ReqId};
use crate::report::Exchange;
use crate::spec::{self, ApiErr};
use crate::target::in_process_builder;
use crate::wire::Wire;
use test_support::errors as golden;

/// The symbol the cases use: listed on every Binance endpoint, and by the mock.
const SYMBOL: &str = "BTCUSDT";

const KEY: &[Need] = &[Need::UsableKey];
const IN_PROCESS: &[Need] = &[Need::InProcess];
const BASIS: &str = "docs/FIDELITY.md \"Market\"";

/// The `id` of every request of these cases.
const ID: &str = "market";

pub(super) fn cases() -> Vec<Case> {
    let mut cases = method_cases();
    cases.extend(error_rows());
    cases.push(Case {
        id: "MKT-PROP-ORDER-TEST-FILTERS",
        title: "generated LIMIT and MARKET orders, on and off tick and step, inside and outside \
                the ranges: order.test accepts exactly those that pass the symbol's filters as \
                its exchangeInfo states them, and refuses the others with a filter they break",
        basis: "filters.md:37, :81, :111, :157, :194; web-socket-api.md:3984; errors.md:428-434",
        needs: KEY,
        body: custom!(order_test_filters),
    });
    cases
}

fn custom_case(
    id: &'static str,
    title: &'static str,
    basis: &'static str,
    needs: &'static [Need],
    body: Body,
) -> Case {
    Case {
        id,
        title,
        basis,
        needs,
        body,
    }
}

fn method_cases() -> Vec<Case> {
    vec![
        custom_case(
            "MKT-EXCHANGEINFO-SYMBOL",
            "exchangeInfo for one symbol: weight 20; timezone, serverTime, rateLimits, \
             exchangeFilters, symbols; the symbol's fields and its filters in documented order",
            "web-socket-api.md:1448, :1534-1626; filters.md",
            &[],
            custom!(exchange_info_symbol),
        ),
        custom_case(
            "MKT-EXCHANGEINFO-MOCK-VALUES",
            "the mock's exchangeInfo: its rate limits and BTCUSDT's configured filters",
            BASIS,
            IN_PROCESS,
            custom!(exchange_info_mock_values),
        ),
        custom_case(
            "MKT-DEPTH-WEIGHT-BY-LIMIT",
            "depth with no limit and limits 1, 101, 501, 1001: weights 5, 5, 25, 50, 250; \
             lastUpdateId, bids highest first, asks lowest first, at most limit each",
            "web-socket-api.md:1701, :1726-1734",
            &[],
            custom!(depth_weight_by_limit),
        ),
        custom_case(
            "MKT-DEPTH-SYNTHETIC-BOOK",
            "the mock's book: best ask P + tick, best bid P − tick, one level per tick, each \
             of the level quantity, lastUpdateId 1 before any move",
            BASIS,
            IN_PROCESS,
            custom!(depth_synthetic_book),
        ),
        custom_case(
            "MKT-AVGPRICE",
            "avgPrice: weight 2; mins, price, closeTime",
            "web-socket-api.md:2231-2272",
            &[],
            custom!(avg_price),
        ),
        custom_case(
            "MKT-TICKER-PRICE-WEIGHTS",
            "ticker.price: symbol → weight 2 and an object; symbols or none → weight 4 and an \
             array; symbol, price",
            "web-socket-api.md:2980, :3000-3006, :3044",
            &[],
            custom!(ticker_price_weights),
        ),
        custom_case(
            "MKT-TICKER-BOOK-WEIGHTS",
            "ticker.book: symbol → weight 2 and an object; symbols or none → weight 4 and an \
             array; symbol, bidPrice, bidQty, askPrice, askQty",
            "web-socket-api.md:3103, :3122-3128, :3166",
            &[],
            custom!(ticker_book_weights),
        ),
        custom_case(
            "MKT-SYNTHETIC-PRICES",
            "the mock's prices: ticker.price and avgPrice report P (BTCUSDT 60000.00000000), \
             closeTime the start-up, ticker.book P ∓ tick with the level quantity",
            BASIS,
            IN_PROCESS,
            custom!(synthetic_prices),
        ),
        custom_case(
            "MKT-KLINES",
            "klines 1m, limit 3: weight 2; rows of 12 in the documented order, one a minute, \
             closeTime a millisecond before the next open",
            "web-socket-api.md:2052, :2078, :2125-2136",
            &[],
            custom!(klines),
        ),
        custom_case(
            "MKT-UIKLINES",
            "uiKlines 1m, limit 3: weight 2; rows as klines'",
            "web-socket-api.md:2151, :2166",
            &[],
            custom!(ui_klines),
        ),
        custom_case(
            "MKT-ORDER-TEST-SIGNED",
            "order.test of a LIMIT order passing BTCUSDT's filters, signed: {} at weight 1",
            "web-socket-api.md:3984, :4011-4014, :4031",
            KEY,
            custom!(order_test_signed),
        ),
        custom_case(
            "MKT-ORDER-TEST-AFTER-LOGON",
            "order.test after session.logon, with only a timestamp: {} at weight 1",
            "web-socket-api.md:3984; spec §4.2 (requests performed for the session's key)",
            KEY,
            custom!(order_test_after_logon),
        ),
        custom_case(
            "MKT-ORDER-TEST-COMMISSION-RATES",
            "order.test with computeCommissionRates: weight 20; standard, special and tax \
             rates for the order and the discount, in documented order",
            "web-socket-api.md:4011-4080",
            KEY,
            custom!(order_test_commission_rates),
        ),
        custom_case(
            "MKT-ACCOUNT-COMMISSION",
            "account.commission: weight 20; symbol, standard, special and tax commission \
             (maker, taker, buyer, seller) and the discount, in documented order",
            "web-socket-api.md:7967-8040",
            KEY,
            custom!(account_commission),
        ),
        custom_case(
            "MKT-ACCOUNT-COMMISSION-DEFAULTS",
            "the mock's default rates: standard maker and taker 0.001, the rest 0, BNB \
             discount 0.25 enabled for the symbol, not the account",
            BASIS,
            IN_PROCESS,
            custom!(account_commission_defaults),
        ),
    ]
}

// Requests and their envelopes.

/// Opens the case's connection, at a fresh minute on a frozen clock.
async fn open(env: &mut Env) -> Result<Wire, String> {
    env.fresh_case();
    env.connect("").await.map_err(|e| e.to_string())
}

/// `params` (name, raw JSON) as owned pairs.
fn owned(params: &[(&str, String)]) -> Vec<(String, String)> {
    params
        .iter()
        .map(|(name, value)| ((*name).to_owned(), value.clone()))
        .collect()
}

/// A JSON string.
fn js(text: &str) -> String {
    Value::from(text).to_string()
}

/// An unsigned request.
fn public(method: &str, params: &[(&str, String)]) -> String {
    request_text(&ReqId::Str(ID.to_owned()), method, &owned(params))
}

/// A request signed with the primary key, a timestamp a second behind the server's clock.
fn signed(env: &Env, method: &str, params: &[(&str, String)]) -> String {
    let pair = &env.keys.primary;
    let timestamp = env.server_now_us() / 1000 - 1000;
    let mut all = vec![
        ("apiKey".to_owned(), js(pair.api_key())),
        ("timestamp".to_owned(), timestamp.to_string()),
    ];
    all.extend(owned(params));
    let signature = pair.sign(&payload(&all));
    all.push(("signature".to_owned(), js(&signature)));
    request_text(&ReqId::Str(ID.to_owned()), method, &all)
}

/// A request performed for the session's key: a timestamp, no credentials.
fn timed(env: &Env, method: &str, params: &[(&str, String)]) -> String {
    let timestamp = env.server_now_us() / 1000 - 1000;
    let mut all = vec![("timestamp".to_owned(), timestamp.to_string())];
    all.extend(owned(params));
    request_text(&ReqId::Str(ID.to_owned()), method, &all)
}

/// Sends `text`; its reply must be a success with `id` echoed and `rateLimits` counting
/// `charged` more. Gives the result.
async fn success(
    env: &mut Env,
    wire: &mut Wire,
    text: &str,
    charged: u32,
    transcript: &mut Transcript,
) -> Result<Value, String> {
    env.pace(charged).await;
    wire.send_text(text).await.map_err(|e| e.to_string())?;
    let (_, reply) = wire
        .reply()
        .await
        .map_err(|e| format!("sent: {text}\nno reply: {e}"))?;
    transcript.push(Exchange::new(text, vec![reply.clone()]));
    let expected = Expected {
        conn: 0,
        id: Value::from(ID),
        outcome: Outcome::Ok(ResultExpect::Unchecked),
        rate_limits: true,
        charged,
        count: None,
        terminated: Vec::new(),
        now_ms: env.frozen_now_us().map(|us| us / 1000),
    };
    let diffs = check::reply(env, &expected, &reply, &mut Bindings::default());
    if !diffs.is_empty() {
        return Err(format!(
            "sent:     {text}\nreceived: {reply}\n{}",
            diffs.join("\n")
        ));
    }
    let value: Value = serde_json::from_str(&reply).map_err(|e| e.to_string())?;
    Ok(value["result"].clone())
}

/// Runs `body` on a fresh connection and closes it whatever the outcome.
macro_rules! on_connection {
    ($env:ident, $wire:ident, $body:expr) => {{
        let mut $wire = open($env).await?;
        let outcome: RunResult = async { $body }.await;
        $wire.close().await;
        outcome
    }};
}

// Shapes.

fn member_names(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

/// `value`'s members against `documented`, in order. `exact` (the mock): nothing else, but
/// for `optional_tail`, which may follow in its order; otherwise the documented members must
/// all be there, in that order, with others allowed between them.
fn check_members(
    what: &str,
    value: &Value,
    documented: &[&str],
    optional_tail: &[&str],
    exact: bool,
    problems: &mut Vec<String>,
) {
    if !value.is_object() {
        problems.push(format!("{what}: {value} is not an object"));
        return;
    }
    let got = member_names(value);
    if exact {
        let tail: Vec<&str> = got.iter().skip(documented.len()).copied().collect();
        let tail_ok = tail.iter().all(|name| optional_tail.contains(name))
            && tail.windows(2).all(|w| {
                let at = |n| optional_tail.iter().position(|t| *t == n);
                at(w[0]) < at(w[1])
            });
        if got.len() < documented.len() || got[..documented.len()] != *documented || !tail_ok {
            problems.push(format!(
                "{what}: members {got:?}, expected {documented:?} (then {optional_tail:?} if any)"
            ));
        }
        return;
    }
    let mut rest = got.iter();
    for name in documented {
        if !rest.any(|g| g == name) {
            problems.push(format!(
                "{what}: members {got:?} lack {name:?} or have it out of the documented order \
                 {documented:?}"
            ));
            return;
        }
    }
}

/// Whether `value` is a string holding an unsigned decimal (`"0.01000000"`).
fn is_decimal(value: &Value) -> bool {
    value.as_str().is_some_and(|text| {
        let (whole, fraction) = text.split_once('.').unwrap_or((text, "0"));
        !whole.is_empty()
            && !fraction.is_empty()
            && whole.bytes().all(|b| b.is_ascii_digit())
            && fraction.bytes().all(|b| b.is_ascii_digit())
    })
}

fn decimal_of(value: &Value) -> Option<Decimal> {
    value.as_str().and_then(|t| Decimal::from_str(t).ok())
}

/// Each of `names` in `object` must be a decimal string.
fn decimals(what: &str, object: &Value, names: &[&str], problems: &mut Vec<String>) {
    for name in names {
        if !is_decimal(&object[name]) {
            problems.push(format!(
                "{what}.{name}: {} is not a decimal string",
                object[name]
            ));
        }
    }
}

/// Each of `names` in `object` must be of the JSON type `is` tells.
fn typed(
    what: &str,
    object: &Value,
    names: &[&str],
    is: fn(&Value) -> bool,
    kind: &str,
    problems: &mut Vec<String>,
) {
    for name in names {
        if !is(&object[name]) {
            problems.push(format!("{what}.{name}: {} is not {kind}", object[name]));
        }
    }
}

// exchangeInfo.

/// A symbol's fields in the documented order (web-socket-api.md:1569-1617).
const SYMBOL_FIELDS: &[&str] = &test_support::shapes::EXCHANGE_INFO_SYMBOL;

/// The members of the filters the harness knows, as filters.md writes them.
fn filter_fields(filter_type: &str) -> Option<&'static [&'static str]> {
    Some(match filter_type {
        "PRICE_FILTER" => &["filterType", "minPrice", "maxPrice", "tickSize"],
        "LOT_SIZE" | "MARKET_LOT_SIZE" => &["filterType", "minQty", "maxQty", "stepSize"],
        "NOTIONAL" => &[
            "filterType",
            "minNotional",
            "applyMinToMarket",
            "maxNotional",
            "applyMaxToMarket",
            "avgPriceMins",
        ],
        "MAX_NUM_ORDERS" => &["filterType", "maxNumOrders"],
        "PERCENT_PRICE_BY_SIDE" => &[
            "filterType",
            "bidMultiplierUp",
            "bidMultiplierDown",
            "askMultiplierUp",
            "askMultiplierDown",
            "avgPriceMins",
        ],
        _ => return None,
    })
}

fn exchange_info_request(symbol: &str) -> String {
    public("exchangeInfo", &[("symbol", js(symbol))])
}

async fn exchange_info_symbol(env: &mut Env, transcript: &mut Transcript) -> RunResult {
    on_connection!(env, wire, {
        let text = exchange_info_request(SYMBOL);
        let result = success(env, &mut wire, &text, 20, transcript).await?;
        let problems = exchange_info_shape(env, &result);
        super::verdict(&problems)
    })
}

fn exchange_info_shape(env: &Env, result: &Value) -> Vec<String> {
    let exact = env.in_process;
    let mut problems = Vec::new();
    let top = [
        "timezone",
        "serverTime",
        "rateLimits",
        "exchangeFilters",
        "symbols",
    ];
    check_members("result", result, &top, &["sors"], exact, &mut problems);
    if result["timezone"] != "UTC" {
        problems.push(format!("timezone {}, expected \"UTC\"", result["timezone"]));
    }
    match result["serverTime"].as_i64() {
        Some(t) => {
            let now = env.frozen_now_us().map(|us| us / 1000);
            problems.extend(env.check_now("serverTime", now, t).err());
        }
        None => problems.push("serverTime is not an integer".to_owned()),
    }
    let limits = result["rateLimits"].as_array().cloned().unwrap_or_default();
    if limits.is_empty() {
        problems.push("rateLimits: not a non-empty array".to_owned());
    }
    for limit in &limits {
        let fields = ["rateLimitType", "interval", "intervalNum", "limit"];
        check_members("rateLimits[]", limit, &fields, &[], true, &mut problems);
        if limit["rateLimitType"] == "REQUEST_WEIGHT"
            && limit["interval"] == "MINUTE"
            && limit["intervalNum"] == 1
            && env.weight_limit.is_some_and(|l| limit["limit"] != l)
        {
            problems.push(format!(
                "the REQUEST_WEIGHT limit {limit}, but replies' rateLimits say {:?}",
                env.weight_limit
            ));
        }
    }
    if !limits
        .iter()
        .any(|l| l["rateLimitType"] == "REQUEST_WEIGHT")
    {
        problems.push("rateLimits: no REQUEST_WEIGHT limit".to_owned());
    }
    if !result["exchangeFilters"].is_array() {
        problems.push("exchangeFilters is not an array".to_owned());
    }
    let symbols = result["symbols"].as_array().cloned().unwrap_or_default();
    let [symbol] = symbols.as_slice() else {
        problems.push(format!(
            "symbols: {} entries, expected the one asked for",
            symbols.len()
        ));
        return problems;
    };
    check_members(
        "symbols[0]",
        symbol,
        SYMBOL_FIELDS,
        &[],
        exact,
        &mut problems,
    );
    if symbol["symbol"] != SYMBOL {
        problems.push(format!("symbol {}, expected {SYMBOL:?}", symbol["symbol"]));
    }
    let what = "symbols[0]";
    typed(
        what,
        symbol,
        &["symbol", "status", "baseAsset", "quoteAsset"],
        Value::is_string,
        "a string",
        &mut problems,
    );
    typed(
        what,
        symbol,
        &[
            "baseAssetPrecision",
            "quotePrecision",
            "quoteAssetPrecision",
            "baseCommissionPrecision",
            "quoteCommissionPrecision",
        ],
        Value::is_u64,
        "an unsigned integer",
        &mut problems,
    );
    typed(
        what,
        symbol,
        &SYMBOL_FIELDS[10..21],
        Value::is_boolean,
        "a boolean",
        &mut problems,
    );
    typed(
        what,
        symbol,
        &[
            "orderTypes",
            "filters",
            "permissions",
            "permissionSets",
            "allowedSelfTradePreventionModes",
        ],
        Value::is_array,
        "an array",
        &mut problems,
    );
    for filter in symbol["filters"].as_array().into_iter().flatten() {
        let kind = filter["filterType"].as_str().unwrap_or_default();
        let Some(fields) = filter_fields(kind) else {
            if kind.is_empty() {
                problems.push(format!("filter {filter} has no filterType"));
            }
            continue;
        };
        check_members(
            &format!("filter {kind}"),
            filter,
            fields,
            &[],
            true,
            &mut problems,
        );
        let (numbers, flags): (Vec<&str>, Vec<&str>) = fields[1..].iter().partition(|f| {
            !f.starts_with("apply") && **f != "avgPriceMins" && **f != "maxNumOrders"
        });
        decimals(&format!("filter {kind}"), filter, &numbers, &mut problems);
        for flag in flags {
            let ok = if flag.starts_with("apply") {
                filter[flag].is_boolean()
            } else {
                filter[flag].is_u64()
            };
            if !ok {
                problems.push(format!(
                    "filter {kind}.{flag}: {} has the wrong type",
                    filter[flag]
                ));
            }
        }
    }
    problems
}

async fn exchange_info_mock_values(env: &mut Env, transcript: &mut Transcript) -> RunResult {
    on_connection!(env, wire, {
        let text = exchange_info_request(SYMBOL);
        let result = success(env, &mut wire, &text, 20, transcript).await?;
        let want_limits = serde_json::json!([
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": spec::DOCUMENTED_WEIGHT_LIMIT},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 50},
            {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 160000},
        ]);
        let want_filters = serde_json::json!([
            {"filterType": "PRICE_FILTER", "minPrice": "0.01000000", "maxPrice": "1000000.00000000", "tickSize": "0.01000000"},
            {"filterType": "LOT_SIZE", "minQty": "0.00001000", "maxQty": "9000.00000000", "stepSize": "0.00001000"},
            {"filterType": "MARKET_LOT_SIZE", "minQty": "0.00000000", "maxQty": "100.00000000", "stepSize": "0.00000000"},
            {"filterType": "NOTIONAL", "minNotional": "5.00000000", "applyMinToMarket": true, "maxNotional": "9000000.00000000", "applyMaxToMarket": false, "avgPriceMins": 5},
            {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
        ]);
        let mut problems = Vec::new();
        let limits = result["rateLimits"].as_array().cloned().unwrap_or_default();
        let first_three = Value::Array(limits.iter().take(3).cloned().collect());
        if first_three != want_limits {
            problems.push(format!(
                "rateLimits {first_three}, expected {want_limits} first"
            ));
        }
        let connections = limits.get(3).cloned().unwrap_or(Value::Null);
        if connections["rateLimitType"] != "CONNECTIONS"
            || connections["interval"] != "MINUTE"
            || connections["intervalNum"] != 5
        {
            problems.push(format!(
                "rateLimits[3] {connections}, expected CONNECTIONS per 5 MINUTE"
            ));
        }
        let symbol = &result["symbols"][0];
        if symbol["filters"] != want_filters {
            problems.push(format!(
                "filters {}, expected {want_filters}",
                symbol["filters"]
            ));
        }
        for (name, want) in [
            ("status", Value::from("TRADING")),
            ("baseAsset", Value::from("BTC")),
            ("quoteAsset", Value::from("USDT")),
            ("baseAssetPrecision", Value::from(8)),
            ("quoteAssetPrecision", Value::from(8)),
            ("permissions", serde_json::json!([])),
            ("permissionSets", serde_json::json!([["SPOT"]])),
            (
                "defaultSelfTradePreventionMode",
                Value::from("EXPIRE_MAKER"),
            ),
        ] {
            if symbol[name] != want {
                problems.push(format!("{name} {}, expected {want}", symbol[name]));
            }
        }
        super::verdict(&problems)
    })
}

// depth.

async fn depth_weight_by_limit(env: &mut Env, transcript: &mut Transcript) -> RunResult {
    on_connection!(env, wire, {
        let mut problems = Vec::new();
        for (limit, weight) in [
            (None, 5),
            (Some(1), 5),
            (Some(101), 25),
            (Some(501), 50),
            (Some(1001), 250),
        ] {
            let mut params = vec![("symbol", js(SYMBOL))];
            if let Some(limit) = limit {
                params.push(("limit", limit.to_string()));
            }
            let text = public("depth", &params);
            let result = success(env, &mut wire, &text, weight, transcript).await?;
            depth_shape(&result, limit.unwrap_or(100), env.in_process, &mut problems);
        }
        super::verdict(&problems)
    })
}

fn depth_shape(result: &Value, limit: usize, exact: bool, problems: &mut Vec<String>) {
    let what = format!("depth limit {limit}");
    check_members(
        &what,
        result,
        &["lastUpdateId", "bids", "asks"],
        &[],
        exact,
        problems,
    );
    if !result["lastUpdateId"].is_u64() {
        problems.push(format!(
            "{what}: lastUpdateId {} is not an integer",
            result["lastUpdateId"]
        ));
    }
    let side = |name: &str, problems: &mut Vec<String>| -> Vec<Decimal> {
        let levels = result[name].as_array().cloned().unwrap_or_default();
        if !result[name].is_array() || levels.len() > limit {
            problems.push(format!(
                "{what}: {name} is not an array of at most {limit} levels ({} levels)",
                levels.len()
            ));
        }
        let mut prices = Vec::new();
        for level in &levels {
            match level.as_array().map(Vec::as_slice) {
                Some([price, qty]) if is_decimal(price) && is_decimal(qty) => {
                    prices.extend(decimal_of(price));
                }
                _ => problems.push(format!("{what}: {name} level {level} is not [price, qty]")),
            }
        }
        prices
    };
    let bids = side("bids", problems);
    let asks = side("asks", problems);
    if !bids.windows(2).all(|w| w[0] > w[1]) {
        problems.push(format!("{what}: bids not highest first"));
    }
    if !asks.windows(2).all(|w| w[0] < w[1]) {
        problems.push(format!("{what}: asks not lowest first"));
    }
    if let (Some(bid), Some(ask)) = (bids.first(), asks.first()) {
        if bid >= ask {
            problems.push(format!("{what}: best bid {bid} not below best ask {ask}"));
        }
    }
}

async fn depth_synthetic_book(env: &mut Env, transcript: &mut Transcript) -> RunResult {
    on_connection!(env, wire, {
        let text = public(
            "depth",
            &[("symbol", js(SYMBOL)), ("limit", "3".to_owned())],
        );
        let result = success(env, &mut wire, &text, 5, transcript).await?;
        let want = serde_json::json!({
            "lastUpdateId": 1,
            "bids": [["59999.99000000", "1.00000000"], ["59999.98000000", "1.00000000"], ["59999.97000000", "1.00000000"]],
            "asks": [["60000.01000000", "1.00000000"], ["60000.02000000", "1.00000000"], ["60000.03000000", "1.00000000"]],
        });
        if result == want {
            Ok(())
        } else {
            Err(format!("result {result}, expected {want}"))
        }
    })
}

// avgPrice and the tickers.

async fn avg_price(env: &mut Env, transcript: &mut Transcript) -> RunResult {
    on_connection!(env, wire, {
        let text = public("avgPrice", &[("symbol", js(SYMBOL))]);
        let result = success(env, &mut wire, &text, 2, transcript).await?;
        let mut problems = Vec::new();
        check_members(
            "avgPrice",
            &result,
            &["mins", "price", "closeTime"],
            &[],
            env.in_process,
            &mut problems,
        );
        typed(
            "avgPrice",
            &result,
            &["mins"],
            Value::is_u64,
            "an unsigned integer",
            &mut problems,
        );
        decimals("avgPrice", &result, &["price"], &mut problems);
        typed(
            "avgPrice",
            &result,
            &["closeTime"],
            Value::is_i64,
            "an integer",
            &mut problems,
        );
        super::verdict(&problems)
    })
}

const PRICE_TICKER: &[&str] = &["symbol", "price"];
const BOOK_TICKER: &[&str] = &["symbol", "bidPrice", "bidQty", "askPrice", "askQty"];

async fn ticker_price_weights(env: &mut Env, transcript: &mut Transcript) -> RunResult {
    ticker_weights(env, "ticker.price", PRICE_TICKER, transcript).await
}

async fn ticker_book_weights(env: &mut Env, transcript: &mut Transcript) -> RunResult {
    ticker_weights(env, "ticker.book", BOOK_TICKER, transcript).await
}

/// `method` with `symbol` (2, an object), `symbols` (4, an array of that one) and neither
/// (4, an array of every symbol trading, BTCUSDT among them).
async fn ticker_weights(
    env: &mut Env,
    method: &str,
    fields: &'static [&'static str],
    transcript: &mut Transcript,
) -> RunResult {
    on_connection!(env, wire, {
        let exact = env.in_process;
        let mut problems = Vec::new();
        let entry = |what: &str, value: &Value, problems: &mut Vec<String>| {
            check_members(what, value, fields, &[], exact, problems);
            typed(
                what,
                value,
                &["symbol"],
                Value::is_string,
                "a string",
                problems,
            );
            decimals(what, value, &fields[1..], problems);
        };
        let one = public(method, &[("symbol", js(SYMBOL))]);
        let result = success(env, &mut wire, &one, 2, transcript).await?;
        entry(&format!("{method} symbol"), &result, &mut problems);
        if result["symbol"] != SYMBOL {
            problems.push(format!("{method} symbol: {} answered", result["symbol"]));
        }
        let list = public(method, &[("symbols", format!("[{}]", js(SYMBOL)))]);
        let result = success(env, &mut wire, &list, 4, transcript).await?;
        match result.as_array().map(Vec::as_slice) {
            Some([only]) if only["symbol"] == SYMBOL => {
                entry(&format!("{method} symbols"), only, &mut problems);
            }
            _ => problems.push(format!(
                "{method} symbols: {result}, expected [{{{SYMBOL}}}]"
            )),
        }
        let all = public(method, &[]);
        let result = success(env, &mut wire, &all, 4, transcript).await?;
        match result.as_array() {
            Some(entries) if entries.iter().any(|e| e["symbol"] == SYMBOL) => {
                for e in entries {
                    entry(&format!("{method} (all)"), e, &mut problems);
                }
            }
            _ => problems.push(format!("{method} (all): not an array holding {SYMBOL}")),
        }
        problems.truncate(20);
        super::verdict(&problems)
    })
}

async fn synthetic_prices(env: &mut Env, transcript: &mut Transcript) -> RunResult {
    on_connection!(env, wire, {
        let mut problems = Vec::new();
        let started = crate::target::FROZEN_START_MS;
        for (method, weight, want) in [
            (
                "ticker.price",
                2,
                serde_json::json!({"symbol": SYMBOL, "price": "60000.00000000"}),
            ),
            (
                "avgPrice",
                2,
                serde_json::json!({"mins": 5, "price": "60000.00000000", "closeTime": started}),
            ),
            (
                "ticker.book",
                2,
                serde_json::json!({"symbol": SYMBOL, "bidPrice": "59999.99000000", "bidQty": "1.00000000", "askPrice": "60000.01000000", "askQty": "1.00000000"}),
            ),
        ] {
            let text = public(method, &[("symbol", js(SYMBOL))]);
            let result = success(env, &mut wire, &text, weight, transcript).await?;
            if result != want {
                problems.push(format!("{method}: {result}, expected {want}"));
            }
        }
        super::verdict(&problems)
    })
}

// Klines.

async fn klines(env: &mut Env, transcript: &mut Transcript) -> RunResult {
    kline_rows(env, "klines", transcript).await
}

async fn ui_klines(env: &mut Env, transcript: &mut Transcript) -> RunResult {
    kline_rows(env, "uiKlines", transcript).await
}

async fn kline_rows(env: &mut Env, method: &str, transcript: &mut Transcript) -> RunResult {
    on_connection!(env, wire, {
        let text = public(
            method,
            &[
                ("symbol", js(SYMBOL)),
                ("interval", js("1m")),
                ("limit", "3".to_owned()),
            ],
        );
        let result = success(env, &mut wire, &text, 2, transcript).await?;
        let mut problems = Vec::new();
        let rows = result.as_array().cloned().unwrap_or_default();
        if !result.is_array() || rows.is_empty() || rows.len() > 3 {
            problems.push(format!("{method}: {} rows, expected 1 to 3", rows.len()));
        }
        let mut opens = Vec::new();
        for row in &rows {
            let Some(cells) = row.as_array().filter(|c| c.len() == 12) else {
                problems.push(format!("{method}: row {row} is not 12 values"));
                continue;
            };
            let integers = [0, 6, 8];
            let numbers = [1, 2, 3, 4, 5, 7, 9, 10];
            if integers.iter().any(|&i| !cells[i].is_i64())
                || numbers.iter().any(|&i| !is_decimal(&cells[i]))
                || cells[11] != "0"
            {
                problems.push(format!(
                    "{method}: row {row}: expected [openTime, 5 decimals, closeTime, decimal, \
                     count, 2 decimals, \"0\"]"
                ));
                continue;
            }
            let (open, close) = (
                cells[0].as_i64().unwrap_or(0),
                cells[6].as_i64().unwrap_or(0),
            );
            if open % 60_000 != 0 || close != open + 59_999 {
                problems.push(format!(
                    "{method}: row {row}: a 1m candle opens on the minute and closes 59999 ms later"
                ));
            }
            let low = decimal_of(&cells[3]);
            let high = decimal_of(&cells[2]);
            let inside = [1, 4]
                .iter()
                .all(|&i| decimal_of(&cells[i]).is_some_and(|p| Some(p) >= low && Some(p) <= high));
            if !inside {
                problems.push(format!(
                    "{method}: row {row}: open or close outside [low, high]"
                ));
            }
            opens.push(open);
        }
        if !opens.windows(2).all(|w| w[1] == w[0] + 60_000) {
            problems.push(format!(
                "{method}: open times {opens:?} are not consecutive minutes"
            ));
        }
        super::verdict(&problems)
    })
}

// order.test and account.commission.

/// What the harness reads of a symbol's `exchangeInfo` entry to judge orders.
#[derive(Clone, Debug)]
struct Rules {
    base_precision: u32,
    quote_precision: u32,
    price: Option<Range>,
    lot: Option<Range>,
    market_lot: Option<Range>,
    notional: Option<Notional>,
    by_side: Option<BySide>,
}

/// `min`, `max` and a step (`tickSize` or `stepSize`), each rule off when zero but `min`'s
/// for sizes (filters.md).
#[derive(Clone, Copy, Debug)]
struct Range {
    min: Decimal,
    max: Decimal,
    step: Decimal,
}

#[derive(Clone, Copy, Debug)]
struct Notional {
    min: Decimal,
    apply_min_to_market: bool,
    max: Decimal,
    apply_max_to_market: bool,
}

/// `PERCENT_PRICE_BY_SIDE` (filters.md:81): the mock has none; real endpoints do.
#[derive(Clone, Copy, Debug)]
struct BySide {
    bid_up: Decimal,
    bid_down: Decimal,
    ask_up: Decimal,
    ask_down: Decimal,
}

impl Rules {
    fn of(symbol: &Value) -> Result<Rules, String> {
        let precision = |name: &str| {
            symbol[name]
                .as_u64()
                .and_then(|p| u32::try_from(p).ok())
                .ok_or(format!("{name} {} is not a precision", symbol[name]))
        };
        let filters = symbol["filters"].as_array().cloned().unwrap_or_default();
        let find = |kind: &str| filters.iter().find(|f| f["filterType"] == kind).cloned();
        let d = |filter: &Value, name: &str| {
            decimal_of(&filter[name]).ok_or(format!("{name} {} is not a decimal", filter[name]))
        };
        let range =
            |kind: &str, min: &str, max: &str, step: &str| -> Result<Option<Range>, String> {
                find(kind)
                    .map(|f| {
                        Ok(Range {
                            min: d(&f, min)?,
                            max: d(&f, max)?,
                            step: d(&f, step)?,
                        })
                    })
                    .transpose()
            };
        let notional = find("NOTIONAL")
            .map(|f| -> Result<Notional, String> {
                Ok(Notional {
                    min: d(&f, "minNotional")?,
                    apply_min_to_market: f["applyMinToMarket"].as_bool().unwrap_or(false),
                    max: d(&f, "maxNotional")?,
                    apply_max_to_market: f["applyMaxToMarket"].as_bool().unwrap_or(false),
                })
            })
            .transpose()?;
        let by_side = find("PERCENT_PRICE_BY_SIDE")
            .map(|f| -> Result<BySide, String> {
                Ok(BySide {
                    bid_up: d(&f, "bidMultiplierUp")?,
                    bid_down: d(&f, "bidMultiplierDown")?,
                    ask_up: d(&f, "askMultiplierUp")?,
                    ask_down: d(&f, "askMultiplierDown")?,
                })
            })
            .transpose()?;
        Ok(Rules {
            base_precision: precision("baseAssetPrecision")?,
            quote_precision: precision("quoteAssetPrecision")?,
            price: range("PRICE_FILTER", "minPrice", "maxPrice", "tickSize")?,
            lot: range("LOT_SIZE", "minQty", "maxQty", "stepSize")?,
            market_lot: range("MARKET_LOT_SIZE", "minQty", "maxQty", "stepSize")?,
            notional,
            by_side,
        })
    }

    fn tick(&self) -> Decimal {
        self.price.map_or(Decimal::ZERO, |p| p.step)
    }

    fn step(&self) -> Decimal {
        self.lot.map_or(Decimal::ZERO, |l| l.step)
    }
}

/// The market as the harness reads it: the symbol's rules, its last price (limit orders are
/// drawn around it) and its average price (what MARKET orders are valued at).
#[derive(Clone, Debug)]
struct Market {
    rules: Rules,
    last: Decimal,
    average: Decimal,
}

/// Reads BTCUSDT's rules, last price and average price on `wire` (weight 24).
async fn read_market(
    env: &mut Env,
    wire: &mut Wire,
    transcript: &mut Transcript,
) -> Result<Market, String> {
    let info = success(env, wire, &exchange_info_request(SYMBOL), 20, transcript).await?;
    let rules = Rules::of(&info["symbols"][0])?;
    let symbol = [("symbol", js(SYMBOL))];
    let ticker = success(env, wire, &public("ticker.price", &symbol), 2, transcript).await?;
    let average = success(env, wire, &public("avgPrice", &symbol), 2, transcript).await?;
    let price = |v: &Value| decimal_of(&v["price"]).ok_or(format!("no price in {v}"));
    Ok(Market {
        rules,
        last: price(&ticker)?,
        average: price(&average)?,
    })
}

/// Rounds `value` down to a multiple of `step` (unchanged for a zero step).
fn floor_to(value: Decimal, step: Decimal) -> Decimal {
    if step.is_zero() {
        value
    } else {
        (value / step).floor() * step
    }
}

/// Rounds `value` up to a multiple of `step` (unchanged for a zero step).
fn ceil_to(value: Decimal, step: Decimal) -> Decimal {
    if step.is_zero() {
        value
    } else {
        (value / step).ceil() * step
    }
}

fn text_of(value: Decimal) -> String {
    value.normalize().to_string()
}

/// A LIMIT order every filter the harness knows lets through: at the last price, for about
/// twice the minimum notional.
fn passing_limit(market: &Market) -> (Decimal, Decimal) {
    let rules = &market.rules;
    let price = floor_to(market.last, rules.tick());
    let min_qty = rules.lot.map_or(Decimal::ZERO, |l| l.min);
    let wanted = rules
        .notional
        .map_or(Decimal::ZERO, |n| n.min * Decimal::TWO / price);
    let quantity = ceil_to(wanted.max(min_qty), rules.step()).max(rules.step());
    (price, quantity)
}

fn limit_params(price: Decimal, quantity: Decimal) -> Vec<(&'static str, String)> {
    vec![
        ("symbol", js(SYMBOL)),
        ("side", js("BUY")),
        ("type", js("LIMIT")),
        ("timeInForce", js("GTC")),
        ("price", js(&text_of(price))),
        ("quantity", js(&text_of(quantity))),
    ]
}

async fn order_test_signed(env: &mut Env, transcript: &mut Transcript) -> RunResult {
    on_connection!(env, wire, {
        let market = read_market(env, &mut wire, transcript).await?;
        let (price, quantity) = passing_limit(&market);
        let text = signed(env, "order.test", &limit_params(price, quantity));
        let result = success(env, &mut wire, &text, 1, transcript).await?;
        empty(&result)
    })
}

fn empty(result: &Value) -> RunResult {
    if result == &serde_json::json!({}) {
        Ok(())
    } else {
        Err(format!("result {result}, expected {{}}"))
    }
}

async fn order_test_after_logon(env: &mut Env, transcript: &mut Transcript) -> RunResult {
    on_connection!(env, wire, {
        let market = read_market(env, &mut wire, transcript).await?;
        let logon = errors::setup_logon(KeyRef::Primary);
        errors::setup_step(env, &mut wire, &logon, transcript).await?;
        let (price, quantity) = passing_limit(&market);
        let text = timed(env, "order.test", &limit_params(price, quantity));
        let result = success(env, &mut wire, &text, 1, transcript).await?;
        empty(&result)
    })
}

const MAKER_TAKER: &[&str] = &["maker", "taker"];
const FOUR_RATES: &[&str] = &["maker", "taker", "buyer", "seller"];
const DISCOUNT: &[&str] = &[
    "enabledForAccount",
    "enabledForSymbol",
    "discountAsset",
    "discount",
];

/// The members of `{name: rates}` and of the discount.
fn commission_shape(
    result: &Value,
    rates: &[&str],
    rate_fields: &[&str],
    exact: bool,
    problems: &mut Vec<String>,
) {
    for name in rates {
        check_members(name, &result[name], rate_fields, &[], exact, problems);
        decimals(name, &result[name], rate_fields, problems);
    }
    let discount = &result["discount"];
    check_members("discount", discount, DISCOUNT, &[], exact, problems);
    typed(
        "discount",
        discount,
        &DISCOUNT[..2],
        Value::is_boolean,
        "a boolean",
        problems,
    );
    typed(
        "discount",
        discount,
        &["discountAsset"],
        Value::is_string,
        "a string",
        problems,
    );
    decimals("discount", discount, &["discount"], problems);
}

async fn order_test_commission_rates(env: &mut Env, transcript: &mut Transcript) -> RunResult {
    on_connection!(env, wire, {
        let market = read_market(env, &mut wire, transcript).await?;
        let (price, quantity) = passing_limit(&market);
        let mut params = limit_params(price, quantity);
        params.push(("computeCommissionRates", "true".to_owned()));
        let text = signed(env, "order.test", &params);
        let result = success(env, &mut wire, &text, 20, transcript).await?;
        let rates = [
            "standardCommissionForOrder",
            "specialCommissionForOrder",
            "taxCommissionForOrder",
        ];
        let mut problems = Vec::new();
        let mut top = rates.to_vec();
        top.push("discount");
        check_members("result", &result, &top, &[], env.in_process, &mut problems);
        commission_shape(&result, &rates, MAKER_TAKER, env.in_process, &mut problems);
        super::verdict(&problems)
    })
}

async fn commission_of(env: &mut Env, transcript: &mut Transcript) -> Result<Value, String> {
    let mut wire = open(env).await?;
    let text = signed(env, "account.commission", &[("symbol", js(SYMBOL))]);
    let result = success(env, &mut wire, &text, 20, transcript).await;
    wire.close().await;
    result
}

async fn account_commission(env: &mut Env, transcript: &mut Transcript) -> RunResult {
    let result = commission_of(env, transcript).await?;
    let rates = ["standardCommission", "specialCommission", "taxCommission"];
    let mut top = vec!["symbol"];
    top.extend(rates);
    top.push("discount");
    let mut problems = Vec::new();
    check_members("result", &result, &top, &[], env.in_process, &mut problems);
    if result["symbol"] != SYMBOL {
        problems.push(format!("symbol {}, expected {SYMBOL:?}", result["symbol"]));
    }
    commission_shape(&result, &rates, FOUR_RATES, env.in_process, &mut problems);
    super::verdict(&problems)
}

async fn account_commission_defaults(env: &mut Env, transcript: &mut Transcript) -> RunResult {
    let result = commission_of(env, transcript).await?;
    let zero = "0.00000000";
    let rates = |maker, taker| serde_json::json!({"maker": maker, "taker": taker, "buyer": zero, "seller": zero});
    let want = serde_json::json!({
        "symbol": SYMBOL,
        "standardCommission": rates("0.00100000", "0.00100000"),
        "specialCommission": rates(zero, zero),
        "taxCommission": rates(zero, zero),
        "discount": {"enabledForAccount": false, "enabledForSymbol": true, "discountAsset": "BNB", "discount": "0.25000000"},
    });
    if result == want {
        Ok(())
    } else {
        Err(format!("result {result}, expected {want}"))
    }
}

// The error rows.

/// An unsigned request on a fresh connection, refused as `expect` says, charged `charged`.
const fn public_row(text: &'static str, expect: fn() -> ApiErr, charged: u32) -> ErrorRow {
    ErrorRow {
        setup: Setup::Nothing,
        request: Req::Text(text),
        expect,
        echo_id: true,
        rate_limits: true,
        charged,
    }
}

/// `method` signed with the primary key and `params`, refused as `expect` says.
const fn signed_row(
    method: &'static str,
    params: &'static [(&'static str, &'static str)],
    expect: fn() -> ApiErr,
    charged: u32,
) -> ErrorRow {
    ErrorRow {
        setup: Setup::Nothing,
        request: Req::Signed {
            method,
            key: KeyRef::Primary,
            params,
            offset_ms: -1000,
            tamper: false,
            drop: &[],
        },
        expect,
        echo_id: true,
        rate_limits: true,
        charged,
    }
}

/// `order.test` signed, with the symbol BTCUSDT and `params`: weight 1.
const fn order_row(
    params: &'static [(&'static str, &'static str)],
    expect: fn() -> ApiErr,
) -> ErrorRow {
    signed_row("order.test", params, expect, 1)
}

fn row(
    id: &'static str,
    title: &'static str,
    basis: &'static str,
    needs: &'static [Need],
    row: ErrorRow,
) -> Case {
    custom_case(id, title, basis, needs, Body::Row(row))
}

fn bad_symbol() -> ApiErr {
    golden::BAD_SYMBOL.error()
}

fn filter_failure(filter: &str) -> ApiErr {
    golden::FILTER_FAILURE.render(&[("filter", filter)])
}

fn exclusive(first: &str, second: &str) -> ApiErr {
    golden::PARAMS_EXCLUSIVE.render(&[("first", first), ("second", second)])
}

fn either(name: &str, other: &str) -> ApiErr {
    golden::EITHER_PARAM.render(&[("name", name), ("other", other)])
}

fn not_required(name: &str) -> ApiErr {
    golden::PARAM_NOT_REQUIRED.render(&[("name", name)])
}

// Orders on BTCUSDT that break one rule: the mock's filters (tick 0.01, step 0.00001,
// notional 5 to 9,000,000, MARKET_LOT_SIZE up to 100) and Binance's for BTCUSDT alike.
const BTC: (&str, &str) = ("symbol", "\"BTCUSDT\"");
const BUY: (&str, &str) = ("side", "\"BUY\"");
const LIMIT: (&str, &str) = ("type", "\"LIMIT\"");
const MARKET: (&str, &str) = ("type", "\"MARKET\"");
const GTC: (&str, &str) = ("timeInForce", "\"GTC\"");
const PRICE: (&str, &str) = ("price", "\"60000.00\"");
const QTY: (&str, &str) = ("quantity", "\"0.001\"");

fn error_rows() -> Vec<Case> {
    vec![
        row(
            "ERR-1121-EXCHANGEINFO-UNKNOWN-SYMBOL",
            "exchangeInfo for an unknown symbol: -1121, charged 20",
            "errors.md:136; web-socket-api.md:1448",
            &[],
            public_row(
                r#"{"id":"err","method":"exchangeInfo","params":{"symbol":"NOSUCHSYMBOL"}}"#,
                bad_symbol,
                20,
            ),
        ),
        row(
            "ERR-1121-DEPTH-UNKNOWN-SYMBOL",
            "depth for an unknown symbol: -1121, charged 5",
            "errors.md:136; web-socket-api.md:1701",
            &[],
            public_row(
                r#"{"id":"err","method":"depth","params":{"symbol":"NOSUCHSYMBOL"}}"#,
                bad_symbol,
                5,
            ),
        ),
        row(
            "ERR-1121-AVGPRICE-UNKNOWN-SYMBOL",
            "avgPrice for an unknown symbol: -1121, charged 2",
            "errors.md:136; web-socket-api.md:2231",
            &[],
            public_row(
                r#"{"id":"err","method":"avgPrice","params":{"symbol":"NOSUCHSYMBOL"}}"#,
                bad_symbol,
                2,
            ),
        ),
        row(
            "ERR-1121-TICKER-PRICE-UNKNOWN-AMONG-SYMBOLS",
            "ticker.price for symbols with one unknown: -1121 for the whole request, charged 4",
            "errors.md:136; docs/FIDELITY.md \"Market\" (unknown symbol)",
            &[],
            public_row(
                r#"{"id":"err","method":"ticker.price","params":{"symbols":["BTCUSDT","NOSUCHSYMBOL"]}}"#,
                bad_symbol,
                4,
            ),
        ),
        row(
            "ERR-1121-TICKER-BOOK-UNKNOWN-SYMBOL",
            "ticker.book for an unknown symbol: -1121, charged 2",
            "errors.md:136; web-socket-api.md:3103",
            &[],
            public_row(
                r#"{"id":"err","method":"ticker.book","params":{"symbol":"NOSUCHSYMBOL"}}"#,
                bad_symbol,
                2,
            ),
        ),
        row(
            "ERR-1121-KLINES-UNKNOWN-SYMBOL",
            "klines for an unknown symbol: -1121, charged 2",
            "errors.md:136; web-socket-api.md:2052",
            &[],
            public_row(
                r#"{"id":"err","method":"klines","params":{"symbol":"NOSUCHSYMBOL","interval":"1m"}}"#,
                bad_symbol,
                2,
            ),
        ),
        row(
            "ERR-1120-KLINES-BAD-INTERVAL",
            "klines with interval 1H (intervals are case-sensitive): -1120, charged 2",
            "errors.md:133; web-socket-api.md:2094-2103",
            &[],
            public_row(
                r#"{"id":"err","method":"klines","params":{"symbol":"BTCUSDT","interval":"1H"}}"#,
                || golden::BAD_INTERVAL.error(),
                2,
            ),
        ),
        row(
            "ERR-1120-UIKLINES-BAD-INTERVAL",
            "uiKlines with interval 1mo: -1120, charged 2",
            "errors.md:133; web-socket-api.md:2166",
            &[],
            public_row(
                r#"{"id":"err","method":"uiKlines","params":{"symbol":"BTCUSDT","interval":"1mo"}}"#,
                || golden::BAD_INTERVAL.error(),
                2,
            ),
        ),
        row(
            "ERR-1122-EXCHANGEINFO-BAD-SYMBOL-STATUS",
            "exchangeInfo with symbolStatus OPEN: -1122, charged 20",
            "errors.md:139; web-socket-api.md:1501",
            &[],
            public_row(
                r#"{"id":"err","method":"exchangeInfo","params":{"symbolStatus":"OPEN"}}"#,
                || golden::INVALID_SYMBOL_STATUS.error(),
                20,
            ),
        ),
        row(
            "ERR-1122-TICKER-PRICE-BAD-SYMBOL-STATUS",
            "ticker.price with symbolStatus OPEN: -1122, charged 4",
            "errors.md:139; web-socket-api.md:3035",
            &[],
            public_row(
                r#"{"id":"err","method":"ticker.price","params":{"symbolStatus":"OPEN"}}"#,
                || golden::INVALID_SYMBOL_STATUS.error(),
                4,
            ),
        ),
        row(
            "ERR-1128-EXCHANGEINFO-SYMBOL-AND-SYMBOLS",
            "exchangeInfo with symbol and symbols: -1128 naming both, charged 20",
            "errors.md:149; web-socket-api.md:1508",
            &[],
            public_row(
                r#"{"id":"err","method":"exchangeInfo","params":{"symbol":"BTCUSDT","symbols":["BTCUSDT"]}}"#,
                || exclusive("symbol", "symbols"),
                20,
            ),
        ),
        row(
            "ERR-1128-TICKER-PRICE-SYMBOL-AND-SYMBOLS",
            "ticker.price with symbol and symbols: -1128 naming both, charged 4",
            "errors.md:149; web-socket-api.md:3042; docs/FIDELITY.md \"Market\" (ticker weights)",
            &[],
            public_row(
                r#"{"id":"err","method":"ticker.price","params":{"symbol":"BTCUSDT","symbols":["BTCUSDT"]}}"#,
                || exclusive("symbol", "symbols"),
                4,
            ),
        ),
        row(
            "ERR-1151-TICKER-BOOK-DUPLICATE-SYMBOLS",
            "ticker.book with a symbol twice in symbols: -1151, charged 4",
            "errors.md:174; web-socket-api.md:3103",
            &[],
            public_row(
                r#"{"id":"err","method":"ticker.book","params":{"symbols":["BTCUSDT","BTCUSDT"]}}"#,
                || golden::DUPLICATE_SYMBOLS.error(),
                4,
            ),
        ),
        row(
            "ERR-1102-DEPTH-SYMBOL-MISSING",
            "depth without symbol: -1102 naming 'symbol', charged 5",
            "errors.md:81; web-socket-api.md:1739",
            &[],
            public_row(
                r#"{"id":"err","method":"depth","params":{"limit":5}}"#,
                || spec::mandatory("symbol"),
                5,
            ),
        ),
        row(
            "ERR-1100-DEPTH-LIMIT-NOT-DIGITS",
            "depth with limit -1: -1100 with the integer range, charged the default 5",
            BASIS,
            IN_PROCESS,
            public_row(
                r#"{"id":"err","method":"depth","params":{"symbol":"BTCUSDT","limit":-1}}"#,
                || spec::illegal_chars("limit", "^[0-9]{1,20}$"),
                5,
            ),
        ),
        row(
            "ERR-1130-DEPTH-LIMIT-ZERO",
            "depth with limit 0: -1130, charged the default 5",
            BASIS,
            IN_PROCESS,
            public_row(
                r#"{"id":"err","method":"depth","params":{"symbol":"BTCUSDT","limit":0}}"#,
                || spec::invalid_parameter("limit"),
                5,
            ),
        ),
        row(
            "ERR-1121-ORDER-TEST-UNKNOWN-SYMBOL",
            "order.test on an unknown symbol: -1121, charged 1",
            "errors.md:136; web-socket-api.md:3984",
            KEY,
            order_row(
                &[("symbol", "\"NOSUCHSYMBOL\""), BUY, LIMIT, GTC, PRICE, QTY],
                bad_symbol,
            ),
        ),
        row(
            "ERR-1013-ORDER-TEST-PRICE-FILTER",
            "order.test with a price off BTCUSDT's tick: -1013 \"Filter failure: PRICE_FILTER\"",
            "filters.md:37; errors.md:428",
            KEY,
            order_row(
                &[BTC, BUY, LIMIT, GTC, ("price", "\"60000.005\""), QTY],
                || filter_failure("PRICE_FILTER"),
            ),
        ),
        row(
            "ERR-1013-ORDER-TEST-LOT-SIZE",
            "order.test with a quantity off BTCUSDT's step: -1013 \"Filter failure: LOT_SIZE\"",
            "filters.md:111; errors.md:430",
            KEY,
            order_row(
                &[BTC, BUY, LIMIT, GTC, PRICE, ("quantity", "\"0.001005\"")],
                || filter_failure("LOT_SIZE"),
            ),
        ),
        row(
            "ERR-1013-ORDER-TEST-MARKET-LOT-SIZE",
            "a MARKET order.test over BTCUSDT's MARKET_LOT_SIZE maxQty: -1013 \"Filter failure: \
             MARKET_LOT_SIZE\"",
            "filters.md:194; errors.md:434",
            KEY,
            order_row(&[BTC, BUY, MARKET, ("quantity", "\"150\"")], || {
                filter_failure("MARKET_LOT_SIZE")
            }),
        ),
        row(
            "ERR-1013-ORDER-TEST-NOTIONAL",
            "order.test for 0.00001 BTC at 60000 (0.6 USDT): -1013 \"Filter failure: NOTIONAL\"",
            "filters.md:157; errors.md:432",
            KEY,
            order_row(
                &[BTC, BUY, LIMIT, GTC, PRICE, ("quantity", "\"0.00001\"")],
                || filter_failure("NOTIONAL"),
            ),
        ),
        row(
            "ERR-1111-ORDER-TEST-PRICE-PRECISION",
            "order.test with a price of 9 decimals: -1111 naming 'price'",
            "errors.md:109; docs/FIDELITY.md \"Market\" (decimals: form and precision)",
            KEY,
            order_row(
                &[BTC, BUY, LIMIT, GTC, ("price", "\"60000.000000001\""), QTY],
                || golden::TOO_MUCH_PRECISION.render(&[("name", "price")]),
            ),
        ),
        row(
            "ERR-1106-ORDER-TEST-TIME-IN-FORCE-ON-MARKET",
            "a MARKET order.test with timeInForce: -1106 naming 'timeInForce'",
            "errors.md:101; docs/FIDELITY.md \"Market\" (-1106, not -1114)",
            KEY,
            order_row(&[BTC, BUY, MARKET, GTC, QTY], || {
                not_required("timeInForce")
            }),
        ),
        row(
            "ERR-1106-ORDER-TEST-PRICE-ON-MARKET",
            "a MARKET order.test with a price: -1106 naming 'price'",
            "errors.md:101; web-socket-api.md:3570-3648",
            KEY,
            order_row(&[BTC, BUY, MARKET, PRICE, QTY], || not_required("price")),
        ),
        row(
            "ERR-1102-ORDER-TEST-LIMIT-WITHOUT-TIME-IN-FORCE",
            "a LIMIT order.test without timeInForce: -1102 naming 'timeInForce'",
            "web-socket-api.md:3570-3648; errors.md:81",
            KEY,
            order_row(&[BTC, BUY, LIMIT, PRICE, QTY], || {
                spec::mandatory("timeInForce")
            }),
        ),
        row(
            "ERR-1102-ORDER-TEST-LIMIT-WITHOUT-PRICE",
            "a LIMIT order.test without price: -1102 naming 'price'",
            "web-socket-api.md:3570-3648; errors.md:81",
            KEY,
            order_row(&[BTC, BUY, LIMIT, GTC, QTY], || spec::mandatory("price")),
        ),
        row(
            "ERR-1102-ORDER-TEST-LIMIT-WITHOUT-QUANTITY",
            "a LIMIT order.test without quantity: -1102 naming 'quantity'",
            "web-socket-api.md:3570-3648; errors.md:81",
            KEY,
            order_row(&[BTC, BUY, LIMIT, GTC, PRICE], || {
                spec::mandatory("quantity")
            }),
        ),
        row(
            "ERR-1102-ORDER-TEST-LIMIT-MAKER-WITHOUT-PRICE",
            "a LIMIT_MAKER order.test without price: -1102 naming 'price'",
            "web-socket-api.md:3570-3648; errors.md:81",
            KEY,
            order_row(&[BTC, BUY, ("type", "\"LIMIT_MAKER\""), QTY], || {
                spec::mandatory("price")
            }),
        ),
        row(
            "ERR-1102-ORDER-TEST-MARKET-WITHOUT-QUANTITY",
            "a MARKET order.test with neither quantity nor quoteOrderQty: -1102 naming both",
            "web-socket-api.md:3570-3648; errors.md:84",
            KEY,
            order_row(&[BTC, BUY, MARKET], || either("quantity", "quoteOrderQty")),
        ),
        row(
            "ERR-1102-ORDER-TEST-STOP-LOSS-WITHOUT-STOP-PRICE",
            "a STOP_LOSS order.test with neither stopPrice nor trailingDelta: -1102 naming both",
            "web-socket-api.md:3570-3648; errors.md:84",
            KEY,
            order_row(&[BTC, BUY, ("type", "\"STOP_LOSS\""), QTY], || {
                either("stopPrice", "trailingDelta")
            }),
        ),
        row(
            "ERR-1102-ORDER-TEST-STOP-LOSS-LIMIT-WITHOUT-PRICE",
            "a STOP_LOSS_LIMIT order.test without price: -1102 naming 'price'",
            "web-socket-api.md:3570-3648; errors.md:81",
            KEY,
            order_row(
                &[
                    BTC,
                    BUY,
                    ("type", "\"STOP_LOSS_LIMIT\""),
                    GTC,
                    QTY,
                    ("stopPrice", "\"61000.00\""),
                ],
                || spec::mandatory("price"),
            ),
        ),
        row(
            "ERR-1115-ORDER-TEST-TIME-IN-FORCE",
            "order.test with timeInForce DAY: -1115",
            "errors.md:118",
            KEY,
            order_row(
                &[BTC, BUY, LIMIT, ("timeInForce", "\"DAY\""), PRICE, QTY],
                || golden::INVALID_TIME_IN_FORCE.error(),
            ),
        ),
        row(
            "ERR-1116-ORDER-TEST-ORDER-TYPE",
            "order.test with type TWAP: -1116",
            "errors.md:121",
            KEY,
            order_row(&[BTC, BUY, ("type", "\"TWAP\""), QTY], || {
                golden::INVALID_ORDER_TYPE.error()
            }),
        ),
        row(
            "ERR-1117-ORDER-TEST-SIDE",
            "order.test with side HOLD: -1117",
            "errors.md:124; docs/FIDELITY.md \"Market\" (invalid enum values)",
            KEY,
            order_row(&[BTC, ("side", "\"HOLD\""), LIMIT, GTC, PRICE, QTY], || {
                golden::INVALID_SIDE.error()
            }),
        ),
        row(
            "ERR-1130-ORDER-TEST-COMPUTE-COMMISSION-RATES",
            "order.test with computeCommissionRates \"yes\": -1130, charged 1",
            BASIS,
            IN_PROCESS,
            order_row(
                &[
                    BTC,
                    BUY,
                    LIMIT,
                    GTC,
                    PRICE,
                    QTY,
                    ("computeCommissionRates", "\"yes\""),
                ],
                || spec::invalid_parameter("computeCommissionRates"),
            ),
        ),
        custom_case(
            "ERR-1013-ORDER-TEST-MARKET-CLOSED",
            "order.test on a symbol set to HALT through the control plane: -1013 \"Market is \
             closed.\"",
            "errors.md:376; docs/FIDELITY.md \"Market\" (symbol status)",
            &[Need::PrivateServers],
            custom!(market_closed),
        ),
        row(
            "ERR-1121-ACCOUNT-COMMISSION-UNKNOWN-SYMBOL",
            "account.commission for an unknown symbol: -1121, charged 20",
            "errors.md:136; web-socket-api.md:7967",
            KEY,
            signed_row(
                "account.commission",
                &[("symbol", "\"NOSUCHSYMBOL\"")],
                bad_symbol,
                20,
            ),
        ),
        row(
            "ERR-1102-ACCOUNT-COMMISSION-SYMBOL-MISSING",
            "account.commission without symbol: -1102 naming 'symbol', charged 20",
            "errors.md:81; web-socket-api.md:7986",
            KEY,
            signed_row("account.commission", &[], || spec::mandatory("symbol"), 20),
        ),
    ]
}

/// A private mock with BTCUSDT halted: a well-formed LIMIT order is refused before any
/// filter.
async fn market_closed(env: &mut Env, transcript: &mut Transcript) -> RunResult {
    let (server, mut env) =
        errors::private(env, in_process_builder(), spec::DOCUMENTED_WEIGHT_LIMIT).await?;
    server
        .set_symbol_status(SYMBOL, mock_server::SymbolStatus::Halt)
        .map_err(|e| format!("the control plane refused HALT: {e:?}"))?;
    let mut wire = env.connect("").await.map_err(|e| e.to_string())?;
    let pair = env.keys.primary.clone();
    let text = errors::signed_request(
        &env,
        "order.test",
        &pair,
        &[BTC, BUY, LIMIT, GTC, PRICE, QTY],
        -1000,
        false,
        &[],
    );
    let refused = errors::failing(&env, golden::MARKET_CLOSED.error(), None, 1);
    let outcome = errors::exchange(&mut env, &mut wire, &text, &refused, transcript).await;
    wire.close().await;
    outcome
}

// The property case.

/// Where a generated price lies, before it is placed against the symbol's rules.
#[derive(Clone, Copy, Debug)]
enum PriceAt {
    /// `ticks` ticks from the last price.
    Near(i32),
    /// At `minPrice`, or one tick (or half of it) below.
    Min { below: bool },
    /// At `maxPrice`, or one tick above.
    Max { above: bool },
}

/// Where a generated quantity lies.
#[derive(Clone, Copy, Debug)]
enum QtyAt {
    /// `steps` steps from the quantity of the minimum notional at the order's price.
    MinNotional(i32),
    /// `steps` steps from the quantity of the maximum notional.
    MaxNotional(i32),
    /// `steps` steps from `minQty` (LOT_SIZE).
    MinQty(i32),
    /// `steps` steps from `maxQty` (LOT_SIZE).
    MaxQty(i32),
    /// `steps` steps from MARKET_LOT_SIZE's `maxQty`.
    MarketMaxQty(i32),
}

/// One generated order, relative to the symbol's rules.
#[derive(Clone, Copy, Debug)]
struct Draw {
    market: bool,
    buy: bool,
    price: PriceAt,
    off_tick: bool,
    qty: QtyAt,
    off_step: bool,
}

fn draws() -> impl Strategy<Value = Draw> {
    use proptest::prelude::*;
    let price = prop_oneof![
        4 => (-40i32..=40).prop_map(PriceAt::Near),
        1 => any::<bool>().prop_map(|below| PriceAt::Min { below }),
        1 => any::<bool>().prop_map(|above| PriceAt::Max { above }),
    ];
    let steps = -3i32..=3;
    let qty = prop_oneof![
        4 => steps.clone().prop_map(QtyAt::MinNotional),
        1 => steps.clone().prop_map(QtyAt::MaxNotional),
        2 => steps.clone().prop_map(QtyAt::MinQty),
        1 => steps.clone().prop_map(QtyAt::MaxQty),
        1 => steps.prop_map(QtyAt::MarketMaxQty),
    ];
    (
        proptest::bool::weighted(0.3),
        any::<bool>(),
        price,
        proptest::bool::weighted(0.25),
        qty,
        proptest::bool::weighted(0.25),
    )
        .prop_map(|(market, buy, price, off_tick, qty, off_step)| Draw {
            market,
            buy,
            price,
            off_tick,
            qty,
            off_step,
        })
}

/// An order as sent: `price` `None` for MARKET.
#[derive(Clone, Copy, Debug)]
struct Order {
    market: bool,
    buy: bool,
    price: Option<Decimal>,
    quantity: Decimal,
}

impl Order {
    fn params(&self) -> Vec<(&'static str, String)> {
        let side = if self.buy { "BUY" } else { "SELL" };
        let mut params = vec![("symbol", js(SYMBOL)), ("side", js(side))];
        match self.price {
            Some(price) => params.extend([
                ("type", js("LIMIT")),
                ("timeInForce", js("GTC")),
                ("price", js(&text_of(price))),
            ]),
            None => params.push(("type", js("MARKET"))),
        }
        params.push(("quantity", js(&text_of(self.quantity))));
        params
    }
}

impl std::fmt::Display for Order {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let side = if self.buy { "BUY" } else { "SELL" };
        match self.price {
            Some(price) => write!(
                f,
                "LIMIT {side} {} at {}",
                text_of(self.quantity),
                text_of(price)
            ),
            None => write!(f, "MARKET {side} {}", text_of(self.quantity)),
        }
    }
}

/// The smallest amount `places` decimals can write.
fn unit(places: u32) -> Decimal {
    Decimal::new(1, places.min(28))
}

/// `value` cut to `places` decimals.
fn cut(value: Decimal, places: u32) -> Decimal {
    value.round_dp_with_strategy(places, RoundingStrategy::ToZero)
}

/// Places `draw` against the market: every value within the symbol's precisions, so that
/// -1111 never answers; `None` when the draw makes no positive price or quantity.
fn place(draw: &Draw, market: &Market) -> Option<Order> {
    let rules = &market.rules;
    let tick = rules.tick();
    let step = rules.step();
    let quote_unit = unit(rules.quote_precision);
    let base_unit = unit(rules.base_precision);
    let mut price = match (draw.price, rules.price) {
        (PriceAt::Near(ticks), _) => floor_to(market.last, tick) + Decimal::from(ticks) * tick,
        (PriceAt::Min { below }, Some(range)) if below => {
            if range.min > tick {
                range.min - tick
            } else {
                cut(range.min / Decimal::TWO, rules.quote_precision)
            }
        }
        (PriceAt::Min { .. }, Some(range)) => range.min,
        (PriceAt::Max { above }, Some(range)) if !range.max.is_zero() => {
            range.max + if above { tick } else { Decimal::ZERO }
        }
        _ => floor_to(market.last, tick),
    };
    if draw.off_tick && quote_unit < tick {
        price += quote_unit;
    }
    let valued_at = if draw.market { market.average } else { price };
    if price <= Decimal::ZERO || valued_at <= Decimal::ZERO {
        return None;
    }
    let notional = rules.notional;
    let lot = rules.lot;
    let (anchor, steps) = match draw.qty {
        QtyAt::MinNotional(s) => (notional.map(|n| ceil_to(n.min / valued_at, step)), s),
        QtyAt::MaxNotional(s) => (
            notional
                .filter(|n| !n.max.is_zero())
                .map(|n| ceil_to(n.max / valued_at, step)),
            s,
        ),
        QtyAt::MinQty(s) => (lot.map(|l| l.min), s),
        QtyAt::MaxQty(s) => (lot.map(|l| l.max), s),
        QtyAt::MarketMaxQty(s) => (rules.market_lot.map(|m| m.max).filter(|m| !m.is_zero()), s),
    };
    let anchor = anchor.unwrap_or(step.max(base_unit));
    let mut quantity = anchor + Decimal::from(steps) * step.max(base_unit);
    if draw.off_step && base_unit < step {
        quantity += base_unit;
    }
    let quantity = cut(quantity, rules.base_precision);
    (quantity > Decimal::ZERO).then_some(Order {
        market: draw.market,
        buy: draw.buy,
        price: (!draw.market).then_some(price),
        quantity,
    })
}

/// What the harness concludes of an order from the symbol's rules.
#[derive(Debug, Default)]
struct Judgement {
    /// The filters it breaks.
    broken: Vec<&'static str>,
    /// A comparison with a live price too close to call.
    too_close: bool,
}

/// `x` within `margin` (a fraction) of `bound`.
fn near(x: Decimal, bound: Decimal, margin: Decimal) -> bool {
    !margin.is_zero() && (x - bound).abs() <= bound.abs() * margin
}

fn breaks_range(range: &Range, value: Decimal, min_applies: bool) -> bool {
    (min_applies && value < range.min)
        || (!range.max.is_zero() && value > range.max)
        || (!range.step.is_zero() && !(value % range.step).is_zero())
}

/// Judges `order` by filters.md: PRICE_FILTER (`minPrice`, `maxPrice`, `tickSize`, each off
/// at zero), PERCENT_PRICE_BY_SIDE when listed, LOT_SIZE, MARKET_LOT_SIZE for MARKET orders,
/// NOTIONAL at `price` or, for MARKET orders, the average price under `applyMinToMarket`
/// and `applyMaxToMarket`. On a live target, `margin` is how close to a bound a value
/// depending on the moving price may come before it is not judged.
fn judge(order: &Order, market: &Market, margin: Decimal) -> Judgement {
    let rules = &market.rules;
    let mut judgement = Judgement::default();
    if let Some(price) = order.price {
        if let Some(range) = &rules.price {
            let min_on = !range.min.is_zero();
            if breaks_range(range, price, min_on) {
                judgement.broken.push("PRICE_FILTER");
            }
        }
        if let Some(side) = &rules.by_side {
            let (up, down) = if order.buy {
                (side.bid_up, side.bid_down)
            } else {
                (side.ask_up, side.ask_down)
            };
            let (high, low) = (market.average * up, market.average * down);
            if price > high || price < low {
                judgement.broken.push("PERCENT_PRICE_BY_SIDE");
            }
            judgement.too_close |= near(price, high, margin) || near(price, low, margin);
        }
    }
    if let Some(lot) = &rules.lot {
        if breaks_range(lot, order.quantity, true) {
            judgement.broken.push("LOT_SIZE");
        }
    }
    if let (true, Some(lot)) = (order.market, &rules.market_lot) {
        if breaks_range(lot, order.quantity, true) {
            judgement.broken.push("MARKET_LOT_SIZE");
        }
    }
    if let Some(notional) = &rules.notional {
        let value = order.price.unwrap_or(market.average) * order.quantity;
        let min_on = !order.market || notional.apply_min_to_market;
        let max_on = (!order.market || notional.apply_max_to_market) && !notional.max.is_zero();
        if (min_on && value < notional.min) || (max_on && value > notional.max) {
            judgement.broken.push("NOTIONAL");
        }
        if order.market {
            judgement.too_close |= (min_on && near(value, notional.min, margin))
                || (max_on && near(value, notional.max, margin));
        }
    }
    judgement
}

/// What sending one order found: `Err` says how the reply contradicts the judgement.
async fn try_order(
    env: &mut Env,
    wire: &mut Wire,
    order: &Order,
    judgement: &Judgement,
    transcript: &mut Transcript,
) -> Result<String, String> {
    env.pace(1).await;
    let text = signed(env, "order.test", &order.params());
    wire.send_text(&text).await.map_err(|e| e.to_string())?;
    let (_, reply) = wire
        .reply()
        .await
        .map_err(|e| format!("{order}: no reply: {e}"))?;
    transcript.push(Exchange::new(&text, vec![reply.clone()]));
    let value: Value = serde_json::from_str(&reply).map_err(|e| format!("{order}: {e}"))?;
    match value["rateLimits"][0]["count"].as_u64() {
        Some(count) => {
            let count = u32::try_from(count).unwrap_or(u32::MAX);
            env.weight
                .observe(1, count)
                .map_err(|e| format!("{order}: {e}"))?;
        }
        None => return Err(format!("{order}: no rateLimits in {reply}")),
    }
    let broken = &judgement.broken;
    if value["status"] == 200 {
        return if broken.is_empty() && value["result"] == serde_json::json!({}) {
            Ok("accepted".to_owned())
        } else if broken.is_empty() {
            Err(format!(
                "{order}: accepted, but with {}, expected {{}}",
                value["result"]
            ))
        } else {
            Err(format!("{order}: accepted, but it breaks {broken:?}"))
        };
    }
    let msg = value["error"]["msg"].as_str().unwrap_or_default();
    let filter = (value["error"]["code"] == -1013)
        .then(|| msg.strip_prefix("Filter failure: "))
        .flatten();
    match filter {
        Some(name) if broken.contains(&name) => Ok(format!("refused {name}")),
        Some(name) if broken.is_empty() => Err(format!(
            "{order}: refused for {name}, but it passes every filter: {reply}"
        )),
        Some(name) => Err(format!(
            "{order}: refused for {name}, but it breaks {broken:?} only: {reply}"
        )),
        None => Err(format!(
            "{order}: {reply}, expected {} ",
            if broken.is_empty() {
                "{} at status 200".to_owned()
            } else {
                format!("-1013 \"Filter failure: \" naming one of {broken:?}")
            }
        )),
    }
}

/// MKT-PROP-ORDER-TEST-FILTERS: up to 64 generated orders on one connection, from the run's
/// seed; a contradiction is shrunk (proptest's simplify and complicate) to a simplest order
/// that still shows it.
async fn order_test_filters(env: &mut Env, transcript: &mut Transcript) -> RunResult {
    let mut wire = open(env).await?;
    let outcome = order_test_filters_on(env, &mut wire, transcript).await;
    wire.close().await;
    outcome
}

async fn order_test_filters_on(
    env: &mut Env,
    wire: &mut Wire,
    transcript: &mut Transcript,
) -> RunResult {
    let market = read_market(env, wire, transcript).await?;
    let margin = if env.is_frozen() {
        Decimal::ZERO
    } else {
        Decimal::new(2, 2)
    };
    let orders = (env.cases * 4).clamp(16, 64);
    let mut runner = crate::property::runner(env.seed);
    let strategy = draws();
    let mut tally = std::collections::BTreeMap::<String, u32>::new();
    for n in 0..orders {
        let mut tree = strategy
            .new_tree(&mut runner)
            .map_err(|reason| format!("cannot generate an order: {reason}"))?;
        let Some(order) = place(&tree.current(), &market) else {
            *tally.entry("not placed".to_owned()).or_default() += 1;
            continue;
        };
        let judgement = judge(&order, &market, margin);
        if judgement.too_close {
            *tally
                .entry("too close to a live bound".to_owned())
                .or_default() += 1;
            continue;
        }
        match try_order(env, wire, &order, &judgement, transcript).await {
            Ok(kind) => *tally.entry(kind).or_default() += 1,
            Err(first) => {
                let (minimal, steps) =
                    shrink(env, wire, &mut tree, &market, margin, first, transcript).await;
                return Err(format!(
                    "seed {seed} (replay: --only MKT-PROP-ORDER-TEST-FILTERS --seed {seed}): \
                     order {n} of {orders}; shrunk in {steps} steps to:\n{minimal}",
                    seed = env.run_seed,
                    n = n + 1,
                ));
            }
        }
    }
    let shown: Vec<String> = tally.iter().map(|(k, n)| format!("{k} x{n}")).collect();
    env.notes
        .push(format!("{orders} orders: {}", shown.join(", ")));
    Ok(())
}

/// Proptest's shrinking loop over one order: simplify while it still contradicts the
/// judgement, complicate back when a simplification does not.
async fn shrink<T: ValueTree<Value = Draw>>(
    env: &mut Env,
    wire: &mut Wire,
    tree: &mut T,
    market: &Market,
    margin: Decimal,
    first: String,
    transcript: &mut Transcript,
) -> (String, u32) {
    let mut best = first;
    let mut steps = 0;
    if !tree.simplify() {
        return (best, steps);
    }
    while steps < env.max_shrink_iters.min(64) {
        steps += 1;
        let failed = match place(&tree.current(), market) {
            Some(order) => {
                let judgement = judge(&order, market, margin);
                if judgement.too_close {
                    None
                } else {
                    try_order(env, wire, &order, &judgement, transcript)
                        .await
                        .err()
                }
            }
            None => None,
        };
        let more = match failed {
            Some(found) => {
                best = found;
                tree.simplify()
            }
            None => tree.complicate(),
        };
        if !more {
            break;
        }
    }
    (best, steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mock_market() -> Market {
        let d = |t: &str| Decimal::from_str(t).unwrap_or_default();
        Market {
            rules: Rules {
                base_precision: 8,
                quote_precision: 8,
                price: Some(Range {
                    min: d("0.01"),
                    max: d("1000000"),
                    step: d("0.01"),
                }),
                lot: Some(Range {
                    min: d("0.00001"),
                    max: d("9000"),
                    step: d("0.00001"),
                }),
                market_lot: Some(Range {
                    min: d("0"),
                    max: d("100"),
                    step: d("0"),
                }),
                notional: Some(Notional {
                    min: d("5"),
                    apply_min_to_market: true,
                    max: d("9000000"),
                    apply_max_to_market: false,
                }),
                by_side: None,
            },
            last: d("60000"),
            average: d("60000"),
        }
    }

    fn order(market: bool, price: &str, quantity: &str) -> Order {
        let d = |t: &str| Decimal::from_str(t).unwrap_or_default();
        Order {
            market,
            buy: true,
            price: (!market).then(|| d(price)),
            quantity: d(quantity),
        }
    }

    #[test]
    fn an_order_off_the_tick_or_step_or_under_the_notional_breaks_that_filter_only() {
        let market = mock_market();
        let broken = |o: Order| judge(&o, &market, Decimal::ZERO).broken;
        assert!(broken(order(false, "60000.00", "0.001")).is_empty());
        assert_eq!(broken(order(false, "60000.005", "0.001")), ["PRICE_FILTER"]);
        assert_eq!(broken(order(false, "60000", "0.001005")), ["LOT_SIZE"]);
        assert_eq!(broken(order(false, "60000", "0.00001")), ["NOTIONAL"]);
        assert_eq!(broken(order(true, "", "150")), ["MARKET_LOT_SIZE"]);
        assert!(
            broken(order(true, "", "0.0001")).is_empty(),
            "6 USDT at market"
        );
        assert_eq!(
            broken(order(true, "", "0.00008")),
            ["NOTIONAL"],
            "4.8 USDT at market"
        );
    }

    #[test]
    fn every_placed_order_is_within_the_symbols_precisions() {
        let market = mock_market();
        let mut runner = crate::property::runner(7);
        for _ in 0..500 {
            let tree = draws().new_tree(&mut runner).expect("a draw");
            if let Some(order) = place(&tree.current(), &market) {
                assert!(order.quantity.normalize().scale() <= 8, "{order}");
                assert!(
                    order.price.is_none_or(|p| p.normalize().scale() <= 8),
                    "{order}"
                );
            }
        }
    }

    #[test]
    fn members_may_have_newer_ones_between_them_except_against_the_mock() {
        let value = serde_json::json!({"a": 1, "new": 2, "b": 3});
        let mut problems = Vec::new();
        check_members("x", &value, &["a", "b"], &[], false, &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        check_members("x", &value, &["a", "b"], &[], true, &mut problems);
        assert_eq!(problems.len(), 1);
        let mut problems = Vec::new();
        check_members("x", &value, &["b", "a"], &[], false, &mut problems);
        assert_eq!(problems.len(), 1, "out of order");
    }
}
