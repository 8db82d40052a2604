//! The checks a new order passes before it reaches the matching engine: what `order.test`
//! does in full and `order.place` does first (`web-socket-api.md:3513`, `:3984`). No I/O:
//! params as text and the market in, the order or the first error out.
//!
//! Binance documents no order among these checks. This module's (docs/FIDELITY.md,
//! "Order checks"), first failure wins:
//!
//! 1. `symbol`: sent (-1102), listed (-1121).
//! 2. `side`: sent (-1102), letters only (-1100, legal range `^[a-zA-Z]{1,36}$`, as a real
//!    server answered), `BUY` or `SELL` (-1117).
//! 3. `type`: sent (-1102), an order type (-1116).
//! 4. The symbol is `TRADING` (-1013 "Market is closed.").
//! 5. The symbol lists the type (-1013 "Stop loss orders are not supported for this
//!    symbol." and the like).
//! 6. Enumerations and identifiers, in the order `order.place` lists them: `timeInForce`
//!    (-1115), `newClientOrderId` (-1118 empty, -1100 outside `^[a-zA-Z0-9-_]{1,36}$`),
//!    `newOrderRespType`, `selfTradePreventionMode` (unknown, or not allowed on the symbol),
//!    `pegPriceType`, `pegOffsetType` (each -1130).
//! 7. Numbers, in that order too: `price`, `quantity`, `quoteOrderQty`, `stopPrice`,
//!    `icebergQty` (-1100 not a decimal, -1111 more places than the precision: prices and
//!    `quoteOrderQty` against the quote asset's, quantities against the base asset's, trailing
//!    zeros not counted), `trailingDelta`, `strategyId`, `strategyType`, `pegOffsetValue`
//!    (-1100 not an unsigned integer).
//! 8. The type's mandatory params (-1102; "Param '%s' or '%s' must be sent" for `quantity` or
//!    `quoteOrderQty`, `stopPrice` or `trailingDelta`); `price` may be left out of a pegged
//!    order.
//! 9. Params the type does not take (-1106): `timeInForce`, `price`, `quoteOrderQty` (also
//!    when sent with `quantity`), `stopPrice`, `trailingDelta`, `icebergQty`, the peg params.
//! 10. Combinations: `pegOffsetValue` with `pegOffsetType` (-1128), `strategyType` ≥ 1000000
//!     (-1134), `icebergQty` only with `GTC` (-1014), and what the symbol allows (-1013):
//!     `quoteOrderQty`, `icebergQty`, `trailingDelta`, pegs (which price peg suits which type).
//! 11. Filters (-1013 "Filter failure: …"): `PRICE_FILTER` on `price` then `stopPrice`;
//!     `LOT_SIZE` on `quantity` then `icebergQty`; `MARKET_LOT_SIZE` on a `MARKET` order's
//!     `quantity`; "IcebergQty exceeds QTY."; "Price * QTY is zero or less."; `NOTIONAL`.
//!
//! `NOTIONAL` values a limit order at `price` × `quantity`; a `MARKET` order at the market
//! price × `quantity`, or at `quoteOrderQty`, a `STOP_LOSS` or `TAKE_PROFIT` order at
//! `stopPrice` (else the market price) × `quantity`, these three under `applyMinToMarket` and
//! `applyMaxToMarket`. A pegged order without `price` is not valued.
//!
//! Not checked here: balances, whether an order would take, client ids already in use.

use std::str::FromStr as _;

use rust_decimal::Decimal;

use super::{Market, OrderType, SelfTradePreventionMode, SizeFilter, SymbolConfig, SymbolStatus};
use crate::error::ApiError;

/// The legal range of a decimal param, as Binance answers it.
const DECIMAL_RANGE: &str = r"^([0-9]{1,20})(\.[0-9]{1,20})?$";
/// The legal range of an integer param, as Binance answers it for `orderId`.
const INTEGER_RANGE: &str = "^[0-9]{1,20}$";
/// The legal range of `newClientOrderId` on Spot, as Binance answered it (docs/FIDELITY.md).
const CLIENT_ORDER_ID_RANGE: &str = "^[a-zA-Z0-9-_]{1,36}$";
/// The legal range of `side`, as Binance answered it.
const SIDE_RANGE: &str = "^[a-zA-Z]{1,36}$";

