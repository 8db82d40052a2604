#!/usr/bin/env python3
"""The mock's control plane from a Python test, against the mock binary.

    python3 -m venv .venv && .venv/bin/pip install -r examples/python/requirements.txt
    .venv/bin/python examples/python/control_plane.py   # MOCK_URL=http://127.0.0.1:9443

Five checks on one WebSocket connection, each through a plain HTTP call to /__admin/*:
  (a) freeze the clock, log on, advance 61 s: the REQUEST_WEIGHT window rolls over;
  (b) push a balanceUpdate to the subscribed account: it arrives on the socket;
  (c) fault the next session.status: the canned reply carries our id, the one after is normal;
  (d) move BTCUSDT's price: ticker.price and depth follow at once; a price off the tick is 400;
  (e) place a resting LIMIT order, find it through the control plane and fill it there.
Then POST /__admin/reset. Every wait has a timeout; any failure exits with code 1.
"""

import asyncio
import base64
import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

import websockets
from cryptography.hazmat.primitives.serialization import load_pem_private_key

MOCK_URL = os.environ.get("MOCK_URL", "http://127.0.0.1:9443").rstrip("/")
TIMEOUT = 5.0  # seconds, for every HTTP call and every frame awaited

# The built-in demo key: test material, public on purpose (mock-server/src/keys.rs, `demo`).
API_KEY = "demoDhU4XgaOzyx7J3SdoVwgP4FmErxTM1cHho4PAAANvkYfQv9NomBbjl2y4y5q"
PRIVATE_KEY_PEM = Path(__file__).resolve().parents[2] / "mock-server/keys/demo-ed25519-private.pem"

CANNED_ERROR = {
    "code": -1001,
    "msg": "Internal error; unable to process your request. Please try again.",
}


class Failure(Exception):
    """A check that did not hold."""


def check(condition, what):
    if not condition:
        raise Failure(what)


def admin(method, path, body=None, expect=200):
    """One control-plane call: JSON in, JSON out; fails on any other status than `expect`."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(MOCK_URL + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    token = os.environ.get("MOCK_ADMIN_TOKEN")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    check(status == expect, f"{method} {path} {body}: HTTP {status} {text}, expected {expect}")
    return json.loads(text)


def sign(params, private_key):
    """Binance's signature: every param, sorted by name, `k=v` joined by `&`, Ed25519, base64."""
    payload = "&".join(f"{key}={params[key]}" for key in sorted(params))
    return payload, base64.b64encode(private_key.sign(payload.encode())).decode()


def weight(reply):
    """The REQUEST_WEIGHT count of a reply's rateLimits."""
    for limit in reply.get("rateLimits", []):
        if limit.get("rateLimitType") == "REQUEST_WEIGHT":
            return limit["count"]
    raise Failure(f"no REQUEST_WEIGHT in rateLimits: {reply}")


class Connection:
    """A WebSocket connection that sends requests and waits, bounded, for replies and events."""

    def __init__(self, socket):
        self.socket = socket
        self.frames = []  # received, not yet taken

    async def take(self, accept, what):
        """The first received frame `accept` takes, waiting at most TIMEOUT seconds."""
        deadline = asyncio.get_running_loop().time() + TIMEOUT
        while True:
            for index, frame in enumerate(self.frames):
                if accept(frame):
                    return self.frames.pop(index)
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise Failure(f"no {what} within {TIMEOUT} s")
            try:
                text = await asyncio.wait_for(self.socket.recv(), left)
            except asyncio.TimeoutError:
                raise Failure(f"no {what} within {TIMEOUT} s") from None
            self.frames.append(json.loads(text))

    async def call(self, request_id, method, params=None):
        request = {"id": request_id, "method": method}
        if params is not None:
            request["params"] = params
        await self.socket.send(json.dumps(request))
        return await self.take(
            lambda frame: frame.get("id") == request_id, f"reply to {method} (id {request_id})"
        )

    async def event(self):
        return await self.take(lambda frame: "id" not in frame, "event")


