//! The orders core, driven as `order.place` and the control plane will drive it.

use proptest::prelude::*;
use rust_decimal::Decimal;
use serde_json::Value;

use super::*;
use crate::market::order_check::ResponseType;

fn d(text: &str) -> Decimal {
    text.parse().expect("decimal")
}

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn market() -> Market {
    Market::new(&SymbolConfig::defaults(), at(0))
}

fn fixture() -> Account {
    Account::fixture("alice")
}

/// A checked BTCUSDT order of `order_type` and `side`, nothing else set.
fn order(order_type: OrderType, side: Side) -> CheckedOrder<'static> {
    CheckedOrder {
        symbol: "BTCUSDT",
        side,
        order_type,
        time_in_force: None,
        price: None,
        quantity: None,
        quote_order_qty: None,
        stop_price: None,
        trailing_delta: None,
        iceberg_qty: None,
        new_client_order_id: None,
        response_type: ResponseType::Full,
        self_trade_prevention_mode: SelfTradePreventionMode::ExpireMaker,
        strategy_id: None,
        strategy_type: None,
        peg_price_type: None,
        peg_offset_value: None,
    }
}

fn limit(side: Side, price: &str, qty: &str) -> CheckedOrder<'static> {
    let mut o = order(OrderType::Limit, side);
    o.time_in_force = Some(TimeInForce::Gtc);
    o.price = Some(d(price));
    o.quantity = Some(d(qty));
    o
}

fn market_order(side: Side, qty: &str) -> CheckedOrder<'static> {
    let mut o = order(OrderType::Market, side);
    o.quantity = Some(d(qty));
    o
}

fn kinds(events: &[AccountEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| match e.event["e"].as_str() {
            Some("executionReport") => format!(
                "{}/{}",
                e.event["x"].as_str().unwrap_or("?"),
                e.event["X"].as_str().unwrap_or("?")
            ),
            other => other.unwrap_or("?").to_owned(),
        })
        .collect()
}

fn balance(orders: &Orders, asset: &str) -> (String, String) {
    let b = orders
        .balances("alice", &fixture())
        .into_iter()
        .find(|b| b.asset == asset)
        .expect("asset");
    (b.free, b.locked)
}

fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

#[test]
fn a_market_buy_fills_level_by_level_and_expires_what_the_book_cannot_fill() {
    let mut symbols = SymbolConfig::defaults();
    symbols[0].book_levels = 2;
    let mut market = Market::new(&symbols, at(0));
    let mut orders = Orders::default();
    let placed = orders
        .place(
            &Everyone,
            "alice",
            &fixture(),
            &market_order(Side::Buy, "0.05"),
            &mut market,
            at(5),
        )
        .expect("placed");
    assert_eq!(placed.fills.len(), 1);
    let placed = orders.place(
        &Everyone,
        "alice",
        &fixture(),
        &{
            let mut big = market_order(Side::Buy, "0.05");
            big.quantity = Some(d("2.5"));
            big
        },
        &mut market,
        at(6),
    );
    // 2.5 BTC at ~60000 is more than 10000 USDT.
    assert_eq!(
        placed.map(|p| p.order_id),
        Err(ApiError::OrderRejected(INSUFFICIENT_BALANCE))
    );
    let rich = fixture().with_balances(vec![
        Balance::new("BTC", "0", "0"),
        Balance::new("USDT", "1000000", "0"),
    ]);
    let mut big = market_order(Side::Buy, "2.5");
    big.quantity = Some(d("2.5"));
    let placed = orders
        .place(&Everyone, "bob", &rich, &big, &mut market, at(7))
        .expect("placed");
    assert_eq!(
        kinds(&placed.events),
        [
            "NEW/NEW",
            "TRADE/PARTIALLY_FILLED",
            "TRADE/PARTIALLY_FILLED",
            "EXPIRED/EXPIRED",
            "outboundAccountPosition"
        ]
    );
    let expired = &placed.events[3].event;
    assert_eq!(expired["eR"], "INSUFFICIENT_LIQUIDITY");
    assert_eq!(expired["z"], "2.00000000");
    let first = &placed.events[1].event;
    assert_eq!(first["L"], "60000.01000000");
    assert_eq!(first["m"], false);
    // Taker 0.1% of the 1 BTC received, in BTC.
    assert_eq!(first["n"], "0.00100000");
    assert_eq!(first["N"], "BTC");
    let order = orders.get(placed.order_id).expect("order");
    assert_eq!(order.status, OrderStatus::Expired);
    assert_eq!(order.cummulative_quote_qty, d("120000.03"));
    // Spent exactly what the two levels cost; nothing stays locked.
    let bob = orders.balances("bob", &rich);
    assert_eq!(
        bob[1],
        Balance::new("USDT", "879999.97000000", "0.00000000")
    );
    assert_eq!(bob[0].free, "1.99800000");
    // Both fills show in the klines' trades.
    assert_eq!(market.get("BTCUSDT").map(|l| l.trades.len()), Some(3));
}

