import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { restoreInput, startRestore } from '../src/client/restore-run.js';
import { loadDemoData } from '../src/db/demo-data.js';
import { startComponent, stopComponent } from '../src/stack/index.js';
import { createStorage } from '../src/storage/index.js';
import { restoreProgressQuery } from '../src/workflows/restore.js';
import { runCli } from './support/cli.js';
import { freshDatabase, type FreshDatabase } from './support/db.js';
import { localCopy, runRestore, sql, tableDigests } from './support/restore.js';
import { runSnapshot } from './support/snapshot.js';
import { createBucket, testConfig, uniqueName, withWorker } from './support/stack.js';

const CLI = fileURLToPath(new URL('../../bin/seedvault.js', import.meta.url));

async function setup(name: string, scale: number) {
  const db = await freshDatabase(name);
  await loadDemoData(db.url, { scale });
  const bucket = uniqueName(name.replaceAll('_', '-'));
  await createBucket(bucket);
  const env = { DATABASE_URL: db.url, S3_BUCKET: bucket, SEEDVAULT_TASK_QUEUE: uniqueName(name) };
  return { db, env, config: testConfig(env) };
}

describe('restore under faults', () => {
  let db: FreshDatabase;
  let env: Record<string, string>;
  let config: ReturnType<typeof testConfig>;
  let worker: Awaited<ReturnType<typeof withWorker>>;
  let local: string;
  const version = `${2100 + randomInt(7900)}.06.01`;
  const object = `v${version}/usdcop_m5_ohlcv.parquet`;

  before(async () => {
    ({ db, env, config } = await setup('restore_faults', 1));
    worker = await withWorker(config);
    await runSnapshot(config, { version });
    local = await mkdtemp(join(tmpdir(), 'seedvault-local-seeds-'));
    await localCopy(createStorage(config.storage), version, local);
    // One flipped byte in the middle of one object in MinIO.
    const storage = createStorage(config.storage);
    const chunks: Buffer[] = [];
    for await (const chunk of await storage.get(object)) chunks.push(chunk as Buffer);
    const bytes = Buffer.concat(chunks);
    bytes[bytes.length >> 1] ^= 0xff;
    await storage.put(object, Readable.from([bytes]));
  });
  after(async () => {
    await worker.stop();
    await db.drop();
  });

  test('verify names the corrupted object', async () => {
    const run = await runCli(['verify', '--version', version], { ...env, SEEDVAULT_NO_LOCAL_STACK: '1' });
    assert.equal(run.code, 4, run.stderr);
    assert.match(run.stderr, /usdcop_m5_ohlcv\.parquet: sha256 .* does not match the manifest/);
  });

  test('with no fallback the restore fails, naming why, and no live table changes', async () => {
    await sql(db.url, `delete from macro_indicators_daily where date < '2000-01-01'`);
    const before = await tableDigests(db.url);
    await assert.rejects(runRestore(config, { version, source: 'minio' }), (err: Error) => {
      const message = (err.cause as Error | undefined)?.message ?? err.message;
      assert.match(message, /no table was changed: no source could restore usdcop_m5_ohlcv \(minio .*sha256/);
      return true;
    });
    assert.deepEqual(await tableDigests(db.url), before, 'macro was valid but is not applied without ohlcv');
  });

  test('restore --wait says when no worker holds the run, and finishes once one does', { timeout: 120_000 }, async () => {
    const queueEnv = { ...env, SEEDVAULT_TASK_QUEUE: uniqueName('restore-no-worker') };
    const args = ['restore', '--source', 'minio', '--version', version, '--tables', 'macro', '--wait'];
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...queueEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    const exited = once(child, 'exit');
    let late: Awaited<ReturnType<typeof withWorker>> | null = null;
    try {
      await new Promise<void>((resolve, reject) => {
        child.stderr.on('data', (d) => {
          stderr += d;
          if (stderr.includes('waiting for a worker')) resolve();
        });
        exited.then(() => reject(new Error(`the command ended before it waited for a worker: ${stderr}`)), reject);
      });
      assert.match(stderr, new RegExp(`waiting for a worker on task queue "${queueEnv.SEEDVAULT_TASK_QUEUE}"`));
      late = await withWorker(testConfig(queueEnv));
      const [code] = await exited;
      assert.equal(code, 0, stderr);
    } finally {
      child.kill();
      await late?.stop();
    }
    assert.match(stdout, /macro_indicators_daily\s+restored\s+minio/);
  });

  test('auto falls back to the local copy for the damaged table', async () => {
    const result = await runRestore(config, { version, path: local });
    const ohlcv = result.tables.find((t) => t.table === 'usdcop_m5_ohlcv')!;
    assert.equal(ohlcv.source, 'local');
    assert.match(ohlcv.rejected[0]!.reason, /sha256/);
    assert.deepEqual(result.tables.filter((t) => t.table !== 'usdcop_m5_ohlcv').map((t) => t.source), ['minio', 'minio']);
    const history = await sql(db.url, `select source, rejected from restore_history where table_name = 'usdcop_m5_ohlcv' and status = 'restored'`);
    assert.equal(history.rows[0].source, 'local');
    assert.equal(history.rows[0].rejected.length, 1);
  });

  test('MinIO stopped: auto uses the local files; with no local files a required table fails and nothing changes', async () => {
    const stack = { stateDir: process.env.SEEDVAULT_STATE_DIR };
    await stopComponent('minio', stack);
    try {
      await sql(db.url, `truncate usdcop_m5_ohlcv`);
      const result = await runRestore(config, { version, path: local, tables: 'ohlcv' });
      assert.equal(result.tables[0]!.source, 'local');
      assert.equal(result.tables[0]!.rowsAfter, 88_699);
      await sql(db.url, `delete from usdcop_m5_ohlcv where time < '2021-01-01'`);
      const before = await tableDigests(db.url);
      const empty = await mkdtemp(join(tmpdir(), 'seedvault-no-seeds-'));
      await assert.rejects(runRestore(config, { version, path: empty, tables: 'ohlcv' }));
      assert.deepEqual(await tableDigests(db.url), before);
    } finally {
      await startComponent('minio', stack);
    }
  });

  test('--source minio has no fallback, so it waits out a short MinIO outage', async () => {
    const stack = { stateDir: process.env.SEEDVAULT_STATE_DIR };
    const original = await tableDigests(db.url);
    await sql(db.url, `truncate trades_history`);
    await stopComponent('minio', stack);
    let restarted = false;
    try {
      const restore = runRestore(config, { version, source: 'minio', tables: 'trades' });
      await sleep(8_000);
      await startComponent('minio', stack);
      restarted = true;
      const result = await restore;
      assert.equal(result.tables[0]!.source, 'minio');
      assert.deepEqual(await tableDigests(db.url), original);
    } finally {
      if (!restarted) await startComponent('minio', stack);
    }
  });
});

describe('restore with a worker killed mid-load', () => {
  let ctx: Awaited<ReturnType<typeof setup>>;
  let child: ChildProcess;
  const version = `${2100 + randomInt(7900)}.07.01`;
  const spawnWorker = () => spawn(process.execPath, [CLI, 'worker'], { env: { ...process.env, ...ctx.env, SEEDVAULT_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'inherit'] });

  before(async () => {
    // Scale 10 (~890k bars): the load is still running when the kill comes.
    ctx = await setup('restore_kill', 10);
    child = spawnWorker();
    await runSnapshot(ctx.config, { version });
  });
  after(async () => {
    child.kill('SIGKILL');
    await ctx.db.drop();
  });

  test('resumes on a new worker and ends consistent', async () => {
    const original = await tableDigests(ctx.db.url);
    await sql(ctx.db.url, `truncate usdcop_m5_ohlcv`);
    const handle = await startRestore(ctx.config, restoreInput(ctx.config, { version }));
    for (let i = 0; ; i += 1) {
      const progress = await handle.query(restoreProgressQuery).catch(() => null);
      const ohlcv = progress?.tables.find((t) => t.table === 'usdcop_m5_ohlcv');
      if (ohlcv && ohlcv.rows > 0 && !ohlcv.done) break;
      assert.ok(i < 600, 'the load never started');
      await sleep(50);
    }
    child.kill('SIGKILL');
    await once(child, 'exit');
    assert.equal((await tableDigests(ctx.db.url)).usdcop_m5_ohlcv, '0:0', 'nothing reached the live table yet');
    child = spawnWorker();
    const result = await handle.result();
    assert.ok(result.tables.every((t) => t.status === 'restored'));
    const events = (await handle.fetchHistory()).events ?? [];
    assert.ok(events.some((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1), 'the killed load was retried');
    assert.deepEqual(await tableDigests(ctx.db.url), original);
    const staging = await sql(ctx.db.url, `select count(*)::int as n from pg_tables where schemaname = 'seedvault_staging'`);
    assert.equal(staging.rows[0].n, 0);
  });
});
