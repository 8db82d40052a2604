"""Steps 1-6 of the connector contract (issue 15), each through the connector's public API on one
client: session.logon/status/logout, account.status signed by the session, a User Data Stream
event pushed through the control plane, -1021 on a clock 10 s ahead, serverShutdown, and a LIMIT
order with its executionReports.

Each step takes the driver's state `run` (made in run.py: client, admin, connection, events,
connection_events, stream) and returns what it saw worth a mention on its PASS line, if anything;
it raises to fail.
"""

import json
import time

from binance_sdk_spot.websocket_api.models import (
    OrderPlaceSideEnum,
    OrderPlaceTimeInForceEnum,
    OrderPlaceTypeEnum,
)

from connector import (
    DEMO_API_KEY,
    RENEWAL_S,
    WAIT_S,
    call,
    event_fields,
    expect,
    refusal,
    result,
    within,
)

# The balanceUpdate that steps 3 and 5 push; `d` tells one push from another.
BALANCE_UPDATE = {"e": "balanceUpdate", "a": "BTC", "d": "0.10000000", "T": 1700000000000}

# The message of -1021 in Binance's errors.md.
RECV_WINDOW_MSG = "Timestamp for this request is outside of the recvWindow."

# The LIMIT order steps 6 and 8 place: a buy under the market (60000), so it rests.
RESTING_BUY = {
    "symbol": "BTCUSDT",
    "side": OrderPlaceSideEnum.BUY,
    "type": OrderPlaceTypeEnum.LIMIT,
    "time_in_force": OrderPlaceTimeInForceEnum.GTC,
    "price": 59000.0,
    "quantity": 0.001,
}


def is_balance_update(delta):
    """Matches the balanceUpdate pushed with `d` = `delta`."""

    def matches(event):
        model, fields = event_fields(event)
        return model == "BalanceUpdate" and fields.get("d") == delta

    return matches


def is_report(order_id, execution_type):
    """Matches the executionReport of order `order_id` with execution type `execution_type`."""

    def matches(event):
        model, fields = event_fields(event)
        return (
            model == "ExecutionReport"
            and fields.get("i") == order_id
            and fields.get("x") == execution_type
        )

    return matches


async def session_logon_status_logout(run):
    """1: connect, session.logon, session.status shows the key, session.logout, status shows
    null."""
    # create_connection() opens the socket and answers the client itself.
    run.connection = await within(
        WAIT_S, "create_connection", run.client.websocket_api.create_connection()
    )
    expect(run.connection is not None, "create_connection() answered None (see stderr)")
    # Connection events (open, close, reconnect, error) are the only sign of a serverShutdown
    # renewal the connector gives a user; 'open' is handed over at once for the open socket.
    for name in ("open", "close", "reconnect", "error"):
        run.connection.on_connection(
            name, lambda *args, name=name: run.connection_events.push((name, args))
        )

    logon = result("session.logon", await call("session.logon", run.connection.session_logon()))
    expect(logon.api_key == DEMO_API_KEY, f"session.logon apiKey {logon.api_key!r}")
    expect(
        isinstance(logon.authorized_since, int),
        f"session.logon authorizedSince {logon.authorized_since!r}",
    )

    status = result("session.status", await call("session.status", run.connection.session_status()))
    expect(status.api_key == DEMO_API_KEY, f"session.status apiKey {status.api_key!r}")

    logout = result("session.logout", await call("session.logout", run.connection.session_logout()))
    expect(logout.api_key is None, f"session.logout apiKey {logout.api_key!r}")

    after = result("session.status", await call("session.status", run.connection.session_status()))
    expect(after.api_key is None, f"session.status after logout: apiKey {after.api_key!r}")
    expect(
        after.authorized_since is None,
        f"session.status after logout: authorizedSince {after.authorized_since!r}",
    )


