import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import { activityRuns, CLI } from '../bench/support.js';
import { main } from '../src/client/cli.js';
import { runFileWorkflow } from '../src/client/files-run.js';
import type { SeedvaultConfig } from '../src/config/schema.js';
import { createPool } from '../src/db/pool.js';
import { backupIdFor } from '../src/domain/file-backup-id.js';
import { backupPrefix } from '../src/domain/file-backup-metadata.js';
import type { CleanupPlan } from '../src/domain/file-backup-selection.js';
import { isoWeek } from '../src/domain/retention.js';
import { InputError, IntegrityError } from '../src/errors.js';
import { claimBackupId, fileBackupStorage, listFileBackups, readMetadata } from '../src/files/catalog.js';
import { createFileBackup } from '../src/files/create.js';
import { fileBackupHealth } from '../src/files/health.js';
import { readNothingToBackUp } from '../src/files/nothing-to-back-up.js';
import { recordFileBackup } from '../src/files/records.js';
import type { RestoreResult } from '../src/files/restore.js';
import { deepVerifyHealth } from '../src/quality/health.js';
import { createStorage } from '../src/storage/index.js';
import { PrefixedStorage } from '../src/storage/prefixed.js';
import type { Storage } from '../src/storage/types.js';
import { connectClient } from '../src/temporal/connection.js';
import type { FileBackupInput, FileBackupResult } from '../src/workflows/file-backup.js';
import type { FileRestoreInput } from '../src/workflows/file-restore.js';
import { freshDatabase, type FreshDatabase } from './support/db.js';
import { assertSameTree, craftBackup, ESCAPING_ARCHIVES, makeAwkwardTree, tempDir } from './support/file-backups.js';
import { runProcess } from './support/process.js';
import { createBucket, testConfig, uniqueName, withWorker } from './support/stack.js';

type TypeSettings = SeedvaultConfig['file_backups']['types'][string];
const encryption = (key_file: string, previous_key_files: string[] = []) => ({ enabled: true, key_file, previous_key_envs: [], previous_key_files });
const typeWith = (sources: string[], extra: Partial<TypeSettings> = {}): TypeSettings => ({
  sources, enabled: true, retention_days: 30, compress: true, interval_hours: 24, description: 'test', ...extra,
});

/** A worker of its own (task queue, file backup settings) over the test stack. */
async function setup(name: string, env: Record<string, string>, fileBackups: Partial<SeedvaultConfig['file_backups']>) {
  const config = testConfig({ ...env, SEEDVAULT_TASK_QUEUE: uniqueName(name) });
  Object.assign(config.file_backups, fileBackups);
  const worker = await withWorker(config);
  return { config, worker, storage: fileBackupStorage(config) };
}

const backup = (config: SeedvaultConfig, input: FileBackupInput) => runFileWorkflow<FileBackupResult>(config, 'fileBackup', 'file-backup', input, 'test backup', true);
const restore = (config: SeedvaultConfig, input: FileRestoreInput) => runFileWorkflow<RestoreResult[]>(config, 'fileRestore', 'file-restore', input, 'test restore', true);

/** Stores a backup as if it had been taken at `at` (for retention and point-in-time tests). */
async function backupTakenAt(storage: Storage, type: string, at: Date, content: string) {
  const dir = await tempDir('src');
  await writeFile(join(dir, `${type}.txt`), content);
  const id = backupIdFor(type, at);
  await createFileBackup(storage, { id, type, sources: [join(dir, `${type}.txt`)], cwd: dir, description: '', compress: true, timestamp: at.toISOString(), workflow: null }, null);
  return id;
}

async function flipByte(storage: Storage, id: string): Promise<void> {
  const metadata = (await readMetadata(storage, id))!;
  const key = `${backupPrefix(id)}${metadata.archive.file}`;
  const bytes = await buffer(await storage.get(key));
  bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
  await storage.put(key, Readable.from([bytes]));
}

