/** Backfill against the loopback provider fake (worker SIGKILL, a binding quota shared by two workers) and against a hostile provider. */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { startBackfill } from '../../src/client/backfill-start.js';
import { connectClient } from '../../src/temporal/connection.js';
import { backfillProgressQuery } from '../../src/workflows/backfill.js';
import { freshDatabase } from '../../test/support/db.js';
import { startProviderFake } from '../../test/support/provider-fake.js';
import { testConfig, uniqueName } from '../../test/support/stack.js';
import { FAULT_POINTS, kill, retriedOnTaskQueue, rssMiB, spawnWorker, sqlQuery, stopWorker, waitForPollers, type ChaosContext, type Scenario } from '../support.js';

/** Monday 5 to Wednesday 7 January 2026: three sessions, 180 bars per symbol. */
const RANGE = { from: '2026-01-05T00:00:00Z', to: '2026-01-08T00:00:00Z' };
const BARS = 180;

/** Worker settings for a provider at `url` with a quota that never binds. */
export function providerVars(url: string, apiKey: string, timeoutSeconds = 2): Record<string, string> {
  return {
    TWELVEDATA_BASE_URL: url,
    TWELVEDATA_API_KEY: apiKey,
    TWELVEDATA_CREDITS_PER_MINUTE: '100000',
    TWELVEDATA_CREDITS_PER_DAY: '1000000',
    TWELVEDATA_TIMEOUT_SECONDS: String(timeoutSeconds),
  };
}

function providerEnv(ctx: ChaosContext, databaseUrl: string, url: string, apiKey: string) {
  return { DATABASE_URL: databaseUrl, S3_BUCKET: ctx.baseBucket, SEEDVAULT_TASK_QUEUE: uniqueName('chaos-backfill'), ...providerVars(url, apiKey) };
}

const FAN_OUT_SYMBOLS = 40;
const FAN_OUT_CONCURRENCY = 4;

function killDuringFanOut(fraction: number): Scenario {
  const pct = Math.round(fraction * 100);
  const killAfter = Math.round(FAN_OUT_SYMBOLS * fraction);
  return {
    name: `backfill: worker SIGKILL at ${pct}% of the fan-out`,
    injected: `backfill of ${FAN_OUT_SYMBOLS} symbols x 3 sessions (provider fake, 150 ms latency, concurrency ${FAN_OUT_CONCURRENCY}); worker SIGKILLed when ${killAfter} symbols were done and a symbol's fetchBarBatch was between its requests, new worker started`,
    expected: `the interrupted fetchBarBatch is retried (attempt 2 in its history); the execution completes: ${FAN_OUT_SYMBOLS} symbols x 180 bars, no duplicate bar, finished symbols not fetched again (at most the ${FAN_OUT_CONCURRENCY} in flight refetch)`,
    async run(ctx) {
      const db = await freshDatabase(`chaos_backfill_kill_${pct}`);
      const fake = await startProviderFake({ apiKey: process.env.TWELVEDATA_API_KEY!, latencyMs: 150 });
      const env = providerEnv(ctx, db.url, fake.url, fake.apiKey);
      let worker = spawnWorker(ctx, env);
      try {
        const symbols = Array.from({ length: FAN_OUT_SYMBOLS }, (_, i) => `K${String(i).padStart(2, '0')}/COP`);
        const handle = await startBackfill(testConfig(env), { ...RANGE, symbols, concurrency: FAN_OUT_CONCURRENCY });
        const deadline = Date.now() + 180_000;
        let doneAtKill = 0;
        while (Date.now() < deadline) {
          const p = await handle.query(backfillProgressQuery).catch(() => null);
          doneAtKill = p?.completed ?? 0;
          // A symbol with 1 or 2 of its 3 requests made is inside fetchBarBatch: the kill interrupts it.
          if (doneAtKill >= killAfter && [...fake.requests.values()].some((n) => n % 3 !== 0)) break;
          await sleep(50);
        }
        await kill(worker);
        const requestsAtKill = [...fake.requests.values()].reduce((a, b) => a + b, 0);
        worker = spawnWorker(ctx, env);
        const summary = await handle.result();
        const { rows } = await sqlQuery(
          db.url,
          `select count(*)::int as n, count(distinct (symbol, time))::int as d, count(distinct symbol)::int as s from usdcop_m5_ohlcv where symbol like 'K__/COP'`,
        );
        const requests = [...fake.requests.values()].reduce((a, b) => a + b, 0);
        const expectedRows = symbols.length * BARS;
        const refetched = requests - symbols.length * 3;
        const retried = (await retriedOnTaskQueue(testConfig(env))).filter((r) => r.startsWith('fetchBarBatch#'));
        const passed =
          retried.length > 0 &&
          summary.completed + summary.alreadyCompleted === FAN_OUT_SYMBOLS && rows[0].n === expectedRows && rows[0].d === rows[0].n && refetched <= FAN_OUT_CONCURRENCY * 3;
        return {
          observed:
            `killed with ${doneAtKill} symbols done (${requestsAtKill} requests); ` +
            (retried.length ? `fault hit: ${retried.join(', ')} in the histories` : 'MISSED: no fetchBarBatch attempt above 1 in any history') +
            `; summary: ${summary.completed} completed, ${summary.alreadyCompleted} resumed, ` +
            `failed ${JSON.stringify(summary.failed)}, ${summary.runs} run(s); table: ${rows[0].n}/${expectedRows} bars over ${rows[0].s} symbols, ` +
            `${rows[0].n - rows[0].d} duplicates; ${requests} provider requests in all (${refetched} beyond one per session)`,
          passed,
          dataLost: rows[0].n < expectedRows,
        };
      } finally {
        await stopWorker(worker);
        await fake.close();
        await db.drop().catch(() => {});
      }
    },
  };
}

