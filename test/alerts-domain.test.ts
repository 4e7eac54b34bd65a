import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  alertWorkflowId,
  fileBackupFailedAlert,
  healthAlert,
  healthTransition,
  restoreFailedAlert,
  signalExpiredAlert,
  slackBody,
  snapshotFailedAlert,
  symbolFailingAlert,
  symbolRecoveredAlert,
  testAlert,
  webhookBody,
} from '../src/domain/alerts.js';
import { alertChannelVerdict } from '../src/domain/doctor.js';

const RUN = { id: 'seed-snapshot-2026.03.01', runId: 'r-1' };
const AT = '2026-03-01T02:00:00.000Z';
const LATER = '2026-03-01T09:00:00.000Z';

describe('alert rules', () => {
  test('dedupe keys are stable for the same event and differ between events', () => {
    assert.equal(snapshotFailedAlert(RUN, '2026.03.01', 'boom', AT).key, 'snapshot_failed:seed-snapshot-2026.03.01:r-1');
    assert.equal(snapshotFailedAlert(RUN, '2026.03.01', 'other error', LATER).key, snapshotFailedAlert(RUN, null, 'boom', AT).key, 'the time and message are not part of it');
    assert.notEqual(snapshotFailedAlert({ ...RUN, runId: 'r-2' }, null, 'boom', AT).key, snapshotFailedAlert(RUN, null, 'boom', AT).key);
    assert.notEqual(restoreFailedAlert(RUN, 'x', AT).key, fileBackupFailedAlert(RUN, 'x', AT).key, 'kinds never share keys');

    // One alert per failure streak, whichever run of the streak raises it.
    const streak = { symbol: 'USD/COP', streakStartedAt: AT, consecutiveFailures: 3 };
    const third = symbolFailingAlert(streak, RUN, LATER);
    assert.equal(third.key, `symbol_failing:USD/COP:${AT}`);
    assert.equal(symbolFailingAlert({ ...streak, consecutiveFailures: 4 }, { id: 'other', runId: 'r-9' }, LATER).key, third.key);
    assert.notEqual(symbolFailingAlert({ ...streak, streakStartedAt: LATER }, RUN, LATER).key, third.key, 'a new streak alerts again');
    assert.equal(symbolRecoveredAlert(streak, RUN, LATER).key, `symbol_recovered:USD/COP:${AT}`);

    const signal = { signal_id: '3f1c', signal_type: 'DATA_READY', pipeline_run_id: 'run-7', expires_at: AT };
    assert.equal(signalExpiredAlert(signal, AT).key, signalExpiredAlert(signal, LATER).key);
    assert.notEqual(testAlert(AT, 'a').key, testAlert(AT, 'b').key);
    assert.equal(alertWorkflowId(third.key), `alert-symbol_failing:USD/COP:${AT}`);
  });

  test('health alerts on entering and leaving red only', () => {
    assert.equal(healthTransition(null, 'red'), 'health_red');
    assert.equal(healthTransition('green', 'red'), 'health_red');
    assert.equal(healthTransition('yellow', 'red'), 'health_red');
    assert.equal(healthTransition('red', 'red'), null);
    assert.equal(healthTransition('red', 'yellow'), 'health_recovered');
    assert.equal(healthTransition('red', 'green'), 'health_recovered');
    assert.equal(healthTransition(null, 'green'), null);
    assert.equal(healthTransition('green', 'yellow'), null);

    const components = Array.from({ length: 12 }, (_, i) => ({ component: `symbol.S${i}.freshness`, status: 'red' as const, details: 'no bars' }));
    const red = healthAlert('health_red', RUN, { status: 'red', components: [...components, { component: 'snapshot.age', status: 'green', details: 'ok' }] }, AT);
    assert.equal(red.title, 'health is red: 12 component(s)');
    assert.equal(red.text.split('\n').length, 9, 'eight listed, then the rest counted');
    assert.match(red.text, /\(\+4 more\)$/);
    assert.equal(healthAlert('health_recovered', RUN, { status: 'yellow', components }, AT).severity, 'resolved');
  });

  test('payloads are small: Slack gets one text field, the webhook the fields and the dedupe key; long errors are clipped', () => {
    const a = snapshotFailedAlert(RUN, '2026.03.01', 'x'.repeat(50_000), AT);
    const slack = JSON.parse(slackBody(a, 'http://ui/run'));
    assert.deepEqual(Object.keys(slack), ['text']);
    assert.match(slack.text, /^\[seedvault\] CRITICAL: seed snapshot 2026\.03\.01 failed\nx+…\nhttp:\/\/ui\/run$/);
    const hook = JSON.parse(webhookBody(a));
    assert.equal(hook.dedupe_key, a.key);
    assert.equal(hook.kind, 'snapshot_failed');
    assert.equal(hook.run_id, 'r-1');
    assert.ok(webhookBody(a).length < 1200, `${webhookBody(a).length} bytes`);
    assert.ok(slackBody(a).length < 1200);
  });

  test('doctor: an alert channel is red without its URL or when its last alert gave up, yellow after recent failures', () => {
    const at = new Date(AT);
    const facts = { channel: 'ops', urlEnv: 'OPS_URL', urlSet: true };
    assert.equal(alertChannelVerdict({ ...facts, urlSet: false, history: 'x' }).status, 'red');
    assert.match(alertChannelVerdict({ ...facts, urlSet: false, history: 'x' }).details, /OPS_URL is not set/);
    assert.equal(alertChannelVerdict({ ...facts, history: 'PostgreSQL is unreachable' }).status, 'skipped');
    const failed = alertChannelVerdict({ ...facts, history: { last: { kind: 'health_red', status: 'failed', at, error: 'no answer within 10 s' }, failedLastDay: 1 } });
    assert.equal(failed.status, 'red');
    assert.equal(failed.check, 'alerts ops');
    assert.match(failed.details, /health_red.*no answer within 10 s/);
    assert.match(failed.fix!, /seedvault alerts test/);
    assert.equal(alertChannelVerdict({ ...facts, history: { last: { kind: 'test', status: 'delivered', at, error: null }, failedLastDay: 2 } }).status, 'yellow');
    assert.equal(alertChannelVerdict({ ...facts, history: { last: { kind: 'test', status: 'delivered', at, error: null }, failedLastDay: 0 } }).status, 'green');
    assert.equal(alertChannelVerdict({ ...facts, history: { last: null, failedLastDay: 0 } }).details, 'nothing sent yet (try: seedvault alerts test)');
  });
});