/** Runs the CLI in-process against `bucket`, returning its exit code. */
async function cli(bucket: string, ...args: string[]): Promise<number> {
  const saved = process.env.S3_BUCKET;
  process.env.S3_BUCKET = bucket;
  try {
    return await main(['node', 'seedvault', ...args]);
  } finally {
    process.env.S3_BUCKET = saved;
  }
}

describe('file backups on MinIO', () => {
  let ctx: Awaited<ReturnType<typeof setup>>;
  let tree: string;
  let bucket: string;
  /** Seed 002's model folder, empty until a test puts models/ppo_v20/model.onnx in it. */
  let models: string;
  /** The CLI as a separate process against the test worker and bucket. */
  const seedvault = (...args: string[]) =>
    runProcess([process.execPath, CLI, ...args], { env: { ...process.env, S3_BUCKET: bucket, SEEDVAULT_TASK_QUEUE: ctx.config.temporal.task_queue, SEEDVAULT_NO_LOCAL_STACK: '1' } });
  before(async () => {
    bucket = uniqueName('files');
    await createBucket(bucket);
    tree = await tempDir('tree');
    await makeAwkwardTree(tree);
    const single = await tempDir('single');
    await writeFile(join(single, 'portfolio_state.json'), '{"cash": 1}');
    models = await tempDir('models');
    ctx = await setup('files_minio', { S3_BUCKET: bucket }, {
      types: {
        trading_history: typeWith([tree]),
        portfolio: typeWith([join(single, 'portfolio_state.json')]),
        config: typeWith([join(single, '*.json')], { enabled: false }),
        models: typeWith([join(models, 'ppo_v20'), join(models, '*.onnx')]),
        journal: typeWith([], { enabled: false, retention_days: 7, weekly_retention_days: 60 }),
      },
    });
  });
  after(async () => ctx.worker.stop());

  test('a directory tree round-trips through the workflows, under files/ in the bucket', async () => {
    const { backups } = await backup(ctx.config, { types: ['trading_history'], description: 'nightly' });
    const id = backups[0]!.backup_id;
    assert.match(id, /^trading_history_\d{8}_\d{6}$/);
    const keys = (await createStorage(ctx.config.storage).list(`files/${id}/`)).map((o) => o.key).sort();
    assert.deepEqual(keys, [`files/${id}/.claim`, `files/${id}/metadata.json`, `files/${id}/${backups[0]!.archive}`].sort());
    const metadata = (await readMetadata(ctx.storage, id))!;
    assert.equal(metadata.description, 'nightly');
    assert.equal(metadata.source_path, tree);
    assert.equal(metadata.compressed, true);
    assert.match(metadata.archive.sha256, /^[0-9a-f]{64}$/);

    const dest = join(await tempDir('dest'), 'restored');
    const [result] = await restore(ctx.config, { id, dest, overwrite: false });
    assert.equal(result!.entries, metadata.files.length);
    await assertSameTree(dest, tree);
    await assert.rejects(restore(ctx.config, { id, dest, overwrite: false }), (err) => err instanceof InputError && /--overwrite/.test(err.message));
    await restore(ctx.config, { id, dest, overwrite: true });
    await assertSameTree(dest, tree);
  });

  test('every enabled type, single files as .gz; a claim within the same second gets a suffix', async () => {
    const { backups, nothing_to_back_up } = await backup(ctx.config, {});
    assert.deepEqual(backups.map((b) => b.backup_type).sort(), ['portfolio', 'trading_history']);
    assert.deepEqual(nothing_to_back_up.map((n) => n.type), ['models'], 'a type with no files yet does not stop the others');
    assert.equal(backups.find((b) => b.backup_type === 'portfolio')!.archive, 'portfolio_state.json.gz');
    const base = backupIdFor('portfolio', new Date('2031-05-05T05:05:05Z'));
    assert.equal(await claimBackupId(ctx.storage, base, 'run-a'), base);
    assert.equal(await claimBackupId(ctx.storage, base, 'run-b'), `${base}-2`);
    assert.equal(await claimBackupId(ctx.storage, base, 'run-a'), base, 'a retry finds its own claim');
  });

  test('a tampered archive fails verify (exit 4) and restore refuses, writing nothing', async () => {
    const { backups } = await backup(ctx.config, { types: ['trading_history'] });
    const id = backups[0]!.backup_id;
    assert.equal(await cli(bucket, 'files', 'verify', '--id', id), 0);
    await flipByte(ctx.storage, id);
    assert.equal(await cli(bucket, 'files', 'verify', '--id', id), 4);
    const parent = await tempDir('parent');
    await assert.rejects(restore(ctx.config, { id, dest: join(parent, 'dest'), overwrite: false }), (err) => err instanceof IntegrityError && /sha256/.test(err.message));
    assert.deepEqual(await readdir(parent), []);
  });

  test('archives crafted with ../, absolute paths or links leaving the tree are refused', async () => {
    for (const [i, [what, entries]] of ESCAPING_ARCHIVES.entries()) {
      const id = `data_20251217_16204${i}`;
      await craftBackup(ctx.storage, id, entries);
      const parent = await tempDir('parent');
      await assert.rejects(restore(ctx.config, { id, dest: join(parent, 'dest'), overwrite: true }), (err) => err instanceof IntegrityError && /refused/.test(err.message), what);
      assert.deepEqual(await readdir(parent), [], `${what}: nothing written`);
    }
  });

  test('point in time: per type the newest backup at or before --at', async () => {
    const t = (iso: string) => new Date(iso);
    await backupTakenAt(ctx.storage, 'experiments', t('2030-01-01T00:00:00Z'), 'v1');
    await backupTakenAt(ctx.storage, 'experiments', t('2030-01-02T00:00:00Z'), 'v2');
    await backupTakenAt(ctx.storage, 'experiments', t('2030-01-03T00:00:00Z'), 'v3');
    await backupTakenAt(ctx.storage, 'strategies', t('2030-01-01T12:00:00Z'), 's1');
    const dest = await tempDir('pit');
    const results = await restore(ctx.config, { types: ['experiments', 'strategies'], at: '2030-01-02T06:00:00.000Z', dest, overwrite: false });
    assert.deepEqual(results.map((r) => r.backup_id).sort(), ['experiments_20300102_000000', 'strategies_20300101_120000']);
    assert.equal(await readFile(join(dest, 'experiments', 'experiments.txt'), 'utf8'), 'v2');
    assert.equal(await readFile(join(dest, 'strategies', 'strategies.txt'), 'utf8'), 's1');
    const one = await tempDir('pit-one');
    await restore(ctx.config, { types: ['experiments'], at: '2030-01-01T23:59:59.000Z', dest: one, overwrite: false });
    assert.equal(await readFile(join(one, 'experiments.txt'), 'utf8'), 'v1', 'one type restores into dest itself');
    await assert.rejects(restore(ctx.config, { types: ['experiments'], at: '2029-12-31T00:00:00.000Z', dest: one, overwrite: false }), /no complete file backup of experiments at or before/);
  });

  test('cleanup applies retention_days per type and keeps the newest of each', async () => {
    const day = 86_400_000;
    const ago = (days: number) => new Date(Date.now() - days * day);
    const keepNewest = await backupTakenAt(ctx.storage, 'config', ago(400), 'only one, very old');
    const recent = await backupTakenAt(ctx.storage, 'portfolio', ago(2), 'recent');
    const old = await backupTakenAt(ctx.storage, 'portfolio', ago(40), 'old');
    const dry = await runFileWorkflow<CleanupPlan>(ctx.config, 'fileBackupCleanup', 'file-backup-cleanup', { dryRun: true }, 'test', true);
    assert.ok(dry.delete.some((d) => d.backup_id === old));
    assert.ok(await readMetadata(ctx.storage, old), 'a dry run deletes nothing');
    const plan = await runFileWorkflow<CleanupPlan>(ctx.config, 'fileBackupCleanup', 'file-backup-cleanup', { dryRun: false }, 'test', true);
    assert.deepEqual(plan.delete.map((d) => d.backup_id).filter((id) => [keepNewest, recent, old].includes(id)), [old]);
    const left = (await listFileBackups(ctx.storage)).map((b) => b.backup_id);
    assert.ok(left.includes(keepNewest) && left.includes(recent) && !left.includes(old), left.join(', '));
  });

  test('sources matching no file: the run completes with "nothing to back up", shown by list and health until a backup of the type', async () => {
    const result = await backup(ctx.config, { types: ['models'] });
    assert.deepEqual(result.backups, []);
    assert.equal(result.nothing_to_back_up.length, 1);
    assert.match(result.nothing_to_back_up[0]!.reason, new RegExp(`^its sources match no file on the worker's host \\(relative to .*\\): ${join(models, 'ppo_v20')}, ${join(models, '\\*\\.onnx')}$`));
    assert.equal(result.cleanup, null, 'no backup, no cleanup');
    const recorded = (await readNothingToBackUp(ctx.storage)).get('models');
    assert.ok(recorded && Date.now() - Date.parse(recorded.at) < 120_000, JSON.stringify(recorded));
    assert.match(recorded.workflow?.id ?? '', /^file-backup/);

    const list = await seedvault('files', 'list', '--type', 'models');
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^models: nothing to back up at \S+, its sources match no file/m);
    const listJson = JSON.parse((await seedvault('files', 'list', '--json')).stdout) as { nothing_to_back_up: { backup_type: string }[] };
    assert.deepEqual(listJson.nothing_to_back_up.map((n) => n.backup_type), ['models']);
    const healthOf = async () => (await fileBackupHealth(ctx.config, ctx.storage)).find((h) => h.component === 'file_backups.models')!;
    const before = await healthOf();
    assert.equal(before.status, 'yellow');
    assert.match(before.details, /^nothing to back up at /);

    await mkdir(join(models, 'ppo_v20'));
    await writeFile(join(models, 'ppo_v20', 'model.onnx'), Buffer.alloc(4096, 7));
    const { backups } = await backup(ctx.config, { types: ['models'] });
    assert.equal(backups.length, 1);
    assert.equal((await readMetadata(ctx.storage, backups[0]!.backup_id))!.files.some((f) => f.path.endsWith('model.onnx')), true);
    assert.equal((await readNothingToBackUp(ctx.storage)).has('models'), false, 'a completed backup clears it');
    assert.equal((await healthOf()).status, 'green');
    await assert.rejects(backup(ctx.config, { types: ['models'], source: join(models, 'no-such-file') }), /does not exist/, 'a path named with --source must exist');
  });

  test('weekly tier: past retention_days the newest backup of each ISO week stays until weekly_retention_days; --dry-run names the tier', async () => {
    const day = 86_400_000;
    // A Sunday noon 15 to 21 days ago: past the 7 daily days; its Saturday is in the same ISO week.
    const sunday = new Date(Date.now() - 15 * day);
    sunday.setUTCDate(sunday.getUTCDate() - sunday.getUTCDay());
    sunday.setUTCHours(12, 0, 0, 0);
    const weeksAgo = (weeks: number, days = 0) => new Date(sunday.getTime() - (weeks * 7 + days) * day);
    const newest = await backupTakenAt(ctx.storage, 'journal', new Date(Date.now() - day), 'newest');
    const daily = await backupTakenAt(ctx.storage, 'journal', new Date(Date.now() - 3 * day), 'daily');
    const weekly = await backupTakenAt(ctx.storage, 'journal', weeksAgo(0), 'sunday');
    const sameWeek = await backupTakenAt(ctx.storage, 'journal', weeksAgo(0, 1), 'saturday');
    const olderWeek = await backupTakenAt(ctx.storage, 'journal', weeksAgo(3), 'three weeks before');
    const tooOld = await backupTakenAt(ctx.storage, 'journal', weeksAgo(7), 'past 60 days');

    const dry = await seedvault('files', 'cleanup', '--dry-run');
    assert.equal(dry.code, 0, dry.stderr);
    const line = (id: string) => dry.stdout.split('\n').find((l) => l.includes(id));
    assert.equal(line(newest), `kept ${newest} [newest] (newest of its type)`);
    assert.equal(line(daily), `kept ${daily} [daily] (within 7 days)`);
    assert.equal(line(weekly), `kept ${weekly} [weekly] (newest of ${isoWeek(weeksAgo(0))}, within 60 days)`);
    assert.equal(line(olderWeek), `kept ${olderWeek} [weekly] (newest of ${isoWeek(weeksAgo(3))}, within 60 days)`);
    assert.equal(line(sameWeek), `would delete ${sameWeek} (older than 7 days, not the newest of ${isoWeek(weeksAgo(0))})`);
    assert.equal(line(tooOld), `would delete ${tooOld} (newest of ${isoWeek(weeksAgo(7))}, older than 60 days)`);
    assert.ok(await readMetadata(ctx.storage, sameWeek), 'a dry run deletes nothing');

    await runFileWorkflow<CleanupPlan>(ctx.config, 'fileBackupCleanup', 'file-backup-cleanup', { dryRun: false }, 'test', true);
    const left = (await listFileBackups(ctx.storage, 'journal')).map((b) => b.backup_id);
    assert.deepEqual(left, [newest, daily, weekly, olderWeek]);
  });

  test('health: fresh green, stale or missing yellow, tampered red', async () => {
    const storage = new PrefixedStorage(createStorage(ctx.config.storage), 'health/');
    await backupTakenAt(storage, 'portfolio', new Date(Date.now() - 3_600_000), 'fresh');
    await backupTakenAt(storage, 'config', new Date(Date.now() - 72 * 3_600_000), 'stale');
    const broken = await backupTakenAt(storage, 'strategies', new Date(Date.now() - 3_600_000), 'broken');
    await flipByte(storage, broken);
    const types = { portfolio: typeWith([]), config: typeWith([]), strategies: typeWith([]), data: typeWith([]), experiments: typeWith([], { enabled: false }) };
    const health = await fileBackupHealth({ ...ctx.config, file_backups: { ...ctx.config.file_backups, types } }, storage);
    assert.deepEqual(Object.fromEntries(health.map((h) => [h.component, h.status])), {
      'file_backups.portfolio': 'green', 'file_backups.config': 'yellow', 'file_backups.strategies': 'red', 'file_backups.data': 'yellow',
    });
  });

  test('the CLI rejects bad ids, flags and timestamps before any I/O (exit 2)', async () => {
    for (const args of [
      ['files', 'restore', '--id', '../etc/passwd', '--dest', '/tmp/x'],
      ['files', 'restore', '--id', 'portfolio_20251317_000000', '--dest', '/tmp/x'],
      ['files', 'restore', '--at', 'yesterday', '--dest', '/tmp/x'],
      ['files', 'verify'],
      ['files', 'delete', '--id', 'portfolio_20251217_162039/..'],
      ['files', 'create', '--source', '/tmp'],
      ['files', 'create', '--type', 'Bad-Type'],
    ]) {
      assert.equal(await cli('no-such-bucket', ...args), 2, args.join(' '));
    }
  });
});