/// A new order's params as sent: each the text of its value, `None` if not sent or null.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OrderRequest<'a> {
    pub symbol: Option<&'a str>,
    pub side: Option<&'a str>,
    pub order_type: Option<&'a str>,
    pub time_in_force: Option<&'a str>,
    pub price: Option<&'a str>,
    pub quantity: Option<&'a str>,
    pub quote_order_qty: Option<&'a str>,
    pub new_client_order_id: Option<&'a str>,
    pub new_order_resp_type: Option<&'a str>,
    pub stop_price: Option<&'a str>,
    pub trailing_delta: Option<&'a str>,
    pub iceberg_qty: Option<&'a str>,
    pub strategy_id: Option<&'a str>,
    pub strategy_type: Option<&'a str>,
    pub self_trade_prevention_mode: Option<&'a str>,
    pub peg_price_type: Option<&'a str>,
    pub peg_offset_value: Option<&'a str>,
    pub peg_offset_type: Option<&'a str>,
}

/// An order's side (`enums.md`, "Order side").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Buy,
    Sell,
}

/// How long an order stays active (`enums.md`, "Time in force").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeInForce {
    Gtc,
    Ioc,
    Fok,
}

/// Which reply an order asks for (`enums.md`, "Order Response Type").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResponseType {
    Ack,
    Result,
    Full,
}

/// Which price a pegged order follows (`web-socket-api.md`, "Pegged Orders").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PegPriceType {
    /// The best price on the order's own side.
    Primary,
    /// The best price on the other side.
    Market,
}

/// An order that passed every check, its defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CheckedOrder<'a> {
    /// As sent: the order's own copies are made where it is stored.
    pub symbol: &'a str,
    pub side: Side,
    pub order_type: OrderType,
    pub time_in_force: Option<TimeInForce>,
    pub price: Option<Decimal>,
    pub quantity: Option<Decimal>,
    pub quote_order_qty: Option<Decimal>,
    pub stop_price: Option<Decimal>,
    pub trailing_delta: Option<u64>,
    pub iceberg_qty: Option<Decimal>,
    pub new_client_order_id: Option<&'a str>,
    /// As asked, else `FULL` for `MARKET` and `LIMIT`, `ACK` for the others.
    pub response_type: ResponseType,
    /// As asked, else the symbol's default.
    pub self_trade_prevention_mode: SelfTradePreventionMode,
    pub strategy_id: Option<u64>,
    pub strategy_type: Option<u64>,
    pub peg_price_type: Option<PegPriceType>,
    pub peg_offset_value: Option<u64>,
}

/// What an order type takes: which params it needs, which it may have.
struct Shape {
    time_in_force: bool,
    price: bool,
    /// `quantity` mandatory (else `quantity` or `quoteOrderQty`, for `MARKET`).
    quantity_only: bool,
    stop: bool,
    iceberg: bool,
    peg: bool,
}

fn shape(order_type: OrderType) -> Shape {
    let limit = |time_in_force, stop| Shape {
        time_in_force,
        price: true,
        quantity_only: true,
        stop,
        iceberg: true,
        peg: true,
    };
    let stop_market = Shape {
        time_in_force: false,
        price: false,
        quantity_only: true,
        stop: true,
        iceberg: false,
        peg: false,
    };
    match order_type {
        OrderType::Limit => limit(true, false),
        OrderType::LimitMaker => limit(false, false),
        OrderType::StopLossLimit | OrderType::TakeProfitLimit => limit(true, true),
        OrderType::StopLoss | OrderType::TakeProfit => stop_market,
        OrderType::Market => Shape {
            time_in_force: false,
            price: false,
            quantity_only: false,
            stop: false,
            iceberg: false,
            peg: false,
        },
    }
}

/// The -1013 for an order type the symbol does not list: `errors.md`'s message where it has
/// one, the same form where it has none (docs/FIDELITY.md).
fn unsupported(order_type: OrderType) -> &'static str {
    match order_type {
        OrderType::Limit => "Limit orders are not supported for this symbol.",
        OrderType::LimitMaker => "Limit maker orders are not supported for this symbol.",
        OrderType::Market => "Market orders are not supported for this symbol.",
        OrderType::StopLoss => "Stop loss orders are not supported for this symbol.",
        OrderType::StopLossLimit => "Stop loss limit orders are not supported for this symbol.",
        OrderType::TakeProfit => "Take profit orders are not supported for this symbol.",
        OrderType::TakeProfitLimit => "Take profit limit orders are not supported for this symbol.",
    }
}

/// A param's text if it was sent and is not empty (an empty value counts as not sent, as
/// for every mandatory param).
fn sent(value: Option<&str>) -> Option<&str> {
    value.filter(|text| !text.is_empty())
}

