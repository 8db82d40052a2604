"""What the driver's steps share: the official connector's client on the mock, the mock's control
plane, a deadline for every wait, the events seen, and the PASS/FAIL lines."""

import asyncio
import json
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from binance_common.configuration import ConfigurationWebSocketAPI
from binance_sdk_spot.spot import Spot

# The demo key the mock registers at start-up (test material, public on purpose).
DEMO_API_KEY = "demoDhU4XgaOzyx7J3SdoVwgP4FmErxTM1cHho4PAAANvkYfQv9NomBbjl2y4y5q"

# Found from this file, so that the driver runs from any clone and any working directory.
DEMO_PRIVATE_KEY = (
    Path(__file__).resolve().parent.parent.parent / "mock-server/keys/demo-ed25519-private.pem"
)

# How long any one wait (a reply, an event, an admin call) may take before its step fails.
WAIT_S = 5.0

# How long the connector's serverShutdown renewal may take: it waits a fixed 5 s before it starts
# and 1 s after its logout, then reconnect_delay, then logs on and subscribes again (6.5 s here).
RENEWAL_S = 20.0

# How long a whole step may take: a handful of waits, or the renewal and a few.
STEP_S = 30.0


class StepFailed(Exception):
    """A check of the step did not hold; the message says what was seen."""


def expect(condition, why):
    """Fails the step with `why` unless `condition` holds."""
    if not condition:
        raise StepFailed(why)


def demo_client(ws_url):
    """The connector's WebSocket API client on the endpoint at `ws_url`, with the demo key.

    `private_key` takes a PEM file's path or its text; a path keeps the key out of the driver.
    `reconnect_delay` (ms) is the wait before each reconnect attempt: 5000 by default, shortened
    so that step 5 does not take longer than it must.
    """
    config = ConfigurationWebSocketAPI(
        api_key=DEMO_API_KEY,
        private_key=str(DEMO_PRIVATE_KEY),
        stream_url=ws_url,
        reconnect_delay=500,
    )
    return Spot(config_ws_api=config)


async def within(seconds, what, awaitable):
    """The result of `awaitable`, or StepFailed if it takes longer than `seconds`."""
    try:
        return await asyncio.wait_for(awaitable, seconds)
    except TimeoutError:
        raise StepFailed(f"{what}: nothing within {seconds:g} s") from None


async def call(what, request):
    """The data of a connector request's response, within WAIT_S.

    The connector's own wait for a reply is a fixed 20 s (the configured `timeout` is used only
    for the WebSocket handshake), and a refusal comes back as data, not as an exception: this
    returns whatever `data()` gives, and the caller checks it.
    """
    response = await within(WAIT_S, what, request)
    return response.data()


def refusal(data):
    """The `error` member when the connector handed back a refusal as data, else None.

    On a reply with an `error` member, or no reply within its 20 s, the connector's `data()` is
    the plain dict `{"error": <the reply's error object, or "timeout">}` instead of the model.
    """
    if isinstance(data, dict) and "error" in data:
        return data["error"]
    return None


def result(what, data):
    """The `result` of a response's data; fails the step on a refusal."""
    error = refusal(data)
    expect(error is None, f"{what} refused: {json.dumps(error)}")
    return data.result


def event_fields(event):
    """A User Data Stream event as `(model name, fields by their wire names)`.

    The connector hands each event to the handler as a `UserDataStreamEventsResponse` whose
    `actual_instance` is the event's model (`BalanceUpdate`, `ExecutionReport`, ...), or the
    raw dict when no model parses it.
    """
    instance = getattr(event, "actual_instance", event)
    if isinstance(instance, dict):
        return "dict", instance
    return type(instance).__name__, instance.to_dict()


def show_event(event):
    """An event as a FAIL line writes it: its model's name and its fields."""
    model, fields = event_fields(event)
    return f"{model} {fields}"


