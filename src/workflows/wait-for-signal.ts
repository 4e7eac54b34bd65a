import { condition, defineSignal, proxyActivities, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { OPEN_SIGNAL_STATUSES } from '../domain/ready-signals.js';
import type { ReadySignal, SignalType } from '../quality/signals.js';
import { SeedvaultJob } from './search-attributes.js';

/** Sent (by `notifySignalWaiters`) whenever a ready_signals row of the waited type (or id) changes. */
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

const activityOptions = { startToCloseTimeout: '30 seconds', retry: { initialInterval: '1s', maximumInterval: '30s' } } as const;
const { findReadySignalRow } = proxyActivities<Activities>({ ...activityOptions, summary: 'look for a completed, unblocked, unacknowledged signal' });
const { readySignalRow } = proxyActivities<Activities>({ ...activityOptions, summary: "read the signal's status" });

/**
 * Waits for a ready signal of one type (seed 000's wait_for_signal, the Temporal way): looks
 * once, then sleeps on a condition until the `readySignalChanged` signal or the timeout.
 * The workflow id is `signalWaitWorkflowId(type, taskQueue)`, so every waiter shares one run and the
 * code that changes a row knows whom to signal.
 */
export async function waitForSignal(input: WaitForSignalInput): Promise<WaitForSignalResult> {
  const result = await pollUntil(input.timeoutMs, () => findReadySignalRow(input.type), (signal) => (signal ? 'done' : RECHECK_MS));
  return result.timedOut ? { signal: null, timedOut: true } : result;
}

export interface WaitForSignalIdInput {
  signalId: string;
  timeoutMs: number;
}

/**
 * Waits for one signal (seed 000's wait_for_signal(signal_id)) to leave active/processing:
 * completed, failed or expired. `signal` is null when the row is gone; on timeout it is the
 * signal as last seen. The workflow id is `signalIdWaitWorkflowId(signalId, taskQueue)`: the
 * CLI signals it when it moves the signal on. Expiring does not signal it, so the run also
 * wakes when the signal's `expires_at` passes.
 */
export async function waitForSignalId(input: WaitForSignalIdInput): Promise<WaitForSignalResult> {
  return pollUntil(input.timeoutMs, () => readySignalRow(input.signalId), (signal) => {
    if (!signal || !OPEN_SIGNAL_STATUSES.includes(signal.status)) return 'done';
    // A second past expires_at the activity finds it expired (at least a second, should the clocks disagree).
    return Math.min(RECHECK_MS, Math.max(1000, Date.parse(signal.expires_at) - Date.now() + 1000));
  });
}

/**
 * Looks, and until `next` says done, sleeps until `readySignalChanged`, the delay `next`
 * gives, or the timeout, then looks again. On timeout the result holds the last look.
 */
async function pollUntil(
  timeoutMs: number,
  look: () => Promise<ReadySignal | null>,
  next: (signal: ReadySignal | null) => 'done' | number,
): Promise<WaitForSignalResult> {
  upsertSearchAttributes([{ key: SeedvaultJob, value: 'signal-wait' }]);
  let changed = false;
  setHandler(readySignalChanged, () => {
    changed = true;
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    changed = false;
    const signal = await look();
    const wait = next(signal);
    if (wait === 'done') return { signal, timedOut: false };
    const remaining = deadline - Date.now();
    if (remaining <= 0) return { signal, timedOut: true };
    await condition(() => changed, Math.min(remaining, wait));
  }
}
