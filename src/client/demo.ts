import { Command } from 'commander';
import { loadConfig, resolveConfigPath } from '../config/load.js';
import { createPool } from '../db/pool.js';
import { loadDemoData } from '../db/demo-data.js';
import { stackUp } from '../stack/index.js';
import { connectClient, workflowUiLink } from '../temporal/connection.js';
import { applySchedules } from '../temporal/schedules.js';
import { describeDemoCounts } from './demo-data.js';
import { hostWorker } from './hosted-worker.js';
import { printJson } from './output.js';
import { printManifestSummary } from './snapshot.js';
import { startSnapshot, waitWithProgress } from './snapshot-create.js';

/**
 * The main job on embedded defaults: local stack up, demo data (when the tables are
 * empty), a worker, the schedules, then one seed snapshot, with its Web UI link.
 */
export function demoCommand(): Command {
  return new Command('demo')
    .description('start the local stack, load demo data if empty, take a seed snapshot and print its Web UI link')
    .option('--reload', 'reload demo data even if the tables already hold rows')
    .option('--verbose', "show the worker's log lines on stderr instead of writing them to the state folder")
    .option('--json', 'print the result as JSON')
    .action(async (opts: { reload?: boolean; verbose?: boolean; json?: boolean }, command: Command) => {
      const env = await stackUp();
      Object.assign(process.env, env);
      const config = loadConfig(resolveConfigPath(command.optsWithGlobals<{ config?: string }>().config));

      if (opts.reload || (await criticalTablesEmpty(config.postgres.url))) {
        const counts = await loadDemoData(config.postgres.url, {});
        process.stderr.write(`demo data loaded: ${describeDemoCounts(counts)}\n`);
      }

      const worker = await hostWorker(config, { name: 'demo', verbose: opts.verbose });
      try {
        await applySchedules(await connectClient(config), config);
        const handle = await startSnapshot(config, {});
        const link = workflowUiLink(config, handle.workflowId, handle.firstExecutionRunId);
        if (!opts.json) process.stderr.write(`Web UI: ${link}\n`);
        const result = await waitWithProgress(handle);
        if (opts.json) printJson({ workflowId: handle.workflowId, ...result, webUi: link, temporalUi: env.TEMPORAL_UI_URL });
        else {
          printManifestSummary(result.manifest);
          process.stdout.write(`latest -> ${result.version}\nWeb UI: ${link}\n`);
        }
      } finally {
        await worker.stop();
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