class ControlPlane:
    """The mock's control plane, on the WebSocket endpoint's own host and port:
    ws://HOST:PORT/ws-api/v3 -> http://HOST:PORT/__admin."""

    def __init__(self, ws_url):
        endpoint = urllib.parse.urlsplit(ws_url)
        scheme = "https" if endpoint.scheme == "wss" else "http"
        self.base = f"{scheme}://{endpoint.netloc}/__admin"

    async def get(self, path):
        return await self.call("GET", path)

    async def post(self, path, body=None):
        return await self.call("POST", path, {} if body is None else body)

    async def call(self, method, path, body=None):
        """The JSON the call answers; raises on a status other than 2xx."""
        # urllib blocks; in a thread, the connector's receive loop keeps running meanwhile.
        return await asyncio.to_thread(self._call, method, path, body)

    def _call(self, method, path, body):
        data = None if body is None else json.dumps(body).encode()
        headers = {} if body is None else {"Content-Type": "application/json"}
        request = urllib.request.Request(
            f"{self.base}{path}", data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=WAIT_S) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            text = error.read().decode(errors="replace")
            raise StepFailed(f"{method} /__admin{path} answered {error.code}: {text}") from None

    async def demo_connections(self):
        """The open connections logged on with the demo key: the driver's own."""
        listed = await self.get("/connections")
        return [c for c in listed["connections"] if c["apiKey"] == DEMO_API_KEY]

    async def last_request(self, method, connection=None):
        """The newest journal entry for `method` (on `connection`, if given)."""
        query = {"method": method, "limit": 1}
        if connection is not None:
            query["connection"] = connection
        journal = await self.get(f"/requests?{urllib.parse.urlencode(query)}")
        requests = journal["requests"]
        expect(len(requests) == 1, f"the journal holds no {method} ({query})")
        return requests[0]

    async def until(self, what, probe, seconds=WAIT_S):
        """Polls `probe` until it returns something truthy, for at most `seconds`."""
        deadline = time.monotonic() + seconds
        while True:
            found = await probe()
            if found:
                return found
            if time.monotonic() > deadline:
                raise StepFailed(f"no {what} within {seconds:g} s")
            await asyncio.sleep(0.05)


class Inbox:
    """Things that arrive on their own (stream events, connection events), and waits for them."""

    def __init__(self, show=repr):
        self.seen = []
        # How an arrival is written in a FAIL line: the connector's models print at length.
        self._show = show
        self._changed = asyncio.Event()

    def push(self, item):
        """Takes one arrival; called by the connector from its receive loop."""
        self.seen.append(item)
        self._changed.set()

    def mark(self):
        """A position to wait from: `next(..., since=mark)` ignores what arrived before it."""
        return len(self.seen)

    async def next(self, what, matches, since=0, seconds=WAIT_S):
        """The first arrival from `since` on, already seen or to come within `seconds`, that
        `matches`."""
        return self.seen[await self._find(what, matches, since, seconds)]

    async def mark_after(self, what, matches, since=0, seconds=WAIT_S):
        """Waits as `next` does; the mark just after that arrival."""
        return await self._find(what, matches, since, seconds) + 1

    async def _find(self, what, matches, since, seconds):
        deadline = time.monotonic() + seconds
        checked = since
        while True:
            for index in range(checked, len(self.seen)):
                if matches(self.seen[index]):
                    return index
            checked = len(self.seen)
            left = deadline - time.monotonic()
            if left <= 0:
                last = ", ".join(self._show(item) for item in self.seen[-5:])
                raise StepFailed(f"no {what} within {seconds:g} s; last seen: [{last}]")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except TimeoutError:
                pass


class Steps:
    """Runs the steps and prints one line each: `PASS <n> <description>`, with what was seen in
    parentheses when the step returns it, or `FAIL <n> <description>: <why>`; then the RESULT."""

    def __init__(self):
        self.failures = 0

    async def run(self, n, description, body):
        try:
            seen = await within(STEP_S, f"step {n}", body())
            suffix = f" ({seen})" if seen else ""
            print(f"PASS {n} {description}{suffix}", flush=True)
        except StepFailed as error:
            self.fail(n, description, str(error))
        except Exception:  # a bug here or in the connector: the trace says which
            self.fail(n, description, traceback.format_exc().strip().replace("\n", " | "))

    def fail(self, n, description, why):
        self.failures += 1
        print(f"FAIL {n} {description}: {why}", flush=True)

    def finish(self):
        """Prints the RESULT line; the exit status: 0 if every step passed, 1 if not."""
        print("RESULT PASS" if self.failures == 0 else "RESULT FAIL", flush=True)
        return 0 if self.failures == 0 else 1
