import { randomBytes } from 'node:crypto';
import { Command } from 'commander';
import { IntegrityError } from '../errors.js';
import { healthReport, type HealthReport } from '../quality/health.js';
import { createStorage } from '../storage/index.js';
import { connectClient, workflowUiLink } from '../temporal/connection.js';
import type { HealthCheckInput } from '../workflows/health-check.js';
import { commandConfig } from './context.js';
import { withDatabase } from './database.js';
import { printJson, printTable } from './output.js';

export function healthCommand(): Command {
  return new Command('health')
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
}
