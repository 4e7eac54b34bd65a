import { GetObjectCommand, HeadBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import pg from 'pg';
import { CLI } from '../bench/support.js';
import { setPostgresPassword, type StackEnv, stackRemove, stackStatus, stackUp, startComponent, stopComponent } from '../src/stack/index.js';
import { isAlive } from '../src/stack/process.js';
import { readState } from '../src/stack/state.js';
import { resolvePaths } from '../src/stack/paths.js';
import { connectionAnswer } from './support/db.js';
import { execFileAsync } from './support/snapshot.js';

// The test runner starts one shared stack and exports SEEDVAULT_STATE_DIR and its env.
const skip = process.env.SEEDVAULT_STATE_DIR ? false : 'needs the shared stack (SEEDVAULT_STATE_DIR unset)';

function s3For(env: Pick<StackEnv, 'S3_ENDPOINT' | 'S3_ACCESS_KEY' | 'S3_SECRET_KEY' | 'S3_REGION'>): S3Client {
  return new S3Client({
    endpoint: env.S3_ENDPOINT,
    region: env.S3_REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: env.S3_ACCESS_KEY, secretAccessKey: env.S3_SECRET_KEY },
    maxAttempts: 1,
  });
}

async function refuses(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(2000) });
    return false;
  } catch {
    return true;
  }
}

test('a second stackUp reuses the running stack: same env, same pids, fast', { skip }, async () => {
  const before = await stackStatus();
  const started = Date.now();
  const env = await stackUp();
  const seconds = (Date.now() - started) / 1000;
  assert.ok(seconds < 5, `second up took ${seconds}s`);
  for (const key of ['TEMPORAL_ADDRESS', 'DATABASE_URL', 'S3_ENDPOINT', 'S3_ACCESS_KEY', 'S3_SECRET_KEY', 'S3_BUCKET'] as const) {
    if (process.env[key]) assert.equal(env[key], process.env[key], key);
  }
  const after = await stackStatus();
  assert.deepEqual(after.map((s) => s.pid), before.map((s) => s.pid));
});

test('stackStatus reports temporal, minio and postgres running', { skip }, async () => {
  const status = await stackStatus();
  assert.deepEqual(status.map((s) => s.name).sort(), ['minio', 'postgres', 'temporal']);
  for (const s of status) {
    assert.ok(s.running, `${s.name} is not running`);
    assert.ok(s.pid && s.port && s.url, `${s.name} lacks pid/port/url`);
  }
});

test('Temporal Web UI answers 200', { skip }, async () => {
  const env = await stackUp();
  const res = await fetch(env.TEMPORAL_UI_URL, { signal: AbortSignal.timeout(5000) });
  assert.equal(res.status, 200);
});

test('MinIO has the bucket', { skip }, async () => {
  const env = await stackUp();
  const s3 = s3For(env);
  try {
    await s3.send(new HeadBucketCommand({ Bucket: env.S3_BUCKET }));
  } finally {
    s3.destroy();
  }
});

test('PostgreSQL 15 answers', { skip }, async () => {
  const env = await stackUp();
  const client = new pg.Client({ connectionString: env.DATABASE_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ version: string }>('select version()');
    assert.match(rows[0]!.version, /^PostgreSQL 15\./);
  } finally {
    await client.end();
  }
});

// Fault injection runs on a MinIO of its own (separate state dir, same binary cache), so test
// files running in parallel against the shared stack never see it go away.
test('stopComponent/startComponent restart MinIO on the same port with its data', { skip }, async () => {
  const opts = { stateDir: mkdtempSync(join(tmpdir(), 'seedvault-stack-test-')) };
  try {
    await startComponent('minio', opts);
    const rec = readState(resolvePaths(opts)).minio!;
    const env = {
      S3_ENDPOINT: `http://127.0.0.1:${rec.port}`,
      S3_ACCESS_KEY: rec.accessKey,
      S3_SECRET_KEY: rec.secretKey,
      S3_REGION: rec.region,
    };
    const s3 = s3For(env);
    try {
      await s3.send(new PutObjectCommand({ Bucket: rec.bucket, Key: 'probe.txt', Body: 'kept' }));
      await stopComponent('minio', opts);
      assert.ok(await refuses(`${env.S3_ENDPOINT}/minio/health/live`), 'S3 endpoint still answers after stop');
      assert.equal((await stackStatus(opts)).find((s) => s.name === 'minio')?.running, false);

      await startComponent('minio', opts);
      const restarted = readState(resolvePaths(opts)).minio!;
      assert.equal(restarted.port, rec.port);
      assert.notEqual(restarted.pid, rec.pid);
      await s3.send(new HeadBucketCommand({ Bucket: rec.bucket }));
      const body = await s3.send(new GetObjectCommand({ Bucket: rec.bucket, Key: 'probe.txt' }));
      assert.equal(await body.Body!.transformToString(), 'kept');
    } finally {
      s3.destroy();
    }
  } finally {
    await stopComponent('minio', opts);
    rmSync(opts.stateDir, { recursive: true, force: true });
  }
});

