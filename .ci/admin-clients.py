#!/usr/bin/env python3
"""Keeps a few WebSocket clients on the mock while schemathesis runs, so that the control
plane's connection calls (close, drop, stall, server-shutdown, faults on a connection) meet
real connections, logged on and subscribed, and not only unknown ids.

    admin-clients.py http://127.0.0.1:PORT [N]

Each of the N clients logs on with the demo key (signed with the mock's own time), subscribes
to its User Data Stream, then reads until the connection ends (closed, dropped, reset,
lifetime, shutdown), and opens a new one half a second later. It runs until killed; on
SIGTERM it prints how many connections it opened and how they ended. It never fails the run:
the mock's answers to the control plane are what is checked.
"""

import asyncio
import base64
import collections
import json
import signal
import sys
import urllib.request
from pathlib import Path

import websockets
from cryptography.hazmat.primitives.serialization import load_pem_private_key

API_KEY = "demoDhU4XgaOzyx7J3SdoVwgP4FmErxTM1cHho4PAAANvkYfQv9NomBbjl2y4y5q"
PEM = Path(__file__).resolve().parents[1] / "mock-server/keys/demo-ed25519-private.pem"
TIMEOUT = 5.0

ends = collections.Counter()


def mock_now(base):
    with urllib.request.urlopen(base + "/__admin/clock", timeout=TIMEOUT) as response:
        return json.load(response)["now"]


async def client(base, key):
    ws_url = base.replace("http://", "ws://", 1) + "/ws-api/v3"
    while True:
        try:
            async with websockets.connect(
                ws_url, open_timeout=TIMEOUT, close_timeout=1, ping_interval=None
            ) as ws:
                ends["opened"] += 1
                now = await asyncio.to_thread(mock_now, base)
                payload = f"apiKey={API_KEY}&timestamp={now}"
                signature = base64.b64encode(key.sign(payload.encode())).decode()
                params = {"apiKey": API_KEY, "timestamp": now, "signature": signature}
                await ws.send(json.dumps({"id": 1, "method": "session.logon", "params": params}))
                await ws.send(json.dumps({"id": 2, "method": "userDataStream.subscribe"}))
                async for _ in ws:
                    pass
                ends["closed"] += 1
        except Exception as error:  # any end is fine: count it, open another
            ends[type(error).__name__] += 1
        await asyncio.sleep(0.5)


async def main(base, count):
    key = load_pem_private_key(PEM.read_bytes(), password=None)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    tasks = [asyncio.create_task(client(base, key)) for _ in range(count)]
    await stop.wait()
    for task in tasks:
        task.cancel()
    print(f"admin-clients: {dict(ends)}", file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1].rstrip("/"), int(sys.argv[2]) if len(sys.argv) > 2 else 4))
