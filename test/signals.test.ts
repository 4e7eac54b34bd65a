import assert from 'node:assert/strict';
import { hostname, userInfo } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { createPool } from '../src/db/pool.js';
import { waitForReadySignal } from '../src/client/signal-wait.js';
import type { SeedvaultConfig } from '../src/config/schema.js';
import type { HandoverStatus } from '../src/domain/ready-signals.js';
import { notifySignalWaiters } from '../src/quality/notify.js';
import { acknowledgeSignal, createSignal, listSignals, signalWaitWorkflowId, SIGNAL_TYPES, transitionSignal, type ReadySignal } from '../src/quality/signals.js';
import { connectClient } from '../src/temporal/connection.js';
import { runCli } from './support/cli.js';
import { freshDatabase, type FreshDatabase } from './support/db.js';
import { testConfig, uniqueName, withWorker } from './support/stack.js';

describe('ready signals', () => {
  let db: FreshDatabase;
  let sql: pg.Pool;
  let env: Record<string, string>;
  let config: SeedvaultConfig;
  let worker: Awaited<ReturnType<typeof withWorker>>;
  before(async () => {
    db = await freshDatabase('signals');
    sql = createPool(db.url, 2);
    env = { DATABASE_URL: db.url, SEEDVAULT_TASK_QUEUE: uniqueName('signals') };
    config = testConfig(env);
    worker = await withWorker(config);
  });
  after(async () => {
    // No waiter outlives the test's worker.
    const client = await connectClient(config);
    for (const type of SIGNAL_TYPES) await client.workflow.getHandle(signalWaitWorkflowId(type, config.temporal.task_queue)).terminate('test over').catch(() => {});
    await worker?.stop();
    await sql?.end();
    await db?.drop();
  });

  const complete = async (id: string) => {
    const { signal, notify } = await transitionSignal(sql, id, 'completed');
    await notifySignalWaiters(await connectClient(config), config.temporal.task_queue, notify);
    return signal;
  };
  const cli = (...args: string[]) => runCli(args, { ...env, SEEDVAULT_NO_LOCAL_STACK: '1' });

  test('a waiter wakes when the signal completes (signalled, not polled); two waiters share one workflow', async () => {
    const signal = await createSignal(sql, { type: 'DATA_READY', pipelineRunId: uniqueName('run') });
    assert.equal(signal.status, 'active');
    let settled: ReadySignal | null | undefined;
    const waiters = [waitForReadySignal(config, 'DATA_READY', 120_000), waitForReadySignal(config, 'DATA_READY', 120_000)];
    void waiters[0]!.then((s) => (settled = s));
    await sleep(1500);
    assert.equal(settled, undefined, 'an active signal does not wake the waiter');
    const started = Date.now();
    await complete(signal.signal_id);
    const [a, b] = await Promise.all(waiters);
    // Well under the waiter's 60 s safety re-check: the change signal woke it.
    assert.ok(Date.now() - started < 10_000, `woke after ${Date.now() - started} ms`);
    assert.equal(a?.signal_id, signal.signal_id);
    assert.equal(b?.signal_id, signal.signal_id);
    const client = await connectClient(config);
    const runs = [];
    for await (const w of client.workflow.list({ query: `WorkflowId = '${signalWaitWorkflowId('DATA_READY', config.temporal.task_queue)}'` })) runs.push(w);
    assert.ok(runs.length <= 1, `one shared waiter run, got ${runs.length}`);

    // Acknowledged: the next waiter does not take it again.
    const acked = await cli('signals', 'ack', signal.signal_id, '--by', 'test-consumer', '--json');
    assert.equal(acked.code, 0, acked.stderr);
    assert.equal((JSON.parse(acked.stdout) as ReadySignal).acknowledged_by, 'test-consumer');
    assert.equal(await waitForReadySignal(config, 'DATA_READY', 1500), null);
  });

  test('a waiter times out when nothing completes (CLI exit 5)', async () => {
    const started = Date.now();
    assert.equal(await waitForReadySignal(config, 'MODEL_READY', 2000), null);
    assert.ok(Date.now() - started >= 2000);
    const waited = await cli('signals', 'wait', 'MODEL_READY', '--timeout', '2s');
    assert.equal(waited.code, 5);
    assert.match(waited.stderr, /no MODEL_READY signal within 2s/);
  });

  test('dependencies block a signal until its parents completed; the CLI wait returns it', async () => {
    const parent = await createSignal(sql, { type: 'PROCESSED_READY', pipelineRunId: 'pipe-1' });
    const child = await createSignal(sql, { type: 'FEATURES_READY', pipelineRunId: 'pipe-1', dependencies: [parent.signal_id] });
    assert.deepEqual(child.blocked_by, [parent.signal_id]);
    await assert.rejects(transitionSignal(sql, child.signal_id, 'completed'), /blocked by dependencies not completed/);
    const refused = await cli('signals', 'complete', child.signal_id);
    assert.equal(refused.code, 2);

    const waiting = cli('signals', 'wait', 'FEATURES_READY', '--timeout', '60s', '--ack', '--by', 'features', '--json');
    await sleep(1500);
    assert.equal((await cli('signals', 'start', parent.signal_id)).code, 0);
    assert.equal((await cli('signals', 'complete', parent.signal_id)).code, 0);
    const done = await cli('signals', 'complete', child.signal_id, '--json');
    assert.equal(done.code, 0, done.stderr);
    const got = await waiting;
    assert.equal(got.code, 0, got.stderr);
    const signal = JSON.parse(got.stdout) as ReadySignal;
    assert.equal(signal.signal_id, child.signal_id);
    assert.equal(signal.acknowledged_by, 'features');
  });

  test('overdue signals move to expired', async () => {
    const s = await createSignal(sql, { type: 'WEBSOCKET_READY', pipelineRunId: 'ws-1', expiresInMinutes: 60 });
    await sql.query(`update ready_signals set expires_at = now() - interval '1 second' where signal_id = $1`, [s.signal_id]);
    const listed = await listSignals(sql, { type: 'WEBSOCKET_READY' });
    assert.deepEqual(listed.map((x) => [x.signal_id, x.status]), [[s.signal_id, 'expired']]);
    await assert.rejects(transitionSignal(sql, s.signal_id, 'completed'), /is expired/);
    await assert.rejects(acknowledgeSignal(sql, s.signal_id, 'x').then(() => acknowledgeSignal(sql, s.signal_id, 'y')), /already acknowledged/);
    const out = await cli('signals', 'list', '--status', 'expired', '--json');
    assert.equal(out.code, 0, out.stderr);
    assert.deepEqual((JSON.parse(out.stdout) as ReadySignal[]).map((x) => x.signal_id), [s.signal_id]);
  });
});

