import { condition, defineSignal, proxyActivities, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { ReadySignal, SignalType } from '../quality/signals.js';
import { SeedvaultJob } from './search-attributes.js';

/** Sent (by `notifySignalWaiters`) whenever a ready_signals row of the waited type changes. */
export const readySignalChanged = defineSignal('readySignalChanged');

export interface WaitForSignalInput {
  type: SignalType;
  timeoutMs: number;
}

export interface WaitForSignalResult {
  signal: ReadySignal | null;
  timedOut: boolean;
}

/** Rows changed by code that does not notify (expiry, a producer outside seedvault) are seen at this pace anyway. */
const RECHECK_MS = 60_000;

const { findReadySignalRow } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1s', maximumInterval: '30s' },
  summary: 'look for a completed, unblocked, unacknowledged signal',
});

/**
 * Waits for a ready signal of one type (seed 000's wait_for_signal, the Temporal way): looks
 * once, then sleeps on a condition until the `readySignalChanged` signal or the timeout.
 * The workflow id is `signalWaitWorkflowId(type, taskQueue)`, so every waiter shares one run and the
 * code that changes a row knows whom to signal.
 */
export async function waitForSignal(input: WaitForSignalInput): Promise<WaitForSignalResult> {
  upsertSearchAttributes([{ key: SeedvaultJob, value: 'signal-wait' }]);
  let changed = false;
  setHandler(readySignalChanged, () => {
    changed = true;
  });
  const deadline = Date.now() + input.timeoutMs;
  for (;;) {
    changed = false;
    const signal = await findReadySignalRow(input.type);
    if (signal) return { signal, timedOut: false };
    const remaining = deadline - Date.now();
    if (remaining <= 0) return { signal: null, timedOut: true };
    await condition(() => changed, Math.min(remaining, RECHECK_MS));
  }
}
