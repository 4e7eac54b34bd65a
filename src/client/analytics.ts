import { randomBytes } from 'node:crypto';
import { Command } from 'commander';
import { connectClient } from '../temporal/connection.js';
import type { AnalyticsRefreshInput, AnalyticsRefreshResult } from '../workflows/analytics-refresh.js';
import { commandConfig } from './context.js';
import { followRun } from './follow-run.js';
import { announceRun, printJson, printTable } from './output.js';

export function analyticsCommand(): Command {
  const analytics = new Command('analytics').description("seed 001's analytics views: daily_ohlc_summary, hourly_trading_metrics, api_usage_efficiency");

  analytics
    .command('refresh')
    .description('refresh the analytics views now, as the analytics-refresh schedule does (needs a worker); readers are never blocked')
    .option('--wait', 'follow the run and print each view refreshed')
    .option('--json', 'machine-readable output')
    .action(async (opts: { wait?: boolean; json?: boolean }, command: Command) => {
      const config = await commandConfig(command);
      const client = await connectClient(config);
      const input: AnalyticsRefreshInput = { trigger: 'manual' };
      const workflowId = `analytics-refresh-${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}-${randomBytes(4).toString('hex')}`;
      const handle = await client.workflow.start('analyticsRefresh', { taskQueue: config.temporal.task_queue, workflowId, args: [input] });
      const link = announceRun(config, handle, opts);
      if (!opts.wait) return;
      const result = await followRun<AnalyticsRefreshResult>(handle, async () => 'analytics refresh: running', Boolean(opts.json));
      if (opts.json) return printJson({ workflowId, ...result, webUi: link });
      printTable(result.views.map((v) => ({ view: v.view, rows: v.rows, refresh: v.mode, seconds: (v.ms / 1000).toFixed(1) })));
    });
  return analytics;
}
