import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../src/config/load.js';
import { classifyFileBackup, worstLevel } from '../src/domain/file-backup-health.js';
import { backupIdCandidate, backupIdFor, backupIdProblem, parseBackupId } from '../src/domain/file-backup-id.js';
import { parsePointInTime, pickAtPointInTime, planFileCleanup, type BackupRef } from '../src/domain/file-backup-selection.js';
import { entryPathProblem, linkTargetProblem } from '../src/files/entry-paths.js';
import { fileBackupScheduleId, fileBackupSchedules } from '../src/temporal/file-backup-schedules.js';
import { desiredSchedules } from '../src/temporal/schedules.js';

const ref = (backup_id: string, timestamp: string, complete = true): BackupRef => ({ backup_id, backup_type: parseBackupId(backup_id).type, timestamp, complete });

describe('file backup ids', () => {
  test('are <type>_<YYYYMMDD_HHMMSS> in UTC, with -n for a second backup in the same second', () => {
    assert.equal(backupIdFor('portfolio', new Date('2025-12-17T16:20:39.999Z')), 'portfolio_20251217_162039');
    assert.equal(backupIdFor('trading_history', new Date('2026-01-01T00:00:00+05:00')), 'trading_history_20251231_190000');
    assert.equal(backupIdCandidate('config_20251217_162039', 1), 'config_20251217_162039');
    assert.equal(backupIdCandidate('config_20251217_162039', 2), 'config_20251217_162039-2');
    assert.deepEqual(parseBackupId('trading_history_20251217_162039-2'), { type: 'trading_history', at: '2025-12-17T16:20:39.000Z', suffix: 2 });
  });

  test('anything else is rejected before it can become a path', () => {
    const bad = ['', '..', '../portfolio_20251217_162039', 'portfolio_20251217_162039/..', '/etc/passwd', 'portfolio/20251217_162039',
      'portfolio_20251217_162039/', 'Portfolio_20251217_162039', 'portfolio_20251317_162039', 'portfolio_20250230_120000',
      'portfolio_20251217_246000', 'portfolio_20251217_162039-0', 'portfolio_20251217_162039-', 'portfolio_２０２５1217_162039',
      'portfolio\u200b_20251217_162039', 'portfolio_20251217_162039\n', 'pörtfolio_20251217_162039', `${'a'.repeat(60)}_20251217_162039`, '_20251217_162039'];
    for (const id of bad) assert.notEqual(backupIdProblem(id), null, JSON.stringify(id));
    assert.throws(() => backupIdFor('../x', new Date()), /invalid backup type/);
  });
});

describe('point in time', () => {
  const backups = [
    ref('portfolio_20260101_020000', '2026-01-01T02:00:00.000Z'),
    ref('portfolio_20260102_020000', '2026-01-02T02:00:00.000Z'),
    ref('portfolio_20260102_020000-2', '2026-01-02T02:00:00.400Z'),
    ref('portfolio_20260103_020000', '2026-01-03T02:00:00.000Z', false),
    ref('config_20260101_120000', '2026-01-01T12:00:00.000Z'),
  ];
  const picked = (at: string, types?: string[]) => Object.fromEntries([...pickAtPointInTime(backups, new Date(at), types)].map(([t, b]) => [t, b.backup_id]));

  test('per type the newest complete backup at or before the time', () => {
    assert.deepEqual(picked('2026-01-02T02:00:00.000Z'), { portfolio: 'portfolio_20260102_020000', config: 'config_20260101_120000' });
    assert.deepEqual(picked('2026-01-05T00:00:00Z'), { portfolio: 'portfolio_20260102_020000-2', config: 'config_20260101_120000' }, 'incomplete is skipped');
    assert.deepEqual(picked('2026-01-01T11:59:59Z'), { portfolio: 'portfolio_20260101_020000' });
    assert.deepEqual(picked('2025-12-31T00:00:00Z'), {});
    assert.deepEqual(picked('2026-01-05T00:00:00Z', ['config']), { config: 'config_20260101_120000' });
  });

  test('--at accepts ISO dates and times; no zone is UTC, a bare date is the end of that day', () => {
    assert.equal(parsePointInTime('2026-01-02')?.toISOString(), '2026-01-02T23:59:59.999Z');
    assert.equal(parsePointInTime('2026-01-02T02:00')?.toISOString(), '2026-01-02T02:00:00.000Z');
    assert.equal(parsePointInTime('2026-01-02 02:00:00+02:00')?.toISOString(), '2026-01-02T00:00:00.000Z');
    for (const bad of ['yesterday', '2026-13-01', '2026-01-02T25:00', '', '1e12']) assert.equal(parsePointInTime(bad), null, bad);
  });
});

