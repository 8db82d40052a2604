// Steps 1-6 of the connector contract (issue 15), each through the connector's public API on
// one client: session.logon/status/logout, account.status signed by the session, a User Data
// Stream event pushed through the control plane, -1021 on a clock 10 s ahead, serverShutdown,
// and a LIMIT order with its executionReports.
//
// Each step takes the driver's state `run` ({ client, admin, connection, frames, events,
// stream, market }, made in run.mjs) and returns what it saw worth a mention on its PASS line,
// if anything; it throws to fail.
import { DEMO_API_KEY, expect } from './connector.mjs';

// Session methods answer once per pooled connection: an array in single mode too.
const only = (responses) => (Array.isArray(responses) ? responses[0] : responses);

const json = JSON.stringify;

/** The LIMIT order steps 6, 9 and 10 place: a buy under the market (60000), so it rests. */
export const RESTING_BUY = {
  symbol: 'BTCUSDT',
  side: 'BUY',
  type: 'LIMIT',
  timeInForce: 'GTC',
  price: 59000,
  quantity: 0.001,
};

/** Matches the executionReport of order `orderId` with execution type `x`. */
export const report = (orderId, x) => (event) =>
  event.e === 'executionReport' && event.i === orderId && event.x === x;

/** 1: connect, session.logon, session.status shows the key, session.logout, status shows null. */
export async function sessionLogonStatusLogout(run) {
  run.connection = await run.client.websocketAPI.connect();
  // Every frame as the connector received it: the only place it lets a user see serverShutdown.
  run.connection.on('message', (text) => run.frames.push(JSON.parse(text)));

  const logon = only(await run.connection.sessionLogon()).data;
  expect(logon.apiKey === DEMO_API_KEY, `session.logon apiKey ${json(logon.apiKey)}`);
  expect(
    Number.isInteger(logon.authorizedSince),
    `session.logon authorizedSince ${json(logon.authorizedSince)}`,
  );

  const status = (await run.connection.sessionStatus()).data;
  expect(status.apiKey === DEMO_API_KEY, `session.status apiKey ${json(status.apiKey)}`);

  const logout = only(await run.connection.sessionLogout()).data;
  expect(logout.apiKey === null, `session.logout apiKey ${json(logout.apiKey)}`);

  const after = (await run.connection.sessionStatus()).data;
  expect(after.apiKey === null, `session.status after logout: apiKey ${json(after.apiKey)}`);
  expect(
    after.authorizedSince === null,
    `session.status after logout: authorizedSince ${json(after.authorizedSince)}`,
  );
}

/** 2: log on again; account.status goes without apiKey and signature, the session signs it. */
export async function accountStatusSignedBySession(run) {
  only(await run.connection.sessionLogon());
  const account = (await run.connection.accountStatus()).data;
  const balance = (asset) => account.balances?.find((b) => b.asset === asset)?.free;
  expect(
    balance('BTC') === '1.00000000' && balance('USDT') === '10000.00000000',
    `account.status balances ${json(account.balances)}`,
  );

  // The journal shows what the connector sent: the session's key ran it, no credentials in it.
  const sent = await run.admin.lastRequest('account.status');
  const params = JSON.parse(sent.request).params;
  expect(
    !('apiKey' in params) && !('signature' in params) && Number.isInteger(params.timestamp),
    `account.status sent with params ${json(params)}`,
  );
  expect(sent.apiKey === DEMO_API_KEY && sent.signature === null, `journal entry ${json(sent)}`);
  return 'sent with a timestamp only';
}

/** 3: userDataStream.subscribe; a balanceUpdate pushed through the control plane reaches it. */
export async function balanceUpdateDelivered(run) {
  await subscribe(run);
  const pushed = await run.admin.post(`/accounts/${DEMO_API_KEY}/events`, {
    e: 'balanceUpdate',
    a: 'BTC',
    d: '0.10000000',
    T: 1700000000000,
  });
  expect(pushed.delivered === 1, `the control plane reached ${pushed.delivered} subscriptions`);
  const event = await run.events.next('balanceUpdate', (e) => e.e === 'balanceUpdate');
  expect(
    event.a === 'BTC' &&
      event.d === '0.10000000' &&
      event.T === 1700000000000 &&
      Number.isInteger(event.E),
    `balanceUpdate ${json(event)}`,
  );
}

/**
 * 4: with the mock's clock frozen 10 s ahead, the next signed request is 10 s behind it, past
 * the default recvWindow of 5000 ms: -1021. The connector rejects the request's promise with the
 * reply's `error` member as it came, `{code, msg}`: a plain object, not an Error (its error
 * classes are the REST API's). The clock is put back whatever happens, connections kept.
 */
