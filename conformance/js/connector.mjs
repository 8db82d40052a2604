// What the connector scripts share: their arguments, the official connector's client on the
// endpoint, and a check that counts failures.
import { readFileSync } from 'node:fs';
import { Spot } from '@binance/spot';

/** The client for `node SCRIPT WS_URL API_KEY PRIVATE_KEY_PEM_PATH`; exits 2 without them. */
export function clientFromArgs(script) {
  const [url, apiKey, privateKeyPath] = process.argv.slice(2);
  if (!url || !apiKey || !privateKeyPath) {
    console.error(`usage: node ${script} WS_URL API_KEY PRIVATE_KEY_PEM_PATH`);
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
  return { client, apiKey };
}

/** Counts failed checks; `finish` exits 1 if any failed, 0 with `success` printed if none. */
export class Checks {
  failures = 0;

  check(step, condition, detail) {
    if (!condition) {
      this.failures += 1;
      console.error(`FAIL ${step}: ${detail}`);
    }
  }

  /** Records an error the connector threw: an API error's `{code, msg}`, or an Error. */
  crashed(error) {
    this.failures += 1;
    const shown = error instanceof Error ? error.stack : JSON.stringify(error);
    console.error(`FAIL connector error: ${shown}`);
  }

  finish(success) {
    if (this.failures > 0) {
      console.error(`${this.failures} check(s) failed`);
      process.exit(1);
    }
    console.log(success);
    process.exit(0);
  }
}
