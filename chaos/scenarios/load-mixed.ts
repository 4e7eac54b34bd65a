/**
 * Load: a 10M-row snapshot taken while a 1,000-symbol backfill writes into the same table,
 * on one worker process. The snapshot is timed alone first (same worker, same data), so the
 * cost of sharing the worker and the database shows as a ratio.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import { fillOhlcv } from '../../bench/support.js';
import { startBackfill } from '../../src/client/backfill-start.js';
import { startSnapshot } from '../../src/client/snapshot-create.js';
import { backfillProgressQuery, type backfill } from '../../src/workflows/backfill.js';
import { freshDatabase } from '../../test/support/db.js';
import { startProviderFake } from '../../test/support/provider-fake.js';
import { activityDurationMs, freshVersion, rssMiB, scenarioEnv, settledRssMiB, spawnWorker, sqlQuery, stopWorker, type Scenario } from '../support.js';
import { providerVars } from './backfill-faults.js';

const ROWS = 10_000_000;
const SYMBOLS = 1000;
/** Monday 5 to Wednesday 7 January 2026: three sessions, three requests and 180 bars per symbol. */
const RANGE = { from: '2026-01-05T00:00:00Z', to: '2026-01-08T00:00:00Z' };
const BARS_PER_SYMBOL = 180;
/**
 * Settled RSS after each round from the third on must stay below this much above the highest
 * after the rounds before it: growth that goes on round after round is a leak. Rounds 1 and 2
 * are warm-up; comparing round 2 with round 1 alone failed on runs that differed by where the
 * allocator happened to settle (+73 and +126 MiB in two runs, -27 in a third, same code).
 */
const FLAT_MIB = 64;
/** Settled RSS: the lowest of these VmRSS readings once a round is done (one reading catches GC and allocator timing: +76 MiB in a run, +12 in its rerun). */
const SETTLE = { samples: 20, everyMs: 500 };
/** Rounds of backfill + snapshot (SEEDVAULT_CHAOS_LOAD_ROUNDS for a longer soak). */
const ROUNDS = Math.max(3, Number(process.env.SEEDVAULT_CHAOS_LOAD_ROUNDS ?? 3) || 3);

async function completedSymbols(handle: WorkflowHandle<typeof backfill>): Promise<number> {
  const p = await handle.query(backfillProgressQuery).catch(() => null);
  return p ? p.completed + p.alreadyCompleted : 0;
}