test('seedvault stack remove needs --yes, then stops every process and deletes all stack data', { skip }, async () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'seedvault-stack-remove-'));
  const cli = (...args: string[]) =>
    execFileAsync(process.execPath, [CLI, 'stack', '--state-dir', stateDir, ...args], { env: { ...process.env, SEEDVAULT_LOG_LEVEL: 'warn' } });
  try {
    await cli('up');
    const state = readState(resolvePaths({ stateDir }));
    const pids = [state.temporal!.pid, state.minio!.pid, state.postgres!.pid].map(Number);
    assert.ok(pids.every((pid) => pid > 0), `pids recorded: ${pids.join(", ")}`);
    const refused = await cli('remove').then(() => null, (e: { code: number; stderr: string }) => e);
    assert.equal(refused?.code, 2);
    assert.match(refused.stderr, /pass --yes/);
    assert.ok(pids.every(alive), 'nothing stopped without --yes');

    await cli('remove', '--yes');
    assert.deepEqual(pids.filter(alive), [], 'every process stopped');
    assert.equal(existsSync(stateDir), false, 'state folder deleted');
    assert.equal(existsSync(state.postgres!.dataDir), false, 'PostgreSQL data deleted');
  } finally {
    await cli('remove', '--yes').catch(() => {});
    rmSync(stateDir, { recursive: true, force: true });
  }
});

// On a PostgreSQL of its own, like the MinIO test above.
test('setPostgresPassword: TCP connections must give the password, also after a restart; status never shows it', { skip }, async () => {
  const opts = { stateDir: mkdtempSync(join(tmpdir(), 'seedvault-stack-password-')) };
  const password = 'pw-4b1d9e/+ x';
  try {
    await startComponent('postgres', opts);
    const url = async () => (await stackStatus(opts)).find((c) => c.name === 'postgres')!.url!;
    const withPassword = async () => {
      const u = new URL(await url());
      u.password = password;
      return u.toString();
    };
    assert.equal(await connectionAnswer(await url()), 'ok', 'trust before');
    await setPostgresPassword(password, opts);
    assert.equal(readState(resolvePaths(opts)).postgres!.password, password);
    // The reload that brings the new pg_hba.conf in is asynchronous.
    let refusal = 'ok';
    for (let i = 0; i < 50 && refusal === 'ok'; i += 1) {
      refusal = await connectionAnswer(await url());
      if (refusal === 'ok') await new Promise((r) => setTimeout(r, 100));
    }
    assert.notEqual(refusal, 'ok', 'a connection without the password is refused');
    assert.equal(await connectionAnswer((await url()).replace('seedvault@', 'seedvault:wrong@')), '28P01', 'a wrong password is refused');
    assert.equal(await connectionAnswer(await withPassword()), 'ok');

    // A restart connects (database check, migrations) with the recorded password.
    await stopComponent('postgres', opts);
    await startComponent('postgres', opts);
    assert.equal(await connectionAnswer(await withPassword()), 'ok');
    assert.notEqual(await connectionAnswer(await url()), 'ok');
    assert.doesNotMatch(await url(), /pw-4b1d9e/);
  } finally {
    await stackRemove(opts);
  }
});

/** A stopped child of an exited CLI may linger as a zombie here: the stack's own check knows. */
const alive = (pid: number) => isAlive(pid);
