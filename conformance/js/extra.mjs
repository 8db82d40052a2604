// The driver's steps beyond the contract, on the same client after step 6: exchangeInfo and
// depth on the default market, an order filled through the control plane with its TRADE
// report, openOrders.status around a cancel, and order.test signed request by request after
// session.logout (each carrying its own Ed25519 signature over its sorted params).
//
// Each step takes the driver's state `run` and throws to fail, as in contract.mjs.
import { expect } from './connector.mjs';
import { report, RESTING_BUY, subscribeIfNeeded } from './contract.mjs';

const json = JSON.stringify;

/** 7: exchangeInfo for BTCUSDT: the one symbol, its filters; keeps tickSize and stepSize. */
export async function exchangeInfo(run) {
  const info = (await run.connection.exchangeInfo({ symbol: 'BTCUSDT' })).data;
  const btc = info.symbols?.[0];
  expect(info.symbols?.length === 1 && btc.symbol === 'BTCUSDT', `symbols ${json(info.symbols)}`);
  const filter = (type) => btc.filters?.find((f) => f.filterType === type);
  const expected = ['PRICE_FILTER', 'LOT_SIZE', 'MARKET_LOT_SIZE', 'NOTIONAL', 'MAX_NUM_ORDERS'];
  for (const type of expected) {
    expect(filter(type), `no ${type} in ${json(btc.filters)}`);
  }
  const tick = filter('PRICE_FILTER').tickSize;
  expect(tick === '0.01000000', `tickSize ${json(tick)}`);
  run.market.tick = Number(tick);
  run.market.step = Number(filter('LOT_SIZE').stepSize);
}

/** 8: depth of five levels a side with a positive spread; keeps the best bid. */
export async function depth(run) {
  const book = (await run.connection.depth({ symbol: 'BTCUSDT', limit: 5 })).data;
  expect(book.bids?.length === 5 && book.asks?.length === 5, `not 5 levels a side ${json(book)}`);
  const bestBid = Number(book.bids[0][0]);
  const bestAsk = Number(book.asks[0][0]);
  expect(bestAsk - bestBid > 0, `best bid ${bestBid}, best ask ${bestAsk}`);
  run.market.bestBid = bestBid;
}

/** 9: a resting order, NEW report, filled by the control plane, TRADE report. */
export async function orderFilledByControlPlane(run) {
  await subscribeIfNeeded(run);
  const placed = (await run.connection.orderPlace(RESTING_BUY)).data;
  expect(placed.status === 'NEW', `order.place status ${json(placed.status)}`);
  const { orderId } = placed;
  await run.events.next(`NEW report of order ${orderId}`, report(orderId, 'NEW'));

  const filled = await run.admin.post(`/orders/${orderId}/fill`);
  expect(filled.status === 'FILLED', `the control plane's fill answered ${json(filled)}`);
  const trade = await run.events.next(`TRADE report of order ${orderId}`, report(orderId, 'TRADE'));
  expect(trade.X === 'FILLED' && trade.l === '0.00100000', `TRADE report ${json(trade)}`);
}

/** 10: a resting order listed by openOrders.status, cancelled, and listed no more. */
export async function openOrdersAroundCancel(run) {
  const orderId = (await run.connection.orderPlace(RESTING_BUY)).data.orderId;
  const open = (await run.connection.openOrdersStatus({ symbol: 'BTCUSDT' })).data;
  expect(open.length === 1 && open[0].orderId === orderId, `openOrders.status ${json(open)}`);

  const cancelled = (await run.connection.orderCancel({ symbol: 'BTCUSDT', orderId })).data;
  expect(cancelled.status === 'CANCELED', `order.cancel ${json(cancelled)}`);
  await run.events.next(`CANCELED report of order ${orderId}`, report(orderId, 'CANCELED'));

  const after = (await run.connection.openOrdersStatus({ symbol: 'BTCUSDT' })).data;
  expect(after.length === 0, `openOrders.status after the cancel ${json(after)}`);
}

/**
 * 11: session.logout, then order.test with a signature of its own: a valid order ({}), the same
 * with computeCommissionRates, and half a step, which LOT_SIZE refuses before the matching engine.
 */
export async function orderTestSignedPerRequest(run) {
  const { tick, step, bestBid } = run.market;
  expect(tick && step && bestBid, "needs step 7's tickSize and stepSize, step 8's best bid");
  await run.connection.sessionLogout();

  // A limit order one tick under the best bid, of ten steps: it passes every filter.
  const order = {
    symbol: 'BTCUSDT',
    side: 'BUY',
    type: 'LIMIT',
    timeInForce: 'GTC',
    price: (bestBid - tick).toFixed(2),
    quantity: (10 * step).toFixed(5),
  };
  const tested = (await run.connection.orderTest(order)).data;
  expect(tested && Object.keys(tested).length === 0, `order.test ${json(tested)}`);
  const sent = await run.admin.lastRequest('order.test');
  expect(sent.signature?.valid === true, `order.test's signature: ${json(sent.signature)}`);

  const rates = (await run.connection.orderTest({ ...order, computeCommissionRates: true })).data;
  expect(
    typeof rates?.standardCommissionForOrder?.maker === 'string',
    `order.test computeCommissionRates ${json(rates)}`,
  );

  let refusal;
  try {
    refusal = await run.connection.orderTest({ ...order, quantity: step / 2 });
  } catch (error) {
    refusal = error;
  }
  expect(
    refusal?.code === -1013 && refusal?.msg === 'Filter failure: LOT_SIZE',
    `order.test of half a step: ${json(refusal)}`,
  );
}
