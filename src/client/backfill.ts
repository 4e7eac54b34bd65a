import { Command } from 'commander';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { SeedvaultConfig } from '../config/schema.js';
import { recentBackfillExecutions } from '../db/backfill-executions.js';
import { backfillWorkflowId } from '../domain/workflow-ids.js';
import { InputError } from '../errors.js';
import { symbolGapReport } from '../quality/gaps.js';
import { connectClient, isWorkflowRunning, workflowUiLink } from '../temporal/connection.js';
import { backfillProgressQuery, setConcurrencyUpdate, type BackfillSummary } from '../workflows/backfill.js';
import {
  backfillInput,
  concurrencyFlag,
  describeProgress,
  startBackfill,
  waitForBackfill,
  type BackfillStartOptions,
} from './backfill-start.js';
import { commandConfig } from './context.js';
import { withDatabase } from './database.js';
import { printJson, printTable } from './output.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function executionArg(value: string): string {
  if (!UUID.test(value)) throw new InputError(`execution: expected a backfill execution UUID, got "${value.slice(0, 60)}"`);
  return value.toLowerCase();
}

function printSummary(summary: BackfillSummary): void {
  const failed = Object.entries(summary.failed).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
  process.stdout.write(
    `backfill ${summary.executionId}: ${summary.completed} completed, ${summary.alreadyCompleted} already complete, ${summary.skipped ?? 0} skipped, failed: ${failed}; ` +
      `${summary.barsInserted.toLocaleString('en-US')} bars inserted with ${summary.requests} requests in ${summary.runs} run(s)\n`,
  );
  for (const s of summary.skippedSymbols ?? []) process.stdout.write(`skipped ${s.symbol}: ${s.reason}\n`);
  if (summary.alertCount > 0) process.stdout.write(`ALERT: ${summary.alertCount} symbol(s) failed 3+ times in a row: ${summary.alerts.join(', ')}\n`);
}

/** Starts (or retries) and either prints the workflow id or follows it to its summary. */
async function launch(config: SeedvaultConfig, input: Parameters<typeof startBackfill>[1], opts: { wait?: boolean; json?: boolean }) {
  const handle = await startBackfill(config, input);
  const link = workflowUiLink(config, handle.workflowId, handle.firstExecutionRunId);
  const executionId = input.executionId ?? handle.workflowId.replace(/^backfill-/, '');
  if (!opts.wait) {
    if (opts.json) printJson({ executionId, workflowId: handle.workflowId, runId: handle.firstExecutionRunId, webUi: link });
    else process.stdout.write(`started ${handle.workflowId} (execution ${executionId})${link ? `\nWeb UI: ${link}` : ''}\n`);
    return;
  }
  if (!opts.json && link) process.stderr.write(`Web UI: ${link}\n`);
  const summary = await waitForBackfill(handle, opts.json);
  if (opts.json) printJson({ workflowId: handle.workflowId, ...summary });
  else printSummary(summary);
}

export function backfillCommand(): Command {
  const backfill = new Command('backfill').description('fill missing market-data bars from the provider (calendar-aware, rate-limited)');

  backfill
    .command('start')
    .description('start a backfill: one child workflow per symbol, gaps from each symbol\'s last bar to now by default')
    .option('--symbols <list>', 'comma-separated symbols (default: backfill.symbols from the config)')
    .option('--symbols-from <source>', 'without --symbols: config (backfill.symbols) or database (every symbol with bars)')
    .option('--from <date>', 'ISO date or instant (default: each symbol\'s last bar)')
    .option('--to <date>', 'ISO date or instant (default: now)')
    .option('--concurrency <n>', 'symbols at once (default: backfill.concurrency)')
    .option('--wait', 'follow progress and print the summary at the end')
    .option('--json', 'machine-readable output')
    .action(async (opts: BackfillStartOptions & { wait?: boolean; json?: boolean }, command: Command) => {
      const input = backfillInput(opts);
      await launch(await commandConfig(command), input, opts);
    });

  backfill
    .command('status')
    .description('recent backfill executions, one execution\'s symbols by state and its live progress, or (--active) every symbol being filled')
    .argument('[execution]', 'execution UUID')
    .option('--active', 'every symbol in progress across executions, with its execution, start and progress')
    .option('--json', 'machine-readable output')
    .action(async (execution: string | undefined, opts: { active?: boolean; json?: boolean }, command: Command) => {
      if (opts.active && execution) throw new InputError('--active lists every execution: give no execution with it');
      const config = await commandConfig(command);
      if (opts.active) return printActive(config, Boolean(opts.json));
      if (!execution) return printRecent(config, Boolean(opts.json));
      const executionId = executionArg(execution);
      const [states, live] = await Promise.all([executionStates(config, executionId), liveProgress(config, executionId)]);
      if (states.symbols === 0 && !live) throw new InputError(`no backfill execution ${executionId}`);
      if (opts.json) return printJson({ executionId, ...states, live });
      process.stdout.write(
        `execution ${executionId}: ${states.symbols} symbols — ${Object.entries(states.byStatus).map(([s, n]) => `${s} ${n}`).join(', ')}; ` +
          `${states.barsInserted.toLocaleString('en-US')} bars inserted\n`,
      );
      if (live) process.stdout.write(`${live}\n`);
      printTable(states.failed);
    });

  backfill
    .command('retry-failed')
    .description('rerun only the symbols that failed in an execution (same ranges)')
    .argument('<execution>', 'execution UUID')
    .option('--wait', 'follow progress and print the summary at the end')
    .option('--json', 'machine-readable output')
    .action(async (execution: string, opts: { wait?: boolean; json?: boolean }, command: Command) => {
      const config = await commandConfig(command);
      const executionId = executionArg(execution);
      const states = await executionStates(config, executionId);
      if (states.symbols === 0) throw new InputError(`no backfill execution ${executionId}`);
      if (states.failed.length === 0) {
        if (opts.json) printJson({ executionId, retried: 0 });
        else process.stdout.write(`execution ${executionId} has no failed symbols\n`);
        return;
      }
      await launch(config, { executionId, retryFailed: true }, opts);
    });

  backfill
    .command('set-concurrency')
    .description('change how many symbols a running backfill processes at once (takes effect immediately)')
    .argument('<execution>', 'execution UUID')
    .argument('<n>', 'symbols at once')
    .action(async (execution: string, n: string, _opts, command: Command) => {
      const config = await commandConfig(command);
      const handle = (await connectClient(config)).workflow.getHandle(backfillWorkflowId(executionArg(execution)));
      const applied = await handle.executeUpdate(setConcurrencyUpdate, { args: [concurrencyFlag(n)] });
      process.stdout.write(`concurrency ${applied}\n`);
    });

  return backfill;
}