/** 25 symbols x 3 sessions = 75 requests against 30 credits a minute: the quota binds for 2.5 minutes of budget. */
const QUOTA_PER_MINUTE = 30;
const QUOTA_SYMBOLS = 25;
const QUOTA_REQUESTS = QUOTA_SYMBOLS * 3;
const QUOTA_CONCURRENCY = 8;
/** Wall time allowed over the quota's lower bound (requests / credits per minute). */
const MAX_WALL_OVER_BOUND = 1.15;
const QUOTA_RUN_LIMIT_MS = 240_000;

/**
 * Each symbol's fetchBarBatch: how many each worker ran (the identity of the attempt that
 * finished) and the retried ones, with the failure of the attempt before.
 */
async function fetchAttempts(client: Client, parentId: string, symbols: string[]) {
  const byWorker = new Map<string, number>();
  const retried: string[] = [];
  for (const symbol of symbols) {
    const events = (await client.workflow.getHandle(`${parentId}/${symbol}`).fetchHistory()).events ?? [];
    for (const { activityTaskStartedEventAttributes: started } of events) {
      if (!started) continue;
      const identity = started.identity ?? '';
      byWorker.set(identity, (byWorker.get(identity) ?? 0) + 1);
      if ((started.attempt ?? 1) > 1) retried.push(`${symbol} attempt ${started.attempt} after "${started.lastFailure?.message ?? '?'}"`);
    }
  }
  return { byWorker, retried };
}

/** The worker process running the most fetchBarBatch attempts right now (the children's pending activities), or null. */
async function busiestWorker(client: Client, parentId: string, workers: ChildProcess[]): Promise<{ worker: ChildProcess; running: number } | null> {
  const children = (await client.workflow.getHandle(parentId).describe()).raw.pendingChildren ?? [];
  const running = new Map<number, number>();
  for (const child of children) {
    const pending = (await client.workflow.getHandle(child.workflowId!).describe().catch(() => null))?.raw.pendingActivities ?? [];
    for (const a of pending.filter((p) => Number(p.state) === 2)) {
      const pid = Number(a.lastWorkerIdentity?.split('@')[0]);
      running.set(pid, (running.get(pid) ?? 0) + 1);
    }
  }
  const [worker] = [...workers].sort((a, b) => (running.get(b.pid!) ?? 0) - (running.get(a.pid!) ?? 0));
  return worker && running.get(worker.pid!) ? { worker, running: running.get(worker.pid!)! } : null;
}