/// Checks a new order against `market` (the checks and their order: the module's docs).
///
/// # Errors
/// The first check the order fails, as the reply's error.
pub(crate) fn check<'a>(
    request: &OrderRequest<'a>,
    market: &Market,
) -> Result<CheckedOrder<'a>, ApiError> {
    let symbol_name = sent(request.symbol).ok_or(ApiError::MandatoryParam("symbol"))?;
    let listed = market.get(symbol_name).ok_or(ApiError::BadSymbol)?;
    let config = &listed.config;
    let side = parse_side(request.side)?;
    let order_type = sent(request.order_type).ok_or(ApiError::MandatoryParam("type"))?;
    let order_type = OrderType::parse(order_type).ok_or(ApiError::InvalidOrderType)?;
    if listed.status != SymbolStatus::Trading {
        return Err(ApiError::OrderRefused("Market is closed."));
    }
    if !config.order_types.contains(&order_type) {
        return Err(ApiError::OrderRefused(unsupported(order_type)));
    }

    // 6. Enumerations and identifiers.
    let time_in_force = sent(request.time_in_force)
        .map(|text| match text {
            "GTC" => Ok(TimeInForce::Gtc),
            "IOC" => Ok(TimeInForce::Ioc),
            "FOK" => Ok(TimeInForce::Fok),
            _ => Err(ApiError::InvalidTimeInForce),
        })
        .transpose()?;
    let new_client_order_id = match request.new_client_order_id {
        None => None,
        Some("") => return Err(ApiError::EmptyNewClientOrderId),
        Some(id) if is_client_order_id(id) => Some(id),
        Some(_) => {
            return Err(ApiError::IllegalChars {
                param: "newClientOrderId",
                legal_range: CLIENT_ORDER_ID_RANGE,
            })
        }
    };
    let response_type = sent(request.new_order_resp_type)
        .map(|text| match text {
            "ACK" => Ok(ResponseType::Ack),
            "RESULT" => Ok(ResponseType::Result),
            "FULL" => Ok(ResponseType::Full),
            _ => Err(ApiError::InvalidParameter("newOrderRespType")),
        })
        .transpose()?;
    let stp_mode = sent(request.self_trade_prevention_mode)
        .map(|text| {
            SelfTradePreventionMode::parse(text)
                .filter(|mode| config.allowed_self_trade_prevention_modes.contains(mode))
                .ok_or(ApiError::InvalidParameter("selfTradePreventionMode"))
        })
        .transpose()?;
    let peg_price_type = sent(request.peg_price_type)
        .map(|text| match text {
            "PRIMARY_PEG" => Ok(PegPriceType::Primary),
            "MARKET_PEG" => Ok(PegPriceType::Market),
            _ => Err(ApiError::InvalidParameter("pegPriceType")),
        })
        .transpose()?;
    let peg_offset_type = sent(request.peg_offset_type)
        .map(|text| match text {
            "PRICE_LEVEL" => Ok(()),
            _ => Err(ApiError::InvalidParameter("pegOffsetType")),
        })
        .transpose()?;

    // 7. Numbers.
    let quote_places = config.quote_asset_precision;
    let base_places = config.base_asset_precision;
    let price = decimal(request.price, "price", quote_places)?;
    let quantity = decimal(request.quantity, "quantity", base_places)?;
    let quote_order_qty = decimal(request.quote_order_qty, "quoteOrderQty", quote_places)?;
    let stop_price = decimal(request.stop_price, "stopPrice", quote_places)?;
    let iceberg_qty = decimal(request.iceberg_qty, "icebergQty", base_places)?;
    let trailing_delta = integer(request.trailing_delta, "trailingDelta")?;
    let strategy_id = integer(request.strategy_id, "strategyId")?;
    let strategy_type = integer(request.strategy_type, "strategyType")?;
    let peg_offset_value = integer(request.peg_offset_value, "pegOffsetValue")?;

    // 8. Mandatory by type.
    let shape = shape(order_type);
    if shape.time_in_force && time_in_force.is_none() {
        return Err(ApiError::MandatoryParam("timeInForce"));
    }
    if shape.price && price.is_none() && !(shape.peg && peg_price_type.is_some()) {
        return Err(ApiError::MandatoryParam("price"));
    }
    if shape.quantity_only && quantity.is_none() {
        return Err(ApiError::MandatoryParam("quantity"));
    }
    if !shape.quantity_only && quantity.is_none() && quote_order_qty.is_none() {
        return Err(ApiError::EitherParam("quantity", "quoteOrderQty"));
    }
    if shape.stop && stop_price.is_none() && trailing_delta.is_none() {
        return Err(ApiError::EitherParam("stopPrice", "trailingDelta"));
    }

    // 9. Not taken by the type.
    let extra = [
        (
            "timeInForce",
            !shape.time_in_force && time_in_force.is_some(),
        ),
        ("price", !shape.price && price.is_some()),
        (
            "quoteOrderQty",
            quote_order_qty.is_some() && (shape.quantity_only || quantity.is_some()),
        ),
        ("stopPrice", !shape.stop && stop_price.is_some()),
        ("trailingDelta", !shape.stop && trailing_delta.is_some()),
        ("icebergQty", !shape.iceberg && iceberg_qty.is_some()),
    ];
    if let Some((name, _)) = extra.iter().find(|(_, extra)| *extra) {
        return Err(ApiError::ParamNotRequired(name));
    }
    let any_peg =
        peg_price_type.is_some() || peg_offset_value.is_some() || peg_offset_type.is_some();
    if any_peg && !shape.peg {
        return Err(ApiError::OrderRefused(
            "This order type may not use pegged price.",
        ));
    }

    // 10. Combinations.
    if peg_offset_value.is_some() != peg_offset_type.is_some() {
        return Err(ApiError::NotBothSent("pegOffsetValue", "pegOffsetType"));
    }
    if peg_offset_value.is_some() && peg_price_type.is_none() {
        return Err(ApiError::ParamNotRequired("pegOffsetValue"));
    }
    if peg_offset_value.is_some_and(|offset| offset > 100) {
        return Err(ApiError::InvalidParameter("pegOffsetValue"));
    }
    if strategy_type.is_some_and(|t| t < 1_000_000) {
        return Err(ApiError::BadStrategyType);
    }
    if iceberg_qty.is_some() && time_in_force.is_some_and(|tif| tif != TimeInForce::Gtc) {
        return Err(ApiError::UnsupportedOrderCombination);
    }
    if quote_order_qty.is_some() && !config.quote_order_qty_market_allowed {
        return Err(ApiError::OrderRefused(
            "Quote order qty market orders are not support for this symbol.",
        ));
    }
    if iceberg_qty.is_some() && !config.iceberg_allowed {
        return Err(ApiError::OrderRefused(
            "Iceberg orders are not supported for this symbol.",
        ));
    }
    if trailing_delta.is_some() && !config.allow_trailing_stop {
        return Err(ApiError::OrderRefused(
            "Trailing stop orders are not supported for this symbol.",
        ));
    }
    if let Some(peg) = peg_price_type {
        if !config.peg_instructions_allowed {
            return Err(ApiError::OrderRefused(
                "Pegged orders are not supported for this symbol.",
            ));
        }
        if peg == PegPriceType::Market && order_type == OrderType::LimitMaker {
            return Err(ApiError::OrderRefused(
                "This price peg cannot be used with this order type.",
            ));
        }
    }

    // 11. Filters.
    let prices_pass = [price, stop_price]
        .into_iter()
        .flatten()
        .all(|p| passes_price_filter(config, p));
    if !prices_pass {
        return Err(ApiError::FilterFailure("PRICE_FILTER"));
    }
    let lots_pass = [quantity, iceberg_qty]
        .into_iter()
        .flatten()
        .all(|q| passes_size(&config.lot_size, q));
    if !lots_pass {
        return Err(ApiError::FilterFailure("LOT_SIZE"));
    }
    let is_market = order_type == OrderType::Market;
    if is_market && quantity.is_some_and(|q| !passes_size(&config.market_lot_size, q)) {
        return Err(ApiError::FilterFailure("MARKET_LOT_SIZE"));
    }
    if let (Some(iceberg), Some(quantity)) = (iceberg_qty, quantity) {
        if iceberg >= quantity {
            return Err(ApiError::OrderRefused("IcebergQty exceeds QTY."));
        }
    }
    let at_market = matches!(
        order_type,
        OrderType::Market | OrderType::StopLoss | OrderType::TakeProfit
    );
    let notional = if at_market {
        quote_order_qty.or_else(|| quantity.map(|q| stop_price.unwrap_or(listed.price) * q))
    } else {
        price.zip(quantity).map(|(p, q)| p * q)
    };
    if let Some(notional) = notional {
        if notional <= Decimal::ZERO {
            return Err(ApiError::OrderRefused("Price * QTY is zero or less."));
        }
        let filter = &config.notional;
        let min_applies = !at_market || filter.apply_min_to_market;
        let max_applies = !at_market || filter.apply_max_to_market;
        let too_small = min_applies && notional < filter.min_notional;
        let too_large =
            max_applies && !filter.max_notional.is_zero() && notional > filter.max_notional;
        if too_small || too_large {
            return Err(ApiError::FilterFailure("NOTIONAL"));
        }
    }

    Ok(CheckedOrder {
        symbol: symbol_name,
        side,
        order_type,
        time_in_force,
        price,
        quantity,
        quote_order_qty,
        stop_price,
        trailing_delta,
        iceberg_qty,
        new_client_order_id,
        response_type: response_type.unwrap_or(match order_type {
            OrderType::Market | OrderType::Limit => ResponseType::Full,
            _ => ResponseType::Ack,
        }),
        self_trade_prevention_mode: stp_mode.unwrap_or(config.default_self_trade_prevention_mode),
        strategy_id,
        strategy_type,
        peg_price_type,
        peg_offset_value,
    })
}