async def account_status_signed_by_session(run):
    """2: log on again; account.status goes without apiKey and signature, the session signs it."""
    result("session.logon", await call("session.logon", run.connection.session_logon()))
    account = result(
        "account.status", await call("account.status", run.connection.account_status())
    )
    free = {balance.asset: balance.free for balance in account.balances or []}
    expect(
        free.get("BTC") == "1.00000000" and free.get("USDT") == "10000.00000000",
        f"account.status balances {free}",
    )

    # The journal shows what the connector sent: the session's key ran it, no credentials in it.
    sent = await run.admin.last_request("account.status")
    params = json.loads(sent["request"])["params"]
    expect(
        "apiKey" not in params
        and "signature" not in params
        and isinstance(params.get("timestamp"), int),
        f"account.status sent with params {params}",
    )
    expect(
        sent["apiKey"] == DEMO_API_KEY and sent["signature"] is None,
        f"journal entry {sent}",
    )
    return "sent with a timestamp only"


async def balance_update_delivered(run):
    """3: userDataStream.subscribe; a balanceUpdate pushed through the control plane reaches the
    handler."""
    subscribed = await within(
        WAIT_S, "userDataStream.subscribe", run.connection.user_data_stream_subscribe()
    )
    subscription = result("userDataStream.subscribe", subscribed.response.data())
    expect(
        isinstance(subscription.subscription_id, int),
        f"userDataStream.subscribe answered {subscription!r}",
    )
    run.stream = subscribed.stream
    run.stream.on("message", run.events.push)

    since = run.events.mark()
    pushed = await run.admin.post(f"/accounts/{DEMO_API_KEY}/events", BALANCE_UPDATE)
    expect(
        pushed["delivered"] == 1, f"the control plane reached {pushed['delivered']} subscriptions"
    )
    event = await run.events.next("balanceUpdate", is_balance_update(BALANCE_UPDATE["d"]), since)
    model, fields = event_fields(event)
    expect(
        fields.get("a") == "BTC"
        and fields.get("T") == BALANCE_UPDATE["T"]
        and isinstance(fields.get("E"), int),
        f"balanceUpdate {model} {fields}",
    )
    return f"as a {model} model"


async def timestamp_outside_recv_window(run):
    """4: with the mock's clock frozen 10 s ahead, the next signed request is 10 s behind it,
    past the default recvWindow of 5000 ms: -1021.

    The connector raises nothing: it turns the reply's `error` member into a ValueError inside,
    catches that itself, logs it, and hands back a response whose `data()` is the plain dict
    `{"error": {"code": -1021, "msg": ...}}` where the model would be. The clock is put back
    whatever happens, connections kept.
    """
    clock = await run.admin.get("/clock")
    await run.admin.post("/clock", {"set": clock["now"] + 10000, "freeze": True})
    raised = None
    data = None
    try:
        data = await call("account.status", run.connection.account_status())
    except Exception as error:  # the connector documents none; name whatever comes
        raised = error
    finally:
        await run.admin.post("/reset", {"connections": "keep"})

    expect(raised is None, f"account.status raised {type(raised).__name__}: {raised}")
    error = refusal(data)
    expect(
        error == {"code": -1021, "msg": RECV_WINDOW_MSG},
        f"account.status with the clock 10 s ahead answered {data!r}",
    )

    again = result("account.status", await call("account.status", run.connection.account_status()))
    expect(isinstance(again.balances, list), f"account.status after the reset: {again!r}")
    return f"not raised: data() is the plain dict {json.dumps({'error': error})}"