describe('file backups encrypted', () => {
  let tree: string;
  let keys: { right: string; wrong: string };
  let ctx: Awaited<ReturnType<typeof setup>>;
  const env: Record<string, string> = {};
  before(async () => {
    env.S3_BUCKET = uniqueName('files-enc');
    await createBucket(env.S3_BUCKET);
    tree = await tempDir('tree');
    await makeAwkwardTree(tree);
    const keyDir = await tempDir('keys');
    keys = { right: join(keyDir, 'right.key'), wrong: join(keyDir, 'wrong.key') };
    await writeFile(keys.right, `${'ab'.repeat(32)}\n`, { mode: 0o600 });
    await writeFile(keys.wrong, Buffer.alloc(32, 9).toString('base64'), { mode: 0o600 });
    ctx = await setup('files_enc', env, { types: { strategies: typeWith([tree]) }, encryption: encryption(keys.right) });
  });
  after(async () => ctx.worker.stop());

  test('restores with the right key; a wrong key is one clear line', async () => {
    const { backups } = await backup(ctx.config, { types: ['strategies'] });
    const id = backups[0]!.backup_id;
    assert.ok(backups[0]!.encrypted && backups[0]!.archive.endsWith('.tar.gz.enc'));
    const stored = await buffer(await ctx.storage.get(`${backupPrefix(id)}${backups[0]!.archive}`));
    assert.ok(!stored.includes(Buffer.from('portfolio state.json')), 'names are not readable in the stored archive');
    const dest = join(await tempDir('dest'), 'enc');
    await restore(ctx.config, { id, dest, overwrite: false });
    await assertSameTree(dest, tree);

    const wrong = await setup('files_enc_wrong', env, { types: { strategies: typeWith([tree]) }, encryption: encryption(keys.wrong) });
    try {
      await assert.rejects(
        restore(wrong.config, { id, dest: join(await tempDir('dest'), 'x'), overwrite: false }),
        (err) => err instanceof InputError && /^wrong encryption key for strategies_\d{8}_\d{6}: it was encrypted with key [0-9a-f]{16}, the configured key is [0-9a-f]{16} \(a rotated-out key goes in file_backups\.encryption\.previous_key_files or previous_key_envs\)$/.test(err.message),
      );
    } finally {
      await wrong.worker.stop();
    }
  });

  test('key rotation: a new key encrypts, the rotated-out key still restores the old backups', async () => {
    const { backups: before } = await backup(ctx.config, { types: ['strategies'] });
    const rotated = await setup('files_enc_rotated', env, { types: { strategies: typeWith([tree]) }, encryption: encryption(keys.wrong, [keys.right]) });
    try {
      const dest = join(await tempDir('dest'), 'old');
      await restore(rotated.config, { id: before[0]!.backup_id, dest, overwrite: false });
      await assertSameTree(dest, tree);
      const { backups: after } = await backup(rotated.config, { types: ['strategies'] });
      const [oldMeta, newMeta] = await Promise.all([readMetadata(ctx.storage, before[0]!.backup_id), readMetadata(ctx.storage, after[0]!.backup_id)]);
      assert.notEqual(newMeta!.encryption!.key_id, oldMeta!.encryption!.key_id, 'the new backup uses the new key');
      await assert.rejects(restore(ctx.config, { id: after[0]!.backup_id, dest: join(await tempDir('dest'), 'y'), overwrite: false }), /wrong encryption key/, 'the old key alone cannot open it');
    } finally {
      await rotated.worker.stop();
    }
  });
});