async def run(private_key):
    ws_url = admin("GET", "/__admin/health")["url"]

    # (a) A frozen clock: the logon is signed with the mock's time, then the minute rolls.
    clock = admin("POST", "/__admin/clock", {"freeze": True})
    check(clock["frozen"] is True, f"clock not frozen: {clock}")
    now = admin("GET", "/__admin/clock")["now"]
    check(now == clock["now"], f"a frozen clock moved: {clock['now']} then {now}")

    async with websockets.connect(ws_url, open_timeout=TIMEOUT, close_timeout=TIMEOUT) as socket:
        ws = Connection(socket)
        payload, signature = sign({"apiKey": API_KEY, "timestamp": now}, private_key)
        logon = await ws.call(
            "logon", "session.logon", {"apiKey": API_KEY, "timestamp": now, "signature": signature}
        )
        check(logon.get("status") == 200, f"session.logon: {logon}")
        check(logon["result"]["apiKey"] == API_KEY, f"session.logon: {logon}")
        check(logon["result"]["authorizedSince"] == now, f"authorizedSince: {logon}")
        before = weight(logon)
        check(before >= 2, f"logon weight not counted: {logon}")

        # The journal shows the exact payload the server verified.
        journal = admin("GET", "/__admin/requests?method=session.logon&limit=1")["requests"]
        check(len(journal) == 1, f"journal: {journal}")
        check(journal[0]["signature"]["payload"] == payload, f"signature payload: {journal[0]}")
        check(journal[0]["signature"]["valid"] is True, f"signature: {journal[0]}")

        clock = admin("POST", "/__admin/clock", {"advance": 61_000})
        check(clock["now"] == now + 61_000, f"advance 61 s: {clock}")
        ping = await ws.call("ping", "ping")
        check(ping.get("status") == 200, f"ping: {ping}")
        after = weight(ping)
        check(after == 1 and after < before, f"weight did not restart: {before} then {after}")
        print(f"(a) weight window rolled: count {before} before, {after} after advancing 61 s")

        # (b) A pushed balanceUpdate reaches the subscription.
        subscribed = await ws.call("subscribe", "userDataStream.subscribe")
        check(subscribed.get("status") == 200, f"userDataStream.subscribe: {subscribed}")
        subscription = subscribed["result"]["subscriptionId"]
        event = {"e": "balanceUpdate", "a": "BTC", "d": "0.10000000", "T": now + 61_000}
        delivered = admin("POST", f"/__admin/accounts/{API_KEY}/events", event)
        check(delivered == {"delivered": 1}, f"events: {delivered}")
        frame = await ws.event()
        check(frame.get("subscriptionId") == subscription, f"event frame: {frame}")
        got = frame.get("event", {})
        check(got.get("e") == "balanceUpdate" and got.get("d") == "0.10000000", f"event: {frame}")
        check(got.get("E") == now + 61_000, f"E not filled from the mock clock: {frame}")
        print(f"(b) balanceUpdate delivered to subscription {subscription}")

        # (c) The next session.status gets a canned error with our id; the one after is normal.
        fault = {
            "method": "session.status",
            "times": 1,
            "action": {"type": "reply", "status": 400, "error": CANNED_ERROR},
        }
        added = admin("POST", "/__admin/faults", fault, expect=201)
        check(isinstance(added.get("id"), int), f"fault id: {added}")
        faulted = await ws.call("status-1", "session.status")
        check(faulted.get("status") == 400, f"faulted session.status: {faulted}")
        check(faulted.get("error") == CANNED_ERROR, f"faulted session.status: {faulted}")
        check("rateLimits" in faulted, f"canned reply without rateLimits: {faulted}")
        normal = await ws.call("status-2", "session.status")
        check(normal.get("status") == 200, f"session.status after the fault: {normal}")
        check(normal["result"]["apiKey"] == API_KEY, f"session.status: {normal}")
        faults = admin("GET", "/__admin/faults")["faults"]
        check(faults == [], f"a used-up rule is still listed: {faults}")
        print("(c) faulted session.status answered -1001 with its id; the next one was normal")

        # (d) The market moves only when the test moves it.
        moved = admin("POST", "/__admin/symbols/BTCUSDT/price", {"price": "61000.00"})
        check(moved["price"] == "61000.00000000", f"price: {moved}")
        ticker = await ws.call("price", "ticker.price", {"symbol": "BTCUSDT"})
        check(ticker.get("result") == {"symbol": "BTCUSDT", "price": "61000.00000000"},
              f"ticker.price: {ticker}")
        depth = await ws.call("depth", "depth", {"symbol": "BTCUSDT", "limit": 1})
        book = depth.get("result", {})
        check(book.get("bids") == [["60999.99000000", "1.00000000"]]
              and book.get("asks") == [["61000.01000000", "1.00000000"]], f"depth: {depth}")
        off_tick = admin("POST", "/__admin/symbols/BTCUSDT/price", {"price": "61000.005"}, expect=400)
        check("tickSize" in off_tick.get("error", ""), f"off-tick price: {off_tick}")
        print("(d) BTCUSDT moved to 61000.00: ticker.price and depth followed")

        # (e) An order rests under the market until the test fills it. The session's key signs
        # it: no apiKey or signature, only a timestamp, on the mock's clock.
        mock_now = admin("GET", "/__admin/clock")["now"]
        placed = await ws.call("buy", "order.place", {
            "symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
            "price": "60000.00", "quantity": "0.00100", "timestamp": mock_now,
        })
        check(placed.get("result", {}).get("status") == "NEW", f"order.place: {placed}")
        order_id = placed["result"]["orderId"]
        resting = admin("GET", "/__admin/orders?symbol=BTCUSDT&status=NEW")["orders"]
        check([o["orderId"] for o in resting] == [order_id], f"resting orders: {resting}")
        filled = admin("POST", f"/__admin/orders/{order_id}/fill", {})
        check(filled.get("status") == "FILLED", f"fill: {filled}")
        status = await ws.call("order", "order.status",
                               {"symbol": "BTCUSDT", "orderId": order_id, "timestamp": mock_now})
        check(status.get("result", {}).get("executedQty") == "0.00100000", f"order.status: {status}")
        print(f"(e) order {order_id} rested, then the control plane filled it")


def main():
    private_key = load_pem_private_key(PRIVATE_KEY_PEM.read_bytes(), password=None)
    try:
        asyncio.run(run(private_key))
    except Exception as error:  # any failure, with what it was
        print(f"FAIL: {type(error).__name__}: {error}", file=sys.stderr)
        failed = True
    else:
        failed = False
    finally:
        # Back to the start-up state, whatever happened: clock running, faults and journal gone.
        try:
            reset = admin("POST", "/__admin/reset", {})
            check(reset == {}, f"reset: {reset}")
        except (Failure, OSError, ValueError) as error:
            print(f"FAIL: reset: {error}", file=sys.stderr)
            failed = True
    if failed:
        sys.exit(1)
    print("python: 5 passed, 0 failed")


if __name__ == "__main__":
    main()
