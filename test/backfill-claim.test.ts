import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { CLI } from '../bench/support.js';
import { startBackfill } from '../src/client/backfill-start.js';
import { createPool } from '../src/db/pool.js';
import type { BackfillInput, BackfillSummary } from '../src/workflows/backfill.js';
import { freshDatabase, type FreshDatabase } from './support/db.js';
import { startProviderFake, type FakeProvider } from './support/provider-fake.js';
import { execFileAsync } from './support/snapshot.js';
import { testConfig, uniqueName, withWorker } from './support/stack.js';

/** Three Colombian sessions: three requests per symbol. */
const RANGE = { from: '2026-01-05T00:00:00Z', to: '2026-01-08T00:00:00Z' };
const REQUESTS = 3;

describe('one backfill per symbol at a time across executions', () => {
  let db: FreshDatabase;
  let fake: FakeProvider;
  let sql: pg.Pool;
  let env: Record<string, string>;
  let worker: Awaited<ReturnType<typeof withWorker>>;
  before(async () => {
    db = await freshDatabase('backfill_claim');
    fake = await startProviderFake();
    sql = createPool(db.url, 2);
    env = {
      DATABASE_URL: db.url,
      SEEDVAULT_TASK_QUEUE: uniqueName('backfill-claim'),
      TWELVEDATA_BASE_URL: fake.url,
      TWELVEDATA_API_KEY: fake.apiKey,
      TWELVEDATA_CREDITS_PER_MINUTE: '100000',
      TWELVEDATA_CREDITS_PER_DAY: '1000000',
      TWELVEDATA_TIMEOUT_SECONDS: '60', // longer than any held answer below
      SEEDVAULT_LOG_LEVEL: 'warn',
    };
    worker = await withWorker(testConfig(env));
  });
  after(async () => {
    await worker?.stop();
    await sql?.end();
    await fake?.close();
    await db?.drop();
  });

  const start = (input: BackfillInput) => startBackfill(testConfig(env), { ...RANGE, ...input });
  const cli = async (...args: string[]) => (await execFileAsync(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } })).stdout;
  const states = async (executionId: string) =>
    (await sql.query<{ symbol: string; status: string; error_message: string | null }>(
      `select symbol, status, error_message from backfill_state_persistent where execution_id = $1 order by symbol`,
      [executionId],
    )).rows;

  test('a second execution skips the symbol the first is filling, with the reason; status --active lists it while it runs', async () => {
    // The first execution's answers wait until the second has ended: the claim is held throughout.
    const release = fake.hold('HELD/COP');
    const first = await start({ executionId: randomUUID(), symbols: ['HELD/COP'] });
    let second: BackfillSummary;
    try {
      await fake.requested('HELD/COP');
      const active = JSON.parse(await cli('backfill', 'status', '--active', '--json'));
      assert.equal(active.length, 1, JSON.stringify(active));
      const [held] = active;
      assert.equal(held.executionId, first.workflowId.replace(/^backfill-/, ''));
      assert.equal(held.symbol, 'HELD/COP');
      assert.equal(held.status, 'in_progress');
      assert.equal(held.running, true);
      assert.equal(held.barsPlanned, 180);
      assert.ok(held.progressPct >= 0 && held.progressPct < 100, `progress ${held.progressPct}`);
      assert.ok(Date.parse(held.startedAt) <= Date.now());
      const human = await cli('backfill', 'status', '--active');
      assert.match(human, /^EXECUTION\s+SYMBOL\s+STATUS\s+STARTED\s+PROGRESS\s+RUNNING\n/);
      assert.match(human, new RegExp(`${held.executionId}\\s+HELD/COP\\s+in_progress`));

      second = await (await start({ symbols: ['HELD/COP', 'FREE/COP'] })).result();
    } finally {
      release();
    }
    const firstSummary = await first.result();
    assert.equal(firstSummary.completed, 1);
    assert.deepEqual([second.completed, second.skipped], [1, 1]);
    assert.equal(second.skippedSymbols[0]!.symbol, 'HELD/COP');
    assert.match(second.skippedSymbols[0]!.reason, new RegExp(`^being backfilled by execution ${firstSummary.executionId} \\(workflow ${first.workflowId}/HELD/COP\\) since `));
    assert.equal(fake.requests.get('HELD/COP'), REQUESTS, 'fetched by the first execution only');
    const rows = await states(second.executionId);
    assert.deepEqual(rows.map((r) => [r.symbol, r.status]), [['FREE/COP', 'completed'], ['HELD/COP', 'skipped']]);
    assert.equal(rows[1]!.error_message, second.skippedSymbols[0]!.reason);
    assert.deepEqual(JSON.parse(await cli('backfill', 'status', '--active', '--json')), [], 'nothing in progress once both ended');
  });

  test('two executions started together over the same symbols: each symbol is filled by exactly one', async () => {
    const symbols = ['R1/COP', 'R2/COP', 'R3/COP'];
    const executions = [randomUUID(), randomUUID()];
    // Answers wait until both executions have claimed or skipped every symbol, so neither can finish one and let the other take it again.
    const releases = symbols.map((symbol) => fake.hold(symbol));
    let summaries: BackfillSummary[];
    try {
      const handles = await Promise.all(executions.map((executionId) => start({ executionId, symbols, concurrency: 3 })));
      const decided = async () => (await Promise.all(executions.map(states))).flat().filter((r) => r.status === 'in_progress' || r.status === 'skipped').length;
      for (const deadline = Date.now() + 60_000; (await decided()) < 2 * symbols.length; ) {
        assert.ok(Date.now() < deadline, 'both executions reach every symbol within 60 s');
        await sleep(100);
      }
      releases.forEach((release) => release());
      summaries = await Promise.all(handles.map((h) => h.result()));
    } finally {
      releases.forEach((release) => release());
    }
    assert.equal(summaries[0]!.completed + summaries[1]!.completed, symbols.length, JSON.stringify(summaries));
    assert.equal(summaries[0]!.skipped + summaries[1]!.skipped, symbols.length);
    for (const symbol of symbols) assert.equal(fake.requests.get(symbol), REQUESTS, `${symbol} fetched by one execution`);
  });

  test('a claim left by a workflow that no longer runs (or by none) is taken over and marked failed', async () => {
    const stale = randomUUID();
    await sql.query(
      `insert into backfill_state_persistent (execution_id, symbol, timeframe, status, started_at, workflow_id)
       values ($1, 'GONE/COP', '5min', 'in_progress', now() - interval '1 day', $2), ($1, 'OLD/COP', '5min', 'in_progress', now() - interval '1 day', null)`,
      [stale, `backfill-${stale}/GONE/COP`],
    );
    // A gap the abandoned execution was filling, outside the new range.
    await sql.query(
      `insert into data_gaps (symbol, gap_start, gap_end, missing_points, detected_by, severity, fill_status)
       values ('GONE/COP', '2025-12-01T13:00Z', '2025-12-01T13:05Z', 2, 'seedvault backfill', 'LOW', 'filling')`,
    );
    const listed = JSON.parse(await cli('backfill', 'status', '--active', '--json')) as { symbol: string; running: boolean | null }[];
    assert.deepEqual(listed.map((a) => [a.symbol, a.running]), [['GONE/COP', false], ['OLD/COP', null]]);

    const summary = await (await start({ symbols: ['GONE/COP', 'OLD/COP'] })).result();
    assert.deepEqual([summary.completed, summary.skipped], [2, 0]);
    const rows = await states(stale);
    assert.deepEqual(rows.map((r) => r.status), ['failed', 'failed']);
    assert.match(rows[0]!.error_message!, new RegExp(`^internal: abandoned: its workflow backfill-${stale}/GONE/COP is not running$`));
    assert.match(rows[1]!.error_message!, /^internal: abandoned: its workflow \(unknown\) is not running$/);
    const { rows: gaps } = await sql.query(`select fill_status, last_error from data_gaps where symbol = 'GONE/COP' and gap_start = '2025-12-01T13:00Z'`);
    assert.deepEqual(gaps, [{ fill_status: 'failed', last_error: rows[0]!.error_message }]);
  });
});