#[test]
fn the_execution_report_has_every_documented_field_in_order() {
    let mut market = market();
    let mut orders = Orders::default();
    let placed = orders
        .place(
            &Everyone,
            "alice",
            &fixture(),
            &limit(Side::Buy, "59000.00", "0.01"),
            &mut market,
            at(9),
        )
        .expect("placed");
    assert_eq!(
        kinds(&placed.events),
        ["NEW/NEW", "outboundAccountPosition"]
    );
    let new = &placed.events[0].event;
    assert_eq!(
        keys(new),
        [
            "e", "E", "s", "c", "S", "o", "f", "q", "p", "P", "F", "g", "C", "x", "X", "r", "i",
            "l", "z", "L", "n", "N", "T", "t", "I", "w", "m", "M", "O", "Z", "Y", "Q", "W", "V"
        ]
    );
    assert_eq!(new["p"], "59000.00000000");
    assert_eq!(new["n"], "0");
    assert_eq!(new["N"], Value::Null);
    assert_eq!(new["w"], true);
    assert_eq!(new["c"], "mock000000000000000001");
    let position = &placed.events[1].event;
    assert_eq!(keys(position), ["e", "E", "u", "B"]);
    assert_eq!(position["B"][1]["a"], "USDT");
    assert_eq!(position["B"][1]["f"], "9410.00000000");
    assert_eq!(position["B"][1]["l"], "590.00000000");
    assert_eq!(
        balance(&orders, "USDT"),
        ("9410.00000000".into(), "590.00000000".into())
    );
}

#[test]
fn a_resting_order_fills_at_its_own_price_when_the_price_moves_through_it() {
    let mut market = market();
    let mut orders = Orders::default();
    let a = orders
        .place(
            &Everyone,
            "alice",
            &fixture(),
            &limit(Side::Buy, "59000.00", "0.01"),
            &mut market,
            at(1),
        )
        .expect("placed")
        .order_id;
    let b = orders
        .place(
            &Everyone,
            "alice",
            &fixture(),
            &limit(Side::Buy, "59500.00", "0.01"),
            &mut market,
            at(2),
        )
        .expect("placed")
        .order_id;
    let c = orders
        .place(
            &Everyone,
            "alice",
            &fixture(),
            &limit(Side::Buy, "59000.00", "0.01"),
            &mut market,
            at(3),
        )
        .expect("placed")
        .order_id;
    market
        .set_price("BTCUSDT", "59200.00", at(4))
        .expect("moved");
    let events = orders.price_moved(&Everyone, "BTCUSDT", &mut market, at(4));
    assert_eq!(kinds(&events), ["TRADE/FILLED", "outboundAccountPosition"]);
    assert_eq!(events[0].event["i"], b);
    market
        .set_price("BTCUSDT", "58000.00", at(5))
        .expect("moved");
    let events = orders.price_moved(&Everyone, "BTCUSDT", &mut market, at(5));
    let ids: Vec<&Value> = events
        .iter()
        .filter(|e| e.event["e"] == "executionReport")
        .map(|e| &e.event["i"])
        .collect();
    assert_eq!(ids, [a, c], "same price: oldest first");
    let fill = &events[0].event;
    assert_eq!(fill["L"], "59000.00000000");
    assert_eq!(fill["m"], true);
    assert_eq!(fill["w"], false);
    assert_eq!(balance(&orders, "USDT").1, "0.00000000");
    // 10000 − 595 − 590 − 590, and 0.03 BTC less 0.1% maker commission.
    assert_eq!(balance(&orders, "USDT").0, "8225.00000000");
    assert_eq!(balance(&orders, "BTC").0, "1.02997000");
    let trades: Vec<u64> = orders.trades("alice", "BTCUSDT").map(|t| t.id).collect();
    assert_eq!(trades, [1, 2, 3]);
}

