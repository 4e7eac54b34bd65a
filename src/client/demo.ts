import { Command } from 'commander';
import { loadConfig, resolveConfigPath } from '../config/load.js';
import { createPool } from '../db/pool.js';
import { loadDemoData } from '../db/demo-data.js';
import { stackUp } from '../stack/index.js';
import { connectClient, workflowUiLink } from '../temporal/connection.js';
import { startWorker } from '../worker.js';
import { healthCheck } from '../workflows/health.js';
import { printJson, printTable } from './output.js';

/**
 * The main job on embedded defaults: local stack up, demo data (when the tables are
 * empty), a worker, then the main workflow, with a link to it in the Web UI.
 */
export function demoCommand(): Command {
  return new Command('demo')
    .description('start the local stack, load demo data if empty, run the main workflow and print its Web UI link')
    .option('--reload', 'reload demo data even if the tables already hold rows')
    .option('--json', 'print the result as JSON')
    .action(async (opts: { reload?: boolean; json?: boolean }, command: Command) => {
      const env = await stackUp();
      Object.assign(process.env, env);
      const config = loadConfig(resolveConfigPath(command.optsWithGlobals<{ config?: string }>().config));

      if (opts.reload || (await criticalTablesEmpty(config.postgres.url))) {
        const counts = await loadDemoData(config.postgres.url, {});
        process.stderr.write(`demo data loaded: ${JSON.stringify(counts)}\n`);
      }

      const { worker, done } = await startWorker(config);
      try {
        const client = await connectClient(config);
        const workflowId = `health-check-demo-${Date.now()}`;
        const handle = await client.workflow.start(healthCheck, {
          taskQueue: config.temporal.task_queue,
          workflowId,
          staticSummary: 'demo: health check of the critical tables',
        });
        const report = await handle.result();
        const link = workflowUiLink(config, workflowId, handle.firstExecutionRunId);
        if (opts.json) printJson({ workflowId, report, webUi: link });
        else {
          printTable(report.tables.map((t) => ({ table: t.table, rows: t.rows, newest: t.newest })));
          process.stdout.write(`health: ${report.status}\nWeb UI: ${link}\n`);
        }
      } finally {
        worker.shutdown();
        await done;
      }
    });
}

async function criticalTablesEmpty(databaseUrl: string): Promise<boolean> {
  const pool = createPool(databaseUrl, 1);
  try {
    const { rows } = await pool.query('select not exists (select 1 from usdcop_m5_ohlcv) as empty');
    return rows[0].empty as boolean;
  } finally {
    await pool.end();
  }
}
