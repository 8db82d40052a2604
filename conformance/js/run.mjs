// The official JavaScript connector (@binance/spot, pinned in package-lock.json) against the
// mock: the six steps of the connector contract, then the driver's own (exchangeInfo, depth,
// a control-plane fill, openOrders.status, order.test), all on one client in this order.
// Prints one PASS/FAIL line per step, then RESULT PASS or RESULT FAIL; exits 1 on a failure.
//
// Usage: node run.mjs WS_URL   (run.sh installs the connector first)
import { ControlPlane, demoClient, Inbox, Steps, WAIT_MS, within } from './connector.mjs';
import * as contract from './contract.mjs';
import * as extra from './extra.mjs';

const wsURL = process.argv[2];
if (!wsURL) {
  console.error('usage: node run.mjs WS_URL');
  process.exit(2);
}

// A failure outside any step (a bug here, a throw inside the connector's own callbacks) still
// ends with the lines a caller reads.
for (const event of ['uncaughtException', 'unhandledRejection']) {
  process.on(event, (error) => {
    console.log(`FAIL run: ${error instanceof Error ? error.stack : JSON.stringify(error)}`);
    console.log('RESULT FAIL');
    process.exit(1);
  });
}

const run = {
  client: undefined,
  admin: new ControlPlane(wsURL),
  connection: undefined,
  frames: new Inbox(),
  events: new Inbox(),
  stream: undefined,
  market: {},
};
const steps = new Steps();

// The mock may have served another driver: start from its start-up state.
await steps.run(0, "POST /__admin/reset {}, the connector's client with the demo key", async () => {
  await run.admin.post('/reset');
  run.client = demoClient(wsURL);
});

// The contract's steps, then the driver's own: each on the state the ones before it left.
const STEPS = [
  [1, 'session.logon, session.status, session.logout, session.status', contract.sessionLogonStatusLogout],
  [2, 'session.logon, account.status signed by the session', contract.accountStatusSignedBySession],
  [3, 'User Data Stream: a balanceUpdate pushed by the control plane reaches the handler', contract.balanceUpdateDelivered],
  [4, 'clock frozen 10 s ahead: -1021 on account.status', contract.timestampOutsideRecvWindow],
  [5, "serverShutdown for the driver's connection", contract.serverShutdownRenewsTheConnection],
  [6, 'LIMIT order: NEW executionReport, order.cancel, CANCELED executionReport', contract.limitOrderPlacedAndCancelled],
  [7, 'exchangeInfo BTCUSDT: filters, tickSize', extra.exchangeInfo],
  [8, 'depth BTCUSDT limit 5', extra.depth],
  [9, 'order filled through the control plane: NEW, then TRADE executionReport', extra.orderFilledByControlPlane],
  [10, 'openOrders.status before and after order.cancel', extra.openOrdersAroundCancel],
  [11, 'order.test signed per request after session.logout: valid, commission rates, LOT_SIZE', extra.orderTestSignedPerRequest],
];
for (const [n, description, step] of STEPS) {
  await steps.run(n, description, () => step(run));
}

// The connector closes once no request is pending; a hung close must not hold the RESULT.
if (run.connection) {
  await within(WAIT_MS, 'disconnect', run.connection.disconnect()).catch(() => {});
}
steps.finish();