export async function timestampOutsideRecvWindow(run) {
  const { now } = await run.admin.get('/clock');
  await run.admin.post('/clock', { set: now + 10000, freeze: true });
  let answered;
  let refusal;
  try {
    answered = await run.connection.accountStatus();
  } catch (error) {
    refusal = error;
  } finally {
    await run.admin.post('/reset', { connections: 'keep' });
  }
  expect(!answered, `account.status answered with the clock 10 s ahead: ${json(answered?.data)}`);
  expect(
    !(refusal instanceof Error) &&
      refusal?.code === -1021 &&
      refusal?.msg === 'Timestamp for this request is outside of the recvWindow.',
    `account.status refused with ${refusal instanceof Error ? refusal.stack : json(refusal)}`,
  );
  const again = (await run.connection.accountStatus()).data;
  expect(Array.isArray(again.balances), `account.status after the reset: ${json(again)}`);
  return `rejected with ${json(refusal)}, a plain object, not an Error`;
}

/**
 * 5: serverShutdown to the driver's connection. The connector (@binance/common) logs a warning,
 * opens a second connection to the same URL, sends session.logon on it again (signed anew),
 * moves its requests to it and closes the first once no request is pending there. It emits no
 * event of its own: the frame is seen only through the raw `message` listener. It does not
 * subscribe the new connection to the User Data Stream again: the PASS line says whether it did.
 */
export async function serverShutdownRenewsTheConnection(run) {
  const before = await run.admin.demoConnections();
  expect(before.length === 1, `demo-key connections before: ${json(before)}`);
  const old = before[0];

  const announced = await run.admin.post('/server-shutdown', { connection: old.id });
  expect(announced.announced === 1, `server-shutdown announced ${json(announced)}`);
  await run.frames.next('serverShutdown frame', (frame) => frame.event?.e === 'serverShutdown');

  // No close is scheduled, so the first connection can only leave because the connector left it.
  const renewed = await run.admin.until('renewed, logged-on connection', async () => {
    const now = await run.admin.demoConnections();
    const moved = now.length === 1 && now[0].id !== old.id && now[0].authorizedSince !== null;
    return moved && now[0];
  });

  const status = (await run.connection.sessionStatus()).data;
  expect(status.apiKey === DEMO_API_KEY, `session.status after renewal: ${json(status.apiKey)}`);
  const sent = await run.admin.lastRequest('session.status');
  expect(sent.connection === renewed.id, `session.status went on connection ${sent.connection}`);

  const stream = renewed.subscriptions.length === 0 ? 'not resubscribed' : 'resubscribed';
  const moved = `connection ${old.id} closed by the connector, ${renewed.id} logged on again`;
  return `${moved}; User Data Stream ${stream}`;
}

/** 6: a resting LIMIT order: NEW on the stream, order.cancel, CANCELED on the stream. */
export async function limitOrderPlacedAndCancelled(run) {
  await subscribeIfNeeded(run);
  const placed = (await run.connection.orderPlace(RESTING_BUY)).data;
  expect(placed.status === 'NEW', `order.place status ${json(placed.status)}`);
  const { orderId } = placed;
  await run.events.next(`NEW report of order ${orderId}`, report(orderId, 'NEW'));

  const cancelled = (await run.connection.orderCancel({ symbol: 'BTCUSDT', orderId })).data;
  expect(cancelled.status === 'CANCELED', `order.cancel status ${json(cancelled.status)}`);
  await run.events.next(`CANCELED report of order ${orderId}`, report(orderId, 'CANCELED'));
}

/** userDataStream.subscribe, with the stream's events into `run.events`. */
async function subscribe(run) {
  // The connector hands each event to every stream handler; one handler at a time keeps
  // `run.events` free of copies.
  run.stream?.unsubscribe();
  const { response, stream } = await run.connection.userDataStreamSubscribe();
  const subscribed = response.data;
  expect(Number.isInteger(subscribed?.subscriptionId), `subscribe answered ${json(subscribed)}`);
  stream.on('message', run.events.push);
  run.stream = stream;
}

/** Subscribes again when the mock shows the driver's connection without a subscription. */
export async function subscribeIfNeeded(run) {
  const mine = await run.admin.demoConnections();
  expect(mine.length === 1, `demo-key connections: ${json(mine)}`);
  if (mine[0].subscriptions.length === 0) {
    await subscribe(run);
  }
}
