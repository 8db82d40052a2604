// The mock's control plane from a JavaScript test, against the mock binary.
//
//   cd examples/js && npm ci && node control_plane.mjs   # MOCK_URL=http://127.0.0.1:9443
//
// Five checks on one WebSocket connection, each through a plain HTTP call (fetch) to /__admin/*:
//   (a) freeze the clock, log on, advance 61 s: the REQUEST_WEIGHT window rolls over;
//   (b) push a balanceUpdate to the subscribed account: it arrives on the socket;
//   (c) fault the next session.status: the canned reply carries our id, the one after is normal;
//   (d) move BTCUSDT's price: ticker.price and depth follow at once; a price off the tick is 400;
//   (e) place a resting LIMIT order, find it through the control plane and fill it there.
// Then POST /__admin/reset. Every wait has a timeout; any failure exits with code 1.
import { createPrivateKey, sign as ed25519Sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';

const MOCK_URL = (process.env.MOCK_URL ?? 'http://127.0.0.1:9443').replace(/\/+$/, '');
const TIMEOUT_MS = 5000; // for every HTTP call and every frame awaited

// The built-in demo key: test material, public on purpose (mock-server/src/keys.rs, `demo`).
const API_KEY = 'demoDhU4XgaOzyx7J3SdoVwgP4FmErxTM1cHho4PAAANvkYfQv9NomBbjl2y4y5q';
const PRIVATE_KEY = createPrivateKey(
  readFileSync(new URL('../../mock-server/keys/demo-ed25519-private.pem', import.meta.url)),
);

const CANNED_ERROR = {
  code: -1001,
  msg: 'Internal error; unable to process your request. Please try again.',
};

class Failure extends Error {}

function check(condition, what) {
  if (!condition) throw new Failure(what);
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/** One control-plane call: JSON in, JSON out; fails on any other status than `expect`. */
async function admin(method, path, body, expect = 200) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (process.env.MOCK_ADMIN_TOKEN) headers.Authorization = `Bearer ${process.env.MOCK_ADMIN_TOKEN}`;
  const response = await fetch(MOCK_URL + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const text = await response.text();
  check(
    response.status === expect,
    `${method} ${path} ${JSON.stringify(body)}: HTTP ${response.status} ${text}, expected ${expect}`,
  );
  return JSON.parse(text);
}

/** Binance's signature: every param, sorted by name, `k=v` joined by `&`, Ed25519, base64. */
function sign(params) {
  const payload = Object.keys(params)
    .sort()
    .map((key) => `${key}=${params[key]}`)
    .join('&');
  return { payload, signature: ed25519Sign(null, Buffer.from(payload), PRIVATE_KEY).toString('base64') };
}

/** The REQUEST_WEIGHT count of a reply's rateLimits. */
function weight(reply) {
  const limit = (reply.rateLimits ?? []).find((l) => l.rateLimitType === 'REQUEST_WEIGHT');
  check(limit !== undefined, `no REQUEST_WEIGHT in rateLimits: ${JSON.stringify(reply)}`);
  return limit.count;
}

/** A WebSocket connection that sends requests and waits, bounded, for replies and events. */
class Connection {
  static open(url) {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, { handshakeTimeout: TIMEOUT_MS });
      socket.once('open', () => resolve(new Connection(socket)));
      socket.once('error', reject);
    });
  }

  constructor(socket) {
    this.socket = socket;
    this.frames = []; // received, not yet taken
    this.waiting = null; // the pending wait's resolve
    this.closed = null; // why the socket ended, once it has
    socket.on('message', (data) => {
      let frame;
      try {
        frame = JSON.parse(data.toString());
      } catch {
        frame = { unparsed: data.toString() };
      }
      this.frames.push(frame);
      this.wake();
    });
    socket.on('close', (code, reason) => {
      this.closed = new Failure(`connection closed: ${code} ${reason}`);
      this.wake();
    });
    socket.on('error', (error) => {
      this.closed = error;
      this.wake();
    });
  }

  wake() {
    const waiting = this.waiting;
    this.waiting = null;
    waiting?.();
  }

  /** The first received frame `accept` takes, waiting at most TIMEOUT_MS. */
  async take(accept, what) {
    const deadline = Date.now() + TIMEOUT_MS;
    for (;;) {
      const index = this.frames.findIndex(accept);
      if (index >= 0) return this.frames.splice(index, 1)[0];
      if (this.closed) throw this.closed;
      const left = deadline - Date.now();
      check(left > 0, `no ${what} within ${TIMEOUT_MS} ms`);
      let timer;
      await new Promise((resolve) => {
        this.waiting = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
  }

  async call(id, method, params) {
    const request = { id, method };
    if (params !== undefined) request.params = params;
    this.socket.send(JSON.stringify(request));
    return this.take((frame) => frame.id === id, `reply to ${method} (id ${id})`);
  }

  event() {
    return this.take((frame) => !('id' in frame), 'event');
  }

  close() {
    this.socket.close(1000);
  }
}

async function run() {
  const { url: wsUrl } = await admin('GET', '/__admin/health');

  // (a) A frozen clock: the logon is signed with the mock's time, then the minute rolls.
  const frozen = await admin('POST', '/__admin/clock', { freeze: true });
  check(frozen.frozen === true, `clock not frozen: ${JSON.stringify(frozen)}`);
  const { now } = await admin('GET', '/__admin/clock');
  check(now === frozen.now, `a frozen clock moved: ${frozen.now} then ${now}`);

  const ws = await Connection.open(wsUrl);
  try {
    const { payload, signature } = sign({ apiKey: API_KEY, timestamp: now });
    const logon = await ws.call('logon', 'session.logon', { apiKey: API_KEY, timestamp: now, signature });
    check(logon.status === 200, `session.logon: ${JSON.stringify(logon)}`);
    check(logon.result.apiKey === API_KEY, `session.logon: ${JSON.stringify(logon)}`);
    check(logon.result.authorizedSince === now, `authorizedSince: ${JSON.stringify(logon)}`);
    const before = weight(logon);
    check(before >= 2, `logon weight not counted: ${JSON.stringify(logon)}`);

    // The journal shows the exact payload the server verified.
    const { requests } = await admin('GET', '/__admin/requests?method=session.logon&limit=1');
    check(requests.length === 1, `journal: ${JSON.stringify(requests)}`);
    check(requests[0].signature?.payload === payload, `signature payload: ${JSON.stringify(requests[0])}`);
    check(requests[0].signature?.valid === true, `signature: ${JSON.stringify(requests[0])}`);

    const advanced = await admin('POST', '/__admin/clock', { advance: 61_000 });
    check(advanced.now === now + 61_000, `advance 61 s: ${JSON.stringify(advanced)}`);
    const ping = await ws.call('ping', 'ping');
    check(ping.status === 200, `ping: ${JSON.stringify(ping)}`);
    const after = weight(ping);
    check(after === 1 && after < before, `weight did not restart: ${before} then ${after}`);
    console.log(`(a) weight window rolled: count ${before} before, ${after} after advancing 61 s`);

    // (b) A pushed balanceUpdate reaches the subscription.
    const subscribed = await ws.call('subscribe', 'userDataStream.subscribe');
    check(subscribed.status === 200, `userDataStream.subscribe: ${JSON.stringify(subscribed)}`);
    const { subscriptionId } = subscribed.result;
    const event = { e: 'balanceUpdate', a: 'BTC', d: '0.10000000', T: now + 61_000 };
    const delivered = await admin('POST', `/__admin/accounts/${API_KEY}/events`, event);
    check(same(delivered, { delivered: 1 }), `events: ${JSON.stringify(delivered)}`);
    const frame = await ws.event();
    check(frame.subscriptionId === subscriptionId, `event frame: ${JSON.stringify(frame)}`);
    check(
      frame.event?.e === 'balanceUpdate' && frame.event?.d === '0.10000000',
      `event: ${JSON.stringify(frame)}`,
    );
    check(frame.event?.E === now + 61_000, `E not filled from the mock clock: ${JSON.stringify(frame)}`);
    console.log(`(b) balanceUpdate delivered to subscription ${subscriptionId}`);

    // (c) The next session.status gets a canned error with our id; the one after is normal.
    const added = await admin(
      'POST',
      '/__admin/faults',
      {
        method: 'session.status',
        times: 1,
        action: { type: 'reply', status: 400, error: CANNED_ERROR },
      },
      201,
    );
    check(Number.isInteger(added.id), `fault id: ${JSON.stringify(added)}`);
    const faulted = await ws.call('status-1', 'session.status');
    check(faulted.status === 400, `faulted session.status: ${JSON.stringify(faulted)}`);
    check(same(faulted.error, CANNED_ERROR), `faulted session.status: ${JSON.stringify(faulted)}`);
    check('rateLimits' in faulted, `canned reply without rateLimits: ${JSON.stringify(faulted)}`);
    const normal = await ws.call('status-2', 'session.status');
    check(normal.status === 200, `session.status after the fault: ${JSON.stringify(normal)}`);
    check(normal.result.apiKey === API_KEY, `session.status: ${JSON.stringify(normal)}`);
    const { faults } = await admin('GET', '/__admin/faults');
    check(faults.length === 0, `a used-up rule is still listed: ${JSON.stringify(faults)}`);
    console.log('(c) faulted session.status answered -1001 with its id; the next one was normal');

    // (d) The market moves only when the test moves it.
    const moved = await admin('POST', '/__admin/symbols/BTCUSDT/price', { price: '61000.00' });
    check(moved.price === '61000.00000000', `price: ${JSON.stringify(moved)}`);
    const ticker = await ws.call('price', 'ticker.price', { symbol: 'BTCUSDT' });
    check(
      same(ticker.result, { symbol: 'BTCUSDT', price: '61000.00000000' }),
      `ticker.price: ${JSON.stringify(ticker)}`,
    );
    const depth = await ws.call('depth', 'depth', { symbol: 'BTCUSDT', limit: 1 });
    check(
      same(depth.result?.bids, [['60999.99000000', '1.00000000']]) &&
        same(depth.result?.asks, [['61000.01000000', '1.00000000']]),
      `depth: ${JSON.stringify(depth)}`,
    );
    const offTick = await admin('POST', '/__admin/symbols/BTCUSDT/price', { price: '61000.005' }, 400);
    check(offTick.error?.includes('tickSize'), `off-tick price: ${JSON.stringify(offTick)}`);
    console.log('(d) BTCUSDT moved to 61000.00: ticker.price and depth followed');

    // (e) An order rests under the market until the test fills it. The session's key signs
    // it: no apiKey or signature, only a timestamp, on the mock's clock.
    const { now: mockNow } = await admin('GET', '/__admin/clock');
    const placed = await ws.call('buy', 'order.place', {
      symbol: 'BTCUSDT', side: 'BUY', type: 'LIMIT', timeInForce: 'GTC',
      price: '60000.00', quantity: '0.00100', timestamp: mockNow,
    });
    check(placed.result?.status === 'NEW', `order.place: ${JSON.stringify(placed)}`);
    const orderId = placed.result.orderId;
    const { orders } = await admin('GET', '/__admin/orders?symbol=BTCUSDT&status=NEW');
    check(same(orders.map((o) => o.orderId), [orderId]), `resting orders: ${JSON.stringify(orders)}`);
    const filled = await admin('POST', `/__admin/orders/${orderId}/fill`, {});
    check(filled.status === 'FILLED', `fill: ${JSON.stringify(filled)}`);
    const status = await ws.call('order', 'order.status', {
      symbol: 'BTCUSDT', orderId, timestamp: mockNow,
    });
    check(status.result?.executedQty === '0.00100000', `order.status: ${JSON.stringify(status)}`);
    console.log(`(e) order ${orderId} rested, then the control plane filled it`);
  } finally {
    ws.close();
  }
}

let failed = false;
try {
  await run();
} catch (error) {
  failed = true;
  console.error(`FAIL: ${error instanceof Failure ? error.message : error?.stack ?? error}`);
} finally {
  // Back to the start-up state, whatever happened: clock running, faults and journal gone.
  try {
    const reset = await admin('POST', '/__admin/reset', {});
    check(same(reset, {}), `reset: ${JSON.stringify(reset)}`);
  } catch (error) {
    failed = true;
    console.error(`FAIL: reset: ${error?.message ?? error}`);
  }
}
if (failed) process.exit(1);
console.log('js: 5 passed, 0 failed');
process.exit(0);
