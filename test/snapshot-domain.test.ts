import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { findManifest } from '../src/restore/source-file.js';
import { LocalStorage } from '../src/storage/local.js';
import { MANIFEST_FILE, renderChecksums } from '../src/domain/manifest.js';
import { planPrune, retentionPolicy, type RetentionPolicy, type StoredVersion } from '../src/domain/retention.js';
import { compareVersionsDesc, nextFreeVersion, versionForDate, versionPrefix, versionProblem } from '../src/domain/version.js';
import { assertSafeKey } from '../src/storage/keys.js';

describe('snapshot versions', () => {
  test('accepts YYYY.MM.DD with an optional suffix', () => {
    for (const v of ['2026.01.22', '2026.01.22-2', '2024.02.29', '2026.12.31-nightly']) assert.equal(versionProblem(v), null, v);
  });

  test('rejects anything else before it can reach a path', () => {
    const bad = ['', '2026-01-22', '2026.1.22', '2026.02.30', '2025.02.29', '2026.13.01', '../2026.01.22', '2026.01.22/..',
      '/etc/passwd', '2026.01.22-', '2026.01.22-UP', '2026.01.22-ñ', `2026.01.22-${'a'.repeat(17)}`, 'x'.repeat(5000), 'v2026.01.22'];
    for (const v of bad) assert.notEqual(versionProblem(v), null, v);
    assert.throws(() => versionPrefix('../x'), /invalid snapshot version/);
  });

  test('defaults to the UTC date and suffixes a taken day', () => {
    assert.equal(versionForDate(new Date('2026-01-22T23:59:59Z')), '2026.01.22');
    assert.equal(nextFreeVersion('2026.01.22', []), '2026.01.22');
    assert.equal(nextFreeVersion('2026.01.22', ['2026.01.22', '2026.01.22-2']), '2026.01.22-3');
  });

  test('sorts newest first, numeric suffixes in order', () => {
    const sorted = ['2026.01.22-2', '2025.12.31', '2026.01.22', '2026.01.22-10', '2026.01.23'].sort(compareVersionsDesc);
    assert.deepEqual(sorted, ['2026.01.23', '2026.01.22-10', '2026.01.22-2', '2026.01.22', '2025.12.31']);
  });
});

describe('retention plan', () => {
  const v = (version: string, complete = true, pinned = false): StoredVersion => ({ version, complete, pinned });
  const deleted = (plan: ReturnType<typeof planPrune>) => plan.delete.map((d) => d.version).sort();
  const byCount = (count: number, maxAgeDays: number | null = null, today = '2026.02.10'): RetentionPolicy => ({ count, maxAgeDays, today: today.replaceAll('.', '-') });

  test('keeps the newest four complete versions', () => {
    const versions = ['2026.01.01', '2026.01.08', '2026.01.15', '2026.01.22', '2026.01.29'].map((x) => v(x));
    assert.deepEqual(deleted(planPrune(versions, '2026.01.29', byCount(4))), ['2026.01.01']);
  });

  test('never deletes latest or a pinned version', () => {
    const versions = [v('2026.01.01', true, true), v('2026.01.08'), v('2026.01.15'), v('2026.01.22'), v('2026.01.29'), v('2026.02.05')];
    // latest points at an old version (e.g. a rollback): it stays, as does the pinned one.
    const plan = planPrune(versions, '2026.01.08', byCount(2));
    assert.deepEqual(deleted(plan), ['2026.01.15', '2026.01.22']);
    assert.deepEqual(plan.keep.map((k) => `${k.version}:${k.reason}`).sort(), [
      '2026.01.01:pinned', '2026.01.08:latest', '2026.01.29:newest 2', '2026.02.05:newest 2',
    ]);
  });

  test('sweeps incomplete versions older than the newest complete one, keeps newer ones', () => {
    const versions = [v('2026.01.01', false), v('2026.01.08'), v('2026.01.15', false)];
    assert.deepEqual(deleted(planPrune(versions, '2026.01.08', byCount(4))), ['2026.01.01']);
    assert.deepEqual(deleted(planPrune([v('2026.01.01', false)], null, byCount(4))), []);
    const writing = { ...v('2026.01.01', false), writing: true };
    assert.deepEqual(deleted(planPrune([writing, v('2026.01.08')], '2026.01.08', byCount(4))), [], 'its run is still writing it');
  });

  test('rejects a retention count below one', () => {
    assert.throws(() => planPrune([], null, byCount(0)), /positive integer/);
    assert.throws(() => planPrune([], null, byCount(4, 0)), /retention days must be a positive integer/);
  });

  test('by age as well: older than retention_days goes even within the count, never latest, pinned or the newest complete', () => {
    const versions = [v('2025.11.02', true, true), v('2025.12.01'), v('2026.01.01'), v('2026.01.10'), v('2026.01.31')];
    // 2026-02-10: 2026.01.10 is 31 days old, 2026.01.01 40, 2025.12.01 71.
    assert.deepEqual(deleted(planPrune(versions, '2026.01.01', byCount(4, 30))), ['2025.12.01', '2026.01.10']);
    assert.deepEqual(deleted(planPrune(versions, '2026.01.31', byCount(4, 31))), ['2025.12.01', '2026.01.01']);
    // Every complete version too old: the newest one still stays.
    assert.deepEqual(deleted(planPrune([v('2025.01.01'), v('2025.02.01')], null, byCount(4, 7))), ['2025.01.01']);
    assert.deepEqual(retentionPolicy({ retention_count: 4, retention_days: 30 }, new Date('2026-02-10T23:59:00Z')), { count: 4, maxAgeDays: 30, today: '2026-02-10' });
  });
});

describe('checksums file', () => {
  test('is in the format sha256sum -c reads, sorted', () => {
    const text = renderChecksums({
      b: { file: 'b.parquet', sha256: 'f'.repeat(64) },
      a: { file: 'a.parquet', sha256: '0'.repeat(64) },
    });
    assert.equal(text, `${'0'.repeat(64)}  a.parquet\n${'f'.repeat(64)}  b.parquet\n`);
  });
});

describe('storage keys', () => {
  test('reject traversal, absolute and control characters', () => {
    for (const key of ['../x', 'a/../b', '/abs', 'a//b', 'a/./b', 'a\\b', 'a\nb', '']) {
      assert.throws(() => assertSafeKey(key), /unsafe storage key/, JSON.stringify(key));
    }
    assert.equal(assertSafeKey('v2026.01.22/usdcop_m5_ohlcv.parquet'), 'v2026.01.22/usdcop_m5_ohlcv.parquet');
    assert.equal(assertSafeKey('latest/'), 'latest/');
  });
});

describe('finding a manifest', () => {
  test('a folder that is one version\'s own answers for that version only', async () => {
    const storage = new LocalStorage(await mkdtemp(join(tmpdir(), 'seedvault-one-version-')));
    await storage.put(MANIFEST_FILE, JSON.stringify({ version: '2026.01.22', tables: {} }));
    assert.equal((await findManifest(storage, '2026.01.22')).manifest.version, '2026.01.22');
    assert.equal((await findManifest(storage, 'latest')).prefix, '');
    await assert.rejects(findManifest(storage, '2026.01.29'), /no complete snapshot 2026\.01\.29/);
  });
});
