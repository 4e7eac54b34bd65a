/**
 * storage.prefix: two deployments share one bucket, each under its own prefix, and neither
 * sees or touches the other's versions, latest/ or file backups.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CLI } from '../bench/support.js';
import { loadDemoData } from '../src/db/demo-data.js';
import { createStorage } from '../src/storage/index.js';
import { readLatestVersion } from '../src/storage/seed-catalog.js';
import { freshDatabase, type FreshDatabase } from './support/db.js';
import { runProcess } from './support/process.js';
import { runRestore } from './support/restore.js';
import { runSnapshot, versionsOf } from './support/snapshot.js';
import { createBucket, testConfig, uniqueName, withWorker } from './support/stack.js';

describe('storage.prefix', () => {
  const bucket = uniqueName('shared');
  const [versionA, versionB] = versionsOf(['03.01', '03.02']) as [string, string];
  let db: FreshDatabase;
  const envFor = (prefix: string) => ({ DATABASE_URL: db.url, S3_BUCKET: bucket, SEEDVAULT_STORAGE_PREFIX: prefix, SEEDVAULT_TASK_QUEUE: uniqueName(`prefix-${prefix.slice(0, 6)}`) });
  let envA: Record<string, string>;
  let envB: Record<string, string>;
  const cli = (env: Record<string, string>, args: string[]) => runProcess([process.execPath, CLI, ...args], { env: { ...process.env, ...env } });

  before(async () => {
    db = await freshDatabase('storage_prefix');
    await loadDemoData(db.url, {});
    await createBucket(bucket);
    envA = envFor('team-a/');
    envB = envFor('team-b/seeds/');
    for (const [env, version] of [[envA, versionA], [envB, versionB]] as const) {
      const config = testConfig(env);
      const worker = await withWorker(config);
      try {
        await runSnapshot(config, { version, tables: 'trades_history' });
      } finally {
        await worker.stop();
      }
    }
  });
  after(() => db.drop());

  test('every key either deployment wrote is under its prefix, with its own latest/ and LATEST_VERSION', async () => {
    const whole = createStorage(testConfig({ S3_BUCKET: bucket }).storage);
    const keys = (await whole.list('')).map((o) => o.key);
    assert.ok(keys.length >= 10, keys.join(' '));
    assert.deepEqual(keys.filter((k) => !k.startsWith('team-a/') && !k.startsWith('team-b/seeds/')), []);
    assert.ok(keys.includes(`team-a/v${versionA}/trades_history.parquet`));
    assert.ok(keys.includes('team-b/seeds/latest/manifest.json'));

    const storageA = createStorage(testConfig(envA).storage);
    const storageB = createStorage(testConfig(envB).storage);
    assert.equal(storageA.location, `s3://${bucket}/team-a`);
    assert.equal(await readLatestVersion(storageA), versionA);
    assert.equal(await readLatestVersion(storageB), versionB);
  });

  test('the CLI sees only its own prefix: verify finds its version and not the other one', async () => {
    const own = await cli(envA, ['verify', '--version', versionA]);
    assert.equal(own.code, 0, own.stderr);
    const other = await cli(envA, ['snapshot', 'show', versionB]);
    assert.notEqual(other.code, 0);
    assert.equal(other.stderr, `seedvault: snapshot ${versionB} not found or incomplete in s3://${bucket}/team-a\n`);
  });

  test('a local primary store keeps its versions under the prefix, and restore reads them from there', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'seedvault-local-prefix-'));
    try {
      const config = testConfig({ ...envFor('team-c/'), SEEDVAULT_STORAGE_TYPE: 'local', SEEDVAULT_LOCAL_SEEDS: folder });
      const [version] = versionsOf(['03.03']) as [string];
      const worker = await withWorker(config);
      try {
        await runSnapshot(config, { version, tables: 'trades_history' });
        assert.ok(existsSync(join(folder, 'team-c', `v${version}`, 'manifest.json')));
        const restored = await runRestore(config, { tables: 'trades', mode: 'replace' });
        assert.deepEqual(restored.tables.map((t) => [t.table, t.status, t.source, t.version]), [['trades_history', 'restored', 'local', version]]);
      } finally {
        await worker.stop();
      }
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  test('a prefix that is not folder names ending in "/" is a one-line config error naming the key', async () => {
    for (const bad of ['../up/', '/abs/', 'no-slash', 'a//b/']) {
      const run = await cli({ ...envA, SEEDVAULT_STORAGE_PREFIX: bad }, ['config', 'check']);
      assert.equal(run.code, 2, `${bad}: ${run.stderr}`);
      assert.match(run.stderr, /^seedvault: .*storage\.prefix.*must be empty or folder names each ending in "\/"/, bad);
      assert.equal(run.stderr.split('\n').length, 2, run.stderr);
    }
  });
});
