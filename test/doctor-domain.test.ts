import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  doctorExitCode,
  doctorReport,
  green,
  lastRunVerdict,
  migrationVerdict,
  POLLER_LIVE_SECONDS,
  red,
  scheduleVerdict,
  searchAttributeVerdict,
  skipped,
  workerVerdict,
  yellow,
  type ScheduledRun,
} from '../src/domain/doctor.js';

const NOW = new Date('2026-03-02T10:00:00Z');
const secondsAgo = (s: number) => new Date(NOW.getTime() - s * 1000);

describe('doctor verdicts', () => {
  test('migrations: a missing one is red and says to migrate; an unknown one is yellow; all applied is green', () => {
    const shipped = ['001_a', '002_b', '003_c'];
    const missing = migrationVerdict(['001_a', '003_c'], shipped);
    assert.equal(missing.status, 'red');
    assert.match(missing.details, /1 not applied: 002_b/);
    assert.equal(missing.fix, 'run: seedvault setup (or: seedvault migrate)');
    assert.equal(migrationVerdict([], shipped).details, '3 not applied: 001_a, 002_b, 003_c');
    const newer = migrationVerdict([...shipped, '004_d'], shipped);
    assert.equal(newer.status, 'yellow');
    assert.match(newer.details, /004_d/);
    assert.deepEqual(migrationVerdict(shipped, shipped), green('migrations', 'current: 3 applied, last 003_c'));
  });

  test('worker: live pollers of both kinds are green; none, one kind only or only stale ones are red naming the queue', () => {
    const live = (identity: string, kind: 'workflow' | 'activity', s = 5) => ({ identity, kind, lastPoll: secondsAgo(s) });
    const ok = workerVerdict('q1', [live('1@a', 'workflow', 3), live('1@a', 'activity', 40), live('2@b', 'workflow', 10), live('2@b', 'activity', 20)], NOW);
    assert.equal(ok.status, 'green');
    assert.equal(ok.details, '2 on task queue q1: 1@a (last poll 3 s ago), 2@b (last poll 10 s ago)');

    const none = workerVerdict('q1', [], NOW);
    assert.equal(none.status, 'red');
    assert.equal(none.details, 'no worker polls task queue q1');
    assert.match(none.fix!, /seedvault worker/);

    const stale = workerVerdict('q1', [live('1@a', 'workflow', POLLER_LIVE_SECONDS + 30), live('1@a', 'activity', POLLER_LIVE_SECONDS + 1)], NOW);
    assert.equal(stale.status, 'red');
    assert.equal(stale.details, `no worker polls task queue q1; last poll by 1@a ${POLLER_LIVE_SECONDS + 1} s ago`);

    const half = workerVerdict('q1', [live('1@a', 'workflow')], NOW);
    assert.equal(half.status, 'red');
    assert.match(half.details, /^no worker polls activity tasks of task queue q1/);
  });

  test('search attributes: missing ones are red with the command that registers the first', () => {
    assert.deepEqual(searchAttributeVerdict('default', [], 9), green('search attributes', '9 registered in default'));
    const missing = searchAttributeVerdict('ns1', [{ name: 'FailureAlert', type: 'BOOL' }, { name: 'HealthStatus', type: 'KEYWORD' }], 9);
    assert.equal(missing.status, 'red');
    assert.match(missing.details, /missing in ns1: FailureAlert, HealthStatus/);
    assert.match(missing.fix!, /seedvault setup.*--name FailureAlert --type Bool/);
  });

  test('schedule: missing or on another task queue is red (apply), paused is yellow (unpause), else green with its next run', () => {
    const next = new Date('2026-03-08T02:00:00Z');
    assert.deepEqual(scheduleVerdict('s1', { paused: null, nextRun: null, taskQueue: null }, 'q'), red('schedule s1', 'missing', 'run: seedvault setup (or: seedvault schedule apply)'));
    const elsewhere = scheduleVerdict('s1', { paused: false, nextRun: next, taskQueue: 'other' }, 'q');
    assert.equal(elsewhere.status, 'red');
    assert.match(elsewhere.details, /task queue other, not q/);
    assert.deepEqual(
      scheduleVerdict('s1', { paused: true, note: 'maintenance window', nextRun: next, taskQueue: 'q' }, 'q'),
      yellow('schedule s1', 'paused (maintenance window); next run 2026-03-08T02:00:00.000Z once unpaused', 'seedvault schedule unpause s1'),
    );
    assert.deepEqual(scheduleVerdict('s1', { paused: false, nextRun: next, taskQueue: 'q' }, 'q'), green('schedule s1', 'next run 2026-03-08T02:00:00.000Z'));
  });

  test('last run: the newest finished run decides; the last success is named; running runs do not hide a failure', () => {
    const run = (status: string, hour: number): ScheduledRun => ({
      workflowId: `wf-${hour}`,
      startedAt: new Date(Date.UTC(2026, 2, 1, hour)),
      status,
      closedAt: status === 'RUNNING' ? null : new Date(Date.UTC(2026, 2, 1, hour, 30)),
    });
    assert.deepEqual(lastRunVerdict('s1', []), green('last run s1', 'no run yet'));
    assert.deepEqual(lastRunVerdict('s1', [run('RUNNING', 9)]), green('last run s1', 'first run running since 2026-03-01T09:00:00.000Z'));
    assert.deepEqual(lastRunVerdict('s1', [run('COMPLETED', 8)]), green('last run s1', 'last success 2026-03-01T08:30:00.000Z'));
    const failed = lastRunVerdict('s1', [run('RUNNING', 9), run('FAILED', 8), run('TIMED_OUT', 7), run('COMPLETED', 6)]);
    assert.equal(failed.status, 'red');
    assert.equal(failed.details, 'failed 2026-03-01T08:30:00.000Z (wf-8); last success 2026-03-01T06:30:00.000Z; running since 2026-03-01T09:00:00.000Z');
    assert.match(failed.fix!, /temporal workflow show --workflow-id wf-8; once fixed: seedvault schedule trigger s1/);
    const never = lastRunVerdict('s1', [run('TIMED_OUT', 7)]);
    assert.match(never.details, /^timed out .*no success among the recent runs$/);
  });

  test('report and exit code: skipped lines do not count; a service outage wins over config, config over the rest', () => {
    const report = doctorReport([green('a', ''), skipped('b', 'x')], NOW);
    assert.equal(report.status, 'green');
    assert.equal(doctorReport([green('a', ''), yellow('b', '', 'f')], NOW).status, 'yellow');
    assert.equal(doctorExitCode([green('a', ''), yellow('b', '', 'f'), skipped('c', 'x')]), 0);
    assert.equal(doctorExitCode([red('a', '', 'f')]), 4);
    assert.equal(doctorExitCode([red('a', '', 'f'), red('b', '', 'f', 'config')]), 2);
    assert.equal(doctorExitCode([red('a', '', 'f', 'config'), red('b', '', 'f', 'service')]), 3);
  });
});
