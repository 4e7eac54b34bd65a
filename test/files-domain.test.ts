import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../src/config/load.js';
import { classifyFileBackup, worstLevel } from '../src/domain/file-backup-health.js';
import { backupIdCandidate, backupIdFor, backupIdProblem, parseBackupId } from '../src/domain/file-backup-id.js';
import { fileBackupFacts, type ArchivedEntry } from '../src/domain/file-backup-metadata.js';
import { parsePointInTime, pickAtPointInTime, planFileCleanup, type BackupRef } from '../src/domain/file-backup-selection.js';
import { isoWeek } from '../src/domain/retention.js';
import { entryPathProblem, linkTargetProblem } from '../src/files/entry-paths.js';
import { fileBackupOffsetMinutes, fileBackupScheduleId, fileBackupSchedules } from '../src/temporal/file-backup-schedules.js';
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
      { portfolio: { days: 7 }, config: { days: 30 }, experiments: { days: 1 } },
      now,
    );
    assert.deepEqual(plan.delete.map((d) => d.backup_id).sort(), ['config_20241201_000000', 'experiments_20200101_000000', 'portfolio_20260101_000000', 'portfolio_20260120_000000']);
    const kept = Object.fromEntries(plan.keep.map((k) => [k.backup_id, k.reason]));
    assert.equal(kept.config_20250101_000000, 'newest of its type', 'an incomplete newer backup does not replace the newest complete one');
    assert.equal(kept.config_20260131_120000, 'incomplete, within 30 days');
    assert.equal(kept.adhoc_20190101_000000, 'type not configured');
  });

  test('ISO weeks in UTC: Monday starts a week, week 1 holds the first Thursday', () => {
    assert.equal(isoWeek(new Date('2026-01-05T00:00:00Z')), '2026-W02', 'a Monday');
    assert.equal(isoWeek(new Date('2026-01-04T23:59:59Z')), '2026-W01', 'the Sunday before');
    assert.equal(isoWeek(new Date('2025-12-29T00:00:00Z')), '2026-W01', 'late December can be week 1 of the next year');
    assert.equal(isoWeek(new Date('2021-01-03T12:00:00Z')), '2020-W53', 'early January can be the last week of the previous year');
    assert.equal(isoWeek(new Date('2026-01-05T01:00:00+02:00')), '2026-W01', 'UTC decides, not the writer\'s zone');
  });

  test('weekly tier: past retention_days the newest backup of each ISO week stays until weekly_retention_days', () => {
    // Daily backups at 02:00 from 2025-10-01 to 2026-01-31: four months.
    const daily: BackupRef[] = [];
    for (let t = Date.parse('2025-10-01T02:00:00Z'); t <= Date.parse('2026-01-31T02:00:00Z'); t += 86_400_000) {
      const at = new Date(t);
      daily.push(ref(backupIdFor('portfolio', at), at.toISOString()));
    }
    const incompleteSunday = ref('portfolio_20251221_030000', '2025-12-21T03:00:00Z', false);
    const plan = planFileCleanup([...daily, incompleteSunday], { portfolio: { days: 30, weeklyDays: 90 } }, now);
    const keep = new Map(plan.keep.map((k) => [k.backup_id, k]));
    const weekly = plan.keep.filter((k) => k.tier === 'weekly');
    const dayMs = 86_400_000;
    for (const k of weekly) {
      const at = Date.parse(parseBackupId(k.backup_id).at);
      assert.equal(new Date(at).getUTCDay(), 0, `${k.backup_id}: the newest of a full week is its Sunday`);
      assert.ok(now.getTime() - at > 30 * dayMs && now.getTime() - at <= 90 * dayMs, k.backup_id);
      assert.equal(k.reason, `newest of ${isoWeek(new Date(at))}, within 90 days`);
    }
    // Sundays older than 30 and at most 90 days: 2025-11-09 .. 2025-12-28.
    assert.deepEqual(weekly.map((k) => k.backup_id.slice(10, 18)).sort(), ['20251109', '20251116', '20251123', '20251130', '20251207', '20251214', '20251221', '20251228']);
    assert.equal(plan.keep.filter((k) => k.tier === 'daily').length, 29, 'the other backups of the last 30 days (2026-01-02 .. 01-30)');
    assert.equal(keep.get('portfolio_20260131_020000')?.tier, 'newest');
    const deleted = Object.fromEntries(plan.delete.map((d) => [d.backup_id, d.reason]));
    assert.equal(deleted.portfolio_20251227_020000, 'older than 30 days, not the newest of 2025-W52');
    assert.equal(deleted.portfolio_20251102_020000, 'newest of 2025-W44, older than 90 days');
    assert.equal(deleted.portfolio_20251221_030000, 'incomplete, older than 30 days', 'an incomplete backup is never a weekly one');
    assert.equal(keep.get('portfolio_20251221_020000')?.tier, 'weekly', 'the incomplete one does not take its week');
    assert.equal(plan.keep.length + plan.delete.length, daily.length + 1);

    const without = planFileCleanup(daily, { portfolio: { days: 30 } }, now);
    assert.equal(without.keep.length, 30, 'without the tier only the daily window stays');
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

  test('a latest run that found nothing to back up is yellow, with why; a failed verify stays red', () => {
    const nothing = { at: '2026-01-31T02:00:00.000Z', reason: "its sources match no file on the worker's host (relative to /srv): ./models" };
    const never = classifyFileBackup('models', null, now, nothing);
    assert.equal(never.status, 'yellow');
    assert.equal(never.details, `nothing to back up at 2026-01-31T02:00:00.000Z: ${nothing.reason}`);
    const gone = classifyFileBackup('models', { backup_id: 'models_20260130_020000', timestamp: '2026-01-30T02:00:00Z', verifyProblem: null }, now, nothing);
    assert.equal(gone.status, 'yellow', 'a fresh older backup does not hide that the files are gone');
    assert.match(gone.details, /; newest backup models_20260130_020000$/);
    assert.equal(gone.age_seconds, 46 * 3600, 'the age metric still sees the newest backup');
    assert.equal(classifyFileBackup('models', { backup_id: 'models_20260130_020000', timestamp: '2026-01-30T02:00:00Z', verifyProblem: 'sha256 mismatch' }, now, nothing).status, 'red');
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

describe('backup_metadata facts of a file backup', () => {
  const entry = (path: string, type: ArchivedEntry['type'], mtime: string): ArchivedEntry => ({ path, type, size: 0, mode: 0o644, mtime });
  const files = [
    entry('dir', 'directory', '2030-01-01T00:00:00.000Z'),
    entry('dir/a.txt', 'file', '2025-03-01T10:00:00.500Z'),
    entry('dir/b.txt', 'file', '2025-01-15T08:00:00.000Z'),
    entry('link', 'symlink', '2001-01-01T00:00:00.000Z'),
  ];

  test('every entry archived: 100 %, the span of the files only (not directories or links)', () => {
    assert.deepEqual(fileBackupFacts({ files, skipped: [] }), { entries: 4, completeness_pct: 100, data_start: '2025-01-15T08:00:00.000Z', data_end: '2025-03-01T10:00:00.500Z' });
  });

  test('skipped entries lower completeness, floored to 0.01', () => {
    const skipped = [{ path: 'sock', reason: 'not a regular file, directory or symlink' }, { path: 'out', reason: 'leaves the tree' }];
    assert.equal(fileBackupFacts({ files, skipped }).completeness_pct, 66.66);
    assert.equal(fileBackupFacts({ files: files.slice(0, 1), skipped: skipped.slice(0, 1) }).completeness_pct, 50);
  });

  test('nothing to span without files', () => {
    assert.deepEqual(fileBackupFacts({ files: [], skipped: [] }), { entries: 0, completeness_pct: 100, data_start: null, data_end: null });
    assert.deepEqual(fileBackupFacts({ files: files.slice(0, 1), skipped: [] }).data_start, null);
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
    assert.deepEqual(first.spec.intervals, [{ every: `${config.file_backups.types[enabled[0]!]!.interval_hours}h`, offset: '120m' }], 'daily at run_at, 02:00');
    assert.deepEqual(first.action.type === 'startWorkflow' && first.action.args, [{ types: [enabled[0]], trigger: 'schedule', cleanup: true }]);
    assert.ok(desiredSchedules(config).some((s) => s.scheduleId === first.scheduleId), 'schedule apply includes them');
    const off = { ...config, file_backups: { ...config.file_backups, enabled: false } };
    assert.deepEqual(fileBackupSchedules(off), [], 'file_backups.enabled: false turns every one off');
    assert.ok(!desiredSchedules(off).some((s) => s.scheduleId.startsWith('file-backup-')));
  });

  test('the shipped config follows seed 003: portfolio, trading history, config and models on, experiments off, 02:00, 30/90 days', () => {
    const { file_backups } = loadConfig(DEFAULT_CONFIG_PATH, {});
    const enabled = Object.entries(file_backups.types).filter(([, t]) => t.enabled).map(([type]) => type);
    assert.deepEqual(enabled.sort(), ['config', 'models', 'portfolio', 'trading_history']);
    assert.equal(file_backups.enabled, true);
    assert.equal(file_backups.run_at, '02:00');
    for (const type of enabled) assert.deepEqual([file_backups.types[type]!.retention_days, file_backups.types[type]!.weekly_retention_days], [30, 90], type);
    assert.deepEqual(file_backups.types.models!.sources, ['./models']);
    assert.equal(loadConfig(DEFAULT_CONFIG_PATH, { SEEDVAULT_FILE_BACKUPS: 'false' }).file_backups.enabled, false);
  });

  test('run_at sets the phase: other intervals keep it', () => {
    assert.equal(fileBackupOffsetMinutes('02:00', 24), 120);
    assert.equal(fileBackupOffsetMinutes('02:30', 6), 150);
    assert.equal(fileBackupOffsetMinutes('23:45', 6), 345, '23:45 every 6 h: 05:45, 11:45, 17:45, 23:45');
    assert.equal(fileBackupOffsetMinutes('02:00', 1), 0);
    assert.equal(fileBackupOffsetMinutes('02:00', 48), 120);
  });
});
