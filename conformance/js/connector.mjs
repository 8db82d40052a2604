// What the driver's steps share: the official connector's client on the mock, the mock's
// control plane, a deadline for every wait, the frames and events seen, and the PASS/FAIL lines.
import { readFileSync } from 'node:fs';
import { Spot } from '@binance/spot';

/** The demo key the mock registers at start-up (test material, public on purpose). */
export const DEMO_API_KEY = 'demoDhU4XgaOzyx7J3SdoVwgP4FmErxTM1cHho4PAAANvkYfQv9NomBbjl2y4y5q';

// Found from this file, so that the driver runs from any clone and any working directory.
const DEMO_PRIVATE_KEY = new URL(
  '../../mock-server/keys/demo-ed25519-private.pem',
  import.meta.url,
);

/** How long any one wait (a reply, an event, an admin call) may take before its step fails. */
export const WAIT_MS = 5000;

/** How long a whole step may take: a step is a handful of waits. */
const STEP_MS = 30000;

/** The connector's client on the endpoint at `wsURL`, with the demo key. */
export function demoClient(wsURL) {
  // The connector logs every connect and close at info level on stdout, which is kept for the
  // PASS/FAIL lines; its warnings (a serverShutdown received, say) still go to stderr.
  process.env.LOG_LEVEL ??= 'warn';
  return new Spot({
    configurationWebsocketAPI: {
      apiKey: DEMO_API_KEY,
      privateKey: readFileSync(DEMO_PRIVATE_KEY),
      wsURL,
      timeout: WAIT_MS,
      reconnectDelay: 1000,
    },
  });
}

/** Rejects with `what` unless `promise` settles within `ms`. */
export function within(ms, what, promise) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** Fails the step with `why` unless `condition` holds. */
export function expect(condition, why) {
  if (!condition) {
    throw new Error(why);
  }
}

/** What a refusal looks like in a FAIL line: an Error's message, anything else as JSON. */
function shown(error) {
  return error instanceof Error ? error.message : JSON.stringify(error);
}

/**
 * The mock's control plane, on the WebSocket endpoint's own host and port:
 * ws://HOST:PORT/ws-api/v3 -> http://HOST:PORT/__admin.
 */
export class ControlPlane {
  constructor(wsURL) {
    const endpoint = new URL(wsURL);
    const scheme = endpoint.protocol === 'wss:' ? 'https:' : 'http:';
    this.base = `${scheme}//${endpoint.host}/__admin`;
  }

  get(path) {
    return this.call('GET', path);
  }

  post(path, body = {}) {
    return this.call('POST', path, body);
  }

  /** The JSON the call answers; throws on a status other than 2xx. */
  async call(method, path, body) {
    const response = await fetch(`${this.base}${path}`, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(WAIT_MS),
    });
    const text = await response.text();
    if (!response.ok) {
      throw new Error(`${method} /__admin${path} answered ${response.status}: ${text}`);
    }
    return JSON.parse(text);
  }

  /** The open connections logged on with the demo key: the driver's own. */
  async demoConnections() {
    const { connections } = await this.get('/connections');
    return connections.filter((connection) => connection.apiKey === DEMO_API_KEY);
  }

  /** The newest journal entry for `method`. */
  async lastRequest(method) {
    const { requests } = await this.get(`/requests?method=${encodeURIComponent(method)}&limit=1`);
    expect(requests.length === 1, `the journal holds no ${method}`);
    return requests[0];
  }

  /** Polls `probe` until it returns something, for at most WAIT_MS. */
  async until(what, probe) {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const found = await probe();
      if (found) {
        return found;
      }
      if (Date.now() > deadline) {
        throw new Error(`no ${what} within ${WAIT_MS} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** Things that arrive on their own (stream events, raw frames), and waits for the next one. */
export class Inbox {
  seen = [];
  waiters = [];

  /** Takes one arrival; bound, so that it can be handed to the connector as a listener. */
  push = (item) => {
    this.seen.push(item);
    for (const waiter of [...this.waiters]) {
      if (waiter.matches(item)) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        clearTimeout(waiter.timer);
        waiter.resolve(item);
      }
    }
  };

  /** The first arrival, already seen or to come within WAIT_MS, that `matches`. */
  next(what, matches) {
    const seen = this.seen.find(matches);
    if (seen) {
      return Promise.resolve(seen);
    }
    return new Promise((resolve, reject) => {
      const waiter = { matches, resolve };
      this.waiters.push(waiter);
      waiter.timer = setTimeout(() => {
        if (this.waiters.includes(waiter)) {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          const last = JSON.stringify(this.seen.slice(-5));
          reject(new Error(`no ${what} within ${WAIT_MS} ms; last seen: ${last}`));
        }
      }, WAIT_MS);
    });
  }
}

/**
 * Runs the steps and prints one line each: `PASS <n> <description>`, with what was seen in
 * parentheses when the step returns it, or `FAIL <n> <description>: <why>`; then the RESULT.
 */
export class Steps {
  failures = 0;

  async run(n, description, body) {
    try {
      const seen = await within(STEP_MS, `step ${n}`, body());
      console.log(`PASS ${n} ${description}${seen ? ` (${seen})` : ''}`);
    } catch (error) {
      this.failures += 1;
      console.log(`FAIL ${n} ${description}: ${shown(error)}`);
    }
  }

  /** Prints the RESULT line and exits: 0 if every step passed, 1 if not. */
  finish() {
    console.log(this.failures === 0 ? 'RESULT PASS' : 'RESULT FAIL');
    process.exit(this.failures === 0 ? 0 : 1);
  }
}
