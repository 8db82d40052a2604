"""The official Python connector (PyPI binance-sdk-spot, pinned in requirements.txt) against the
mock: the six steps of the connector contract, then the driver's own (exchangeInfo, a control-plane
fill, order.test signed per request), all on one client in this order. Prints one PASS/FAIL line
per step, then RESULT PASS or RESULT FAIL; exits 1 on a failure.

Usage: python run.py WS_URL   (run.sh installs the connector first)
"""

import asyncio
import logging
import sys
import types

import contract
import extra
from connector import WAIT_S, ControlPlane, Inbox, Steps, demo_client, show_event

# The contract's steps, then the driver's own: each on the state the ones before it left.
# fmt: off
STEPS = [
    (1, contract.session_logon_status_logout,
        "session.logon, session.status, session.logout, session.status"),
    (2, contract.account_status_signed_by_session,
        "session.logon, account.status signed by the session"),
    (3, contract.balance_update_delivered,
        "User Data Stream: a balanceUpdate pushed by the control plane reaches the handler"),
    (4, contract.timestamp_outside_recv_window,
        "clock frozen 10 s ahead: -1021 on account.status"),
    (5, contract.server_shutdown_renews_the_connection,
        "serverShutdown for the driver's connection"),
    (6, contract.limit_order_placed_and_cancelled,
        "LIMIT order: NEW executionReport, order.cancel, CANCELED executionReport"),
    (7, extra.exchange_info,
        "exchangeInfo BTCUSDT: filters, tickSize"),
    (8, extra.order_filled_by_control_plane,
        "order filled through the control plane: NEW, then TRADE executionReport"),
    (9, extra.order_test_signed_per_request,
        "order.test signed per request after session.logout: valid, commission rates, numbers"),
]
# fmt: on


async def main(ws_url):
    run = types.SimpleNamespace(
        client=None,
        admin=ControlPlane(ws_url),
        connection=None,
        events=Inbox(show=show_event),
        connection_events=Inbox(),
        stream=None,
    )
    steps = Steps()

    # The mock may have served another driver: start from its start-up state.
    async def reset_and_client():
        await run.admin.post("/reset", {})
        run.client = demo_client(ws_url)

    await steps.run(
        0, "POST /__admin/reset {}, the connector's client with the demo key", reset_and_client
    )
    for n, step, description in STEPS:
        await steps.run(n, description, lambda step=step: step(run))

    if run.connection is not None:
        try:
            await asyncio.wait_for(run.connection.close_connection(close_session=True), WAIT_S)
        except Exception as error:  # a hung or failed close must not hold the RESULT
            print(f"close_connection: {type(error).__name__}: {error}", file=sys.stderr)
    return steps.finish()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: python run.py WS_URL", file=sys.stderr)
        sys.exit(2)
    # The connector logs through the root logger; its warnings and errors (a serverShutdown
    # received, every refused request) go to stderr, so stdout holds only the PASS/FAIL lines.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    sys.exit(asyncio.run(main(sys.argv[1])))