#[test]
fn a_crossing_limit_order_takes_up_to_its_price_then_rests_the_rest() {
    let mut market = market();
    let mut orders = Orders::default();
    let placed = orders.place(
        &Everyone,
        "alice",
        &fixture(),
        &limit(Side::Buy, "60000.02", "2.5"),
        &mut market,
        at(1),
    );
    assert_eq!(
        placed.map(|p| p.order_id),
        Err(ApiError::OrderRejected(INSUFFICIENT_BALANCE))
    );
    let rich = fixture().with_balances(vec![
        Balance::new("BTC", "5", "0"),
        Balance::new("USDT", "1000000", "0"),
    ]);
    let placed = orders
        .place(
            &Everyone,
            "bob",
            &rich,
            &limit(Side::Buy, "60000.02", "2.5"),
            &mut market,
            at(1),
        )
        .expect("placed");
    assert_eq!(
        kinds(&placed.events),
        [
            "NEW/NEW",
            "TRADE/PARTIALLY_FILLED",
            "TRADE/PARTIALLY_FILLED",
            "outboundAccountPosition"
        ]
    );
    assert_eq!(placed.events[2].event["w"], true, "the rest rests");
    let resting = placed.order_id;
    assert!(orders.get(resting).is_some_and(Order::is_resting));
    // Two levels bought, 0.5 left at its limit price stays locked, nothing more.
    let usdt = &orders.balances("bob", &rich)[1];
    assert_eq!(
        (usdt.free.as_str(), usdt.locked.as_str()),
        ("849999.96000000", "30000.01000000")
    );
    let mut sell = limit(Side::Sell, "59999.98", "2.5");
    sell.time_in_force = Some(TimeInForce::Ioc);
    let placed = orders
        .place(&Everyone, "bob", &rich, &sell, &mut market, at(2))
        .expect("placed");
    assert_eq!(
        kinds(&placed.events),
        [
            "NEW/NEW",
            "TRADE/PARTIALLY_FILLED",
            "TRADE/PARTIALLY_FILLED",
            "EXPIRED/EXPIRED",
            "outboundAccountPosition"
        ]
    );
    assert_eq!(
        placed.events[3].event["eR"],
        "UNFILLED_IOC_QUANTITY_EXPIRED"
    );
    assert_eq!(placed.events[2].event["L"], "59999.98000000");
    // Mock accounts never trade with each other: bob's resting buy did not meet his sell.
    assert_eq!(orders.get(resting).map(|o| o.executed_qty), Some(d("2")));
}

#[test]
fn an_ioc_or_fok_order_expires_with_its_reason() {
    let mut market = market();
    let mut orders = Orders::default();
    let mut fok = limit(Side::Sell, "59999.99", "0.5");
    fok.time_in_force = Some(TimeInForce::Fok);
    let placed = orders
        .place(&Everyone, "alice", &fixture(), &fok, &mut market, at(1))
        .expect("placed");
    assert_eq!(kinds(&placed.events)[..2], ["NEW/NEW", "TRADE/FILLED"]);
    fok.price = Some(d("59999.98"));
    fok.quantity = Some(d("0.00001"));
    let mut ioc = fok.clone();
    fok.price = Some(d("60000.00"));
    let placed = orders
        .place(&Everyone, "alice", &fixture(), &fok, &mut market, at(2))
        .expect("placed");
    assert_eq!(kinds(&placed.events)[..2], ["NEW/NEW", "EXPIRED/EXPIRED"]);
    assert_eq!(placed.events[1].event["eR"], "UNFILLED_FOK_ORDER_EXPIRED");
    ioc.time_in_force = Some(TimeInForce::Ioc);
    ioc.price = Some(d("60000.00"));
    let placed = orders
        .place(&Everyone, "alice", &fixture(), &ioc, &mut market, at(3))
        .expect("placed");
    assert_eq!(
        placed.events[1].event["eR"],
        "UNFILLED_IOC_QUANTITY_EXPIRED"
    );
    // An expiry gives back what was locked.
    assert_eq!(balance(&orders, "BTC").1, "0.00000000");
}

#[test]
fn a_limit_maker_that_would_take_is_refused_and_one_that_would_not_rests() {
    let mut market = market();
    let mut orders = Orders::default();
    let mut maker = limit(Side::Buy, "60000.01", "0.01");
    maker.order_type = OrderType::LimitMaker;
    maker.time_in_force = None;
    let refused = orders.place(&Everyone, "alice", &fixture(), &maker, &mut market, at(1));
    assert_eq!(
        refused.map(|p| p.order_id),
        Err(ApiError::OrderRejected(WOULD_MATCH))
    );
    assert_eq!(
        ApiError::OrderRejected(WOULD_MATCH).code(),
        -2010,
        "the matching engine's code"
    );
    maker.price = Some(d("60000.00"));
    let placed = orders
        .place(&Everyone, "alice", &fixture(), &maker, &mut market, at(2))
        .expect("placed");
    assert!(orders.get(placed.order_id).is_some_and(Order::is_resting));
    // A refused order took no id.
    assert_eq!(placed.order_id, 1);
}

