/**
 * Backfill benchmark: N symbols, one Colombian session (one provider request) each,
 * against the loopback provider fake with a quota of Q credits per minute. Prints the
 * wall time against the quota's lower bound (fixed clock-minute windows: the last credit
 * cannot be spent before the window that holds it opens), the parent's history events
 * per run (continue-as-new keeps each run bounded) and the worker's peak RSS.
 *
 *   npm run bench:backfill -- --symbols 1000 --quota 400 [--concurrency 100] [--json]
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { startBackfill } from '../src/client/backfill-start.js';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../src/config/load.js';
import { stackUp } from '../src/stack/index.js';
import { connectClient } from '../src/temporal/connection.js';
import { startProviderFake } from '../test/support/provider-fake.js';
import { benchDatabase, flag, rssMiB, printResult, round, spawnWorker, timed } from './support.js';

const symbols = Number(flag('symbols', '1000'));
const quota = Number(flag('quota', '400'));
const concurrency = Number(flag('concurrency', '100'));
for (const [name, value] of Object.entries({ symbols, quota, concurrency })) {
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer`);
}
/** Tuesday 6 January 2026: one session, 60 bars, one request per symbol. */
const DAY = { from: '2026-01-06T00:00:00Z', to: '2026-01-07T00:00:00Z' };

const stack = await stackUp();
const databaseUrl = await benchDatabase(stack.DATABASE_URL, 'bench_backfill');
const fake = await startProviderFake();
const env = {
  ...stack,
  DATABASE_URL: databaseUrl,
  SEEDVAULT_TASK_QUEUE: `bench-backfill-${Date.now()}`,
  TWELVEDATA_BASE_URL: fake.url,
  TWELVEDATA_API_KEY: fake.apiKey,
  TWELVEDATA_CREDITS_PER_MINUTE: String(quota),
  TWELVEDATA_CREDITS_PER_DAY: String(Math.max(800, symbols * 2)),
};
const config = loadConfig(DEFAULT_CONFIG_PATH, { ...process.env, ...env });
const worker = spawnWorker(env);
await sleep(3000); // let the worker load its workflow bundle before the clock starts

const names = Array.from({ length: symbols }, (_, i) => `B${String(i).padStart(5, '0')}/COP`);
process.stderr.write(`backfilling ${symbols} symbols, quota ${quota} credits/min, concurrency ${concurrency}...\n`);
const startedAt = Date.now();
const handle = await startBackfill(config, { ...DAY, symbols: names, concurrency });
const run = await timed(() => handle.result());
const rss = rssMiB(worker.pid!, 'VmHWM');
worker.kill('SIGTERM');
await fake.close();

const requests = [...fake.requests.values()].reduce((a, b) => a + b, 0);
// k windows hold the requests; the k-th opens (k - 1) minute boundaries after the start.
const windows = Math.ceil(requests / quota);
const toNextMinute = 60_000 - (startedAt % 60_000);
const lowerBoundS = windows <= 1 ? 0 : (toNextMinute + (windows - 2) * 60_000) / 1000;

const client = await connectClient(config);
await sleep(2000); // visibility catches up with the closed runs
const runs: number[] = [];
for await (const execution of client.workflow.list({ query: `WorkflowId = "${handle.workflowId}"` })) runs.push(execution.historyLength);

const result = {
  symbols,
  quota_credits_per_minute: quota,
  concurrency,
  provider_requests: requests,
  completed: run.value.completed,
  bars_inserted: run.value.barsInserted,
  wall_s: round(run.seconds),
  quota_lower_bound_s: round(lowerBoundS),
  ratio_to_lower_bound: lowerBoundS > 0 ? round(run.seconds / lowerBoundS) : null,
  parent_runs: runs.length,
  parent_history_events_per_run: runs.reverse().join(' '),
  worker_peak_rss_mib: Math.round(rss),
};
printResult(result);
