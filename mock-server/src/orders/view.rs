//! Orders, trades and balances as the API writes them, members in the documented order,
//! times in ms (callers convert to the connection's unit): `executionReport` and
//! `outboundAccountPosition` (`user-data-stream.md:29`, `:73`), the `order.place` `ACK`,
//! `RESULT` and `FULL` results (`web-socket-api.md:3798`-`:3955`), `order.status`
//! (`:7088`), `order.cancel` (`:4196`) and `myTrades` (`:7680`).
//!
//! Prices and quote amounts are written at the quote asset's precision, quantities at the
//! base asset's, commissions at the commission precision of their asset (8 for another).

use serde_json::{json, Map, Value};

use super::wallet::Holding;
use super::{Execution, Fill, Order, OrderStatus};
use crate::clock::Timestamp;
use crate::envelope::{push_json_str, Json, TimeUnit};
use crate::market::order_check::{Side, TimeInForce};
use crate::market::{fixed, SymbolConfig};

fn price(config: &SymbolConfig, value: rust_decimal::Decimal) -> String {
    fixed(value, config.quote_asset_precision)
}

fn qty(config: &SymbolConfig, value: rust_decimal::Decimal) -> String {
    fixed(value, config.base_asset_precision)
}

fn commission(config: &SymbolConfig, fill: &Fill) -> String {
    let places = if fill.commission_asset == config.base_asset {
        config.base_commission_precision
    } else if fill.commission_asset == config.quote_asset {
        config.quote_commission_precision
    } else {
        8
    };
    fixed(fill.commission, places)
}

fn side(side: Side) -> &'static str {
    match side {
        Side::Buy => "BUY",
        Side::Sell => "SELL",
    }
}

fn time_in_force(tif: TimeInForce) -> &'static str {
    match tif {
        TimeInForce::Gtc => "GTC",
        TimeInForce::Ioc => "IOC",
        TimeInForce::Fok => "FOK",
    }
}

fn ms(at: Timestamp) -> i64 {
    at.as_millis()
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// The `executionReport` of one change to `order` (its state after the change): `x` is
/// `execution`, `trade` the fill of a `TRADE`. `W` only once the order works, `j`/`J` only
/// if sent, `eR` only when expired, after `V` (fidelity notes).
pub(crate) fn execution_report(
    order: &Order,
    config: &SymbolConfig,
    execution: Execution,
    trade: Option<&Fill>,
    execution_id: u64,
    now: Timestamp,
) -> Value {
    let (client, original) = match (&order.cancel_client_order_id, execution) {
        (Some(cancel), Execution::Canceled) => (cancel.as_str(), order.client_order_id.as_str()),
        _ => (order.client_order_id.as_str(), ""),
    };
    let zero = rust_decimal::Decimal::ZERO;
    let on_book = match execution {
        Execution::New => order.working_time.is_some(),
        _ => order.is_resting(),
    };
    let mut report = object(json!({
        "e": "executionReport",
        "E": ms(now),
        "s": order.symbol,
        "c": client,
        "S": side(order.side),
        "o": order.order_type.as_str(),
        "f": time_in_force(order.time_in_force),
        "q": qty(config, order.orig_qty),
        "p": price(config, order.price),
        "P": price(config, order.stop_price.unwrap_or(zero)),
        "F": qty(config, order.iceberg_qty.unwrap_or(zero)),
        "g": -1,
        "C": original,
        "x": execution.as_str(),
        "X": order.status.as_str(),
        "r": "NONE",
        "i": order.id,
        "l": qty(config, trade.map_or(zero, |t| t.qty)),
        "z": qty(config, order.executed_qty),
        "L": price(config, trade.map_or(zero, |t| t.price)),
        "n": trade.map_or_else(|| "0".to_owned(), |t| commission(config, t)),
        "N": trade.map(|t| t.commission_asset.clone()),
        "T": ms(now),
        "t": trade.map_or(-1, |t| t.id as i64),
        "I": execution_id,
        "w": on_book,
        "m": trade.is_some_and(|t| t.is_maker),
        "M": trade.is_some(),
        "O": ms(order.time),
        "Z": price(config, order.cummulative_quote_qty),
        "Y": price(config, trade.map_or(zero, |t| t.quote_qty)),
        "Q": price(config, order.orig_quote_order_qty),
    }));
    if let Some(working) = order.working_time {
        report.insert("W".into(), json!(ms(working)));
    }
    report.insert("V".into(), json!(order.self_trade_prevention_mode.as_str()));
    if let Some(id) = order.strategy_id {
        report.insert("j".into(), json!(id));
    }
    if let Some(kind) = order.strategy_type {
        report.insert("J".into(), json!(kind));
    }
    if let (OrderStatus::Expired, Some(reason)) = (order.status, order.expiry_reason) {
        report.insert("eR".into(), json!(reason.as_str()));
    }
    Value::Object(report)
}

/// The `outboundAccountPosition` for `holdings`, written as `account.status` writes
/// balances (8 places).
pub(crate) fn account_position(holdings: &[&Holding], now: Timestamp) -> Value {
    let balances: Vec<Value> = holdings
        .iter()
        .map(|h| json!({"a": h.asset, "f": fixed(h.free, 8), "l": fixed(h.locked, 8)}))
        .collect();
    json!({
        "e": "outboundAccountPosition",
        "E": ms(now),
        "u": ms(now),
        "B": balances,
    })
}

/// The `ACK` result of `order.place`.
/// The `ACK` result of `order.place` as a typed value, its `transactTime` in `unit`: what a
/// placement answers most often, serialized without a map in between.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Ack<'a> {
    symbol: &'a str,
    order_id: u64,
    order_list_id: i64,
    client_order_id: &'a str,
    transact_time: i64,
}