export const mixedLoadScenario: Scenario = {
  name: 'load: 10M-row snapshot during a 1,000-symbol backfill',
  injected:
    `usdcop_m5_ohlcv filled with ${ROWS.toLocaleString('en-US')} bars; one worker takes a snapshot of it alone, then a backfill of ${SYMBOLS} symbols x 3 sessions ` +
    `(provider fake, 100 ms latency, concurrency 50) starts and a second snapshot starts once 100 symbols are done; that round is run ${ROUNDS} times (new symbols each time); worker RSS sampled every 500 ms`,
  expected:
    `the backfill completes symbols while each round's snapshot runs; everything completes: the snapshot of the last round holds exactly the rows its database snapshot sees (backfill rows committed after it are out), every symbol has ${BARS_PER_SYMBOL} bars and no duplicates; ` +
    `worker RSS flat: settled RSS (the lowest of ${SETTLE.samples} VmRSS readings ${SETTLE.everyMs} ms apart once a round is done) after each round from the third on less than ${FLAT_MIB} MiB above the highest after the rounds before it`,
  async run(ctx) {
    const db = await freshDatabase('chaos_load_mixed');
    const fake = await startProviderFake({ apiKey: process.env.TWELVEDATA_API_KEY!, latencyMs: 100 });
    try {
      await fillOhlcv(db.url, ROWS, 'key');
      const { env, config } = await scenarioEnv('load-mixed', db.url, providerVars(fake.url, fake.apiKey, 10));
      const worker = spawnWorker(ctx, env);
      const samples: number[] = [];
      const sampler = setInterval(() => {
        try {
          samples.push(rssMiB(worker.pid!, 'VmRSS'));
        } catch {
          /* exited: the crash is reported by the harness */
        }
      }, 500);
      try {
        const snapshot = async () => {
          const started = Date.now();
          const handle = await startSnapshot(config, { version: freshVersion(), tables: 'usdcop_m5_ohlcv' });
          const result = await handle.result();
          return { result, wallS: (Date.now() - started) / 1000, exportS: (await activityDurationMs(handle, 'exportTables')) / 1000 };
        };
        const alone = await snapshot();
        const rssAfterAlone = await settledRssMiB(worker.pid!, SETTLE);

        // Rounds of backfill + snapshot: the first two warm the worker up (backfill code, caches, allocator),
        // the later ones show whether memory keeps growing under the same load.
        const round = async (n: number) => {
          const symbols = Array.from({ length: SYMBOLS }, (_, i) => `R${n}x${String(i).padStart(4, '0')}/COP`);
          const backfillStarted = Date.now();
          const fill = await startBackfill(config, { ...RANGE, symbols, concurrency: 50 });
          const backfillDone = fill.result().then((summary) => ({ summary, wallS: (Date.now() - backfillStarted) / 1000 }));
          while ((await completedSymbols(fill)) < 100) await sleep(200);
          const doneAtStart = await completedSymbols(fill);
          const mixed = await snapshot();
          const doneAtEnd = await completedSymbols(fill);
          const backfilled = await backfillDone;
          return { mixed, doneAtStart, doneAtEnd, backfilled, rssAfter: await settledRssMiB(worker.pid!, SETTLE) };
        };
        const rounds: Awaited<ReturnType<typeof round>>[] = [];
        for (let n = 1; n <= ROUNDS; n += 1) rounds.push(await round(n));
        const peak = rssMiB(worker.pid!, 'VmHWM');
        const last = rounds.at(-1)!;
        const { mixed, doneAtStart, doneAtEnd, backfilled } = last;

        const table = mixed.result.manifest.tables.usdcop_m5_ohlcv!;
        // Rows visible in the exporting transaction's snapshot (a fresh cluster: xid epoch 0).
        const { rows: visible } = await sqlQuery(
          db.url,
          `select count(*)::bigint as n from usdcop_m5_ohlcv where pg_visible_in_snapshot(xmin::text::xid8, $1::pg_snapshot)`,
          [mixed.result.manifest.consistency.txid_snapshot],
        );
        const { rows: bars } = await sqlQuery(
          db.url,
          `select count(*)::int as n, count(distinct (symbol, time))::int as d from usdcop_m5_ohlcv where symbol ~ '^R[0-9]+x[0-9]{4}/COP$'`,
        );
        const expectedBars = ROUNDS * SYMBOLS * BARS_PER_SYMBOL;
        const consistent = Number(visible[0].n) === table.rows && table.rows >= ROWS;
        const done = (r: typeof last) => r.backfilled.summary.completed + r.backfilled.summary.alreadyCompleted;
        const complete = rounds.every((r) => done(r) === SYMBOLS) && bars[0].n === expectedBars && bars[0].d === bars[0].n;
        // Each round from the third on against the highest settled RSS before it.
        const steps = rounds.slice(2).map((r, i) => r.rssAfter - Math.max(...rounds.slice(0, i + 2).map((b) => b.rssAfter)));
        const growth = Math.max(...steps);
        const flat = growth < FLAT_MIB;
        // The load hit the snapshot only if the backfill wrote while it ran, in every round.
        const idle = rounds.flatMap((r, i) => (r.doneAtStart < r.doneAtEnd && r.doneAtEnd < SYMBOLS ? [] : [i + 1]));
        const overlapped = idle.length === 0;
        const failed = Object.assign({}, ...rounds.map((r) => r.backfilled.summary.failed)) as Record<string, number>;
        const rate = (rows: number, s: number) => `${Math.round(rows / s).toLocaleString('en-US')} rows/s`;
        const q = (f: number) => samples[Math.min(samples.length - 1, Math.floor(f * samples.length))]!.toFixed(0);
        return {
          observed:
            `snapshot alone: ${alone.wallS.toFixed(1)} s (export ${alone.exportS.toFixed(1)} s, ${rate(ROWS, alone.exportS)}); ` +
            `during the backfill (round ${ROUNDS}): ${mixed.wallS.toFixed(1)} s (export ${mixed.exportS.toFixed(1)} s, ${rate(table.rows, mixed.exportS)}) = ${(mixed.wallS / alone.wallS).toFixed(2)}x alone, ` +
            `while the backfill went from ${doneAtStart} to ${doneAtEnd} symbols${overlapped ? ' (and it wrote during the snapshot of every round)' : ` (NO OVERLAP in round ${idle.join(', ')}: no symbol completed during its snapshot)`}; ` +
            `snapshot rows ${table.rows.toLocaleString('en-US')} ${consistent ? '=' : '!='} rows visible in its txid snapshot (${Number(visible[0].n).toLocaleString('en-US')}); ` +
            `backfill round ${ROUNDS}: ${done(last)}/${SYMBOLS} symbols in ${backfilled.wallS.toFixed(0)} s (${((SYMBOLS / backfilled.wallS) * 60).toFixed(0)} symbols/min, ` +
            `${rate(SYMBOLS * BARS_PER_SYMBOL, backfilled.wallS)}), every round: ${rounds.map((r) => `${done(r)} in ${r.backfilled.wallS.toFixed(0)} s`).join(', ')}; ` +
            `${bars[0].n.toLocaleString('en-US')}/${expectedBars.toLocaleString('en-US')} bars, ${bars[0].n - bars[0].d} duplicates, failed ${JSON.stringify(failed)}; ` +
            `worker settled RSS (lowest of ${SETTLE.samples} readings over ${((SETTLE.samples - 1) * SETTLE.everyMs) / 1000} s) after the lone snapshot ${rssAfterAlone.toFixed(0)} MiB, after rounds 1..${ROUNDS} ${rounds.map((r) => r.rssAfter.toFixed(0)).join('/')} MiB ` +
            `(rounds 1-2 are warm-up; rounds 3..${ROUNDS} against the highest before each: ${steps.map((d) => `${d >= 0 ? '+' : ''}${Math.round(d)}`).join('/')} MiB), samples at 25/50/75/100% of the scenario ${q(0.25)}/${q(0.5)}/${q(0.75)}/${q(1)} MiB, peak ${peak.toFixed(0)} MiB`,
          passed: consistent && complete && flat && overlapped,
          dataLost: !consistent || bars[0].n < expectedBars,
        };
      } finally {
        clearInterval(sampler);
        await stopWorker(worker);
      }
    } finally {
      await fake.close();
      await db.drop().catch(() => {});
    }
  },
};