async function printRecent(config: SeedvaultConfig, json: boolean): Promise<void> {
  const rows = await withDatabase(config, (pool) => recentBackfillExecutions(pool, { limit: 20 }));
  if (json) return printJson(rows);
  if (rows.length === 0) return void process.stdout.write('no backfills yet\n');
  printTable(rows.map((r) => ({ ...r, started: r.started.toISOString() })));
}

/**
 * Symbols in progress across executions (seed 004's get_active_backfill_states). Progress is
 * the share of the bars missing at planning that are present now; `running` says whether the
 * claiming workflow still runs (null: unknown, Temporal unreachable) — a claim whose workflow
 * has ended is taken over by the next execution that reaches the symbol.
 */
async function printActive(config: SeedvaultConfig, json: boolean): Promise<void> {
  const client = await connectClient(config).catch(() => null);
  try {
    const active = await withDatabase(config, async (pool) => {
      const { rows } = await pool.query<{ execution_id: string; symbol: string; timeframe: string; status: string; started_at: Date | null; workflow_id: string | null; bars_planned: number | null; range_from: Date | null; range_to: Date | null }>(
        `select execution_id, symbol, timeframe, status, started_at, workflow_id, bars_planned, range_from, range_to
         from backfill_state_persistent where status = 'in_progress' order by started_at, symbol`,
      );
      return Promise.all(
        rows.map(async (r) => {
          let barsFilled: number | null = null;
          if (r.bars_planned !== null && r.range_from && r.range_to) {
            const now = await symbolGapReport(pool, config, r.symbol, { from: r.range_from.getTime(), to: r.range_to.getTime(), lookbackDays: config.backfill.default_lookback_days });
            barsFilled = Math.max(0, r.bars_planned - (now.expectedBars - now.presentBars));
          }
          const running = client && r.workflow_id ? await isWorkflowRunning(client, r.workflow_id) : null;
          return {
            executionId: r.execution_id,
            symbol: r.symbol,
            timeframe: r.timeframe,
            status: r.status,
            startedAt: r.started_at?.toISOString() ?? null,
            workflowId: r.workflow_id,
            running,
            barsPlanned: r.bars_planned,
            barsFilled,
            progressPct: barsFilled === null || r.bars_planned === null ? null : r.bars_planned === 0 ? 100 : Math.round((1000 * barsFilled) / r.bars_planned) / 10,
          };
        }),
      );
    });
    if (json) return printJson(active);
    if (active.length === 0) return void process.stdout.write('no backfill in progress\n');
    printTable(active.map((a) => ({
      execution: a.executionId,
      symbol: a.symbol,
      status: a.status,
      started: a.startedAt,
      progress: a.progressPct === null ? null : `${a.progressPct}% (${a.barsFilled}/${a.barsPlanned} bars)`,
      running: a.running,
    })));
  } finally {
    await client?.connection.close();
  }
}

async function executionStates(config: SeedvaultConfig, executionId: string) {
  return withDatabase(config, async (pool) => {
    const { rows } = await pool.query<{ symbol: string; status: string; records_inserted: number; error_message: string | null }>(
      `select symbol, status, records_inserted, error_message from backfill_state_persistent where execution_id = $1 order by symbol`,
      [executionId],
    );
    const byStatus: Record<string, number> = {};
    for (const r of rows) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
    return {
      symbols: rows.length,
      byStatus,
      barsInserted: rows.reduce((sum, r) => sum + r.records_inserted, 0),
      failed: rows.filter((r) => r.status === 'failed').map((r) => ({ symbol: r.symbol, error: r.error_message })),
    };
  });
}

/** The running workflow's progress line, or null when it is not running, was started by the schedule, or Temporal is down. */
async function liveProgress(config: SeedvaultConfig, executionId: string): Promise<string | null> {
  const client = await connectClient(config).catch(() => null);
  if (!client) return null;
  const handle = client.workflow.getHandle(backfillWorkflowId(executionId));
  try {
    if ((await handle.describe()).status.name !== 'RUNNING') return null;
    return describeProgress(await handle.query(backfillProgressQuery));
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
}