/**
 * Two worker processes on one task queue share the provider budget in PostgreSQL; the fake
 * answers HTTP 429 past 30 requests a clock minute. With `killOne`, the busiest worker is
 * SIGKILLed once the first minute's credits are spent; it must have had a fetch in flight.
 */
function sharedQuota(killOne: boolean): Scenario {
  const base = `two workers share a provider quota of ${QUOTA_PER_MINUTE} credits/min (fake answers 429 past it), ${QUOTA_SYMBOLS} symbols x 3 sessions = ${QUOTA_REQUESTS} requests, concurrency ${QUOTA_CONCURRENCY}, 100 ms latency`;
  return {
    name: killOne ? 'backfill: binding shared quota, one of two workers SIGKILLed' : 'backfill: binding shared quota, two workers',
    injected: killOne ? `${base}; the worker running the most fetches SIGKILLed after the first ${QUOTA_PER_MINUTE} requests, not replaced` : base,
    expected:
      `all ${QUOTA_SYMBOLS} symbols complete with 180 bars each, no duplicate, no request answered 429` +
      (killOne
        ? '; the kill lands mid-run on a worker with a fetch in flight, which the other worker retries (attempt > 1)'
        : `; wall time within ${MAX_WALL_OVER_BOUND}x of requests / credits per minute, every clock minute between the first and the last at the full quota; both workers fetched`),
    async run(ctx) {
      const db = await freshDatabase(`chaos_backfill_quota${killOne ? '_kill' : ''}`);
      const fake = await startProviderFake({ apiKey: process.env.TWELVEDATA_API_KEY!, latencyMs: 100, quotaPerMinute: QUOTA_PER_MINUTE });
      const env = { ...providerEnv(ctx, db.url, fake.url, fake.apiKey), TWELVEDATA_CREDITS_PER_MINUTE: String(QUOTA_PER_MINUTE) };
      const config = testConfig(env);
      const workers = [spawnWorker(ctx, env), spawnWorker(ctx, env)];
      const client = await connectClient(config);
      const requestsSoFar = () => [...fake.requests.values()].reduce((a, b) => a + b, 0);
      const giveUp = new AbortController();
      try {
        await waitForPollers(config, workers.length);
        const symbols = Array.from({ length: QUOTA_SYMBOLS }, (_, i) => `Q${String(i).padStart(2, '0')}/COP`);
        const started = Date.now();
        const handle = await startBackfill(config, { ...RANGE, symbols, concurrency: QUOTA_CONCURRENCY });
        let runEnded = false;
        const finished = handle.result().then((summary) => ({ summary, wallMs: Date.now() - started }));
        void finished.then(() => (runEnded = true), () => (runEnded = true));
        let killed: { pid: number; running: number; requests: number; signal: string | null } | null = null;
        while (killOne && !killed && !runEnded && Date.now() - started < QUOTA_RUN_LIMIT_MS) {
          const busiest = requestsSoFar() >= QUOTA_PER_MINUTE ? await busiestWorker(client, handle.workflowId, workers) : null;
          if (busiest) {
            const requests = requestsSoFar();
            await kill(busiest.worker);
            killed = { pid: busiest.worker.pid!, running: busiest.running, requests, signal: busiest.worker.signalCode };
          } else await sleep(100);
        }
        const outcome = await Promise.race([finished, sleep(QUOTA_RUN_LIMIT_MS - (Date.now() - started), null, { signal: giveUp.signal }).catch(() => null)]);
        if (!outcome) await handle.terminate('chaos: gave up').catch(() => {});
        const { rows } = await sqlQuery(db.url, `select count(*)::int as n, count(distinct (symbol, time))::int as d from usdcop_m5_ohlcv where symbol like 'Q__/COP'`);
        const { byWorker, retried } = await fetchAttempts(client, handle.workflowId, symbols);
        const requests = requestsSoFar();
        const boundMs = (requests / QUOTA_PER_MINUTE) * 60_000;
        // Clock-minute windows: the start's own minute is one, so the last request can go out (windows - 1) minutes after the start's minute began.
        const windowsMs = Math.max(0, (Math.ceil(requests / QUOTA_PER_MINUTE) - 1) * 60_000 - (started % 60_000));
        // No minute wasted: every clock minute between the first and the last request spent the whole quota.
        const minutes = [...fake.perMinute.keys()].sort((a, b) => a - b);
        const inner = minutes.slice(1, -1);
        const spanned = minutes.length ? (minutes.at(-1)! - minutes[0]!) / 60_000 + 1 : 0;
        const innerFull = inner.length === Math.max(0, spanned - 2) && inner.every((m) => fake.perMinute.get(m) === QUOTA_PER_MINUTE);
        const expectedRows = QUOTA_SYMBOLS * BARS;
        const ratio = outcome ? outcome.wallMs / boundMs : Infinity;
        const complete = outcome !== null && outcome.summary.completed === QUOTA_SYMBOLS && Object.keys(outcome.summary.failed).length === 0;
        const dataOk = rows[0].n === expectedRows && rows[0].d === rows[0].n && fake.overQuota === 0;
        const faultHit = killed !== null && killed.signal === 'SIGKILL' && killed.requests < QUOTA_REQUESTS && retried.length > 0;
        const passed = complete && dataOk && (killOne ? faultHit : ratio <= MAX_WALL_OVER_BOUND && innerFull && byWorker.size === 2);
        const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
        return {
          observed:
            (outcome ? `completed: ${outcome.summary.completed}/${QUOTA_SYMBOLS} symbols, failed ${JSON.stringify(outcome.summary.failed)}` : `still running after ${s(QUOTA_RUN_LIMIT_MS)}`) +
            `; ${rows[0].n}/${expectedRows} bars, ${rows[0].n - rows[0].d} duplicates; ${requests} requests, ${fake.overQuota} answered 429, per clock minute ${minutes.map((m) => fake.perMinute.get(m)).join(', ')} over ${spanned} minute(s)` +
            `; wall ${outcome ? s(outcome.wallMs) : '-'} vs lower bound ${s(boundMs)} (requests / ${QUOTA_PER_MINUTE} per min): ratio ${ratio.toFixed(2)} (clock-minute windows from this start: ${s(windowsMs)} at least)` +
            `; fetches finished by worker: ${[...byWorker.values()].join(' + ')}` +
            (killOne
              ? killed
                ? `; killed worker pid ${killed.pid} (${killed.signal}) with ${killed.running} fetch(es) in flight after ${killed.requests} requests; retried: ${retried.join('; ') || 'NONE (the kill missed)'}`
                : '; KILL MISSED: no worker had a fetch in flight before the run ended'
              : ''),
          passed,
          dataLost: rows[0].n < expectedRows,
        };
      } finally {
        giveUp.abort();
        await client.connection.close();
        await Promise.all(workers.map((w) => stopWorker(w)));
        await fake.close();
        await db.drop().catch(() => {});
      }
    },
  };
}

