import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import pg from 'pg';
import { startSnapshot } from '../src/client/snapshot-create.js';
import { loadDemoData } from '../src/db/demo-data.js';
import { readLatestVersion } from '../src/storage/seed-catalog.js';
import { startComponent, stopComponent } from '../src/stack/index.js';
import { createStorage } from '../src/storage/index.js';
import { progressQuery, type seedSnapshot } from '../src/workflows/snapshot.js';
import { freshDatabase, type FreshDatabase } from './support/db.js';
import { execFileAsync, withDownloadedVersion } from './support/snapshot.js';
import { createBucket, testConfig, uniqueName, withWorker } from './support/stack.js';

const CLI = fileURLToPath(new URL('../../bin/seedvault.js', import.meta.url));

/** Enough rows (scale 10: ~890k bars) that the export is still running when the fault hits. */
const SCALE = 10;

/** A worker in its own process, so the test can SIGKILL it like a crashed host. */
function spawnWorker(env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, [CLI, 'worker'], { env: { ...process.env, ...env, SEEDVAULT_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Waits until the run is exporting and has written some rows, but not all of one table. */
async function waitUntilExporting(handle: WorkflowHandle<typeof seedSnapshot>): Promise<number> {
  for (let i = 0; i < 600; i += 1) {
    const progress = await handle.query(progressQuery).catch(() => null);
    const rows = progress?.tables.reduce((sum, t) => sum + t.rows, 0) ?? 0;
    if (progress?.phase === 'exporting' && rows > 0 && progress.tables.some((t) => !t.done)) return rows;
    await sleep(50);
  }
  throw new Error('the snapshot never reached the export');
}

/** Retries leave no event of their own: the completed attempt's start records its number. */
async function exportRetried(handle: WorkflowHandle<typeof seedSnapshot>): Promise<boolean> {
  const events = (await handle.fetchHistory()).events ?? [];
  return events.some((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1);
}

async function assertCompleteAndValid(env: Record<string, string>, databaseUrl: string, version: string) {
  const config = testConfig(env);
  const storage = createStorage(config.storage);
  assert.equal(await readLatestVersion(storage), version);
  const { stdout } = await withDownloadedVersion(storage, version, (dir) => execFileAsync('sha256sum', ['-c', 'checksums.sha256'], { cwd: dir }));
  assert.equal(stdout.trim().split('\n').filter((l) => l.endsWith(': OK')).length, 3, stdout);
  const manifest = JSON.parse(await storage.getText(`v${version}/manifest.json`) ?? 'null');
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    for (const [table, entry] of Object.entries(manifest.tables) as [string, { rows: number }][]) {
      const { rows } = await client.query(`select count(*)::int as n from ${pg.escapeIdentifier(table)}`);
      assert.equal(entry.rows, rows[0].n, table);
    }
  } finally {
    await client.end();
  }
}

describe('snapshot under faults', () => {
  let db: FreshDatabase;
  let env: Record<string, string>;
  before(async () => {
    db = await freshDatabase('snap_faults');
    await loadDemoData(db.url, { scale: SCALE });
    const bucket = uniqueName('snap-faults');
    await createBucket(bucket);
    env = { DATABASE_URL: db.url, S3_BUCKET: bucket, SEEDVAULT_TASK_QUEUE: uniqueName('faults') };
  });
  after(async () => {
    await db.drop();
  });

  test('a worker killed mid-export is replaced and the snapshot completes, valid', async () => {
    const config = testConfig(env);
    let worker = spawnWorker(env);
    const version = `${2100 + randomInt(7900)}.03.01`;
    try {
      const handle = await startSnapshot(config, { version });
      const rowsAtKill = await waitUntilExporting(handle);
      worker.kill('SIGKILL');
      await once(worker, 'exit');
      assert.notEqual(await readLatestVersion(createStorage(config.storage)), version, 'not latest while incomplete');
      worker = spawnWorker(env);
      const result = await handle.result();
      assert.equal(result.version, version);
      assert.ok(rowsAtKill > 0);
      assert.ok(await exportRetried(handle), 'the killed attempt timed out and was retried');
      await assertCompleteAndValid(env, db.url, version);
    } finally {
      worker.kill('SIGKILL');
    }
  });

  test('MinIO stopped during the upload: the export retries and completes', async () => {
    const config = testConfig(env);
    const worker = await withWorker(config);
    const stack = { stateDir: process.env.SEEDVAULT_STATE_DIR };
    const version = `${2100 + randomInt(7900)}.04.01`;
    try {
      const handle = await startSnapshot(config, { version });
      await waitUntilExporting(handle);
      await stopComponent('minio', stack);
      await sleep(8000);
      await startComponent('minio', stack);
      const result = await handle.result();
      assert.equal(result.version, version);
      assert.ok(await exportRetried(handle), 'an attempt failed while MinIO was down');
      await assertCompleteAndValid(env, db.url, version);
    } finally {
      await startComponent('minio', stack).catch(() => {});
      await worker.stop();
    }
  });
});
