/**
 * A worker killed with SIGKILL mid-restore leaves its download folder in the temp dir; the
 * next worker's startup removes it (and logs how much), never a live process's folder.
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CLI } from '../bench/support.js';
import { restoreInput, startRestore } from '../src/client/restore-run.js';
import { loadDemoData } from '../src/db/demo-data.js';
import { ownedTempPrefix, tempFolderOwner } from '../src/domain/temp-folders.js';
import { stagingFor } from '../src/restore/staging.js';
import { freshDatabase, type FreshDatabase } from './support/db.js';
import { startProcess, type Background } from './support/process.js';
import { holdLock, sql, tableDigests, waitForLockWaiter } from './support/restore.js';
import { runSnapshot } from './support/snapshot.js';
import { createBucket, testConfig, uniqueName } from './support/stack.js';

describe('temp folders of a worker killed mid-restore', () => {
  let db: FreshDatabase;
  const workers: Background[] = [];
  let env: Record<string, string>;
  before(async () => {
    db = await freshDatabase('restore_tmp');
    await loadDemoData(db.url, { scale: 1 });
    const bucket = uniqueName('restore-tmp');
    await createBucket(bucket);
    env = {
      DATABASE_URL: db.url, S3_BUCKET: bucket, SEEDVAULT_TASK_QUEUE: uniqueName('restore_tmp'), SEEDVAULT_NO_LOCAL_STACK: '1',
      // The workers' own temp dir, so the test sees exactly their folders.
      TMPDIR: await mkdtemp(join(tmpdir(), 'seedvault-workers-tmp-')),
      // A killed worker's stage is retried after this.
      SEEDVAULT_HEARTBEAT_TIMEOUT_SECONDS: '3',
      SEEDVAULT_LOG_LEVEL: 'info',
      SEEDVAULT_LOG_FORMAT: 'json',
    };
  });
  after(async () => {
    for (const w of workers) await w.stop();
    await db?.drop();
  });

  async function startWorker(): Promise<Background> {
    const worker = startProcess([process.execPath, CLI, 'worker'], { env: { ...process.env, ...env } });
    workers.push(worker);
    await worker.waitForLine(/worker started/);
    return worker;
  }

  test('the next worker removes the folder at startup and logs it; a live process\'s folder stays', async () => {
    const config = testConfig(env);
    const tmp = env.TMPDIR!;
    const first = await startWorker();
    const version = `${2100 + randomInt(7900)}.05.01`;
    await runSnapshot(config, { version });
    const original = await tableDigests(db.url);
    // A folder of a live process that is no worker: this test's.
    const live = await mkdtemp(join(tmp, ownedTempPrefix('restore', { pid: process.pid, token: '0badc0de' })));
    await writeFile(join(live, 'in use'), 'x');

    // Trades is staged after ohlcv; its staging table, made and locked here meanwhile, holds its
    // stage back after the download (as restore-crash does): the folder is there and full.
    const handle = await startRestore(config, restoreInput(config, { version, tables: 'ohlcv,trades', source: 'minio' }));
    const staging = stagingFor('trades_history', `${handle.workflowId}/${handle.firstExecutionRunId}`).sql;
    await sql(db.url, `create schema if not exists seedvault_staging; create table ${staging} (x int)`);
    const lock = await holdLock(db.url, `select 1 from ${staging}`);
    let second: Background;
    let left: string;
    try {
      await waitForLockWaiter(db.url, staging);
      const owned = (await readdir(tmp)).filter((name) => tempFolderOwner(name)?.pid === first.child.pid);
      assert.equal(owned.length, 1, `the first worker's download folder, in ${(await readdir(tmp)).join(', ')}`);
      left = join(tmp, owned[0]!);
      let bytes = 0;
      for (const name of await readdir(left)) bytes += (await stat(join(left, name))).size;
      assert.ok(bytes > 0);

      first.child.kill('SIGKILL');
      await first.stop();
      assert.ok(existsSync(left), 'SIGKILL left the folder behind');

      second = await startWorker();
      await second.waitForLine(/removed \d+ leftover temp folder/);
      const line = JSON.parse(second.stderr().split('\n').find((l) => /removed \d+ leftover temp folder/.test(l))!) as { folders: number; bytes: number; msg: string };
      assert.deepEqual([line.folders, line.bytes], [1, bytes]);
      assert.equal(existsSync(left), false, 'the dead worker\'s folder is gone');
      assert.ok(existsSync(join(live, 'in use')), 'the live process\'s folder stays');
    } finally {
      await lock.release();
    }
    // The restore goes on on the second worker, and its download folder is removed after use.
    const result = await handle.result();
    assert.deepEqual(result.tables.map((t) => t.status), ['restored', 'restored']);
    assert.deepEqual(await tableDigests(db.url), original);
    await second.stop();
    assert.deepEqual(await readdir(tmp), [basename(live)]);
  });
});
