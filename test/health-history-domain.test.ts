import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { HealthLevel } from '../src/domain/file-backup-health.js';
import { summariseHealthHistory } from '../src/domain/health-history.js';
import { classifyDeepVerify } from '../src/domain/health.js';
import { cgroupMemoryLimit, percentOf } from '../src/domain/resource-usage.js';

const TO = new Date('2026-03-02T12:00:00Z');
const FROM = new Date(TO.getTime() - 24 * 3_600_000);
const HOUR = 3_600_000;
const at = (hoursBeforeTo: number) => new Date(TO.getTime() - hoursBeforeTo * HOUR);
const m = (component: string, status: HealthLevel, hoursBeforeTo: number) => ({ component, status, measuredAt: at(hoursBeforeTo) });

describe('health history summary', () => {
  test('time in each level runs from one measurement to the next, the last one to the end of the window', () => {
    const [c] = summariseHealthHistory([m('a', 'green', 20), m('a', 'red', 14), m('a', 'yellow', 8), m('a', 'green', 2)], FROM, TO);
    assert.deepEqual(c!.time_ms, { green: 8 * HOUR, yellow: 6 * HOUR, red: 6 * HOUR });
    assert.equal(c!.worst, 'red');
    assert.equal(c!.changes, 3);
    assert.equal(c!.measurements, 4);
    assert.equal(c!.last_status, 'green');
    assert.equal(c!.last_measured_at, at(2).toISOString());
  });

  test('a measurement before the window sets the level at its start and counts one change into the window', () => {
    const [c] = summariseHealthHistory([m('a', 'red', 30), m('a', 'red', 26), m('a', 'green', 12)], FROM, TO);
    assert.deepEqual(c!.time_ms, { green: 12 * HOUR, yellow: 0, red: 12 * HOUR });
    assert.equal(c!.changes, 1);
    assert.equal(c!.measurements, 1);
    // The worst level is judged on measurements inside the window only.
    assert.equal(c!.worst, 'green');
  });

  test('components are kept apart, sorted, and one measured only before the window is left out', () => {
    const out = summariseHealthHistory([m('b', 'yellow', 5), m('a', 'green', 6), m('a', 'green', 3), m('gone', 'red', 40)], FROM, TO);
    assert.deepEqual(out.map((c) => c.component), ['a', 'b']);
    assert.equal(out[0]!.changes, 0);
    assert.deepEqual(out[1]!.time_ms, { green: 0, yellow: 5 * HOUR, red: 0 });
  });

  test('measurements arrive in any order', () => {
    const sorted = summariseHealthHistory([m('a', 'green', 20), m('a', 'red', 10)], FROM, TO);
    const shuffled = summariseHealthHistory([m('a', 'red', 10), m('a', 'green', 20)], FROM, TO);
    assert.deepEqual(shuffled, sorted);
    assert.equal(sorted[0]!.last_status, 'red');
  });
});

describe('resource readings', () => {
  test('a cgroup limit counts only when it limits something', () => {
    const total = 16 * 2 ** 30;
    assert.equal(cgroupMemoryLimit('max\n', total), null);
    assert.equal(cgroupMemoryLimit('9223372036854771712\n', total), null);
    assert.equal(cgroupMemoryLimit(`${2 ** 30}\n`, total), 2 ** 30);
    assert.equal(cgroupMemoryLimit('', total), null);
  });

  test('percentages are clamped to the column range and rounded to two decimals', () => {
    assert.equal(percentOf(1, 3), 33.33);
    assert.equal(percentOf(5, 2), 100);
    assert.equal(percentOf(1, 0), 0);
  });
});

describe('deep verify verdict', () => {
  const weekly = { enabled: true, interval_days: 7 };
  const daysAgo = (d: number) => new Date(TO.getTime() - d * 24 * HOUR).toISOString();
  const latest = { version: '2026.03.01', createdAt: daysAgo(1) };

  test('red while a kept version\'s last deep verify failed, whatever the others say', () => {
    const v = classifyDeepVerify([{ version: '2026.02.22', verifiedAt: daysAgo(8), problems: ['x.parquet: sha256 mismatch'] }, { version: '2026.03.01', verifiedAt: daysAgo(0), problems: [] }], latest, TO, weekly);
    assert.equal(v.status, 'red');
    assert.match(v.details, /^2026\.02\.22 failed deep verify at .*: x\.parquet: sha256 mismatch$/);
  });

  test('yellow when the newest is older than twice the interval, green within it', () => {
    assert.equal(classifyDeepVerify([{ version: 'a', verifiedAt: daysAgo(14.5), problems: [] }], latest, TO, weekly).status, 'yellow');
    assert.equal(classifyDeepVerify([{ version: 'a', verifiedAt: daysAgo(13.5), problems: [] }], latest, TO, weekly).status, 'green');
    assert.equal(classifyDeepVerify([{ version: 'a', verifiedAt: daysAgo(2.5), problems: [] }], latest, TO, { enabled: true, interval_days: 1 }).status, 'yellow');
    assert.equal(classifyDeepVerify([{ version: 'a', verifiedAt: daysAgo(30), problems: [] }], latest, TO, { ...weekly, enabled: false }).status, 'green', 'no schedule, no staleness');
  });

  test('before the first deep verify, the latest snapshot\'s age stands in', () => {
    assert.equal(classifyDeepVerify([], latest, TO, weekly).status, 'green');
    assert.equal(classifyDeepVerify([], { ...latest, createdAt: daysAgo(15) }, TO, weekly).status, 'yellow');
    assert.equal(classifyDeepVerify([], null, TO, weekly).status, 'green');
  });
});