#[test]
fn stops_wait_on_their_side_and_refuse_a_trigger_already_met() {
    let mut market = market();
    let mut orders = Orders::default();
    let mut stop = order(OrderType::StopLoss, Side::Sell);
    stop.quantity = Some(d("0.1"));
    stop.stop_price = Some(d("60000.00"));
    assert_eq!(
        orders
            .place(&Everyone, "alice", &fixture(), &stop, &mut market, at(1))
            .map(|p| p.order_id),
        Err(ApiError::OrderRejected(WOULD_TRIGGER))
    );
    stop.stop_price = Some(d("59000.00"));
    let placed = orders
        .place(&Everyone, "alice", &fixture(), &stop, &mut market, at(1))
        .expect("placed");
    let new = &placed.events[0].event;
    assert_eq!(new["w"], false);
    assert!(new.get("W").is_none(), "not working yet");
    let view = view::status(
        orders.get(placed.order_id).expect("order"),
        &market.all()[0].config,
    );
    assert_eq!(view["workingTime"], -1);
    assert_eq!(view["isWorking"], false);
    let mut take_profit = order(OrderType::TakeProfitLimit, Side::Buy);
    take_profit.quantity = Some(d("0.01"));
    take_profit.stop_price = Some(d("58000.00"));
    take_profit.price = Some(d("58000.00"));
    take_profit.time_in_force = Some(TimeInForce::Gtc);
    orders
        .place(
            &Everyone,
            "alice",
            &fixture(),
            &take_profit,
            &mut market,
            at(1),
        )
        .expect("placed");
    market
        .set_price("BTCUSDT", "59500.00", at(2))
        .expect("moved");
    assert!(orders
        .price_moved(&Everyone, "BTCUSDT", &mut market, at(2))
        .is_empty());
    market
        .set_price("BTCUSDT", "59000.00", at(3))
        .expect("moved");
    let events = orders.price_moved(&Everyone, "BTCUSDT", &mut market, at(3));
    assert_eq!(
        kinds(&events),
        ["NEW/NEW", "TRADE/FILLED", "outboundAccountPosition"],
        "the stop sells at the best bid once P reaches 59000"
    );
    assert_eq!(events[1].event["L"], "58999.99000000");
    market
        .set_price("BTCUSDT", "57990.00", at(4))
        .expect("moved");
    let events = orders.price_moved(&Everyone, "BTCUSDT", &mut market, at(4));
    // The take-profit buy triggers and its limit 58000.00 crosses the ask 57990.01.
    assert_eq!(kinds(&events)[..2], ["NEW/NEW", "TRADE/FILLED"]);
    assert_eq!(events[1].event["L"], "57990.01000000");
}

#[test]
fn a_quote_order_qty_market_buy_executes_the_closest_lot_size_quantity() {
    let mut market = market();
    let mut orders = Orders::default();
    let mut buy = order(OrderType::Market, Side::Buy);
    buy.quote_order_qty = Some(d("100.00"));
    let placed = orders
        .place(&Everyone, "alice", &fixture(), &buy, &mut market, at(1))
        .expect("placed");
    let order = orders.get(placed.order_id).expect("order");
    // 100 / 60000.01 = 0.0016666...: 0.00167 costs 100.2000167, 0.00166 costs 99.6000166.
    assert_eq!(order.orig_qty, d("0.00167"));
    assert_eq!(order.status, OrderStatus::Filled);
    let result = view::result(order, &market.all()[0].config, None);
    assert_eq!(result["origQuoteOrderQty"], "100.00000000");
    buy.quote_order_qty = Some(d("0.0001"));
    assert_eq!(
        orders
            .place(&Everyone, "alice", &fixture(), &buy, &mut market, at(2))
            .map(|p| p.order_id),
        Err(ApiError::FilterFailure("LOT_SIZE"))
    );
}

#[test]
fn cancels_unlock_and_report_with_both_client_ids() {
    let mut market = market();
    let mut orders = Orders::default();
    let mut buy = limit(Side::Buy, "50000.00", "0.1");
    buy.new_client_order_id = Some("mine");
    let id = orders
        .place(&Everyone, "alice", &fixture(), &buy, &mut market, at(1))
        .expect("placed")
        .order_id;
    assert_eq!(
        orders
            .place(&Everyone, "alice", &fixture(), &buy, &mut market, at(1))
            .map(|p| p.order_id),
        Err(ApiError::OrderRejected(DUPLICATE_ORDER))
    );
    let (canceled, events) = orders
        .cancel(
            &Everyone,
            "alice",
            "BTCUSDT",
            &OrderRef::Client("mine".to_owned()),
            Some("undo".to_owned()),
            &market,
            at(2),
        )
        .expect("canceled");
    assert_eq!(canceled, id);
    assert_eq!(
        kinds(&events),
        ["CANCELED/CANCELED", "outboundAccountPosition"]
    );
    assert_eq!(events[0].event["c"], "undo");
    assert_eq!(events[0].event["C"], "mine");
    assert_eq!(
        balance(&orders, "USDT"),
        ("10000.00000000".into(), "0.00000000".into())
    );
    let view = view::canceled(orders.get(id).expect("order"), &market.all()[0].config);
    assert_eq!(view["origClientOrderId"], "mine");
    assert_eq!(view["clientOrderId"], "undo");
    assert_eq!(
        orders
            .cancel(
                &Everyone,
                "alice",
                "BTCUSDT",
                &OrderRef::Id(id),
                None,
                &market,
                at(3)
            )
            .map(|(id, _)| id),
        Err(ApiError::CancelRejected(UNKNOWN_ORDER))
    );
    // The id is free again once its order is done, and another account's to take.
    let again = orders
        .place(&Everyone, "alice", &fixture(), &buy, &mut market, at(4))
        .expect("placed")
        .order_id;
    let bobs = orders
        .place(&Everyone, "bob", &fixture(), &buy, &mut market, at(4))
        .expect("placed")
        .order_id;
    let mine = OrderRef::Client("mine".to_owned());
    let found = |orders: &Orders, account| orders.find(account, "BTCUSDT", &mine).map(|o| o.id);
    assert_eq!(
        (found(&orders, "alice"), found(&orders, "bob")),
        (Some(again), Some(bobs))
    );
    orders
        .place(
            &Everyone,
            "alice",
            &fixture(),
            &limit(Side::Sell, "70000.00", "0.5"),
            &mut market,
            at(4),
        )
        .expect("placed");
    let (ids, events) = orders
        .cancel_all(&Everyone, "alice", "BTCUSDT", &market, at(5))
        .expect("canceled");
    assert_eq!(ids.len(), 2);
    assert_eq!(events.len(), 4);
    assert_eq!(orders.open_orders("alice", None).count(), 0);
    assert_eq!(orders.all_orders("alice", "BTCUSDT").count(), 3);
}

