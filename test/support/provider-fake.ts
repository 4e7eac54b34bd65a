import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { COLOMBIA_FX } from '../../src/domain/calendar.js';

/**
 * A loopback fake of the TwelveData `time_series` API for tests and the benchmark:
 * deterministic bars on the Colombian session grid, per-symbol request counts, and
 * injectable faults. Only the market-data provider is faked; everything else is real.
 */

export type Fault = 'http-429' | 'credits-body' | 'error-body' | 'timeout' | 'slow-body' | 'huge-body';

export interface FakeProvider {
  url: string;
  apiKey: string;
  /** Requests received per symbol, faulted ones included. */
  requests: Map<string, number>;
  /** Symbols answered with "symbol not found" forever (until removed). */
  badSymbols: Set<string>;
  /** Bars answered with high below low, per symbol: must be skipped, not stored. */
  corruptBars: Map<string, Set<number>>;
  /** Delay before every answer. */
  latencyMs: number;
  /** The next requests of `symbol` fail like this, in order. */
  failNext(symbol: string, ...faults: Fault[]): void;
  /** Resolves once a request for `symbol` has arrived (at once if one already has). */
  requested(symbol: string): Promise<void>;
  /** Answers to `symbol` wait (counted, arrived) until the returned function releases them. */
  hold(symbol: string): () => void;
  /** Requests within the quota per UTC clock minute (key: the minute's start, epoch ms). */
  perMinute: Map<number, number>;
  /** Requests answered HTTP 429 because `quotaPerMinute` was spent. */
  readonly overQuota: number;
  close(): Promise<void>;
}

/** How long a 'timeout' fault holds the answer: longer than the client's timeout in tests. */
const HANG_MS = 3000;
const UTC_DATETIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

/**
 * `quotaPerMinute`: like the real API, a request past that many in a UTC clock minute is
 * answered HTTP 429 (TwelveData's body, no Retry-After) and does not count.
 */
