import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import pg from 'pg';
import { createPool } from '../src/db/pool.js';
import { CLI } from '../bench/support.js';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../src/config/load.js';
import type { SeedvaultConfig } from '../src/config/schema.js';
import { runDoctor } from '../src/doctor/index.js';
import { ALERT_KINDS } from '../src/domain/alerts.js';
import { createSignal } from '../src/quality/signals.js';
import { connectClient } from '../src/temporal/connection.js';
import { startAlertReceiver, type AlertReceiver } from './support/alert-receiver.js';
import { insertSessionBars, lastTradingDays } from './support/bars.js';
import { runCli } from './support/cli.js';
import { freshDatabase, type FreshDatabase } from './support/db.js';
import { tempDir } from './support/file-backups.js';
import { startProviderFake, type FakeProvider } from './support/provider-fake.js';
import { runSnapshot } from './support/snapshot.js';
import { createBucket, uniqueName } from './support/stack.js';

const SYMBOL = 'ALRT/COP';
const RANGE = { from: '2026-01-05T00:00:00Z', to: '2026-01-06T00:00:00Z' };
/** Each channel's delivery retries for this long before it is recorded as failed. */
const RETRY_SECONDS = 40;

describe('alerts reach people', () => {
  let db: FreshDatabase;
  let sql: pg.Pool;
  let receiver: AlertReceiver;
  let fake: FakeProvider;
  let env: Record<string, string>;
  let config: SeedvaultConfig;
  let client: Client;
  let worker: ChildProcess;
  let workerLog = '';
  const secrets: string[] = [];
  /** Everything the CLI printed during the tests, scanned for the URLs at the end. */
  const cliOutput: string[] = [];

  const cli = async (...args: string[]) => {
    const r = await runCli(args, env);
    cliOutput.push(r.stdout, r.stderr);
    return r;
  };
  const start = (workflow: string, args: unknown[]) =>
    client.workflow.start(workflow, { taskQueue: config.temporal.task_queue, workflowId: uniqueName(`alerts-${workflow}`), args });
  const settle = (p: Promise<unknown>) => p.then(() => 'completed', () => 'failed');
  /** Webhook bodies accepted, by alert kind. */
  const deliveredKinds = () => receiver.delivered('pager').map((b) => (JSON.parse(b) as { kind: string }).kind);
  const waitFor = async (what: string, ok: () => boolean | Promise<boolean>, seconds = 90) => {
    for (let i = 0; i < seconds * 2; i += 1) {
      if (await ok()) return;
      await sleep(500);
    }
    assert.fail(`timed out waiting for ${what}`);
  };

  before(async () => {
    db = await freshDatabase('alerts');
    sql = createPool(db.url, 2);
    receiver = await startAlertReceiver();
    fake = await startProviderFake();
    const bucket = uniqueName('alerts');
    await createBucket(bucket);
    const slackUrl = receiver.url('ops-slack');
    const hookUrl = receiver.url('pager');
    secrets.push(slackUrl, hookUrl, new URL(slackUrl).pathname, new URL(hookUrl).pathname);
    // The shipped config with two channels; the URLs only in the environment.
    const shipped = await readFile(DEFAULT_CONFIG_PATH, 'utf8');
    const channels = '  channels:\n    ops-slack: {type: slack, url_env: SEEDVAULT_TEST_SLACK_URL}\n    pager: {type: webhook, url_env: SEEDVAULT_TEST_HOOK_URL}\n';
    const text = shipped.replace('  channels: {}\n', channels).replace(/retry_seconds: \d+/, `retry_seconds: ${RETRY_SECONDS}`);
    assert.notEqual(text, shipped);
    const configPath = join(await tempDir('alerts-config'), 'seed_config.yaml');
    await writeFile(configPath, text);
    env = {
      SEEDVAULT_CONFIG: configPath,
      DATABASE_URL: db.url,
      S3_BUCKET: bucket,
      SEEDVAULT_TASK_QUEUE: uniqueName('alerts'),
      SEEDVAULT_LOCAL_SEEDS: await tempDir('alerts-no-seeds'),
      SEEDVAULT_NO_LOCAL_STACK: '1',
      TWELVEDATA_BASE_URL: fake.url,
      TWELVEDATA_API_KEY: fake.apiKey,
      SEEDVAULT_TEST_SLACK_URL: slackUrl,
      SEEDVAULT_TEST_HOOK_URL: hookUrl,
    };
    config = loadConfig(configPath, { ...process.env, ...env });
    client = await connectClient(config);
    // A worker process of its own, so its whole log can be read.
    worker = spawn(process.execPath, [CLI, 'worker'], { env: { ...process.env, ...env, SEEDVAULT_LOG_LEVEL: 'info' }, stdio: ['ignore', 'ignore', 'pipe'] });
    worker.stderr!.on('data', (chunk: Buffer) => {
      workerLog += chunk.toString('utf8');
    });
  });
  after(async () => {
    worker?.kill('SIGTERM');
    if (worker) await new Promise((resolve) => worker.once('exit', resolve));
    await client?.connection.close();
    await receiver?.close();
    await fake?.close();
    await sql?.end();
    await db?.drop();
  });

  test('every kind reaches both channels exactly once, though the receiver answers 500 twice first', async () => {
    // Health: red on the first report (no bars, no snapshot), then back once both are there.
    const health = { verifySnapshot: false, detectAnomalies: false };
    assert.equal(await settle((await start('healthCheck', [health])).result()), 'completed');
    await insertSessionBars(sql, 'USD/COP', lastTradingDays(2));
    await runSnapshot(config, { version: `${new Date().toISOString().slice(0, 10).replace(/-/g, '.')}-a${randomBytes(4).toString('hex')}` });
    assert.equal(await settle((await start('healthCheck', [health])).result()), 'completed');

    // A symbol two failures into a streak fails a third time (its alert) and a fourth (the same
    // streak: raised again, not sent again), then succeeds (its recovery).
    await sql.query(`insert into symbol_failure_tracking (symbol, consecutive_failures, total_failures, streak_started_at) values ($1, 2, 2, now() - interval '2 days')`, [SYMBOL]);
    fake.badSymbols.add(SYMBOL);
    await (await start('backfill', [{ symbols: [SYMBOL], ...RANGE }])).result();
    await waitFor('the failing alert delivered', () => deliveredKinds().includes('symbol_failing'));
    await (await start('backfill', [{ symbols: [SYMBOL], ...RANGE }])).result();
    fake.badSymbols.delete(SYMBOL);
    await (await start('backfill', [{ symbols: [SYMBOL], ...RANGE }])).result();

    // Failed jobs: a snapshot of an unknown source, a restore with no source, a file backup of a missing path.
    const failed = await Promise.all([
      settle((await start('seedSnapshot', [{ version: `2199.01.01-a${randomBytes(3).toString('hex')}`, sources: ['no_such_source'] }])).result()),
      settle((await start('seedRestore', [{ source: 'local' }])).result()),
      settle((await start('fileBackup', [{ types: ['config'], source: '/nonexistent/seedvault-alerts-test' }])).result()),
    ]);
    assert.deepEqual(failed, ['failed', 'failed', 'failed']);

    // A ready signal past its expiry, swept by the signal-expiry workflow.
    await createSignal(sql, { type: 'DATA_READY', pipelineRunId: 'alerts-test', expiresInMinutes: -1 });
    const expiry = (await (await start('signalExpiry', [{}])).result()) as { expired: number; alerted: number };
    assert.deepEqual(expiry, { expired: 1, alerted: 1 });

    const kinds = ALERT_KINDS.filter((k) => k !== 'test');
    await waitFor('every kind delivered to both channels', () => deliveredKinds().length === kinds.length && receiver.delivered('ops-slack').length === kinds.length);
    // Nothing more arrives: retries and repeated raises (a second health run, a sweep) were deduplicated.
    assert.deepEqual((await (await start('signalExpiry', [{}])).result()) as unknown, { expired: 0, alerted: 0 });
    await sleep(3000);
    assert.deepEqual([...deliveredKinds()].sort(), [...kinds].sort());
    for (const channel of ['ops-slack', 'pager']) {
      const delivered = receiver.delivered(channel);
      assert.equal(new Set(delivered).size, kinds.length, `${channel}: each alert accepted once`);
      for (const body of delivered) {
        const tries = receiver.requests.filter((r) => r.channel === channel && r.body === body).map((r) => r.status);
        assert.deepEqual(tries, [500, 500, 200], `${channel}: retried after two 500s, then never again`);
      }
    }
    const slack = receiver.delivered('ops-slack').map((b) => JSON.parse(b) as Record<string, unknown>);
    assert.ok(slack.every((b) => Object.keys(b).join() === 'text' && /^\[seedvault\] /.test(b.text as string)), 'Slack gets {"text": ...}');
    assert.ok(slack.some((b) => (b.text as string).includes(`backfill of ${SYMBOL} failed 3 times in a row`)));
    const hooks = receiver.delivered('pager').map((b) => JSON.parse(b) as { kind: string; dedupe_key: string; text: string });
    assert.match(hooks.find((h) => h.kind === 'health_red')!.text, /symbol\.USD\/COP\.freshness: no bars/);
    assert.match(hooks.find((h) => h.kind === 'file_backup_failed')!.text, /config/);
    assert.ok(receiver.requests.every((r) => r.body.length < 1500), 'small payloads');

    const { rows } = await sql.query(`select kind, channel, status, attempts from alert_deliveries order by kind, channel`);
    assert.equal(rows.length, kinds.length * 2);
    assert.ok(rows.every((r) => r.status === 'delivered' && r.attempts === 3), JSON.stringify(rows));
  });

  test('a receiver that never answers delays nothing; the channel turns red in doctor, and green after alerts test', async () => {
    receiver.mode = 'hang';
    const started = Date.now();
    const handle = await start('fileBackup', [{ types: ['config'], source: '/nonexistent/seedvault-alerts-hang' }]);
    assert.equal(await settle(handle.result()), 'failed');
    const took = Date.now() - started;
    assert.ok(took < RETRY_SECONDS * 1000 / 2, `the job ended in ${took} ms, not after the alert's ${RETRY_SECONDS} s of retries`);

    const key = `file_backup_failed:${handle.workflowId}:${handle.firstExecutionRunId}`;
    await waitFor('the delivery to give up', async () => (await sql.query(`select 1 from alert_deliveries where dedupe_key = $1 and status = 'failed'`, [key])).rowCount === 2, RETRY_SECONDS + 60);
    const report = await runDoctor(config, 'alerts test config', { ...process.env, ...env });
    for (const channel of ['ops-slack', 'pager']) {
      const line = report.checks.find((c) => c.check === `alerts ${channel}`)!;
      assert.equal(line.status, 'red', JSON.stringify(line));
      assert.match(line.details, /the last alert \(file_backup_failed\) was not delivered, .*: alert channel .*: no answer within 10 s/);
      assert.match(line.fix!, /seedvault alerts test/);
    }
    assert.match(workerLog, /"channel":"pager".*"alert not delivered"|"alert not delivered".*"channel":"pager"/, 'the worker logs the failure with the channel');

    receiver.mode = 'ok';
    const tested = await cli('alerts', 'test');
    assert.equal(tested.code, 0, tested.stderr);
    assert.match(tested.stdout, /ops-slack\s+slack\s+delivered in \d+ ms\s+yes/);
    assert.match(tested.stdout, /pager\s+webhook\s+delivered in \d+ ms\s+yes/);
    const again = await runDoctor(config, 'alerts test config', { ...process.env, ...env });
    assert.deepEqual(
      again.checks.filter((c) => c.check.startsWith('alerts ')).map((c) => [c.check, c.status]),
      [['alerts ops-slack', 'yellow'], ['alerts pager', 'yellow']],
      'delivered again, with the recent failure still counted',
    );

    receiver.mode = 'hang';
    const failing = await cli('alerts', 'test', '--json');
    assert.equal(failing.code, 3);
    assert.deepEqual((JSON.parse(failing.stdout) as { channel: string; delivered: boolean }[]).map((r) => [r.channel, r.delivered]), [['ops-slack', false], ['pager', false]]);
    receiver.mode = 'ok';
  });

  test('the webhook URLs appear in no log, no CLI output and no workflow history', async () => {
    cliOutput.push(JSON.stringify((await cli('doctor', '--json')).stdout), (await cli('config', 'check', '--json')).stdout);
    assert.equal((await cli('alerts', 'test')).code, 0);

    const histories: Buffer[] = [];
    for await (const wf of client.workflow.list({ query: `TaskQueue = "${config.temporal.task_queue}"` })) {
      const history = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
      histories.push(Buffer.from(proto.temporal.api.history.v1.History.encode(history).finish()));
    }
    const all = Buffer.concat(histories);
    assert.ok(histories.length >= 20, `${histories.length} histories`);
    assert.ok(all.includes('ops-slack') && all.includes('alert channel pager: no answer within 10 s'), 'the scan sees payloads and failures');
    assert.ok(workerLog.includes('alert not delivered') && cliOutput.join('').includes('pager'), 'the scan sees the log and the output');
    for (const secret of secrets) {
      assert.ok(!workerLog.includes(secret), `worker log contains ${secret}`);
      assert.ok(!cliOutput.some((o) => o.includes(secret)), `CLI output contains ${secret}`);
      assert.ok(!all.includes(secret), `a workflow history contains ${secret}`);
    }
  });
});
