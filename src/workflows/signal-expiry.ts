import { proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { signalExpiredAlert } from '../domain/alerts.js';
import { raiseAlert } from './alerting.js';
import { SeedvaultJob } from './search-attributes.js';

const { expireReadySignals, expiredSignalsToAlert } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '5s', maximumInterval: '1 minute', maximumAttempts: 5 },
});

export interface SignalExpiryInput {
  trigger?: 'schedule' | 'manual';
}

export interface SignalExpiryResult {
  expired: number;
  alerted: number;
}

/**
 * Every few minutes (schedule `signal-expiry`): overdue active/processing ready signals move
 * to expired (waiters are woken), then every signal expired in the last day whose alert was
 * not raised yet is alerted, whoever expired it (this run, a CLI command, maintenance).
 */
export async function signalExpiry(_input: SignalExpiryInput = {}): Promise<SignalExpiryResult> {
  upsertSearchAttributes([{ key: SeedvaultJob, value: 'signal-expiry' }]);
  const expired = await expireReadySignals();
  const signals = await expiredSignalsToAlert();
  const at = new Date().toISOString();
  for (const signal of signals) await raiseAlert(signalExpiredAlert(signal, at));
  return { expired, alerted: signals.length };
}
