import {
  isCancellation,
  log,
  ParentClosePolicy,
  patched,
  proxyActivities,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { alertWorkflowId, type Alert, type RunRef } from '../domain/alerts.js';
import { causeMessage, rootCauseMessage } from '../errors.js';
import { SeedvaultJob } from './search-attributes.js';

export interface AlertDelivery {
  channel: string;
  status: 'delivered' | 'already delivered' | 'failed';
  error?: string;
}

const { alertSettings, recordAlertFailure } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '2s', maximumInterval: '30s', maximumAttempts: 5 },
});

/**
 * Delivers one alert to every configured channel at once. Each channel's `sendAlert` retries
 * with backoff for `alerts.retry_seconds` in all; a channel that stays down is recorded and
 * logged, and this run still completes. Its id is the alert's key, so the same alert raised
 * twice is delivered by one run.
 */
export async function deliverAlert(alert: Alert): Promise<AlertDelivery[]> {
  upsertSearchAttributes([{ key: SeedvaultJob, value: 'alert' }]);
  const { channels, retrySeconds } = await alertSettings();
  const { sendAlert } = proxyActivities<Activities>({
    startToCloseTimeout: '20 seconds',
    scheduleToCloseTimeout: `${retrySeconds} seconds`,
    retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', nonRetryableErrorTypes: ['ConfigError'] },
    summary: `send ${alert.kind}`,
  });
  return Promise.all(
    channels.map(async (channel): Promise<AlertDelivery> => {
      try {
        return { channel, status: await sendAlert({ alert, channel }) };
      } catch (err) {
        const error = rootCauseMessage(err);
        log.warn('alert not delivered', { channel, kind: alert.kind, key: alert.key, error });
        await recordAlertFailure({ alert: { key: alert.key, kind: alert.kind }, channel, error });
        return { channel, status: 'failed', error };
      }
    }),
  );
}

/** The running workflow, for an alert about it. */
export function currentRun(): RunRef {
  const info = workflowInfo();
  return { id: info.workflowId, runId: info.runId };
}

/**
 * Hands an alert to its own `deliverAlert` workflow and returns once that has started: the
 * child is abandoned, so a dead webhook never delays or fails the job that raised it.
 * Histories from before alerts existed replay without it (patch `alerts`).
 */
export async function raiseAlert(alert: Alert): Promise<void> {
  if (!patched('alerts')) return;
  try {
    await startChild(deliverAlert, {
      workflowId: alertWorkflowId(alert.key),
      args: [alert],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      staticSummary: `${alert.kind}: ${alert.title}`,
    });
  } catch (err) {
    // Already started (the same alert raised again) or refused: the job goes on either way.
    log.warn('alert not raised', { kind: alert.kind, key: alert.key, error: rootCauseMessage(err) });
  }
}

/** Runs a job; when it fails (not when it is cancelled), raises `alertFor(the error)` and rethrows. */
export async function alertingOnFailure<T>(job: () => Promise<T>, alertFor: (error: string) => Alert): Promise<T> {
  try {
    return await job();
  } catch (err) {
    if (!isCancellation(err)) await raiseAlert(alertFor(causeMessage(err)));
    throw err;
  }
}
