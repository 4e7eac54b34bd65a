import { randomBytes } from 'node:crypto';
import { Command } from 'commander';
import { InputError } from '../errors.js';
import { connectClient, workflowUiLink } from '../temporal/connection.js';
import type { MaintenanceInput, MaintenanceResult } from '../workflows/maintenance.js';
import { commandConfig } from './context.js';
import { followRun } from './follow-run.js';
import { printJson, printTable } from './output.js';

export function maintenanceCommand(): Command {
  return new Command('maintenance')
    .description('retention of the operational tables (seed 001) and expiry of ready signals, as the maintenance workflow (needs a worker)')
    .option('--dry-run', 'count the rows past their age; delete nothing')
    .option('--batch-size <n>', 'rows per delete batch', '5000')
    .option('--json', 'machine-readable output')
    .action(async (opts: { dryRun?: boolean; batchSize: string; json?: boolean }, command: Command) => {
      const batchSize = Number(opts.batchSize);
      if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 1_000_000) throw new InputError('--batch-size: an integer from 1 to 1000000');
      const config = await commandConfig(command);
      const client = await connectClient(config);
      const input: MaintenanceInput = { trigger: 'manual', dryRun: Boolean(opts.dryRun), batchSize };
      const workflowId = `maintenance-${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}-${randomBytes(4).toString('hex')}`;
      const handle = await client.workflow.start('maintenance', { taskQueue: config.temporal.task_queue, workflowId, args: [input] });
      const link = workflowUiLink(config, workflowId);
      if (!opts.json && link) process.stderr.write(`Web UI: ${link}\n`);
      const result = await followRun<MaintenanceResult>(handle, async () => 'maintenance: running', Boolean(opts.json));
      if (opts.json) return printJson(result);
      process.stdout.write(`${result.dryRun ? 'dry run: rows past their age' : `deleted; expired signals: ${result.expiredSignals}`}\n`);
      printTable(result.retention.map((r) => ({ rule: r.name, table: r.table, rows: r.rows, batches: r.batches, policy: r.policy })));
    });
}
