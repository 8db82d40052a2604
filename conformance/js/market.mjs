// The official JavaScript connector (@binance/spot, pinned in package.json) against a Spot
// WebSocket API endpoint serving the mock's default market: exchangeInfo, depth and
// order.test (a valid order, the same with computeCommissionRates, and one that fails
// LOT_SIZE). Prints each result as a JSON line; exits 1 at the first unexpected result.
//
// Usage: node market.mjs WS_URL API_KEY PRIVATE_KEY_PEM_PATH
import { Checks, clientFromArgs } from './connector.mjs';

const { client } = clientFromArgs('market.mjs');
const checks = new Checks();
const check = checks.check.bind(checks);

const show = (step, result) => console.log(JSON.stringify({ step, result }));

let connection;
try {
  connection = await client.websocketAPI.connect();

  const info = (await connection.exchangeInfo({ symbol: 'BTCUSDT' })).data;
  show('exchangeInfo', info);
  const btc = info.symbols?.[0];
  check('exchangeInfo', info.symbols?.length === 1 && btc.symbol === 'BTCUSDT', 'not BTCUSDT alone');
  const filter = (type) => btc?.filters?.find((f) => f.filterType === type);
  for (const type of ['PRICE_FILTER', 'LOT_SIZE', 'MARKET_LOT_SIZE', 'NOTIONAL', 'MAX_NUM_ORDERS']) {
    check('exchangeInfo', filter(type), `no ${type}`);
  }
  const tick = filter('PRICE_FILTER')?.tickSize;
  const step = filter('LOT_SIZE')?.stepSize;
  check('exchangeInfo', tick === '0.01000000', `tickSize ${JSON.stringify(tick)}`);

  const depth = (await connection.depth({ symbol: 'BTCUSDT', limit: 5 })).data;
  show('depth', depth);
  check('depth', depth.bids?.length === 5 && depth.asks?.length === 5, 'not five levels a side');
  const bestBid = Number(depth.bids?.[0]?.[0]);
  const bestAsk = Number(depth.asks?.[0]?.[0]);
  check('depth', bestAsk - bestBid > 0, `best bid ${bestBid}, best ask ${bestAsk}`);

  // A limit order one tick under the best bid, of ten steps: it passes every filter.
  const price = (bestBid - Number(tick)).toFixed(2);
  const quantity = (10 * Number(step)).toFixed(5);
  const order = { symbol: 'BTCUSDT', side: 'BUY', type: 'LIMIT', timeInForce: 'GTC', price, quantity };
  const tested = (await connection.orderTest(order)).data;
  show('order.test', tested);
  check('order.test', tested && Object.keys(tested).length === 0, `result ${JSON.stringify(tested)}`);

  const rates = (await connection.orderTest({ ...order, computeCommissionRates: true })).data;
  show('order.test computeCommissionRates', rates);
  check(
    'order.test computeCommissionRates',
    typeof rates?.standardCommissionForOrder?.maker === 'string',
    `result ${JSON.stringify(rates)}`,
  );

  // Half a step: LOT_SIZE refuses it before the matching engine.
  let refused;
  try {
    refused = await connection.orderTest({ ...order, quantity: Number(step) / 2 });
  } catch (error) {
    refused = error;
  }
  show('order.test LOT_SIZE', refused);
  const refusal = refused?.error ?? refused;
  check(
    'order.test LOT_SIZE',
    refusal?.code === -1013 && refusal?.msg === 'Filter failure: LOT_SIZE',
    `reply ${JSON.stringify(refused)}`,
  );
} catch (error) {
  checks.crashed(error);
} finally {
  if (connection) {
    await connection.disconnect().catch(() => {});
  }
}

checks.finish('JS connector: exchangeInfo, depth, order.test as expected');