#[test]
fn the_control_plane_fills_a_resting_order_partly_then_wholly_as_maker() {
    let mut market = market();
    let mut orders = Orders::default();
    let id = orders
        .place(
            &Everyone,
            "alice",
            &fixture(),
            &limit(Side::Sell, "61000.00", "0.5"),
            &mut market,
            at(1),
        )
        .expect("placed")
        .order_id;
    assert_eq!(
        orders.fill_resting(&Everyone, id, Some(d("0.6")), &mut market, at(2)),
        Err(FillRefusal::BadQuantity {
            order: id,
            left: d("0.5"),
            asked: d("0.6")
        })
    );
    let events = orders
        .fill_resting(&Everyone, id, Some(d("0.2")), &mut market, at(2))
        .expect("filled");
    assert_eq!(
        kinds(&events),
        ["TRADE/PARTIALLY_FILLED", "outboundAccountPosition"]
    );
    assert_eq!(events[0].event["w"], true);
    let events = orders
        .fill_resting(&Everyone, id, None, &mut market, at(3))
        .expect("filled");
    assert_eq!(events[0].event["X"], "FILLED");
    assert_eq!(
        orders.fill_resting(&Everyone, id, None, &mut market, at(4)),
        Err(FillRefusal::NotResting(id))
    );
    // Seller's commission: 0.1% of 30500 USDT received.
    let trades: Vec<&Fill> = orders.trades("alice", "BTCUSDT").collect();
    assert_eq!(trades[1].commission, d("18.30000000"));
    let my_trade = view::trade(trades[0], &market.all()[0].config);
    assert_eq!(
        keys(&my_trade),
        [
            "symbol",
            "id",
            "orderId",
            "orderListId",
            "price",
            "qty",
            "quoteQty",
            "commission",
            "commissionAsset",
            "time",
            "isBuyer",
            "isMaker",
            "isBestMatch"
        ]
    );
    assert_eq!(balance(&orders, "USDT").0, "40469.50000000");
    assert_eq!(
        balance(&orders, "BTC"),
        ("0.50000000".into(), "0.00000000".into())
    );
}

#[test]
fn commission_sums_every_rate_and_rounds_down_to_the_commission_precision() {
    // The FAQ's rates on a taker sell of 0.49975 BTC at 35000: standard 0.01049475, tax
    // 0.04022988 (0.0402298750 rounded down), special 1049.475.
    let commission = Commission {
        standard: CommissionRates {
            maker: d("0.00000010"),
            taker: d("0.00000020"),
            buyer: d("0.00000030"),
            seller: d("0.00000040"),
        },
        tax: CommissionRates {
            maker: d("0.00000112"),
            taker: d("0.00000114"),
            buyer: d("0.00000118"),
            seller: d("0.00000116"),
        },
        ..Commission::default()
    };
    let account = fixture().with_commission(commission);
    let mut symbols = SymbolConfig::defaults();
    symbols[0].price = d("35000.01");
    let mut market = Market::new(&symbols, at(0));
    let mut orders = Orders::default();
    let placed = orders
        .place(
            &Everyone,
            "alice",
            &account,
            &market_order(Side::Sell, "0.49975"),
            &mut market,
            at(1),
        )
        .expect("placed");
    let trade = orders.trade(placed.fills[0]).expect("trade");
    assert_eq!(trade.price, d("35000.00"));
    // 17491.25 × (0.0000006 + 0.0000023) = 0.050724625, rounded down.
    assert_eq!(trade.commission, d("0.05072462"));
    assert_eq!(trade.commission_asset, "USDT");
}

