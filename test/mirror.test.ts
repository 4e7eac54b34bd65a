/**
 * storage.mirror on the real stack: every snapshot version lands verified in a second store
 * before it is published; restore falls back to it, verify and prune cover it, and a mirror
 * that fails fails the snapshot without moving latest or leaving half a version anywhere.
 */
import assert from 'node:assert/strict';
import { readdir, rm, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { after, before, describe, test } from 'node:test';
import { ActivityFailure, ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { startSnapshot } from '../src/client/snapshot-create.js';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../src/config/load.js';
import type { SeedvaultConfig } from '../src/config/schema.js';
import { loadDemoData } from '../src/db/demo-data.js';
import { storageChecks } from '../src/doctor/storage.js';
import { RESERVATION_MARKER, type Manifest } from '../src/domain/manifest.js';
import { versionPrefix } from '../src/domain/version.js';
import { hashStream } from '../src/storage/hash.js';
import { createMirrorStorage, createStorage } from '../src/storage/index.js';
import { listVersions, readLatestVersion, readManifest } from '../src/storage/seed-catalog.js';
import type { Storage } from '../src/storage/types.js';
import { connectClient } from '../src/temporal/connection.js';
import { verifySnapshot } from '../src/workflows/verify.js';
import { runCli } from './support/cli.js';
import { freshDatabase, type FreshDatabase } from './support/db.js';
import { tempDir } from './support/file-backups.js';
import { withMirror } from './support/mirror.js';
import { runRestore, sql, tableDigests } from './support/restore.js';
import { execFileAsync, runSnapshot, versionsOf } from './support/snapshot.js';
import { createBucket, uniqueName, withWorker } from './support/stack.js';

const TABLE = 'trades_history';
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** "key size" of every object under `prefix`, sorted. */
async function listing(storage: Storage, prefix: string): Promise<string[]> {
  return (await storage.list(prefix)).map((o) => `${o.key} ${o.size}`).sort();
}

/** A config file: the shipped one with `mirror` under storage (and retention_count 2), loaded with `env`. */
async function mirrorDeployment(name: string, mirror: string, env: Record<string, string>) {
  const path = join(await tempDir(`${name}-config`), 'seed_config.yaml');
  await writeFile(path, withMirror(mirror).replace(/retention_count: \d+/, 'retention_count: 2'));
  const full = { ...env, SEEDVAULT_CONFIG: path, SEEDVAULT_TASK_QUEUE: uniqueName(name), SEEDVAULT_LOCAL_SEEDS: await tempDir(`${name}-no-seeds`), SEEDVAULT_NO_LOCAL_STACK: '1' };
  const config = loadConfig(path, { ...process.env, ...full });
  return { env: full, config, primary: createStorage(config.storage), mirror: createMirrorStorage(config.storage)! };
}

/** The failure an activity of a failed workflow ended with: its activity type and application failure. */
function activityFailure(err: unknown): { activity: string; type: string | undefined; message: string } {
  assert.ok(err instanceof WorkflowFailedError, String(err));
  const activity = err.cause;
  assert.ok(activity instanceof ActivityFailure, String(activity));
  const failure = activity.cause;
  assert.ok(failure instanceof ApplicationFailure, String(failure));
  return { activity: activity.activityType, type: failure.type ?? undefined, message: failure.message };
}

describe('storage.mirror: a second bucket of the same MinIO', () => {
  const [v1, v2, v3, v4] = versionsOf(['05.01', '05.02', '05.03', '05.04']) as [string, string, string, string];
  const mirrorBucket = uniqueName('mirror-copy');
  let db: FreshDatabase;
  let deployment: Awaited<ReturnType<typeof mirrorDeployment>>;
  let config: SeedvaultConfig;
  let primary: Storage;
  let mirror: Storage;
  let worker: Awaited<ReturnType<typeof withWorker>>;
  const cli = (args: string[], extra: Record<string, string> = {}) => runCli(args, { ...deployment.env, ...extra });
  const dataKey = (version: string) => `${versionPrefix(version)}${TABLE}.parquet`;

  before(async () => {
    db = await freshDatabase('mirror');
    await loadDemoData(db.url, {});
    const bucket = uniqueName('mirror-primary');
    await createBucket(bucket);
    await createBucket(mirrorBucket);
    deployment = await mirrorDeployment(
      'mirror',
      'type: minio\nendpoint: ${S3_ENDPOINT}\nbucket: ${SEEDVAULT_TEST_MIRROR_BUCKET}\naccess_key: ${S3_ACCESS_KEY}\nsecret_key: ${S3_SECRET_KEY}\nprefix: copy/',
      { DATABASE_URL: db.url, S3_BUCKET: bucket, SEEDVAULT_TEST_MIRROR_BUCKET: mirrorBucket },
    );
    ({ config, primary, mirror } = deployment);
    worker = await withWorker(config);
    await runSnapshot(config, { version: v1, tables: TABLE });
  });
  after(async () => {
    await worker?.stop();
    await db?.drop();
  });

  test('a snapshot lands in both stores: the same objects, manifest and checksums, latest/ and LATEST_VERSION', async () => {
    assert.equal(mirror.location, `s3://${mirrorBucket}/copy`);
    const prefix = versionPrefix(v1);
    const objects = await listing(primary, prefix);
    assert.deepEqual(objects.map((o) => o.split(' ')[0]), [RESERVATION_MARKER, 'checksums.sha256', 'manifest.json', `${TABLE}.parquet`].map((name) => `${prefix}${name}`));
    assert.deepEqual(await listing(mirror, prefix), objects);
    for (const name of ['manifest.json', 'checksums.sha256', RESERVATION_MARKER]) {
      assert.equal(await mirror.getText(`${prefix}${name}`), await primary.getText(`${prefix}${name}`), name);
    }
    const entry = (await readManifest(primary, v1))!.tables[TABLE]!;
    assert.equal((await hashStream(await mirror.get(dataKey(v1)))).sha256, entry.sha256);
    assert.deepEqual(await listing(mirror, 'latest/'), await listing(primary, 'latest/'));
    assert.deepEqual([await readLatestVersion(primary), await readLatestVersion(mirror)], [v1, v1]);
    const wholeBucket = createStorage({ ...config.storage.mirror!, prefix: '' });
    assert.deepEqual((await wholeBucket.list('')).filter((o) => !o.key.startsWith('copy/')), [], 'the mirror writes under its own prefix only');
  });

  test('verify checks both stores and names the mirror when its copy was tampered with', async () => {
    const clean = await cli(['verify', '--version', v1]);
    assert.equal(clean.code, 0, clean.stderr);
    const original = await buffer(await mirror.get(dataKey(v1)));
    await mirror.put(dataKey(v1), 'tampered');
    try {
      const run = await cli(['verify', '--version', v1]);
      assert.equal(run.code, 4, run.stderr);
      const problem = `${v1}: mirror: s3://${mirrorBucket}/copy/${dataKey(v1)}: 8 bytes, the manifest says ${original.length}`;
      assert.deepEqual(run.stderr.split('\n').filter((l) => l.startsWith(`${v1}:`)), [problem]);
      assert.match(run.stdout, new RegExp(`${escape(v1)}\\s+${TABLE}\\s+FAILED`));

      // The workflow (the deep verify schedule's) fails naming the mirror, and records the failure.
      const client = await connectClient(config);
      try {
        const verify = client.workflow.execute(verifySnapshot, { taskQueue: config.temporal.task_queue, workflowId: uniqueName('mirror-verify'), args: [{ version: v1 }] });
        await assert.rejects(verify, (err: Error) => {
          assert.ok(err instanceof WorkflowFailedError);
          assert.equal(err.cause?.message, `verify failed: ${problem}`);
          return true;
        });
      } finally {
        await client.connection.close();
      }
      const recorded = await sql(db.url, `select validation_status, metadata->'deep_verify'->'problems' as problems from backup_metadata where snapshot_version = $1 and table_name = $2`, [v1, TABLE]);
      assert.deepEqual(recorded.rows, [{ validation_status: 'failed', problems: [problem.slice(v1.length + 2)] }]);
    } finally {
      await mirror.put(dataKey(v1), Readable.from([original]));
    }
    const repaired = await cli(['verify', '--version', v1]);
    assert.equal(repaired.code, 0, repaired.stderr);

    // A mirror manifest that tells another story (its files still match it) is a problem too.
    const manifestKey = `${versionPrefix(v1)}manifest.json`;
    const manifest = (await mirror.getText(manifestKey))!;
    const other = JSON.parse(manifest) as Manifest;
    other.tables[TABLE]!.date_range = ['1999-01-01', '1999-12-31'];
    await mirror.put(manifestKey, JSON.stringify(other));
    try {
      const run = await cli(['verify', '--version', v1]);
      assert.equal(run.code, 4, run.stderr);
      assert.deepEqual(run.stderr.split('\n').filter((l) => l.startsWith(`${v1}:`)), [`${v1}: mirror: s3://${mirrorBucket}/copy: the manifest of ${v1} describes its tables otherwise than the primary's`]);
    } finally {
      await mirror.put(manifestKey, manifest);
    }
  });

  test('restore takes a table from the mirror when the primary copy is corrupt; --source mirror picks the mirror', async () => {
    const before = await tableDigests(db.url);
    const original = await buffer(await primary.get(dataKey(v1)));
    await primary.put(dataKey(v1), 'corrupt');
    try {
      await sql(db.url, `delete from ${TABLE}`);
      const result = await runRestore(config, { tables: TABLE });
      const outcome = result.tables.find((t) => t.table === TABLE)!;
      assert.deepEqual([outcome.status, outcome.source, outcome.version, outcome.location], ['restored', 'mirror', v1, `s3://${mirrorBucket}/copy/${dataKey(v1)}`]);
      assert.deepEqual(outcome.rejected.map((r) => r.source), [`minio latest`]);
      assert.match(outcome.rejected[0]!.reason, new RegExp(`${escape(dataKey(v1))}: 7 bytes, the manifest says ${original.length}`));
      assert.deepEqual(await tableDigests(db.url), before, 'the table holds the snapshot again');
      const history = await sql(db.url, `select source, location from restore_history where table_name = $1`, [TABLE]);
      assert.deepEqual(history.rows, [{ source: 'mirror', location: outcome.location }]);
    } finally {
      await primary.put(dataKey(v1), Readable.from([original]));
    }

    const explicit = await cli(['restore', '--source', 'mirror', '--tables', TABLE, '--wait', '--json']);
    assert.equal(explicit.code, 0, explicit.stderr);
    const restored = (JSON.parse(explicit.stdout) as { tables: { table: string; source: string; rejected: unknown[] }[] }).tables;
    assert.deepEqual(restored.map((t) => [t.table, t.source, t.rejected.length]), [[TABLE, 'mirror', 0]]);

    // Without storage.mirror (the shipped config) the choice is refused before anything starts.
    const unconfigured = await cli(['restore', '--source', 'mirror'], { SEEDVAULT_CONFIG: DEFAULT_CONFIG_PATH });
    assert.deepEqual([unconfigured.code, unconfigured.stderr], [2, 'seedvault: --source mirror: storage.mirror is not configured\n']);
  });

  test('prune applies retention to both stores alike, pins included', async () => {
    await runSnapshot(config, { version: v2, tables: TABLE });
    const pin = await cli(['snapshot', 'pin', v2]);
    assert.equal(pin.code, 0, pin.stderr);
    const third = await runSnapshot(config, { version: v3, tables: TABLE });
    assert.deepEqual(third.prune.delete.map((d) => d.version), [v1]);
    assert.deepEqual(third.prune.mirror?.delete, third.prune.delete);
    // retention_count 2: v4 and v3 stay, v2 only by its pin (in both stores).
    await runSnapshot(config, { version: v4, tables: TABLE });
    const versions = async (storage: Storage) => (await listVersions(storage)).map((v) => `${v.version}${v.complete ? '' : ' incomplete'}${v.pinned ? ' pinned' : ''}`);
    assert.deepEqual(await versions(primary), [v4, v3, `${v2} pinned`]);
    assert.deepEqual(await versions(mirror), [v4, v3, `${v2} pinned`]);
    assert.deepEqual([await readLatestVersion(primary), await readLatestVersion(mirror)], [v4, v4]);

    const dryRun = await cli(['snapshot', 'prune', '--dry-run', '--json']);
    assert.equal(dryRun.code, 0, dryRun.stderr);
    const plan = JSON.parse(dryRun.stdout) as { delete: unknown[]; keep: { version: string }[]; mirror: { delete: unknown[]; keep: { version: string }[] } };
    assert.deepEqual([plan.delete, plan.mirror.delete], [[], []]);
    assert.deepEqual(plan.mirror.keep, plan.keep);
  });

  test('doctor probes the mirror: green when it answers, red naming storage.mirror.bucket when the bucket is missing', async () => {
    const checks = await storageChecks(config, new Date());
    const line = checks.find((c) => c.check === 'mirror storage');
    assert.equal(line?.status, 'green', JSON.stringify(checks));
    assert.match(line.details, new RegExp(`^s3://${mirrorBucket}/copy: put, get and delete answered`));

    const absent = uniqueName('mirror-absent');
    const broken = loadConfig(deployment.env.SEEDVAULT_CONFIG!, { ...process.env, ...deployment.env, SEEDVAULT_TEST_MIRROR_BUCKET: absent });
    const red = (await storageChecks(broken, new Date())).find((c) => c.check === 'mirror storage');
    assert.deepEqual([red?.status, red?.details], ['red', `bucket ${absent} does not exist`]);
    assert.match(String(red?.fix), /storage\.mirror\.bucket/);
  });

  test('setup --check lists the mirror bucket beside the primary one, missing when it is', async () => {
    const buckets = async (extra: Record<string, string>) => {
      const run = await cli(['setup', '--check', '--json'], extra);
      const items = (JSON.parse(run.stdout) as { items: { kind: string; name: string; state: string }[] }).items;
      return items.filter((i) => i.kind === 'bucket').map((i) => `${i.name} ${i.state}`);
    };
    assert.deepEqual(await buckets({}), [`${primary.location} ok`, `s3://${mirrorBucket}/copy ok`]);
    const absent = uniqueName('mirror-absent');
    assert.deepEqual(await buckets({ SEEDVAULT_TEST_MIRROR_BUCKET: absent }), [`${primary.location} ok`, `s3://${absent}/copy missing`]);
  });
});


describe('storage.mirror with a table split into parts', () => {
  const BARS = 'usdcop_m5_ohlcv';
  const [version] = versionsOf(['05.11']) as [string];
  let db: FreshDatabase;
  let deployment: Awaited<ReturnType<typeof mirrorDeployment>>;
  let worker: Awaited<ReturnType<typeof withWorker>>;

  before(async () => {
    db = await freshDatabase('mirror_split');
    await loadDemoData(db.url, {});
    await sql(db.url, `analyze ${BARS}`); // the split plans from the planner's row estimate
    const bucket = uniqueName('mirror-split');
    const mirrorBucket = uniqueName('mirror-split-copy');
    await createBucket(bucket);
    await createBucket(mirrorBucket);
    deployment = await mirrorDeployment(
      'mirror-split',
      'type: minio\nendpoint: ${S3_ENDPOINT}\nbucket: ${SEEDVAULT_TEST_MIRROR_BUCKET}\naccess_key: ${S3_ACCESS_KEY}\nsecret_key: ${S3_SECRET_KEY}',
      { DATABASE_URL: db.url, S3_BUCKET: bucket, SEEDVAULT_TEST_MIRROR_BUCKET: mirrorBucket, SEEDVAULT_SPLIT_ROWS: '25000' },
    );
    worker = await withWorker(deployment.config);
  });
  after(async () => {
    await worker?.stop();
    await db?.drop();
  });

  test('every part lands in the mirror; with a part corrupt in the primary, the restore takes the table from the mirror', async () => {
    const { config, primary, mirror } = deployment;
    const { manifest } = await runSnapshot(config, { version, tables: BARS });
    const parts = manifest.tables[BARS]!.parts ?? [];
    assert.equal(parts.length, 4, 'the 88,699 bars in parts of at most 25,000 rows');
    const prefix = versionPrefix(version);
    assert.deepEqual(await listing(mirror, prefix), await listing(primary, prefix));
    assert.ok((await listing(mirror, prefix)).some((line) => line.startsWith(`${prefix}${parts[2]!.file} `)));

    const before = await tableDigests(db.url);
    const key = `${prefix}${parts[2]!.file}`;
    const original = await buffer(await primary.get(key));
    const damaged = Buffer.from(original);
    damaged[damaged.length >> 1]! ^= 0xff;
    await primary.put(key, Readable.from([damaged]));
    await sql(db.url, `delete from ${BARS}`);
    const result = await runRestore(config, { version, tables: 'ohlcv' });
    const outcome = result.tables.find((t) => t.table === BARS)!;
    assert.deepEqual([outcome.status, outcome.source, outcome.rejected.map((r) => r.source)], ['restored', 'mirror', [`minio ${version}`]]);
    assert.match(outcome.rejected[0]!.reason, new RegExp(`${escape(parts[2]!.file)}: sha256 .* does not match the manifest`));
    assert.deepEqual(await tableDigests(db.url), before, "the table holds the snapshot again, from the mirror's parts");
  });
});
describe('storage.mirror: a local folder that runs out of room', () => {
  const [good, failing] = versionsOf(['06.01', '06.02']) as [string, string];
  let dir: string;
  let mounted = false;
  let db: FreshDatabase | undefined;
  let deployment: Awaited<ReturnType<typeof mirrorDeployment>>;
  let worker: Awaited<ReturnType<typeof withWorker>> | undefined;

  before(async () => {
    dir = await tempDir('mirror-tmpfs');
    mounted = await execFileAsync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', dir]).then(() => true, () => false);
    if (!mounted) return;
    db = await freshDatabase('mirror_full');
    await loadDemoData(db.url, {});
    const bucket = uniqueName('mirror-full');
    await createBucket(bucket);
    deployment = await mirrorDeployment('mirror-full', 'type: local\nlocal_path: ${SEEDVAULT_TEST_MIRROR_DIR}', { DATABASE_URL: db.url, S3_BUCKET: bucket, SEEDVAULT_TEST_MIRROR_DIR: dir });
    worker = await withWorker(deployment.config);
  });
  after(async () => {
    await worker?.stop();
    await db?.drop();
    if (mounted) await execFileAsync('umount', ['-l', dir]);
    await rm(dir, { recursive: true, force: true });
  });

  test('the snapshot fails at once; latest stays on both stores and neither keeps any of the failed version', async (t) => {
    if (!mounted) return t.skip('mounting a tmpfs needs root');
    const { config, primary, mirror } = deployment;
    const tables = `macro_indicators_daily,${TABLE}`;
    const { manifest } = await runSnapshot(config, { version: good, tables });
    const latestBefore = [await listing(primary, 'latest/'), await listing(mirror, 'latest/')];
    assert.deepEqual(latestBefore[1], latestBefore[0]);

    // Room for the new version's claim and its first table (the mirror copies in manifest order), not for the second.
    const PAGE = 4096;
    const pages = (bytes: number) => Math.ceil(bytes / PAGE) * PAGE;
    const [first, second] = Object.values(manifest.tables);
    assert.deepEqual([first?.file, second?.file], ['macro_indicators_daily.parquet', `${TABLE}.parquet`]);
    assert.ok(second!.size_bytes > PAGE, `${second!.file} is ${second!.size_bytes} bytes`);
    const fs = await statfs(dir);
    await execFileAsync('mount', ['-o', `remount,size=${(fs.blocks - fs.bfree) * fs.bsize + PAGE + pages(first!.size_bytes) + PAGE}`, dir]);

    const started = Date.now();
    const handle = await startSnapshot(config, { version: failing, tables });
    const failure = await handle.result().then(() => assert.fail('the snapshot succeeded'), activityFailure);
    assert.equal(failure.activity, 'mirrorUploads');
    assert.equal(failure.type, 'StorageFullError');
    assert.match(failure.message, new RegExp(`^${escape(dir)}: no space left writing ${escape(versionPrefix(failing))}${TABLE}\\.parquet \\(ENOSPC\\)`));
    t.diagnostic(`failed after ${((Date.now() - started) / 1000).toFixed(1)} s`);

    const prefix = versionPrefix(failing);
    assert.deepEqual((await primary.list(prefix)).map((o) => o.key), [`${prefix}${RESERVATION_MARKER}`], 'the primary keeps only the claim');
    assert.deepEqual((await mirror.list(prefix)).map((o) => o.key), [`${prefix}${RESERVATION_MARKER}`], 'the mirror keeps only the claim: the table it had copied is discarded too');
    assert.deepEqual(await readdir(join(dir, prefix)), [RESERVATION_MARKER], 'no temporary file is left in the mirror');
    assert.deepEqual([await readLatestVersion(primary), await readLatestVersion(mirror)], [good, good]);
    assert.deepEqual([await listing(primary, 'latest/'), await listing(mirror, 'latest/')], latestBefore);
  });
});