/** A provider answering per symbol with garbage JSON, a 128 MiB body, or values of the wrong types. */
async function hostileProvider() {
  const server = createServer((req, res) => {
    const symbol = new URL(req.url ?? '/', 'http://x').searchParams.get('symbol') ?? '';
    res.writeHead(200, { 'content-type': 'application/json' });
    if (symbol.startsWith('GARBAGE')) return res.end('{"values": [ {"datetime": "2026-01-05 13:00:00", "open": 4');
    if (symbol.startsWith('HUGE')) {
      const chunk = Buffer.alloc(1 << 20, 0x20);
      let sent = 0;
      const write = () => {
        while (sent < 128) {
          sent += 1;
          if (!res.write(chunk)) return void res.once('drain', write);
        }
        res.end('{"status":"ok","values":[]}');
      };
      res.write('');
      return write();
    }
    if (symbol.startsWith('STRING')) return res.end(JSON.stringify({ status: 'ok', values: 'lots of bars' }));
    return res.end(JSON.stringify({ status: 'ok', values: [null, 7, { datetime: 5, open: {}, high: [], low: null, close: true }, { datetime: '2026-01-05 13:00:00', open: 'x', high: '1', low: '1', close: '1' }] }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => (server.closeAllConnections(), server.close()) };
}

const hostileResponses: Scenario = {
  name: 'backfill: hostile provider responses',
  injected: 'provider answers truncated JSON (GARBAGE), a 128 MiB body (HUGE), `values` as a string (STRING), values of wrong types: null, 7, numbers/objects for fields (TYPES)',
  expected:
    'each symbol fails or skips its bars with a classified failure (provider_error / invalid bars), the huge body refused once past 16 MiB while streaming, ' +
    'the execution completes, nothing inserted, worker alive with peak RSS under 512 MiB',
  async run(ctx) {
    const db = await freshDatabase('chaos_backfill_hostile');
    const provider = await hostileProvider();
    const env = providerEnv(ctx, db.url, provider.url, process.env.TWELVEDATA_API_KEY!);
    const worker = spawnWorker(ctx, env);
    let peakMiB = 0;
    const sampler = setInterval(() => {
      try {
        peakMiB = Math.max(peakMiB, rssMiB(worker.pid!, 'VmHWM'));
      } catch {
        /* exited */
      }
    }, 500);
    try {
      const symbols = ['GARBAGE/COP', 'HUGE/COP', 'STRING/COP', 'TYPES/COP'];
      const handle = await startBackfill(testConfig(env), { from: '2026-01-05T00:00:00Z', to: '2026-01-06T00:00:00Z', symbols, concurrency: 4 });
      const outcome = await Promise.race([
        handle.result().then((s) => s, (e: Error) => new Error(((e.cause as Error | undefined)?.message ?? e.message).slice(0, 200))),
        sleep(300_000).then(() => null),
      ]);
      const { rows } = await sqlQuery(db.url, `select count(*)::int as n from usdcop_m5_ohlcv`);
      const { rows: states } = await sqlQuery(db.url, `select symbol, status, left(coalesce(error_message, ''), 90) as error from backfill_state_persistent order by symbol`);
      const alive = worker.exitCode === null && worker.signalCode === null;
      if (outcome === null) await handle.terminate('chaos: gave up').catch(() => {});
      // Each hostile answer must have taken its own path: refused with its reason, or (TYPES) every bar skipped.
      const refusals: Record<string, RegExp> = { 'GARBAGE/COP': /non-JSON/, 'HUGE/COP': /larger than 16 MiB/, 'STRING/COP': /without values/ };
      const classified = states.length === symbols.length && states.every((s) => (refusals[s.symbol] ? s.status === 'failed' && refusals[s.symbol]!.test(s.error) : s.status === 'completed'));
      const passed = outcome !== null && !(outcome instanceof Error) && rows[0].n === 0 && alive && classified && peakMiB < 512;
      return {
        observed:
          (outcome === null ? 'execution still running after 300 s' : outcome instanceof Error ? `execution FAILED: ${outcome.message}` : `execution completed: ${outcome.completed} completed, failed ${JSON.stringify(outcome.failed)}`) +
          `; per symbol: ${states.map((s) => `${s.symbol} ${s.status}${s.error ? ` (${s.error})` : ''}`).join('; ')}; ${rows[0].n} bars inserted; worker ${alive ? 'alive' : 'DEAD'}, peak RSS ${peakMiB.toFixed(0)} MiB`,
        passed,
        dataLost: false,
      };
    } finally {
      clearInterval(sampler);
      await stopWorker(worker);
      provider.close();
      await db.drop().catch(() => {});
    }
  },
};

export const backfillScenarios: Scenario[] = [...FAULT_POINTS.map(killDuringFanOut), hostileResponses, sharedQuota(false), sharedQuota(true)];