#[test]
fn the_bnb_discount_applies_only_when_configured_and_bnb_can_pay() {
    let mut commission = Commission::default();
    commission.discount.enabled_for_account = true;
    let account = fixture().with_commission(commission).with_balances(vec![
        Balance::new("BTC", "1", "0"),
        Balance::new("USDT", "0", "0"),
        Balance::new("BNB", "1", "0"),
    ]);
    let mut market = market();
    let mut orders = Orders::default();
    let placed = orders
        .place(
            &Everyone,
            "alice",
            &account,
            &market_order(Side::Sell, "0.01"),
            &mut market,
            at(1),
        )
        .expect("placed");
    let trade = orders.trade(placed.fills[0]).expect("trade");
    // 599.9999 USDT × 0.001 × 0.25 at 600 USDT a BNB.
    assert_eq!(trade.commission_asset, "BNB");
    assert_eq!(trade.commission, d("0.00024999"));
    assert_eq!(
        orders.balances("alice", &account)[1].free,
        "599.99990000",
        "the USDT received is whole"
    );
    assert_eq!(
        placed
            .events
            .last()
            .map(|e| e.event["B"].as_array().map(Vec::len)),
        Some(Some(3))
    );
}

#[test]
fn a_placement_counts_a_first_fill_takes_one_off_and_the_51st_is_refused() {
    let mut market = market();
    let mut orders = Orders::default();
    let now = at(1_000);
    orders
        .place(
            &Everyone,
            "alice",
            &fixture(),
            &market_order(Side::Buy, "0.001"),
            &mut market,
            now,
        )
        .expect("placed");
    assert_eq!(orders.unfilled_counts("alice", now), [0, 0]);
    for _ in 0..50 {
        orders
            .place(
                &Everyone,
                "alice",
                &fixture(),
                &limit(Side::Buy, "1000.00", "0.001"),
                &mut market,
                now,
            )
            .expect("placed");
    }
    assert_eq!(orders.unfilled_counts("alice", now), [50, 50]);
    let refused = orders
        .place(
            &Everyone,
            "alice",
            &fixture(),
            &limit(Side::Buy, "1000.00", "0.001"),
            &mut market,
            now,
        )
        .map(|p| p.order_id)
        .expect_err("limit");
    assert_eq!((refused.status(), refused.code()), (429, -1015));
    assert_eq!(
        refused.message(),
        "Too many new orders; current limit is 50 orders per 10 SECOND."
    );
    // Cancels change nothing; the next window starts afresh.
    orders
        .cancel_all(&Everyone, "alice", "BTCUSDT", &market, now)
        .expect("canceled");
    assert_eq!(orders.unfilled_counts("alice", now), [50, 50]);
    assert_eq!(orders.unfilled_counts("alice", at(10_000)), [0, 50]);
    assert_eq!(
        ApiError::TooManyOrders {
            limit: 160_000,
            interval: "1 DAY".to_owned()
        }
        .message(),
        "Too many new orders; current limit is 160000 orders per 1 DAY."
    );
}

#[test]
fn a_reset_forgets_orders_and_balances_but_never_reuses_an_id() {
    let mut market = market();
    let mut orders = Orders::default();
    let first = orders
        .place(
            &Everyone,
            "alice",
            &fixture(),
            &market_order(Side::Buy, "0.01"),
            &mut market,
            at(1),
        )
        .expect("placed");
    orders.reset();
    assert_eq!(orders.balances("alice", &fixture()), fixture().balances);
    assert_eq!(orders.all_orders("alice", "BTCUSDT").count(), 0);
    assert_eq!(orders.unfilled_counts("alice", at(1)), [0, 0]);
    let second = orders
        .place(
            &Everyone,
            "alice",
            &fixture(),
            &market_order(Side::Buy, "0.01"),
            &mut market,
            at(2),
        )
        .expect("placed");
    assert!(second.order_id > first.order_id);
    assert!(second.fills[0] > first.fills[0]);
}

#[test]
fn responses_list_their_members_in_the_documented_order() {
    let mut market = market();
    let mut orders = Orders::default();
    let placed = orders
        .place(
            &Everyone,
            "alice",
            &fixture(),
            &limit(Side::Buy, "60000.02", "0.1"),
            &mut market,
            at(1),
        )
        .expect("placed");
    let order = orders.get(placed.order_id).expect("order");
    let config = &market.all()[0].config;
    let fills: Vec<&Fill> = placed
        .fills
        .iter()
        .filter_map(|id| orders.trade(*id))
        .collect();
    let full = view::result(order, config, Some(&fills));
    assert_eq!(
        keys(&full),
        [
            "symbol",
            "orderId",
            "orderListId",
            "clientOrderId",
            "transactTime",
            "price",
            "origQty",
            "executedQty",
            "origQuoteOrderQty",
            "cummulativeQuoteQty",
            "status",
            "timeInForce",
            "type",
            "side",
            "workingTime",
            "fills",
            "selfTradePreventionMode"
        ]
    );
    assert_eq!(
        keys(&full["fills"][0]),
        ["price", "qty", "commission", "commissionAsset", "tradeId"]
    );
    assert_eq!(keys(&view::ack(order)).len(), 5);
    let status = view::status(order, config);
    assert_eq!(
        keys(&status),
        [
            "symbol",
            "orderId",
            "orderListId",
            "clientOrderId",
            "price",
            "origQty",
            "executedQty",
            "cummulativeQuoteQty",
            "status",
            "timeInForce",
            "type",
            "side",
            "stopPrice",
            "icebergQty",
            "time",
            "updateTime",
            "isWorking",
            "workingTime",
            "origQuoteOrderQty",
            "selfTradePreventionMode"
        ]
    );
}

