import { randomBytes } from 'node:crypto';
import { Command } from 'commander';
import { summariseHealthHistory } from '../domain/health-history.js';
import { InputError, IntegrityError } from '../errors.js';
import { healthMeasurements, healthReport, type HealthReport } from '../quality/health.js';
import { createStorage } from '../storage/index.js';
import { connectClient, workflowUiLink } from '../temporal/connection.js';
import type { HealthCheckInput } from '../workflows/health-check.js';
import { commandConfig } from './context.js';
import { withDatabase } from './database.js';
import { formatDuration, paintStatus, printJson, printTable } from './output.js';

/** pipeline_health keeps 30 days (seed 001 retention): no point looking further back. */
const MAX_HISTORY_HOURS = 30 * 24;

export function healthCommand(): Command {
  const health = new Command('health')
    .description('pipeline health: symbol freshness (market time), failure streaks, gaps and anomalies, snapshot age and verify, file backups (exit 4 when red)')
    .option('--run', 'run the healthCheck workflow (logs anomalies, writes pipeline_health, sets HealthStatus) instead of computing here')
    .option('--no-verify', 'do not read the latest snapshot back')
    .option('--json', 'machine-readable output')
    .action(async (opts: { run?: boolean; verify: boolean; json?: boolean }, command: Command) => {
      const config = await commandConfig(command);
      let report: HealthReport;
      if (opts.run) {
        const client = await connectClient(config);
        const input: HealthCheckInput = { trigger: 'manual', verifySnapshot: opts.verify };
        const workflowId = `health-check-${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}-${randomBytes(4).toString('hex')}`;
        const handle = await client.workflow.start('healthCheck', { taskQueue: config.temporal.task_queue, workflowId, args: [input] });
        const link = workflowUiLink(config, workflowId);
        if (!opts.json && link) process.stderr.write(`Web UI: ${link}\n`);
        report = (await handle.result()) as HealthReport;
      } else {
        report = await withDatabase(config, (pool) => healthReport({ config, pool, storage: createStorage(config.storage), verifySnapshot: opts.verify }));
      }
      if (opts.json) printJson(report);
      else {
        process.stdout.write(`health: ${report.status} (${report.measured_at})\n`);
        printTable(report.components.map((c) => ({ status: c.status, component: c.component, details: c.details })));
      }
      if (report.status === 'red') {
        throw new IntegrityError(`health is red: ${report.components.filter((c) => c.status === 'red').map((c) => c.component).join(', ')}`);
      }
    });
  health.addCommand(historyCommand());
  return health;
}

function historyCommand(): Command {
  return new Command('history')
    .description('per component over the last N hours of recorded pipeline_health: worst level, time in green / yellow / red, status changes, last status')
    .option('--hours <n>', `how far back, 1 to ${MAX_HISTORY_HOURS}`, '24')
    .option('--json', 'machine-readable output')
    .action(async (opts: { hours: string }, command: Command) => {
      // `health` takes --json too, and commander gives it the flag wherever it appears.
      const { json } = command.optsWithGlobals<{ json?: boolean }>();
      const hours = Number(opts.hours);
      if (!/^\d+$/.test(opts.hours.trim()) || hours < 1 || hours > MAX_HISTORY_HOURS) {
        throw new InputError(`--hours: expected an integer from 1 to ${MAX_HISTORY_HOURS}, got "${opts.hours.slice(0, 40)}"`);
      }
      const config = await commandConfig(command);
      const to = new Date();
      const from = new Date(to.getTime() - hours * 3_600_000);
      const components = summariseHealthHistory(await withDatabase(config, (pool) => healthMeasurements(pool, from, to)), from, to);
      if (json) return printJson({ hours, from: from.toISOString(), to: to.toISOString(), components });
      if (components.length === 0) return void process.stdout.write(`no health recorded in the last ${hours} h\n`);
      process.stdout.write(`health history, last ${hours} h (${from.toISOString()} - ${to.toISOString()})\n`);
      printTable(
        components.map((c) => ({
          component: c.component,
          worst: c.worst,
          green: formatDuration(c.time_ms.green),
          yellow: formatDuration(c.time_ms.yellow),
          red: formatDuration(c.time_ms.red),
          changes: c.changes,
          last: c.last_status,
          last_measured: c.last_measured_at,
        })),
        (column, text, row) => (column === 'worst' || column === 'last' ? paintStatus(String(row[column]), text) : text),
      );
    });
}