async def server_shutdown_renews_the_connection(run):
    """5: serverShutdown to the driver's connection.

    The connector (binance-common's receive loop) logs a warning, then waits a fixed 5 s inside
    the receive loop of the old connection (no frame on it is read meanwhile), sends
    session.logout there, waits 1 s, emits 'reconnect', waits reconnect_delay, opens a new
    connection to the same URL, logs it on (signed anew), subscribes it to the User Data Stream
    again (the same stream handle), emits 'open' on it and closes the old one. The PASS line says
    how long that took and whether a balanceUpdate pushed during the 5 s reached the handler.
    """
    before = await run.admin.demo_connections()
    expect(len(before) == 1, f"demo-key connections before: {before}")
    old = before[0]

    since = run.connection_events.mark()
    events_since = run.events.mark()
    announced = await run.admin.post("/server-shutdown", {"connection": old["id"]})
    expect(announced.get("announced") == 1, f"server-shutdown announced {announced}")
    started = time.monotonic()

    # Pushed while the connector is still on the old connection: the mock delivers it there.
    during = {**BALANCE_UPDATE, "d": "0.20000000"}
    pushed = await run.admin.post(f"/accounts/{DEMO_API_KEY}/events", during)
    expect(pushed["delivered"] == 1, f"the push during the wait reached {pushed['delivered']}")

    # No close is scheduled, so the old connection can only leave because the connector left it.
    after_reconnect = await run.connection_events.mark_after(
        "'reconnect' connection event", lambda e: e[0] == "reconnect", since, RENEWAL_S
    )
    await run.connection_events.next(
        "'open' connection event after 'reconnect'",
        lambda e: e[0] == "open",
        after_reconnect,
        RENEWAL_S,
    )
    took = time.monotonic() - started

    async def renewed_probe():
        now = await run.admin.demo_connections()
        moved = (
            len(now) == 1 and now[0]["id"] != old["id"] and now[0]["authorizedSince"] is not None
        )
        return now[0] if moved else None

    renewed = await run.admin.until("renewed, logged-on connection", renewed_probe)
    logout = await run.admin.last_request("session.logout", connection=old["id"])
    expect(logout["status"] == 200, f"session.logout on the old connection: {logout}")

    status = result("session.status", await call("session.status", run.connection.session_status()))
    expect(status.api_key == DEMO_API_KEY, f"session.status after renewal: {status.api_key!r}")
    sent = await run.admin.last_request("session.status")
    expect(
        sent["connection"] == renewed["id"],
        f"session.status went on connection {sent['connection']}",
    )

    # The stream handle from step 3 still delivers: the connector subscribed the new connection.
    expect(renewed["subscriptions"], f"renewed connection without a subscription: {renewed}")
    after = {**BALANCE_UPDATE, "d": "0.30000000"}
    pushed = await run.admin.post(f"/accounts/{DEMO_API_KEY}/events", after)
    expect(pushed["delivered"] == 1, f"the push after renewal reached {pushed['delivered']}")
    await run.events.next(
        "balanceUpdate after renewal", is_balance_update(after["d"]), events_since
    )

    lost = not any(is_balance_update(during["d"])(e) for e in run.events.seen[events_since:])
    return (
        f"connection {old['id']} logged out and closed by the connector, {renewed['id']} logged"
        f" on and subscribed again, 'reconnect' then 'open' after {took:.1f} s;"
        f" balanceUpdate pushed during the wait {'lost' if lost else 'delivered'}"
    )


async def limit_order_placed_and_cancelled(run):
    """6: a resting LIMIT order: NEW on the stream, order.cancel, CANCELED on the stream."""
    since = run.events.mark()
    placed = result(
        "order.place", await call("order.place", run.connection.order_place(**RESTING_BUY))
    )
    expect(placed.status == "NEW", f"order.place status {placed.status!r}")
    order_id = placed.order_id
    await run.events.next(f"NEW report of order {order_id}", is_report(order_id, "NEW"), since)

    cancelled = result(
        "order.cancel",
        await call(
            "order.cancel",
            run.connection.order_cancel(symbol="BTCUSDT", order_id=order_id),
        ),
    )
    expect(cancelled.status == "CANCELED", f"order.cancel status {cancelled.status!r}")
    await run.events.next(
        f"CANCELED report of order {order_id}", is_report(order_id, "CANCELED"), since
    )
    return f"order {order_id}"