// The property: any sequence of placements, cancels, price moves and control-plane fills
// keeps every balance conserved and no locked amount negative.

#[derive(Debug, Clone)]
enum Step {
    Place {
        buy: bool,
        kind: u8,
        offset: i64,
        qty: u32,
        tif: u8,
    },
    Cancel(usize),
    Move(i64),
    Fill {
        pick: usize,
        part: bool,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (any::<bool>(), 0u8..5, -30i64..30, 1u32..40_000, 0u8..3)
            .prop_map(|(buy, kind, offset, qty, tif)| Step::Place { buy, kind, offset, qty, tif }),
        1 => (0usize..64).prop_map(Step::Cancel),
        2 => (-40i64..40).prop_map(Step::Move),
        1 => (0usize..64, any::<bool>()).prop_map(|(pick, part)| Step::Fill { pick, part }),
    ]
}

fn checked(buy: bool, kind: u8, price: Decimal, qty: Decimal, tif: u8) -> CheckedOrder<'static> {
    let side = if buy { Side::Buy } else { Side::Sell };
    let tif = [TimeInForce::Gtc, TimeInForce::Ioc, TimeInForce::Fok][usize::from(tif)];
    let mut o = match kind {
        0 => market_order(side, "1"),
        1 => limit(side, "1", "1"),
        2 => {
            let mut o = limit(side, "1", "1");
            o.order_type = OrderType::LimitMaker;
            o.time_in_force = None;
            o
        }
        3 => {
            let mut o = order(OrderType::StopLoss, side);
            o.stop_price = Some(price);
            o
        }
        _ => {
            let mut o = order(OrderType::TakeProfitLimit, side);
            o.stop_price = Some(price);
            o.price = Some(price);
            o.time_in_force = Some(tif);
            o
        }
    };
    if o.order_type == OrderType::Limit {
        o.price = Some(price);
        o.time_in_force = Some(tif);
    }
    if o.order_type == OrderType::LimitMaker {
        o.price = Some(price);
    }
    o.quantity = Some(qty);
    o
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn balances_are_conserved_and_never_locked_below_zero(
        steps in proptest::collection::vec(step(), 1..40)
    ) {
        let mut symbols = SymbolConfig::defaults();
        symbols[0].book_levels = 5;
        symbols[0].level_quantity = d("0.5");
        let mut market = Market::new(&symbols, at(0));
        let mut orders = Orders::default();
        let tick = d("0.01");
        let mut now = 0;
        for step in steps {
            now += 100;
            let price = market.get("BTCUSDT").map(|l| l.price).unwrap_or_default();
            match step {
                Step::Place { buy, kind, offset, qty, tif } => {
                    let at_price = price + tick * Decimal::from(offset) * d("100");
                    let qty = Decimal::new(i64::from(qty), 5);
                    let order = checked(buy, kind, at_price, qty, tif);
                    let _ = orders.place(&Everyone, "alice", &fixture(), &order, &mut market, at(now));
                }
                Step::Cancel(pick) => {
                    let open: Vec<u64> = orders.open_orders("alice", None).map(|o| o.id).collect();
                    if !open.is_empty() {
                        let id = open[pick % open.len()];
                        orders
                            .cancel(&Everyone, "alice", "BTCUSDT", &OrderRef::Id(id), None, &market, at(now))
                            .expect("open orders cancel");
                    }
                }
                Step::Move(by) => {
                    let to = (price + tick * Decimal::from(by) * d("50")).max(d("1000.00"));
                    market.set_price("BTCUSDT", &to.to_string(), at(now)).expect("on tick");
                    orders.price_moved(&Everyone, "BTCUSDT", &mut market, at(now));
                }
                Step::Fill { pick, part } => {
                    let resting: Vec<&Order> =
                        orders.open_orders("alice", None).filter(|o| o.is_resting()).collect();
                    if !resting.is_empty() {
                        let o = resting[pick % resting.len()];
                        let qty = part.then(|| (o.remaining() / d("2")).round_dp(5))
                            .filter(|q| !q.is_zero());
                        let id = o.id;
                        orders.fill_resting(&Everyone, id, qty, &mut market, at(now)).expect("resting");
                    }
                }
            }
            let state = orders.accounts.get("alice");
            for holding in state.iter().flat_map(|s| s.wallet.holdings.iter()) {
                prop_assert!(holding.conserved(), "{holding:?}");
                prop_assert!(holding.locked >= Decimal::ZERO, "{holding:?}");
                prop_assert!(holding.free >= Decimal::ZERO, "{holding:?}");
            }
            // What the open orders hold is exactly what is locked.
            if let Some(state) = state {
                for asset in ["BTC", "USDT"] {
                    let held: Decimal = orders
                        .open_orders("alice", None)
                        .filter(|o| (asset == "USDT") == o.is_buy())
                        .map(|o| o.locked)
                        .sum();
                    let locked = state.wallet.holding(asset).map_or(Decimal::ZERO, |h| h.locked);
                    prop_assert_eq!(held, locked, "{}", asset);
                }
            }
            // The open orders kept apart are exactly those whose status is open.
            let open: Vec<u64> = orders.open_orders("alice", None).map(|o| o.id).collect();
            let scanned: Vec<u64> =
                orders.every_order().filter(|o| o.status.is_open()).map(|o| o.id).collect();
            // The list behind them holds at most as many ended orders as open ones.
            prop_assert!(orders.orders.open.len() <= 2 * open.len(), "{:?}", orders.orders.open);
            // The name index holds the open orders, each found by its name, and no other.
            prop_assert_eq!(orders.orders.named.len(), open.len());
            for o in orders.every_order() {
                let found = orders.orders.open_named("alice", &o.client_order_id).map(|f| f.id);
                prop_assert_eq!(found, o.status.is_open().then_some(o.id), "{:?}", o);
            }
            prop_assert_eq!(open, scanned);
            for o in orders.all_orders("alice", "BTCUSDT") {
                prop_assert!(o.locked >= Decimal::ZERO);
                prop_assert!(o.executed_qty <= o.orig_qty);
                prop_assert!(o.status.is_open() || o.locked.is_zero());
            }
        }
    }
}