export async function startProviderFake(options: { apiKey?: string; latencyMs?: number; quotaPerMinute?: number } = {}): Promise<FakeProvider> {
  const apiKey = options.apiKey ?? 'test-key';
  const faults = new Map<string, Fault[]>();
  const arrivals = new Map<string, { promise: Promise<void>; resolve: () => void }>();
  const arrivalOf = (symbol: string) => {
    let entry = arrivals.get(symbol);
    if (!entry) {
      let resolve = () => {};
      const promise = new Promise<void>((r) => (resolve = r));
      arrivals.set(symbol, (entry = { promise, resolve }));
    }
    return entry;
  };
  const holds = new Map<string, Promise<void>>();
  let overQuota = 0;
  const fake: Omit<FakeProvider, 'url' | 'close' | 'overQuota'> = {
    apiKey,
    requests: new Map(),
    badSymbols: new Set(),
    corruptBars: new Map(),
    latencyMs: options.latencyMs ?? 0,
    failNext: (symbol, ...list) => faults.set(symbol, [...(faults.get(symbol) ?? []), ...list]),
    requested: (symbol) => arrivalOf(symbol).promise,
    hold: (symbol) => {
      let release = () => {};
      holds.set(symbol, new Promise<void>((r) => (release = r)));
      return () => {
        holds.delete(symbol);
        release();
      };
    },
    perMinute: new Map(),
  };

  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const q = url.searchParams;
    const symbol = q.get('symbol') ?? '';
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const error = (code: number, message: string) => send(200, { code, message, status: 'error' });
    if (url.pathname !== '/time_series') return send(404, { code: 404, message: 'not found', status: 'error' });
    fake.requests.set(symbol, (fake.requests.get(symbol) ?? 0) + 1);
    arrivalOf(symbol).resolve();
    if (options.quotaPerMinute !== undefined) {
      const minute = Math.floor(Date.now() / 60_000) * 60_000;
      const used = fake.perMinute.get(minute) ?? 0;
      if (used >= options.quotaPerMinute) {
        overQuota += 1;
        return send(429, { code: 429, message: 'You have run out of API credits for the current minute.', status: 'error' });
      }
      fake.perMinute.set(minute, used + 1);
    }
    await holds.get(symbol);
    if (fake.latencyMs > 0) await sleep(fake.latencyMs);
    if (q.get('apikey') !== apiKey) return error(401, 'Invalid API key');
    const fault = faults.get(symbol)?.shift();
    if (fault === 'http-429') {
      res.setHeader('retry-after', '1');
      return send(429, { code: 429, message: 'Too many requests', status: 'error' });
    }
    if (fault === 'credits-body') return error(429, 'You have run out of API credits for the current minute.');
    if (fault === 'error-body') return error(500, 'Internal server error, please try again later.');
    if (fault === 'timeout') await sleep(HANG_MS);
    if (fault === 'huge-body') return sendHugeBody(res);
    if (fault === 'slow-body') return sendSlowBody(res);
    if (fake.badSymbols.has(symbol)) return error(400, `**symbol** not found: ${symbol}. Please specify it correctly according to API Documentation.`);
    const start = q.get('start_date') ?? '';
    const end = q.get('end_date') ?? '';
    if (q.get('interval') !== '5min' || q.get('timezone') !== 'UTC' || !UTC_DATETIME.test(start) || !UTC_DATETIME.test(end)) {
      return error(400, 'fake provider: expected interval=5min, timezone=UTC and start/end as YYYY-MM-DD HH:mm:ss');
    }
    const outputsize = Number(q.get('outputsize') ?? 5000);
    const corrupt = fake.corruptBars.get(symbol);
    const values = [...COLOMBIA_FX.expectedBars(Date.parse(`${start.replace(' ', 'T')}Z`), Date.parse(`${end.replace(' ', 'T')}Z`) + 1)]
      .slice(0, outputsize)
      .map((t) => fakeBar(symbol, t, corrupt?.has(t) ?? false));
    if (values.length === 0) return error(400, 'No data is available on the specified dates. Try setting different start/end dates.');
    send(200, { meta: { symbol, interval: '5min', type: 'Physical Currency' }, values, status: 'ok' });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    ...fake,
    url: `http://127.0.0.1:${port}`,
    get latencyMs() {
      return fake.latencyMs;
    },
    set latencyMs(ms: number) {
      fake.latencyMs = ms;
    },
    get overQuota() {
      return overQuota;
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close').catch(() => {});
    },
  };
}

/** A valid bar whose prices depend only on the symbol and the time (strings, as the API sends them). */
export function fakeBar(symbol: string, t: number, corrupt = false) {
  let h = 0;
  for (const c of symbol) h = (h * 31 + c.charCodeAt(0)) % 1000;
  const base = 4000 + h + 10 * Math.sin(t / 3_000_000);
  const f = (x: number) => x.toFixed(4);
  return {
    datetime: new Date(t).toISOString().slice(0, 19).replace('T', ' '),
    open: f(base),
    high: f(corrupt ? base - 5 : base + 2),
    low: f(base - 1),
    close: f(base + 1),
  };
}

/** Headers and the start of a body at once, the rest after HANG_MS (unless the client hung up). */
async function sendSlowBody(res: ServerResponse): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.write('{"status":"ok","values":[');
  await sleep(HANG_MS);
  if (!res.destroyed) res.end(']}');
}

/** 64 MiB of a never-ending `values` array, chunked (no content-length), stopping early if the client hangs up. */
async function sendHugeBody(res: ServerResponse): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/json' });
  const chunk = Buffer.from('{"datetime":"2026-01-06 13:00:00","open":"1","high":"1","low":"1","close":"1"},'.repeat(13_000));
  res.write('{"values":[');
  for (let sent = 0; sent < 64 * 1024 * 1024 && !res.destroyed; sent += chunk.length) {
    if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve).once('close', resolve));
  }
  res.end('{}]}');
}
