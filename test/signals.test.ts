import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { createPool } from '../src/db/pool.js';
import { CLI } from '../bench/support.js';
import { waitForReadySignal } from '../src/client/signal-wait.js';
import type { SeedvaultConfig } from '../src/config/schema.js';
import { notifySignalWaiters } from '../src/quality/notify.js';
import { acknowledgeSignal, createSignal, listSignals, signalWaitWorkflowId, SIGNAL_TYPES, transitionSignal, type ReadySignal } from '../src/quality/signals.js';
import { connectClient } from '../src/temporal/connection.js';
import { freshDatabase, type FreshDatabase } from './support/db.js';
import { execFileAsync } from './support/snapshot.js';
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
  const cli = (...args: string[]) =>
    execFileAsync(process.execPath, [CLI, ...args], { env: { ...process.env, ...env, SEEDVAULT_NO_LOCAL_STACK: '1' } }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );

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
