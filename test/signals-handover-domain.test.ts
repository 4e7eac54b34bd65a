import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { handoverStatus, type HandoverSignal } from '../src/domain/ready-signals.js';

const signal = (signal_id: string, status: string | null, signal_type: string | null = 'DATA_READY'): HandoverSignal => ({
  signal_id,
  signal_type,
  status,
  completed_at: status === 'completed' ? '2026-01-20T08:05:00.000Z' : null,
});

describe('websocket handover rule', () => {
  test('a completed WEBSOCKET_READY signal is ready whatever its dependencies say', () => {
    const s = handoverStatus('run-1', signal('ws', 'completed', 'WEBSOCKET_READY'), [signal('d1', 'failed')]);
    assert.equal(s.ready, true);
    assert.equal(s.reason, 'WEBSOCKET_READY signal completed');
    assert.equal(s.pipeline_run_id, 'run-1');
    assert.deepEqual(s.dependencies.map((d) => d.signal_id), ['d1']);
  });

  test('an open signal is ready once every dependency completed, and names those it still waits for', () => {
    const ws = signal('ws', 'processing', 'WEBSOCKET_READY');
    const all = handoverStatus('r', ws, [signal('d1', 'completed'), signal('d2', 'completed')]);
    assert.deepEqual([all.ready, all.reason], [true, 'all 2 dependencies completed']);
    const waiting = handoverStatus('r', ws, [signal('d1', 'completed'), signal('d2', 'active', 'PROCESSED_READY'), signal('d3', null, null)]);
    assert.equal(waiting.ready, false);
    assert.equal(waiting.reason, 'waiting for 2 of 3 dependencies: PROCESSED_READY d2 (active), signal d3 (missing)');
    assert.equal(handoverStatus('r', signal('ws', 'active', 'WEBSOCKET_READY'), []).ready, true, 'nothing to wait for');
  });

  test('a failed or expired WEBSOCKET_READY signal, or none, is never ready', () => {
    for (const status of ['failed', 'expired']) {
      const s = handoverStatus('r', signal('ws', status, 'WEBSOCKET_READY'), [signal('d1', 'completed')]);
      assert.deepEqual([s.ready, s.reason], [false, `WEBSOCKET_READY signal is ${status}`]);
    }
    const none = handoverStatus('r', null, []);
    assert.deepEqual([none.ready, none.websocket], [false, null]);
  });
});
