import { ApplicationFailure } from '@temporalio/activity';
import { postAlert } from '../alerts/deliver.js';
import { claimDelivery, recordDelivered, recordFailedAttempt } from '../alerts/deliveries.js';
import { signalExpiredAlert, type Alert, type ExpiredSignal } from '../domain/alerts.js';
import { errorMessage, InputError } from '../errors.js';
import { log } from '../logging.js';
import { workflowUiLink } from '../temporal/connection.js';
import type { ActivityDeps } from './deps.js';

/** Expired signals alerted per run at most; older ones wait for the next run. */
const MAX_EXPIRED_ALERTS = 50;

/** Alert delivery (the `alerts` config section); workflows pass channel names, never URLs. */
export function alertActivities({ config, pool }: ActivityDeps) {
  return {
    async alertSettings(): Promise<{ channels: string[]; retrySeconds: number }> {
      return { channels: Object.keys(config.alerts.channels), retrySeconds: config.alerts.retry_seconds };
    },

    /** One attempt to notify one channel; a key already delivered to it is not sent again. */
    async sendAlert(input: { alert: Alert; channel: string }): Promise<'delivered' | 'already delivered'> {
      const { alert, channel } = input;
      const settings = config.alerts.channels[channel];
      if (!settings) throw ApplicationFailure.nonRetryable(`unknown alert channel ${channel}`, 'ConfigError');
      if ((await claimDelivery(pool, alert, channel)) === 'already delivered') return 'already delivered';
      try {
        await postAlert(channel, settings, alert, alert.workflow && workflowUiLink(config, alert.workflow.id, alert.workflow.runId));
      } catch (err) {
        const message = errorMessage(err);
        await recordFailedAttempt(pool, alert, channel, message, false);
        if (err instanceof InputError) throw ApplicationFailure.nonRetryable(message, 'ConfigError');
        throw ApplicationFailure.retryable(message, 'AlertNotDelivered');
      }
      await recordDelivered(pool, alert.key, channel);
      return 'delivered';
    },

    /** The delivery gave up: recorded (doctor shows the channel red) and logged; the job it reports on is unaffected. */
    async recordAlertFailure(input: { alert: Pick<Alert, 'key' | 'kind'>; channel: string; error: string }): Promise<void> {
      await recordFailedAttempt(pool, input.alert, input.channel, input.error, true);
      log.warn({ channel: input.channel, kind: input.alert.kind, key: input.alert.key, error: input.error }, 'alert not delivered');
    },

    /** Signals expired in the last day whose alert was not raised yet (none when no channel is configured). */
    async expiredSignalsToAlert(): Promise<ExpiredSignal[]> {
      if (Object.keys(config.alerts.channels).length === 0) return [];
      const { rows } = await pool.query<{ signal_id: string; signal_type: string; pipeline_run_id: string; expires_at: Date }>(
        `select signal_id::text, signal_type, pipeline_run_id, expires_at from ready_signals
         where status = 'expired' and expires_at > now() - interval '1 day' order by expires_at limit 1000`,
      );
      const signals = rows.map((r) => ({ ...r, expires_at: r.expires_at.toISOString() }));
      const keyOf = (s: ExpiredSignal) => signalExpiredAlert(s, '').key;
      const raised = await pool.query<{ dedupe_key: string }>(`select distinct dedupe_key from alert_deliveries where dedupe_key = any($1)`, [signals.map(keyOf)]);
      const done = new Set(raised.rows.map((r) => r.dedupe_key));
      return signals.filter((s) => !done.has(keyOf(s))).slice(0, MAX_EXPIRED_ALERTS);
    },
  };
}