describe('file backups in a local folder', () => {
  test('a directory tree round-trips through the workflows', async () => {
    const folder = await tempDir('local-store');
    const tree = await tempDir('tree');
    await makeAwkwardTree(tree);
    await mkdir(join(tree, 'more'));
    const ctx = await setup('files_local', { SEEDVAULT_STORAGE_TYPE: 'local', SEEDVAULT_LOCAL_SEEDS: folder }, { types: { data: typeWith([tree], { compress: false }) } });
    try {
      const { backups } = await backup(ctx.config, { types: ['data'] });
      const id = backups[0]!.backup_id;
      assert.ok((await readdir(join(folder, 'files', id))).includes(backups[0]!.archive));
      assert.match(backups[0]!.archive, /\.tar$/, 'compress: false stores a plain tar');
      const dest = join(await tempDir('dest'), 'local');
      await restore(ctx.config, { id, dest, overwrite: false });
      await assertSameTree(dest, tree);
    } finally {
      await ctx.worker.stop();
    }
  });
});

describe('file backups in backup_metadata (issue 16)', () => {
  let db: FreshDatabase;
  let sql: pg.Pool;
  let ctx: Awaited<ReturnType<typeof setup>>;
  let tree: string;
  let single: string;
  let bucket: string;
  const rowsOf = async (type: string) =>
    (await sql.query(
      `select backup_name, file_path, storage_location, snapshot_version, snapshot_status, validation_status, validated_at, record_count::int,
              file_size_bytes::int, checksum_sha256, compression, completeness_pct::float8 as completeness, quality_score, is_active,
              deactivated_at, data_start_date, data_end_date, pipeline_run_id, metadata
       from backup_metadata where backup_type = $1 order by created_at`,
      [type],
    )).rows;
  before(async () => {
    db = await freshDatabase('file_rows');
    sql = createPool(db.url, 2);
    bucket = uniqueName('files-rows');
    await createBucket(bucket);
    tree = await tempDir('tree');
    await makeAwkwardTree(tree);
    // A link leaving the tree is skipped: the one entry the archive does not hold.
    await symlink('../../outside', join(tree, 'leaves the tree'));
    single = join(await tempDir('single'), 'portfolio_state.json');
    await writeFile(single, '{"cash": 1}');
    ctx = await setup('files_rows', { DATABASE_URL: db.url, S3_BUCKET: bucket }, {
      types: { trading_history: typeWith([tree]), portfolio: typeWith([single]), retried: typeWith([single]) },
    });
  });
  after(async () => {
    await ctx?.worker.stop();
    await sql?.end();
    await db?.drop();
  });

  test('a backup writes exactly one completed row: the real size and sha256 of the archive in MinIO', async () => {
    const { backups } = await backup(ctx.config, { types: ['trading_history'] });
    const { backup_id: id, archive } = backups[0]!;
    const stored = await buffer(await createStorage(ctx.config.storage).get(`files/${id}/${archive}`));
    const metadata = (await readMetadata(ctx.storage, id))!;
    assert.equal(metadata.skipped.length, 1, 'the link leaving the tree');
    const rows = await rowsOf('trading_history');
    assert.equal(rows.length, 1);
    const { validated_at, data_end_date, pipeline_run_id, metadata: extra, ...row } = rows[0]!;
    assert.deepEqual(row, {
      backup_name: id,
      file_path: `s3://${bucket}/files/${id}/${archive}`,
      storage_location: 'minio',
      snapshot_version: null,
      snapshot_status: 'completed',
      validation_status: 'validated',
      record_count: metadata.files.length,
      file_size_bytes: stored.length,
      checksum_sha256: createHash('sha256').update(stored).digest('hex'),
      compression: 'gzip',
      completeness: Math.floor((10_000 * metadata.files.length) / (metadata.files.length + 1)) / 100,
      quality_score: null,
      is_active: true,
      deactivated_at: null,
      // makeAwkwardTree's oldest file time.
      data_start_date: new Date('2025-12-17T16:20:39.123Z'),
    });
    assert.ok(validated_at instanceof Date && data_end_date instanceof Date && data_end_date > row.data_start_date);
    assert.match(pipeline_run_id, /^file-backup/);
    assert.deepEqual(extra, { error: null, source_path: tree, source_bytes: metadata.archive.source_bytes, format: 'tar.gz', encryption_key_id: null, skipped: 1 });
    // A completed file backup is not a snapshot: the deep verify check still finds none (a month on).
    const [deepVerify] = await deepVerifyHealth(sql, ctx.config, new Date(Date.now() + 30 * 86_400_000));
    assert.equal(deepVerify!.details, 'no deep verify recorded yet');
  });

  test('a failed backup leaves one failed row saying why, inactive once its partial upload is discarded', async () => {
    await assert.rejects(backup(ctx.config, { types: ['vanished'], source: join(tree, 'no-such-file') }), /does not exist/);
    const rows = await rowsOf('vanished');
    assert.equal(rows.length, 1);
    const row = rows[0]!;
    assert.deepEqual(
      [row.snapshot_status, row.validation_status, row.is_active, row.file_size_bytes, row.checksum_sha256, row.completeness, row.file_path],
      ['failed', 'failed', false, null, null, null, `s3://${bucket}/files/${row.backup_name}/`],
    );
    assert.ok(row.deactivated_at instanceof Date);
    assert.match(row.metadata.error, /source .*no-such-file of type "vanished" does not exist/);
    assert.deepEqual(await ctx.storage.list(`${row.backup_name}/`), [], 'nothing of it is stored');
  });

  test('a retried activity updates its row, never adds one', async () => {
    // The first write of the archive's facts fails once (a sequence is not rolled back with it): writeFileBackup is retried.
    await sql.query(`create sequence fail_once;
      create function fail_first_write() returns trigger language plpgsql as $$
      begin
        if new.backup_type = 'retried' and new.file_size_bytes is not null then
          if nextval('fail_once') = 1 then raise exception 'injected: the first write of the row fails'; end if;
        end if;
        return new;
      end $$;
      create trigger fail_first_write before insert or update on backup_metadata for each row execute function fail_first_write()`);
    try {
      const { backups } = await backup(ctx.config, { types: ['retried'] });
      const rows = await rowsOf('retried');
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.snapshot_status, 'completed');
      assert.equal(rows[0]!.backup_name, backups[0]!.backup_id);
      assert.equal(rows[0]!.file_size_bytes, backups[0]!.size_bytes);
      const client = await connectClient(ctx.config);
      const runs = await activityRuns(client.workflow.getHandle(rows[0]!.pipeline_run_id)).finally(() => client.connection.close());
      assert.deepEqual(runs.filter((r) => r.activity === 'writeFileBackup').map((r) => r.attempt), [2], 'the write was retried');
    } finally {
      await sql.query('drop trigger fail_first_write on backup_metadata; drop function fail_first_write(); drop sequence fail_once');
    }
  });

  test('retention marks the rows of the backups it deletes pruned and inactive, as the snapshot prune does', async () => {
    const old = await backupTakenAt(ctx.storage, 'portfolio', new Date(Date.now() - 40 * 86_400_000), 'old');
    // Recorded as the run that took it 40 days ago would have.
    await recordFileBackup(sql, ctx.config, ctx.storage, { id: old, status: 'completed', metadata: await readMetadata(ctx.storage, old), workflowId: 'file-backup-earlier' });
    await runFileWorkflow<CleanupPlan>(ctx.config, 'fileBackupCleanup', 'file-backup-cleanup', { dryRun: true }, 'test', true);
    assert.deepEqual((await rowsOf('portfolio')).map((r) => [r.backup_name, r.snapshot_status, r.is_active]), [[old, 'completed', true]], 'a dry run changes no row');

    const { backups, cleanup } = await backup(ctx.config, { types: ['portfolio'], cleanup: true });
    assert.deepEqual(cleanup!.delete.map((d) => d.backup_id), [old]);
    const rows = await rowsOf('portfolio');
    assert.deepEqual(rows.map((r) => [r.backup_name, r.snapshot_status, r.is_active]), [[old, 'pruned', false], [backups[0]!.backup_id, 'completed', true]]);
    assert.ok(rows[0]!.deactivated_at instanceof Date && rows[1]!.deactivated_at === null);

    const deleted = await runProcess([process.execPath, CLI, 'files', 'delete', '--id', backups[0]!.backup_id], {
      env: { ...process.env, S3_BUCKET: bucket, DATABASE_URL: db.url, SEEDVAULT_NO_LOCAL_STACK: '1' },
    });
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.deepEqual((await rowsOf('portfolio')).map((r) => [r.snapshot_status, r.is_active]), [['pruned', false], ['pruned', false]], '`files delete` marks its row too');
  });
});