fn parse_side(side: Option<&str>) -> Result<Side, ApiError> {
    match sent(side).ok_or(ApiError::MandatoryParam("side"))? {
        "BUY" => Ok(Side::Buy),
        "SELL" => Ok(Side::Sell),
        text if text.len() <= 36 && text.bytes().all(|b| b.is_ascii_alphabetic()) => {
            Err(ApiError::InvalidSide)
        }
        _ => Err(ApiError::IllegalChars {
            param: "side",
            legal_range: SIDE_RANGE,
        }),
    }
}

fn is_client_order_id(id: &str) -> bool {
    (1..=36).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A decimal param: `^([0-9]{1,20})(\.[0-9]{1,20})?$` (-1100), at most `places` significant
/// decimal places (-1111).
fn decimal(
    value: Option<&str>,
    name: &'static str,
    places: u32,
) -> Result<Option<Decimal>, ApiError> {
    let Some(text) = sent(value) else {
        return Ok(None);
    };
    let illegal = ApiError::IllegalChars {
        param: name,
        legal_range: DECIMAL_RANGE,
    };
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (text, ""),
    };
    let digits = |part: &str, min: usize| {
        (min..=20).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit())
    };
    if !digits(whole, 1) || !digits(fraction, usize::from(text.contains('.'))) {
        return Err(illegal);
    }
    let significant = fraction.trim_end_matches('0').len();
    if significant > places as usize {
        return Err(ApiError::TooMuchPrecision(name));
    }
    Decimal::from_str(text).map(Some).map_err(|_| illegal)
}

