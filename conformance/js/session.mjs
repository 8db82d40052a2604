// The official JavaScript connector (@binance/spot, pinned in package.json) against a Spot
// WebSocket API endpoint: session.logon with an Ed25519 key, session.status, session.logout,
// session.status. Prints each result as a JSON line; exits 1 at the first unexpected result.
//
// Usage: node session.mjs WS_URL API_KEY PRIVATE_KEY_PEM_PATH
import { Checks, clientFromArgs } from './connector.mjs';

const { client, apiKey } = clientFromArgs('session.mjs');
const checks = new Checks();
const check = checks.check.bind(checks);

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
  checks.crashed(error);
} finally {
  if (connection) {
    await connection.disconnect().catch(() => {});
  }
}

checks.finish('JS connector: logon, status, logout, status as expected');