describe('ready signals: metadata, wait --id, complete --by, touch, handover (CLI)', () => {
  let db: FreshDatabase;
  let sql: pg.Pool;
  let env: Record<string, string>;
  let config: SeedvaultConfig;
  let worker: Awaited<ReturnType<typeof withWorker>>;
  before(async () => {
    db = await freshDatabase('signals_cli');
    sql = createPool(db.url, 2);
    env = { DATABASE_URL: db.url, SEEDVAULT_TASK_QUEUE: uniqueName('signals-cli') };
    config = testConfig(env);
    worker = await withWorker(config);
  });
  after(async () => {
    await worker?.stop();
    await sql?.end();
    await db?.drop();
  });

  const cli = (...args: string[]) => runCli(args, { ...env, SEEDVAULT_NO_LOCAL_STACK: '1' });
  const create = async (...args: string[]) => {
    const out = await cli('signals', 'create', ...args, '--json');
    assert.equal(out.code, 0, out.stderr);
    return JSON.parse(out.stdout) as ReadySignal;
  };
  /** A bad input: exit 2 and one `seedvault: ...` line matching `pattern`. */
  const assertInputError = (out: { code: number; stdout: string; stderr: string }, pattern: RegExp) => {
    assert.equal(out.code, 2, `${out.stdout}${out.stderr}`);
    assert.equal(out.stderr.trim().split('\n').length, 1, out.stderr);
    assert.match(out.stderr, /^seedvault: /);
    assert.match(out.stderr, pattern);
  };

  test('create keeps records, data range, completeness and metadata; list --run-id filters; show and list print them', async () => {
    const run = uniqueName('meta-run');
    const s = await create(
      'DATA_READY',
      '--run-id', run,
      '--records', '60',
      '--range', '2026-01-20T08:00:00-05:00..2026-01-20T08:05:00-05:00',
      '--completeness', '98.5',
      '--metadata', '{"source":"l0","bars":12}',
    );
    assert.equal(s.records_available, 60);
    assert.equal(s.data_start_time, '2026-01-20T13:00:00.000Z');
    assert.equal(s.data_end_time, '2026-01-20T13:05:00.000Z');
    assert.equal(s.completeness_pct, 98.5);
    assert.deepEqual(s.metadata, { source: 'l0', bars: 12 });
    const dateOnly = await create('DATA_READY', '--run-id', run, '--range', '2026-01-20..2026-01-20');
    assert.deepEqual([dateOnly.data_start_time, dateOnly.data_end_time, dateOnly.records_available], ['2026-01-20T00:00:00.000Z', '2026-01-20T00:00:00.000Z', null]);
    const other = await create('DATA_READY', '--run-id', uniqueName('other-run'));

    const listed = await cli('signals', 'list', '--run-id', run, '--json');
    assert.equal(listed.code, 0, listed.stderr);
    const ids = (JSON.parse(listed.stdout) as ReadySignal[]).map((x) => x.signal_id);
    assert.deepEqual(ids.sort(), [s.signal_id, dateOnly.signal_id].sort());
    assert.ok(!ids.includes(other.signal_id));
    const stored = await sql.query(`select records_available::int as n, completeness_pct::float8 as pct, metadata from ready_signals where signal_id = $1`, [s.signal_id]);
    assert.deepEqual(stored.rows[0], { n: 60, pct: 98.5, metadata: { source: 'l0', bars: 12 } });

    for (const args of [['show', s.signal_id], ['list', '--run-id', run]]) {
      const human = await cli('signals', ...args);
      assert.equal(human.code, 0, human.stderr);
      // jsonb keeps its own key order: print what the JSON output says.
      for (const text of ['RECORDS', 'COMPLETE_PCT', '2026-01-20T13:00:00.000Z..2026-01-20T13:05:00.000Z', '98.5', JSON.stringify(s.metadata)]) {
        assert.ok(human.stdout.includes(text), `${args[0]} prints ${text}:\n${human.stdout}`);
      }
    }
    assert.equal((await cli('signals', 'list', '--run-id', uniqueName('no-run'))).stdout, 'no ready signals\n');
  });

  test('create refuses a bad range, completeness, record count or metadata with one line naming the flag', async () => {
    const run = uniqueName('bad-meta');
    const bad: [string[], RegExp][] = [
      [['--range', '2026-01-21..2026-01-20'], /--range: 2026-01-21 is after 2026-01-20/],
      [['--range', '2026-01-20T08:05:00Z..2026-01-20T08:00:00Z'], /--range: .* is after/],
      [['--range', 'yesterday..today'], /--range: expected an ISO date or instant/],
      [['--range', '2026-01-20'], /--range: expected FROM\.\.TO/],
      [['--completeness', '101'], /--completeness: a percentage from 0 to 100/],
      [['--completeness', 'full'], /--completeness/],
      [['--records=-1'], /--records: a non-negative integer/],
      [['--records', '1.5'], /--records/],
      [['--metadata', '[1,2]'], /--metadata: expected a JSON object/],
      [['--metadata', 'null'], /--metadata: expected a JSON object/],
      [['--metadata', '{"source":'], /--metadata: not valid JSON/],
    ];
    for (const [args, pattern] of bad) assertInputError(await cli('signals', 'create', 'DATA_READY', '--run-id', run, ...args), pattern);
    const { rows } = await sql.query(`select count(*)::int as n from ready_signals where pipeline_run_id = $1`, [run]);
    assert.equal(rows[0].n, 0, 'nothing was created');
  });

  test('complete --by records the consumer (default user@host)', async () => {
    const run = uniqueName('by-run');
    const a = await create('DATA_READY', '--run-id', run);
    const b = await create('DATA_READY', '--run-id', run);
    const byService = await cli('signals', 'complete', a.signal_id, '--by', 'websocket_service', '--json');
    assert.equal(byService.code, 0, byService.stderr);
    const completed = JSON.parse(byService.stdout) as ReadySignal;
    assert.deepEqual([completed.status, completed.completed_by], ['completed', 'websocket_service']);
    const byDefault = await cli('signals', 'complete', b.signal_id, '--json');
    assert.equal(byDefault.code, 0, byDefault.stderr);
    assert.equal((JSON.parse(byDefault.stdout) as ReadySignal).completed_by, `${userInfo().username}@${hostname()}`);
    const { rows } = await sql.query(`select completed_by from ready_signals where signal_id = $1`, [a.signal_id]);
    assert.equal(rows[0].completed_by, 'websocket_service');
    const shown = await cli('signals', 'show', a.signal_id);
    assert.match(shown.stdout, /COMPLETED_BY/);
    assert.match(shown.stdout, /websocket_service/);
  });

  test('touch sets last_processed_at to now; an unknown id is a one-line error', async () => {
    const s = await create('PROCESSED_READY', '--run-id', uniqueName('touch-run'));
    assert.equal(s.last_processed_at, null);
    const before = Date.now();
    const touched = await cli('signals', 'touch', s.signal_id, '--json');
    assert.equal(touched.code, 0, touched.stderr);
    const first = (JSON.parse(touched.stdout) as ReadySignal).last_processed_at!;
    // PostgreSQL's clock is this machine's: now() falls between the two readings, give or take a second.
    assert.ok(Date.parse(first) >= before - 1000 && Date.parse(first) <= Date.now() + 1000, first);
    await sleep(20);
    const again = JSON.parse((await cli('signals', 'touch', s.signal_id, '--json')).stdout) as ReadySignal;
    assert.ok(Date.parse(again.last_processed_at!) > Date.parse(first), 'a second touch moves it on');
    assert.equal(again.status, 'active', 'touch leaves the status alone');
    const shown = await cli('signals', 'show', s.signal_id);
    assert.match(shown.stdout, /LAST_PROCESSED/);
    assert.ok(shown.stdout.includes(again.last_processed_at!), shown.stdout);

    const unknown = await cli('signals', 'touch', '00000000-0000-4000-8000-000000000000');
    assertInputError(unknown, /no ready signal 00000000-0000-4000-8000-000000000000/);
    assertInputError(await cli('signals', 'touch', 'not-an-id'), /'not-an-id' is not a signal id/);
  });

  test('wait --id returns once that signal completes (woken, not polled)', async () => {
    const s = await create('MODEL_READY', '--run-id', uniqueName('wait-id'));
    const waiting = cli('signals', 'wait', '--id', s.signal_id, '--timeout', '60s', '--json');
    await sleep(1500);
    assert.equal((await cli('signals', 'start', s.signal_id)).code, 0);
    assert.equal((await cli('signals', 'complete', s.signal_id, '--by', 'model-server')).code, 0);
    const completed = Date.now();
    const got = await waiting;
    assert.equal(got.code, 0, got.stderr);
    // Well under the waiter's 60 s re-check: the change signal woke it.
    assert.ok(Date.now() - completed < 15_000, `woke ${Date.now() - completed} ms after the completion`);
    const signal = JSON.parse(got.stdout) as ReadySignal;
    assert.deepEqual([signal.signal_id, signal.status, signal.completed_by], [s.signal_id, 'completed', 'model-server']);
    // Already completed: returns at once, and --ack takes it.
    const acked = await cli('signals', 'wait', '--id', s.signal_id, '--timeout', '5s', '--ack', '--by', 'trainer', '--json');
    assert.equal(acked.code, 0, acked.stderr);
    assert.equal((JSON.parse(acked.stdout) as ReadySignal).acknowledged_by, 'trainer');
  });

  test('wait --id fails (exit 4) when the signal fails or expires, and times out with exit 5', async () => {
    const failing = await create('FEATURES_READY', '--run-id', uniqueName('wait-fail'));
    const waitingForFailure = cli('signals', 'wait', '--id', failing.signal_id, '--timeout', '60s');
    await sleep(1500);
    assert.equal((await cli('signals', 'fail', failing.signal_id, '--error', 'feed down')).code, 0);
    const failed = await waitingForFailure;
    assert.equal(failed.code, 4, failed.stderr);
    assert.equal(failed.stderr, `seedvault: signal ${failing.signal_id} is failed: feed down\n`);

    // Nobody signals an expiry: the waiter wakes at expires_at by itself.
    const expiring = await create('FEATURES_READY', '--run-id', uniqueName('wait-expire'));
    await sql.query(`update ready_signals set expires_at = now() + interval '2 seconds' where signal_id = $1`, [expiring.signal_id]);
    const started = Date.now();
    const expired = await cli('signals', 'wait', '--id', expiring.signal_id, '--timeout', '60s');
    assert.equal(expired.code, 4, expired.stderr);
    assert.equal(expired.stderr, `seedvault: signal ${expiring.signal_id} is expired\n`);
    // Well under the 60 s re-check (the CLI itself takes seconds to start on a busy machine).
    assert.ok(Date.now() - started < 40_000, `saw the expiry after ${Date.now() - started} ms`);

    const open = await create('FEATURES_READY', '--run-id', uniqueName('wait-timeout'));
    const timedOut = await cli('signals', 'wait', '--id', open.signal_id, '--timeout', '2s');
    assert.equal(timedOut.code, 5, timedOut.stderr);
    assert.equal(timedOut.stderr, `seedvault: signal ${open.signal_id} did not complete within 2s\n`);
  });

  test('wait takes exactly one of a type and --id, and --id must name a signal', async () => {
    assertInputError(await cli('signals', 'wait'), /give exactly one of <type> and --id/);
    assertInputError(await cli('signals', 'wait', 'DATA_READY', '--id', '00000000-0000-4000-8000-000000000000'), /give exactly one of <type> and --id/);
    assertInputError(await cli('signals', 'wait', '--id', 'nope'), /--id: 'nope' is not a signal id/);
    assertInputError(await cli('signals', 'wait', '--id', '00000000-0000-4000-8000-000000000000', '--timeout', '2s'), /--id: no ready signal/);
  });

  test('handover: the run\'s WEBSOCKET_READY signal and its dependencies; exit 0 ready, 4 not ready, 2 unknown run', async () => {
    const run = uniqueName('handover');
    const data = await create('DATA_READY', '--run-id', run);
    const processed = await create('PROCESSED_READY', '--run-id', run, '--completed');
    const onlyData = await cli('signals', 'handover', run, '--json');
    assert.equal(onlyData.code, 4, onlyData.stderr);
    assert.deepEqual([JSON.parse(onlyData.stdout).ready, JSON.parse(onlyData.stdout).websocket], [false, null]);

    const ws = await create('WEBSOCKET_READY', '--run-id', run, '--depends-on', `${data.signal_id},${processed.signal_id}`);
    const blocked = await cli('signals', 'handover', run, '--json');
    assert.equal(blocked.code, 4, blocked.stderr);
    assert.equal(blocked.stderr, `seedvault: handover of run ${run} not ready: waiting for 1 of 2 dependencies: DATA_READY ${data.signal_id} (active)\n`);
    const status = JSON.parse(blocked.stdout) as HandoverStatus;
    assert.equal(status.ready, false);
    assert.deepEqual([status.websocket?.signal_id, status.websocket?.status], [ws.signal_id, 'active']);
    assert.deepEqual(
      status.dependencies.map((d) => [d.signal_type, d.signal_id, d.status, d.completed_at !== null]),
      [
        ['DATA_READY', data.signal_id, 'active', false],
        ['PROCESSED_READY', processed.signal_id, 'completed', true],
      ],
    );

    assert.equal((await cli('signals', 'complete', data.signal_id)).code, 0);
    const unblocked = await cli('signals', 'handover', run);
    assert.equal(unblocked.code, 0, unblocked.stderr);
    assert.match(unblocked.stdout, new RegExp(`^handover of run ${run}: ready \\(all 2 dependencies completed\\)\\n`));
    for (const line of [`websocket   WEBSOCKET_READY  ${ws.signal_id}  active`, `dependency  DATA_READY       ${data.signal_id}  completed`]) {
      assert.ok(unblocked.stdout.includes(line), `${line}\n${unblocked.stdout}`);
    }

    assert.equal((await cli('signals', 'complete', ws.signal_id)).code, 0);
    const done = JSON.parse((await cli('signals', 'handover', run, '--json')).stdout) as HandoverStatus;
    assert.deepEqual([done.ready, done.reason, done.websocket?.status], [true, 'WEBSOCKET_READY signal completed', 'completed']);

    // A failed WEBSOCKET_READY signal never hands over, even with its dependencies completed.
    const failedRun = uniqueName('handover-failed');
    const failedWs = await create('WEBSOCKET_READY', '--run-id', failedRun);
    assert.equal((await cli('signals', 'fail', failedWs.signal_id)).code, 0);
    const failed = await cli('signals', 'handover', failedRun);
    assert.equal(failed.code, 4);
    assert.match(failed.stdout, /not ready \(WEBSOCKET_READY signal is failed\)/);

    assertInputError(await cli('signals', 'handover', uniqueName('no-such-run')), /no ready signals for run /);
  });
});
