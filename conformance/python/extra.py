"""The driver's own steps after the contract's six: exchangeInfo, a fill through the control plane,
and order.test signed per request, where the connector's number formatting shows.

Each step takes the driver's state `run` (see contract.py) and returns what it saw worth a
mention on its PASS line, if anything; it raises to fail.
"""

import json
from decimal import Decimal

from binance_sdk_spot.websocket_api.models import (
    OrderTestSideEnum,
    OrderTestTimeInForceEnum,
    OrderTestTypeEnum,
)

from connector import DEMO_API_KEY, call, event_fields, expect, refusal, result
from contract import RESTING_BUY, is_report

# A BUY LIMIT under the market that passes every filter (notional 59000 x 0.001 = 59 USDT).
TEST_BUY = {
    "symbol": "BTCUSDT",
    "side": OrderTestSideEnum.BUY,
    "type": OrderTestTypeEnum.LIMIT,
    "time_in_force": OrderTestTimeInForceEnum.GTC,
    "price": 59000.0,
    "quantity": 0.001,
}

# Nine steps of 0.00001: 5.31 USDT at 59000, over the 5 USDT minNotional. Python writes this float
# as '9e-05', which Binance's pattern for quantities does not allow.
SMALL_QUANTITY = "0.00009"


async def exchange_info(run):
    """7: exchangeInfo BTCUSDT: the symbol, its filters and tickSize.

    The connector validates the whole reply envelope against ExchangeInfoResponse, a model of
    the `result` alone: its typed fields stay None and the result is found only in
    `additional_properties["result"]`. The step reads it from wherever the connector put it and
    says which on its PASS line.
    """
    data = await call("exchangeInfo", run.connection.exchange_info(symbol="BTCUSDT"))
    error = refusal(data)
    expect(error is None, f"exchangeInfo refused: {json.dumps(error)}")
    if data.symbols is not None:
        symbols = [symbol.to_dict() for symbol in data.symbols]
        where = "in the model's typed fields"
    else:
        symbols = (data.additional_properties.get("result") or {}).get("symbols")
        where = "typed fields None, the result only in additional_properties['result']"
    expect(
        isinstance(symbols, list) and [s.get("symbol") for s in symbols] == ["BTCUSDT"],
        f"exchangeInfo symbols {symbols!r}",
    )
    filters = {f["filterType"]: f for f in symbols[0].get("filters", [])}
    for kind in ("PRICE_FILTER", "LOT_SIZE", "NOTIONAL"):
        expect(kind in filters, f"exchangeInfo BTCUSDT has no {kind}: {sorted(filters)}")
    tick = filters["PRICE_FILTER"].get("tickSize")
    expect(tick == "0.01000000", f"tickSize {tick!r}")
    return where


async def order_filled_by_control_plane(run):
    """8: a resting LIMIT order filled through the control plane: NEW, then the TRADE report."""
    since = run.events.mark()
    placed = result(
        "order.place", await call("order.place", run.connection.order_place(**RESTING_BUY))
    )
    order_id = placed.order_id
    await run.events.next(f"NEW report of order {order_id}", is_report(order_id, "NEW"), since)

    filled = await run.admin.post(f"/orders/{order_id}/fill", {})
    expect(filled.get("status") == "FILLED", f"fill answered {filled}")
    trade = await run.events.next(
        f"TRADE report of order {order_id}", is_report(order_id, "TRADE"), since
    )
    _, fields = event_fields(trade)
    expect(
        fields.get("X") == "FILLED" and fields.get("l") == "0.00100000",
        f"TRADE report {fields}",
    )
    return f"order {order_id}"


async def order_test_signed_per_request(run):
    """9: after session.logout, order.test signed by the connector itself (apiKey, timestamp and
    an Ed25519 signature in the request). A valid order answers {} with a valid signature in the
    journal; computeCommissionRates answers the rates.

    The connector writes a number with `str()`: the float 0.00009, which is what its `quantity:
    float` signature asks for, goes out as '9e-05' and Binance's pattern refuses it with -1100;
    the same quantity as a Decimal goes out as 0.00009 and passes. The step expects both.
    """
    result("session.logout", await call("session.logout", run.connection.session_logout()))

    valid = await call("order.test", run.connection.order_test(**TEST_BUY))
    result("order.test", valid)
    sent = await run.admin.last_request("order.test")
    params = json.loads(sent["request"])["params"]
    expect(
        params.get("apiKey") == DEMO_API_KEY and "signature" in params,
        f"order.test sent with params {params}",
    )
    expect(
        (sent.get("signature") or {}).get("valid") is True,
        f"order.test signature in the journal: {sent.get('signature')}",
    )

    rates = result(
        "order.test computeCommissionRates",
        await call(
            "order.test",
            run.connection.order_test(**TEST_BUY, compute_commission_rates=True),
        ),
    )
    expect(
        rates.standard_commission_for_order is not None,
        f"order.test computeCommissionRates answered {rates!r}",
    )

    as_float = await call(
        "order.test",
        run.connection.order_test(**{**TEST_BUY, "quantity": float(SMALL_QUANTITY)}),
    )
    float_sent = json.loads((await run.admin.last_request("order.test"))["request"])
    float_quantity = float_sent["params"].get("quantity")
    error = refusal(as_float) or {}
    expect(
        error.get("code") == -1100 and float_quantity == repr(float(SMALL_QUANTITY)),
        f"quantity {float(SMALL_QUANTITY)!r} as a float: sent {float_quantity!r},"
        f" answered {as_float!r}",
    )

    as_decimal = await call(
        "order.test",
        run.connection.order_test(**{**TEST_BUY, "quantity": Decimal(SMALL_QUANTITY)}),
    )
    result("order.test with a Decimal quantity", as_decimal)
    decimal_sent = json.loads((await run.admin.last_request("order.test"))["request"])
    expect(
        decimal_sent["params"].get("quantity") == SMALL_QUANTITY,
        f"Decimal quantity sent as {decimal_sent['params'].get('quantity')!r}",
    )
    return (
        f"float {float(SMALL_QUANTITY)!r} sent as {float_quantity!r}: -1100;"
        f" Decimal sent as {SMALL_QUANTITY}: accepted"
    )