impl<'a> Ack<'a> {
    /// `order`'s acknowledgement; its time in ms as [`ack`] writes it, then in `unit`.
    pub fn new(order: &'a Order, unit: TimeUnit) -> Self {
        Ack {
            symbol: &order.symbol,
            order_id: order.id,
            order_list_id: -1,
            client_order_id: &order.client_order_id,
            transact_time: unit.render(Timestamp::from_millis(ms(order.time))),
        }
    }
}

impl Ack<'_> {
    /// The JSON of the acknowledgement, written by hand: it answers most placements, and
    /// serde's general path costs more than the placement itself. The tests below hold it to
    /// what serde writes.
    pub fn to_json(&self) -> Json {
        let mut numbers = itoa::Buffer::new();
        let mut out = String::with_capacity(96 + self.symbol.len() + self.client_order_id.len());
        out.push_str(r#"{"symbol":"#);
        push_json_str(&mut out, self.symbol);
        out.push_str(r#","orderId":"#);
        out.push_str(numbers.format(self.order_id));
        out.push_str(r#","orderListId":"#);
        out.push_str(numbers.format(self.order_list_id));
        out.push_str(r#","clientOrderId":"#);
        push_json_str(&mut out, self.client_order_id);
        out.push_str(r#","transactTime":"#);
        out.push_str(numbers.format(self.transact_time));
        out.push('}');
        Json::written(out)
    }
}

/// The `ACK` result of `order.place`, times in ms (the start of `RESULT` and `FULL`).
pub(crate) fn ack(order: &Order) -> Value {
    // Plain data: serializing it cannot fail.
    serde_json::to_value(Ack::new(order, TimeUnit::Millisecond)).unwrap_or_default()
}

/// The `RESULT` result of `order.place`; with `fills`, the `FULL` one (its `fills` before
/// `selfTradePreventionMode`, as `faqs_market_orders_faq.md` shows).
pub(crate) fn result(order: &Order, config: &SymbolConfig, fills: Option<&[&Fill]>) -> Value {
    let mut result = object(ack(order));
    result.extend(execution(order, config));
    conditional(&mut result, order, config);
    result.insert(
        "workingTime".into(),
        json!(order.working_time.map_or(-1, ms)),
    );
    if let Some(fills) = fills {
        let fills: Vec<Value> = fills.iter().map(|f| fill(f, config)).collect();
        result.insert("fills".into(), Value::Array(fills));
    }
    result.insert(
        "selfTradePreventionMode".into(),
        json!(order.self_trade_prevention_mode.as_str()),
    );
    expiry(&mut result, order);
    Value::Object(result)
}

/// What an order has executed, in the order the `RESULT` and `order.cancel` replies list it
/// (`web-socket-api.md:3831`, `:4196`): its price and quantities, status, time in force,
/// type and side.
fn execution(order: &Order, config: &SymbolConfig) -> Map<String, Value> {
    object(json!({
        "price": price(config, order.price),
        "origQty": qty(config, order.orig_qty),
        "executedQty": qty(config, order.executed_qty),
        "origQuoteOrderQty": price(config, order.orig_quote_order_qty),
        "cummulativeQuoteQty": price(config, order.cummulative_quote_qty),
        "status": order.status.as_str(),
        "timeInForce": time_in_force(order.time_in_force),
        "type": order.order_type.as_str(),
        "side": side(order.side),
    }))
}

/// `stopPrice`, `icebergQty`, `strategyId`, `strategyType` where they apply
/// (`web-socket-api.md:3967`).
fn conditional(map: &mut Map<String, Value>, order: &Order, config: &SymbolConfig) {
    if let Some(stop) = order.stop_price {
        map.insert("stopPrice".into(), json!(price(config, stop)));
    }
    if let Some(iceberg) = order.iceberg_qty {
        map.insert("icebergQty".into(), json!(qty(config, iceberg)));
    }
    if let Some(id) = order.strategy_id {
        map.insert("strategyId".into(), json!(id));
    }
    if let Some(kind) = order.strategy_type {
        map.insert("strategyType".into(), json!(kind));
    }
}

fn expiry(map: &mut Map<String, Value>, order: &Order) {
    if let (OrderStatus::Expired, Some(reason)) = (order.status, order.expiry_reason) {
        map.insert("expiryReason".into(), json!(reason.as_str()));
    }
}

/// One entry of a `FULL` result's `fills`.
fn fill(fill: &Fill, config: &SymbolConfig) -> Value {
    json!({
        "price": price(config, fill.price),
        "qty": qty(config, fill.qty),
        "commission": commission(config, fill),
        "commissionAsset": fill.commission_asset,
        "tradeId": fill.id,
    })
}

/// An order as `order.status`, `openOrders.status` and `allOrders` list it
/// (`web-socket-api.md:7088`): `stopPrice` and `icebergQty` always, `workingTime` -1 while a
/// stop waits.
pub(crate) fn status(order: &Order, config: &SymbolConfig) -> Value {
    let zero = rust_decimal::Decimal::ZERO;
    let mut status = object(json!({
        "symbol": order.symbol,
        "orderId": order.id,
        "orderListId": -1,
        "clientOrderId": order.client_order_id,
        "price": price(config, order.price),
        "origQty": qty(config, order.orig_qty),
        "executedQty": qty(config, order.executed_qty),
        "cummulativeQuoteQty": price(config, order.cummulative_quote_qty),
        "status": order.status.as_str(),
        "timeInForce": time_in_force(order.time_in_force),
        "type": order.order_type.as_str(),
        "side": side(order.side),
        "stopPrice": price(config, order.stop_price.unwrap_or(zero)),
        "icebergQty": qty(config, order.iceberg_qty.unwrap_or(zero)),
        "time": ms(order.time),
        "updateTime": ms(order.update_time),
        "isWorking": order.working_time.is_some(),
        "workingTime": order.working_time.map_or(-1, ms),
        "origQuoteOrderQty": price(config, order.orig_quote_order_qty),
    }));
    if let Some(id) = order.strategy_id {
        status.insert("strategyId".into(), json!(id));
    }
    if let Some(kind) = order.strategy_type {
        status.insert("strategyType".into(), json!(kind));
    }
    status.insert(
        "selfTradePreventionMode".into(),
        json!(order.self_trade_prevention_mode.as_str()),
    );
    expiry(&mut status, order);
    Value::Object(status)
}

/// A canceled order as `order.cancel` answers it (`web-socket-api.md:4196`).
pub(crate) fn canceled(order: &Order, config: &SymbolConfig) -> Value {
    let mut canceled = object(json!({
        "symbol": order.symbol,
        "origClientOrderId": order.client_order_id,
        "orderId": order.id,
        "orderListId": -1,
        "clientOrderId": order.cancel_client_order_id.as_deref().unwrap_or(""),
        "transactTime": ms(order.update_time),
    }));
    canceled.extend(execution(order, config));
    conditional(&mut canceled, order, config);
    canceled.insert(
        "selfTradePreventionMode".into(),
        json!(order.self_trade_prevention_mode.as_str()),
    );
    Value::Object(canceled)
}

/// A trade as `myTrades` lists it (`web-socket-api.md:7680`).
pub(crate) fn trade(fill: &Fill, config: &SymbolConfig) -> Value {
    json!({
        "symbol": fill.symbol,
        "id": fill.id,
        "orderId": fill.order_id,
        "orderListId": -1,
        "price": price(config, fill.price),
        "qty": qty(config, fill.qty),
        "quoteQty": price(config, fill.quote_qty),
        "commission": commission(config, fill),
        "commissionAsset": fill.commission_asset,
        "time": ms(fill.time),
        "isBuyer": fill.is_buyer,
        "isMaker": fill.is_maker,
        "isBestMatch": true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn the_hand_written_ack_is_the_serde_one(
            symbol in "[A-Z0-9]{1,20}|\\PC{0,8}",
            client_order_id in "[a-zA-Z0-9_-]{1,36}|[\\\\\"\\u{0}-\\u{1f}\\u{7f}\\u{e9}a]{0,6}",
            order_id in proptest::num::u64::ANY,
            order_list_id in proptest::num::i64::ANY,
            transact_time in proptest::num::i64::ANY,
        ) {
            let ack = Ack {
                symbol: &symbol,
                order_id,
                order_list_id,
                client_order_id: &client_order_id,
                transact_time,
            };
            let serde = serde_json::to_string(&ack).expect("plain data");
            let written = ack.to_json();
            proptest::prop_assert_eq!(written.get(), serde.as_str());
        }
    }
}