/// An unsigned integer param: `^[0-9]{1,20}$` that fits 64 bits (-1100).
fn integer(value: Option<&str>, name: &'static str) -> Result<Option<u64>, ApiError> {
    sent(value)
        .map(|text| {
            text.bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| text.parse::<u64>().ok())
                .flatten()
                .ok_or(ApiError::IllegalChars {
                    param: name,
                    legal_range: INTEGER_RANGE,
                })
        })
        .transpose()
}

/// `PRICE_FILTER` (`filters.md`): each rule disabled by a zero.
fn passes_price_filter(config: &SymbolConfig, price: Decimal) -> bool {
    let f = &config.price_filter;
    (f.min_price.is_zero() || price >= f.min_price)
        && (f.max_price.is_zero() || price <= f.max_price)
        && (f.tick_size.is_zero() || (price % f.tick_size).is_zero())
}

/// `LOT_SIZE` or `MARKET_LOT_SIZE` (`filters.md`: `quantity % stepSize == 0`); a zero step
/// or maximum disables its rule (the default `MARKET_LOT_SIZE` has a zero step).
fn passes_size(filter: &SizeFilter, quantity: Decimal) -> bool {
    quantity >= filter.min_qty
        && (filter.max_qty.is_zero() || quantity <= filter.max_qty)
        && (filter.step_size.is_zero() || (quantity % filter.step_size).is_zero())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Timestamp;
    use proptest::prelude::*;

    fn market() -> Market {
        Market::new(&SymbolConfig::defaults(), Timestamp::from_millis(1_000))
    }

    fn limit<'a>() -> OrderRequest<'a> {
        OrderRequest {
            symbol: Some("BTCUSDT"),
            side: Some("BUY"),
            order_type: Some("LIMIT"),
            time_in_force: Some("GTC"),
            price: Some("60000.00"),
            quantity: Some("0.01"),
            ..OrderRequest::default()
        }
    }

    #[test]
    fn a_valid_limit_order_passes_with_its_defaults_filled_in() {
        let order = check(&limit(), &market()).expect("valid");
        assert_eq!(order.side, Side::Buy);
        assert_eq!(order.response_type, ResponseType::Full);
        assert_eq!(
            order.self_trade_prevention_mode,
            SelfTradePreventionMode::ExpireMaker
        );
        assert_eq!(
            order.price.map(|p| p.to_string()),
            Some("60000.00".to_owned())
        );
    }

    #[test]
    fn the_docs_example_passes_with_its_eight_places() {
        let request = OrderRequest {
            side: Some("SELL"),
            price: Some("23416.10000000"),
            quantity: Some("0.00847000"),
            ..limit()
        };
        assert!(check(&request, &market()).is_ok());
    }

    #[test]
    fn decimals_are_checked_for_form_then_precision() {
        let m = market();
        let with_price = |price| {
            check(
                &OrderRequest {
                    price: Some(price),
                    ..limit()
                },
                &m,
            )
        };
        for bad in [
            "abc",
            "-1",
            "1e5",
            ".5",
            "5.",
            "1.2.3",
            "123456789012345678901",
        ] {
            assert!(
                matches!(
                    with_price(bad),
                    Err(ApiError::IllegalChars { param: "price", .. })
                ),
                "{bad}"
            );
        }
        assert_eq!(
            with_price("60000.000000001"),
            Err(ApiError::TooMuchPrecision("price"))
        );
        assert!(
            with_price("60000.0000000000").is_ok(),
            "trailing zeros are not places"
        );
        assert_eq!(
            with_price("60000.001"),
            Err(ApiError::FilterFailure("PRICE_FILTER"))
        );
    }

    #[test]
    fn market_orders_take_quantity_or_quote_order_qty_and_are_valued_at_the_market_price() {
        let m = market();
        let market_order = OrderRequest {
            order_type: Some("MARKET"),
            time_in_force: None,
            price: None,
            ..limit()
        };
        assert!(check(&market_order, &m).is_ok());
        let neither = OrderRequest {
            quantity: None,
            ..market_order
        };
        assert_eq!(
            check(&neither, &m),
            Err(ApiError::EitherParam("quantity", "quoteOrderQty"))
        );
        let both = OrderRequest {
            quote_order_qty: Some("100"),
            ..market_order
        };
        assert_eq!(
            check(&both, &m),
            Err(ApiError::ParamNotRequired("quoteOrderQty"))
        );
        let quote = OrderRequest {
            quote_order_qty: Some("4.99"),
            ..neither
        };
        assert_eq!(check(&quote, &m), Err(ApiError::FilterFailure("NOTIONAL")));
        // 0.00008 × 60000 = 4.8 < 5: applyMinToMarket is on.
        let small = OrderRequest {
            quantity: Some("0.00008"),
            ..market_order
        };
        assert_eq!(check(&small, &m), Err(ApiError::FilterFailure("NOTIONAL")));
        let large = OrderRequest {
            quantity: Some("100.00001"),
            ..market_order
        };
        assert_eq!(
            check(&large, &m),
            Err(ApiError::FilterFailure("MARKET_LOT_SIZE"))
        );
        let with_tif = OrderRequest {
            time_in_force: Some("GTC"),
            ..market_order
        };
        assert_eq!(
            check(&with_tif, &m),
            Err(ApiError::ParamNotRequired("timeInForce"))
        );
    }

    #[test]
    fn symbol_status_and_order_types_refuse_before_params_are_read() {
        let mut m = market();
        assert!(m.set_status("BTCUSDT", SymbolStatus::Halt));
        let bad_price = OrderRequest {
            price: Some("x"),
            ..limit()
        };
        assert_eq!(
            check(&bad_price, &m),
            Err(ApiError::OrderRefused("Market is closed."))
        );
        let mut configs = SymbolConfig::defaults();
        configs[0].order_types.retain(|t| *t != OrderType::StopLoss);
        let m = Market::new(&configs, Timestamp::EPOCH);
        let stop = OrderRequest {
            order_type: Some("STOP_LOSS"),
            time_in_force: None,
            price: None,
            stop_price: Some("59000.00"),
            ..limit()
        };
        assert_eq!(
            check(&stop, &m),
            Err(ApiError::OrderRefused(
                "Stop loss orders are not supported for this symbol."
            ))
        );
    }

    #[test]
    fn icebergs_pegs_and_strategies_are_checked() {
        let m = market();
        let iceberg = OrderRequest {
            iceberg_qty: Some("0.001"),
            ..limit()
        };
        assert!(check(&iceberg, &m).is_ok());
        let ioc = OrderRequest {
            time_in_force: Some("IOC"),
            ..iceberg
        };
        assert_eq!(check(&ioc, &m), Err(ApiError::UnsupportedOrderCombination));
        let whole = OrderRequest {
            iceberg_qty: Some("0.01"),
            ..limit()
        };
        assert_eq!(
            check(&whole, &m),
            Err(ApiError::OrderRefused("IcebergQty exceeds QTY."))
        );
        let pegged = OrderRequest {
            price: None,
            peg_price_type: Some("PRIMARY_PEG"),
            ..limit()
        };
        assert!(check(&pegged, &m).is_ok());
        let half = OrderRequest {
            peg_offset_value: Some("3"),
            ..pegged
        };
        assert_eq!(
            check(&half, &m),
            Err(ApiError::NotBothSent("pegOffsetValue", "pegOffsetType"))
        );
        let strategy = OrderRequest {
            strategy_type: Some("999999"),
            ..limit()
        };
        assert_eq!(check(&strategy, &m), Err(ApiError::BadStrategyType));
    }

    // ---------------------------------------------------------------------------------------
    // One broken thing, its one error.

    /// A valid order of any type on `BTCUSDT` (prices 50000–70000 on the tick, quantities
    /// 0.001–1 on the step: notionals 50–70000, well inside 5–9,000,000).
    fn valid_order() -> impl Strategy<Value = Owned> {
        (
            prop::sample::select(OrderType::ALL.to_vec()),
            any::<bool>(),
            5_000_000u64..7_000_000,
            100u64..100_000,
            prop::sample::select(vec!["GTC", "IOC", "FOK"]),
            any::<bool>(),
        )
            .prop_map(|(order_type, buy, cents, lots, tif, trailing)| {
                let price = format!("{}.{:02}", cents / 100, cents % 100);
                let quantity = format!("{}.{:05}", lots / 100_000, lots % 100_000);
                let shape = shape(order_type);
                let mut order = Owned {
                    values: vec![
                        ("symbol", "BTCUSDT".to_owned()),
                        ("side", if buy { "BUY" } else { "SELL" }.to_owned()),
                        ("type", order_type.as_str().to_owned()),
                        ("quantity", quantity),
                    ],
                };
                if shape.time_in_force {
                    order.set("timeInForce", tif);
                }
                if shape.price {
                    order.set("price", &price);
                }
                if shape.stop {
                    if trailing {
                        order.set("trailingDelta", "100");
                    } else {
                        order.set("stopPrice", &price);
                    }
                }
                order
            })
    }

    /// An order's params, owned, by wire name.
    #[derive(Debug, Clone)]
    struct Owned {
        values: Vec<(&'static str, String)>,
    }

    impl Owned {
        fn get(&self, name: &str) -> Option<&str> {
            self.values
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_str())
        }
        fn set(&mut self, name: &'static str, value: &str) {
            self.values.retain(|(n, _)| *n != name);
            self.values.push((name, value.to_owned()));
        }
        fn remove(&mut self, name: &str) {
            self.values.retain(|(n, _)| *n != name);
        }
        fn order_type(&self) -> OrderType {
            self.get("type")
                .and_then(OrderType::parse)
                .unwrap_or(OrderType::Limit)
        }
        fn request(&self) -> OrderRequest<'_> {
            OrderRequest {
                symbol: self.get("symbol"),
                side: self.get("side"),
                order_type: self.get("type"),
                time_in_force: self.get("timeInForce"),
                price: self.get("price"),
                quantity: self.get("quantity"),
                quote_order_qty: self.get("quoteOrderQty"),
                new_client_order_id: self.get("newClientOrderId"),
                new_order_resp_type: self.get("newOrderRespType"),
                stop_price: self.get("stopPrice"),
                trailing_delta: self.get("trailingDelta"),
                iceberg_qty: self.get("icebergQty"),
                strategy_id: self.get("strategyId"),
                strategy_type: self.get("strategyType"),
                self_trade_prevention_mode: self.get("selfTradePreventionMode"),
                peg_price_type: self.get("pegPriceType"),
                peg_offset_value: self.get("pegOffsetValue"),
                peg_offset_type: self.get("pegOffsetType"),
            }
        }
    }

    /// One thing to break, chosen by index among those that apply to the order.
    fn break_one(order: &mut Owned, pick: usize) -> ApiError {
        let kind = order.order_type();
        let shape = shape(kind);
        let mut breaks: Vec<fn(&mut Owned) -> ApiError> = vec![
            |o| {
                o.remove("symbol");
                ApiError::MandatoryParam("symbol")
            },
            |o| {
                o.set("symbol", "NOPEUSDT");
                ApiError::BadSymbol
            },
            |o| {
                o.remove("side");
                ApiError::MandatoryParam("side")
            },
            |o| {
                o.set("side", "FOO");
                ApiError::InvalidSide
            },
            |o| {
                o.set("side", "BUY.");
                ApiError::IllegalChars {
                    param: "side",
                    legal_range: SIDE_RANGE,
                }
            },
            |o| {
                o.remove("type");
                ApiError::MandatoryParam("type")
            },
            |o| {
                o.set("type", "STOP");
                ApiError::InvalidOrderType
            },
            |o| {
                o.set("newClientOrderId", "has space");
                ApiError::IllegalChars {
                    param: "newClientOrderId",
                    legal_range: CLIENT_ORDER_ID_RANGE,
                }
            },
            |o| {
                o.set("newClientOrderId", "");
                ApiError::EmptyNewClientOrderId
            },
            |o| {
                o.set("newOrderRespType", "ALL");
                ApiError::InvalidParameter("newOrderRespType")
            },
            |o| {
                o.set("selfTradePreventionMode", "EXPIRE_ALL");
                ApiError::InvalidParameter("selfTradePreventionMode")
            },
            |o| {
                o.set("quantity", "0.000010001");
                ApiError::TooMuchPrecision("quantity")
            },
            |o| {
                o.set("quantity", "1,5");
                ApiError::IllegalChars {
                    param: "quantity",
                    legal_range: DECIMAL_RANGE,
                }
            },
            |o| {
                o.set("quantity", "9000.00001");
                ApiError::FilterFailure("LOT_SIZE")
            },
            |o| {
                o.set("strategyType", "12");
                ApiError::BadStrategyType
            },
            |o| {
                o.remove("quantity");
                match o.order_type() {
                    OrderType::Market => ApiError::EitherParam("quantity", "quoteOrderQty"),
                    _ => ApiError::MandatoryParam("quantity"),
                }
            },
        ];
        if shape.time_in_force {
            breaks.push(|o| {
                o.remove("timeInForce");
                ApiError::MandatoryParam("timeInForce")
            });
            breaks.push(|o| {
                o.set("timeInForce", "GTX");
                ApiError::InvalidTimeInForce
            });
        } else {
            breaks.push(|o| {
                o.set("timeInForce", "GTC");
                ApiError::ParamNotRequired("timeInForce")
            });
        }
        if shape.price {
            breaks.push(|o| {
                o.remove("price");
                ApiError::MandatoryParam("price")
            });
            breaks.push(|o| {
                o.set("price", "60000.005");
                ApiError::FilterFailure("PRICE_FILTER")
            });
            breaks.push(|o| {
                o.set("price", "1000000.01");
                ApiError::FilterFailure("PRICE_FILTER")
            });
            breaks.push(|o| {
                o.set("price", "60000.123456789");
                ApiError::TooMuchPrecision("price")
            });
            breaks.push(|o| {
                // 0.00001 × at most 70000 = 0.7 < 5.
                o.set("quantity", "0.00001");
                ApiError::FilterFailure("NOTIONAL")
            });
            breaks.push(|o| {
                if o.get("timeInForce").is_some() {
                    o.set("timeInForce", "GTC");
                }
                o.set("icebergQty", "0.000005");
                ApiError::FilterFailure("LOT_SIZE")
            });
        } else {
            breaks.push(|o| {
                o.set("price", "60000.00");
                ApiError::ParamNotRequired("price")
            });
            breaks.push(|o| {
                o.set("icebergQty", "0.00001");
                ApiError::ParamNotRequired("icebergQty")
            });
        }
        if shape.stop {
            breaks.push(|o| {
                o.remove("stopPrice");
                o.remove("trailingDelta");
                ApiError::EitherParam("stopPrice", "trailingDelta")
            });
            breaks.push(|o| {
                o.remove("trailingDelta");
                o.set("stopPrice", "60000.001");
                ApiError::FilterFailure("PRICE_FILTER")
            });
        } else {
            breaks.push(|o| {
                o.set("stopPrice", "60000.00");
                ApiError::ParamNotRequired("stopPrice")
            });
            breaks.push(|o| {
                o.set("trailingDelta", "100");
                ApiError::ParamNotRequired("trailingDelta")
            });
        }
        if kind == OrderType::Market {
            breaks.push(|o| {
                o.set("quantity", "100.5");
                ApiError::FilterFailure("MARKET_LOT_SIZE")
            });
            breaks.push(|o| {
                o.set("quantity", "0.00008");
                ApiError::FilterFailure("NOTIONAL")
            });
            breaks.push(|o| {
                o.set("quoteOrderQty", "100");
                ApiError::ParamNotRequired("quoteOrderQty")
            });
        } else {
            breaks.push(|o| {
                o.set("quoteOrderQty", "100");
                ApiError::ParamNotRequired("quoteOrderQty")
            });
        }
        let chosen = breaks[pick % breaks.len()];
        chosen(order)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn every_generated_order_passes(order in valid_order()) {
            let checked = check(&order.request(), &market());
            prop_assert!(checked.is_ok(), "{order:?}: {checked:?}");
        }

        #[test]
        fn an_order_broken_in_one_way_gets_that_ways_error(
            order in valid_order(),
            pick in any::<usize>(),
        ) {
            let mut broken = order.clone();
            let expected = break_one(&mut broken, pick);
            prop_assert_eq!(check(&broken.request(), &market()), Err(expected), "{:?}", broken);
        }

        #[test]
        fn a_closed_or_unlisting_symbol_refuses_any_order_of_its_own(
            order in valid_order(),
            status in prop::sample::select(SymbolStatus::ALL[1..].to_vec()),
        ) {
            let mut m = market();
            m.set_status("BTCUSDT", status);
            prop_assert_eq!(
                check(&order.request(), &m),
                Err(ApiError::OrderRefused("Market is closed."))
            );
            let mut configs = SymbolConfig::defaults();
            configs[0].order_types.retain(|t| *t != order.order_type());
            let m = Market::new(&configs, Timestamp::EPOCH);
            prop_assert_eq!(
                check(&order.request(), &m),
                Err(ApiError::OrderRefused(unsupported(order.order_type())))
            );
        }
    }
}
