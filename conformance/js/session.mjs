// The official JavaScript connector (@binance/spot, pinned in package.json) against a Spot
// WebSocket API endpoint: session.logon with an Ed25519 key, session.status, session.logout,
// session.status. Prints each result as a JSON line; exits 1 at the first unexpected result.
//
// Usage: node session.mjs WS_URL API_KEY PRIVATE_KEY_PEM_PATH
import { readFileSync } from 'node:fs';
import { Spot } from '@binance/spot';

const [url, apiKey, privateKeyPath] = process.argv.slice(2);
if (!url || !apiKey || !privateKeyPath) {
  console.error('usage: node session.mjs WS_URL API_KEY PRIVATE_KEY_PEM_PATH');
  process.exit(2);
}

const client = new Spot({
  configurationWebsocketAPI: {
    apiKey,
    privateKey: readFileSync(privateKeyPath),
    wsURL: url,
    timeout: 5000,
    reconnectDelay: 1000,
  },
});

let failures = 0;
function check(step, condition, detail) {
  if (!condition) {
    failures += 1;
    console.error(`FAIL ${step}: ${detail}`);
  }
}

// Session methods answer once per pooled connection: an array in single mode too.
const only = (responses) => (Array.isArray(responses) ? responses[0] : responses);

let connection;
try {
  connection = await client.websocketAPI.connect();

  const logon = only(await connection.sessionLogon()).data;
  console.log(JSON.stringify({ step: 'session.logon', result: logon }));
  check('session.logon', logon.apiKey === apiKey, `apiKey ${JSON.stringify(logon.apiKey)}`);
  check('session.logon', Number.isInteger(Number(logon.authorizedSince)), 'authorizedSince not set');

  const status = (await connection.sessionStatus()).data;
  console.log(JSON.stringify({ step: 'session.status', result: status }));
  check('session.status', status.apiKey === apiKey, `apiKey ${JSON.stringify(status.apiKey)}`);

  const logout = only(await connection.sessionLogout()).data;
  console.log(JSON.stringify({ step: 'session.logout', result: logout }));
  check('session.logout', logout.apiKey === null, `apiKey ${JSON.stringify(logout.apiKey)}`);

  const after = (await connection.sessionStatus()).data;
  console.log(JSON.stringify({ step: 'session.status', result: after }));
  check('session.status after logout', after.apiKey === null, `apiKey ${JSON.stringify(after.apiKey)}`);
  check(
    'session.status after logout',
    after.authorizedSince === null,
    `authorizedSince ${JSON.stringify(after.authorizedSince)}`,
  );
} catch (error) {
  failures += 1;
  // API errors arrive as the reply's `error` object ({code, msg}); others are Errors.
  const shown = error instanceof Error ? error.stack : JSON.stringify(error);
  console.error(`FAIL connector error: ${shown}`);
} finally {
  if (connection) {
    await connection.disconnect().catch(() => {});
  }
}

if (failures > 0) {
  console.error(`${failures} check(s) failed`);
  process.exit(1);
}
console.log('JS connector: logon, status, logout, status as expected');
process.exit(0);
