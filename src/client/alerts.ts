import { randomBytes } from 'node:crypto';
import { Command } from 'commander';
import type pg from 'pg';
import { postAlert } from '../alerts/deliver.js';
import { claimDelivery, recordDelivered, recordFailedAttempt } from '../alerts/deliveries.js';
import type { AlertChannelConfig } from '../config/alerts-schema.js';
import { createPool } from '../db/pool.js';
import { testAlert, type Alert } from '../domain/alerts.js';
import { errorMessage, InputError, ServiceError } from '../errors.js';
import { commandConfig } from './context.js';
import { printJson, printTable } from './output.js';

interface ChannelResult {
  channel: string;
  type: AlertChannelConfig['type'];
  delivered: boolean;
  error: string | null;
  ms: number;
  /** Recorded in alert_deliveries (doctor reads it); false when PostgreSQL did not answer. */
  recorded: boolean;
}

/** One attempt to one channel, recorded like the worker's deliveries so doctor sees a repaired channel. */
async function testChannel(pool: pg.Pool, channel: string, settings: AlertChannelConfig, alert: Alert): Promise<ChannelResult> {
  const started = Date.now();
  const error = await postAlert(channel, settings, alert).then(() => null, errorMessage);
  const ms = Date.now() - started;
  const record = error ? recordFailedAttempt(pool, alert, channel, error, true) : claimDelivery(pool, alert, channel).then(() => recordDelivered(pool, alert.key, channel));
  return { channel, type: settings.type, delivered: error === null, error, ms, recorded: await record.then(() => true, () => false) };
}

export function alertsCommand(): Command {
  const alerts = new Command('alerts').description('alert channels (config section alerts): webhooks and Slack');
  alerts
    .command('test')
    .description('send a test message to every channel from this host, one attempt each, and report per channel (exit 3 when one fails)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }, command: Command) => {
      const config = await commandConfig(command);
      const channels = Object.entries(config.alerts.channels);
      if (channels.length === 0) throw new InputError('no alert channels configured (alerts.channels in the config)');
      const alert = testAlert(new Date().toISOString(), randomBytes(4).toString('hex'));
      const pool = createPool(config.postgres.url, 2, 5000);
      let results: ChannelResult[];
      try {
        results = await Promise.all(channels.map(([channel, settings]) => testChannel(pool, channel, settings, alert)));
      } finally {
        await pool.end();
      }
      if (opts.json) printJson(results);
      else {
        printTable(
          results.map((r) => ({
            channel: r.channel,
            type: r.type,
            result: r.delivered ? `delivered in ${r.ms} ms` : `FAILED: ${r.error}`,
            recorded: r.recorded ? 'yes' : 'no (PostgreSQL did not answer)',
          })),
        );
      }
      const failed = results.filter((r) => !r.delivered);
      if (failed.length > 0) throw new ServiceError(`alerts test: ${failed.length} of ${results.length} channel(s) failed: ${failed.map((r) => r.channel).join(', ')}`);
    });
  return alerts;
}