/// Hears only the accounts it names.
struct Only(&'static str);

impl Audience for Only {
    fn hears(&self, account: &str) -> bool {
        account == self.0
    }
}

#[test]
fn events_are_built_only_for_accounts_someone_hears_and_ids_run_on_either_way() {
    let mut market = market();
    let mut heard = Orders::default();
    let mut unheard = Orders::default();
    let buy = limit(Side::Buy, "59000.00", "0.00100");
    let first = heard
        .place(&Everyone, "alice", &fixture(), &buy, &mut market, at(1))
        .expect("placed");
    assert_eq!(kinds(&first.events), ["NEW/NEW", "outboundAccountPosition"]);
    let silent = unheard
        .place(&Only("bob"), "alice", &fixture(), &buy, &mut market, at(1))
        .expect("placed");
    assert!(silent.events.is_empty(), "{:?}", silent.events);
    assert_eq!(silent.order_id, first.order_id);
    // Once someone listens, the reports are what they would have been all along: the
    // execution ids (`I`) went on counting while nobody heard.
    let (_, heard_cancel) = heard
        .cancel(
            &Everyone,
            "alice",
            "BTCUSDT",
            &OrderRef::Id(first.order_id),
            None,
            &market,
            at(2),
        )
        .expect("canceled");
    let (_, unheard_cancel) = unheard
        .cancel(
            &Only("alice"),
            "alice",
            "BTCUSDT",
            &OrderRef::Id(first.order_id),
            None,
            &market,
            at(2),
        )
        .expect("canceled");
    assert_eq!(
        kinds(&unheard_cancel),
        ["CANCELED/CANCELED", "outboundAccountPosition"]
    );
    assert_eq!(unheard_cancel, heard_cancel);
    assert_eq!(heard_cancel[0].event["I"], 2);
}

#[test]
fn a_generated_client_order_id_is_mock_and_18_digits() {
    for n in [
        0,
        1,
        42,
        999_999_999_999_999_999,
        1_000_000_000_000_000_000,
        u64::MAX,
    ] {
        assert_eq!(generated_client_id(n), format!("mock{n:018}"));
    }
    assert_eq!(generated_client_id(7).len(), 22);
}

#[test]
fn orders_past_one_chunk_of_the_store_are_found_by_id_and_listed_in_order() {
    let mut market = market();
    let mut orders = Orders::default();
    let count = CHUNK * 2 + 3;
    let ids: Vec<u64> = (0..count)
        .map(|i| {
            let buy = limit(Side::Buy, "1000", "0.001");
            let placed = orders
                .place(
                    &Everyone,
                    "alice",
                    &fixture(),
                    &buy,
                    &mut market,
                    at(i as i64 * 250),
                )
                .expect("placed");
            placed.order_id
        })
        .collect();
    for &id in [ids[0], ids[CHUNK - 1], ids[CHUNK], ids[count - 1]].iter() {
        assert_eq!(orders.get(id).map(|o| o.id), Some(id));
    }
    assert!(orders.get(ids[count - 1] + 1).is_none());
    let listed: Vec<u64> = orders
        .all_orders("alice", "BTCUSDT")
        .map(|o| o.id)
        .collect();
    assert_eq!(listed, ids);
    let open: Vec<u64> = orders.open_orders("alice", None).map(|o| o.id).collect();
    assert_eq!(open, ids);
}