describe('cleanup plan', () => {
  const now = new Date('2026-02-01T00:00:00Z');
  test('deletes past retention_days but never the newest complete backup of a type', () => {
    const plan = planFileCleanup(
      [
        ref('portfolio_20260131_000000', '2026-01-31T00:00:00Z'),
        ref('portfolio_20260120_000000', '2026-01-20T00:00:00Z'),
        ref('portfolio_20260101_000000', '2026-01-01T00:00:00Z'),
        ref('config_20250101_000000', '2025-01-01T00:00:00Z'),
        ref('config_20241201_000000', '2024-12-01T00:00:00Z'),
        ref('config_20260131_120000', '2026-01-31T12:00:00Z', false),
        ref('experiments_20200101_000000', '2020-01-01T00:00:00Z', false),
        ref('adhoc_20200101_000000', '2020-01-01T00:00:00Z'),
        ref('adhoc_20190101_000000', '2019-01-01T00:00:00Z'),
      ],
      { portfolio: 7, config: 30, experiments: 1 },
      now,
    );
    assert.deepEqual(plan.delete.map((d) => d.backup_id).sort(), ['config_20241201_000000', 'experiments_20200101_000000', 'portfolio_20260101_000000', 'portfolio_20260120_000000']);
    const kept = Object.fromEntries(plan.keep.map((k) => [k.backup_id, k.reason]));
    assert.equal(kept.config_20250101_000000, 'newest of its type', 'an incomplete newer backup does not replace the newest complete one');
    assert.equal(kept.config_20260131_120000, 'incomplete, within 30 days');
    assert.equal(kept.adhoc_20190101_000000, 'type not configured');
  });
});

describe('health', () => {
  const now = new Date('2026-02-01T00:00:00Z');
  test('fresh is green, none or older than 48 h is yellow, a failed verify is red', () => {
    const fresh = classifyFileBackup('portfolio', { backup_id: 'portfolio_20260131_000000', timestamp: '2026-01-31T00:00:00Z', verifyProblem: null }, now);
    const stale = classifyFileBackup('config', { backup_id: 'config_20260129_230000', timestamp: '2026-01-29T23:00:00Z', verifyProblem: null }, now);
    const none = classifyFileBackup('data', null, now);
    const broken = classifyFileBackup('strategies', { backup_id: 'strategies_20260131_000000', timestamp: '2026-01-31T00:00:00Z', verifyProblem: 'sha256 mismatch' }, now);
    assert.deepEqual([fresh.status, stale.status, none.status, broken.status], ['green', 'yellow', 'yellow', 'red']);
    assert.equal(fresh.component, 'file_backups.portfolio');
    assert.match(stale.details, /older than 48 h/);
    assert.equal(worstLevel([fresh, stale]), 'yellow');
    assert.equal(worstLevel([fresh, stale, broken]), 'red');
    assert.equal(worstLevel([fresh]), 'green');
  });
});

describe('archive entry paths', () => {
  test('only paths and links that stay inside the destination pass', () => {
    for (const ok of ['a', 'a/b c/ü.txt', '.hidden', 'a/./b']) assert.equal(entryPathProblem(ok), null, ok);
    for (const bad of ['', '../x', 'a/../../x', 'a/..', '/etc/passwd', 'C:/x', 'a\\..\\x', 'a\0b']) assert.notEqual(entryPathProblem(bad), null, bad);
    assert.equal(linkTargetProblem('a/link', '../b'), null);
    assert.equal(linkTargetProblem('a/b/link', '../../c'), null);
    assert.notEqual(linkTargetProblem('a/link', '../../b'), null);
    assert.notEqual(linkTargetProblem('link', '/etc/passwd'), null);
    assert.notEqual(linkTargetProblem('link', '..'), null);
  });
});

describe('file backup schedules', () => {
  test('one per enabled type, every interval_hours, applying retention after each run', () => {
    const config = loadConfig(DEFAULT_CONFIG_PATH, {});
    const schedules = fileBackupSchedules(config);
    const enabled = Object.entries(config.file_backups.types).filter(([, t]) => t.enabled).map(([type]) => type);
    assert.deepEqual(schedules.map((s) => s.scheduleId), enabled.map(fileBackupScheduleId));
    assert.equal(fileBackupScheduleId('trading_history'), 'file-backup-trading-history');
    const first = schedules[0]!;
    assert.deepEqual(first.spec.intervals, [{ every: `${config.file_backups.types[enabled[0]!]!.interval_hours}h` }]);
    assert.deepEqual(first.action.type === 'startWorkflow' && first.action.args, [{ types: [enabled[0]], trigger: 'schedule', cleanup: true }]);
    assert.ok(desiredSchedules(config).some((s) => s.scheduleId === first.scheduleId), 'schedule apply includes them');
  });
});
