// The official JavaScript connector (@binance/spot, pinned in package.json) against the mock
// binary: log on, subscribe to the User Data Stream, place a resting LIMIT order and see its
// NEW executionReport, have it filled through the mock's control plane and see the TRADE
// report, place a second order, read openOrders.status, cancel it, read openOrders.status
// again. Prints each result as a JSON line; exits 1 if any check failed.
//
// Usage: node orders.mjs WS_URL API_KEY PRIVATE_KEY_PEM_PATH
import { Checks, clientFromArgs } from './connector.mjs';

const { client } = clientFromArgs('orders.mjs');
const checks = new Checks();
const check = checks.check.bind(checks);
const show = (step, result) => console.log(JSON.stringify({ step, result }));

// The control plane is on the mock's own port: ws://HOST:PORT/ws-api/v3 -> http://HOST:PORT.
const adminUrl = process.argv[2].replace(/^ws/, 'http').replace(/\/ws-api\/v3$/, '');
const WAIT_MS = 5000;

/** Events seen on the User Data Stream, and waiters for the next one that matches. */
const events = [];
const waiters = [];
function onEvent(event) {
  events.push(event);
  for (const waiter of [...waiters]) {
    if (waiter.matches(event)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(event);
    }
  }
}
function nextEvent(what, matches) {
  const seen = events.find(matches);
  if (seen) return Promise.resolve(seen);
  return new Promise((resolve, reject) => {
    const waiter = { matches, resolve };
    waiters.push(waiter);
    setTimeout(() => {
      if (waiters.includes(waiter)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        reject(new Error(`no ${what} within ${WAIT_MS} ms; events: ${JSON.stringify(events)}`));
      }
    }, WAIT_MS);
  });
}
const report = (orderId, x) => (e) => e.e === 'executionReport' && e.i === orderId && e.x === x;

const order = {
  symbol: 'BTCUSDT',
  side: 'BUY',
  type: 'LIMIT',
  timeInForce: 'GTC',
  price: 59000,
  quantity: 0.001,
};

let connection;
try {
  connection = await client.websocketAPI.connect();
  await connection.sessionLogon();
  const { stream } = await connection.userDataStreamSubscribe();
  stream.on('message', onEvent);

  // A buy under the market rests: NEW, on the stream as in the reply.
  const placed = (await connection.orderPlace(order)).data;
  show('order.place', placed);
  check('order.place', placed.status === 'NEW', `status ${JSON.stringify(placed.status)}`);
  const first = placed.orderId;
  show('executionReport NEW', await nextEvent('NEW report', report(first, 'NEW')));

  // The control plane fills it: a TRADE report follows.
  const response = await fetch(`${adminUrl}/__admin/orders/${first}/fill`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: '{}',
    signal: AbortSignal.timeout(WAIT_MS),
  });
  const filled = await response.json();
  show('fill', filled);
  check('fill', response.status === 200 && filled.status === 'FILLED', JSON.stringify(filled));
  const trade = await nextEvent('TRADE report', report(first, 'TRADE'));
  show('executionReport TRADE', trade);
  check('executionReport TRADE', trade.X === 'FILLED' && trade.l === '0.00100000', JSON.stringify(trade));

  // A second order rests, is listed, cancelled, and no longer listed.
  const second = (await connection.orderPlace(order)).data.orderId;
  const open = (await connection.openOrdersStatus({ symbol: 'BTCUSDT' })).data;
  show('openOrders.status', open);
  check('openOrders.status', open.length === 1 && open[0].orderId === second, JSON.stringify(open));
  const canceled = (await connection.orderCancel({ symbol: 'BTCUSDT', orderId: second })).data;
  show('order.cancel', canceled);
  check('order.cancel', canceled.status === 'CANCELED', JSON.stringify(canceled));
  await nextEvent('CANCELED report', report(second, 'CANCELED'));
  const after = (await connection.openOrdersStatus({ symbol: 'BTCUSDT' })).data;
  show('openOrders.status after cancel', after);
  check('openOrders.status after cancel', after.length === 0, JSON.stringify(after));
} catch (error) {
  checks.crashed(error);
} finally {
  if (connection) {
    await connection.disconnect().catch(() => {});
  }
}

checks.finish('JS connector: place, NEW, control-plane fill, TRADE, place, list, cancel, list as expected');
