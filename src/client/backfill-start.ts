import { randomUUID } from 'node:crypto';
import type { WorkflowHandle, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { SeedvaultConfig } from '../config/schema.js';
import { InputError } from '../errors.js';
import { connectClient } from '../temporal/connection.js';
import { backfill, backfillProgressQuery, MAX_CONCURRENCY, type BackfillInput, type BackfillProgress, type BackfillSummary } from '../workflows/backfill.js';
import { backfillWorkflowId } from '../domain/workflow-ids.js';
import { followRun } from './follow-run.js';

export interface BackfillStartOptions {
  symbols?: string;
  symbolsFrom?: string;
  from?: string;
  to?: string;
  concurrency?: string | number;
}

/** Turns CLI flags into the workflow input; anything malformed is an InputError naming the flag. */
export function backfillInput(options: BackfillStartOptions): BackfillInput {
  const symbols = options.symbols?.split(',').map((s) => s.trim()).filter(Boolean);
  if (options.symbols !== undefined && !symbols?.length) throw new InputError('--symbols: give at least one symbol, comma-separated');
  const symbolsFrom = options.symbolsFrom;
  if (symbolsFrom !== undefined && symbolsFrom !== 'config' && symbolsFrom !== 'database') {
    throw new InputError(`--symbols-from: expected config or database, got "${symbolsFrom.slice(0, 20)}"`);
  }
  return {
    symbols,
    symbolsFrom,
    from: instantFlag('--from', options.from),
    to: instantFlag('--to', options.to),
    concurrency: options.concurrency === undefined ? undefined : concurrencyFlag(options.concurrency),
  };
}

export function concurrencyFlag(value: string | number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_CONCURRENCY) throw new InputError(`--concurrency: expected an integer from 1 to ${MAX_CONCURRENCY}, got "${String(value).slice(0, 20)}"`);
  return n;
}

/** An ISO date or instant; a bare date means 00:00 UTC. */
export function instantFlag(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const ms = /^\d{4}-\d{2}-\d{2}$/.test(value) ? Date.parse(`${value}T00:00:00Z`) : /^\d{4}-\d{2}-\d{2}T/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) throw new InputError(`${flag}: expected an ISO date or instant such as 2026-01-05 or 2026-01-05T13:00:00Z, got "${value.slice(0, 40)}"`);
  return new Date(ms).toISOString();
}

/** Starts a backfill execution (a new UUID) or, with `retryFailedOf`, reruns that execution's failed symbols. */
export async function startBackfill(
  config: SeedvaultConfig,
  input: BackfillInput,
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof backfill>> {
  if (input.from && input.to && Date.parse(input.from) >= Date.parse(input.to)) throw new InputError('--from must be before --to');
  const executionId = input.executionId ?? randomUUID();
  const client = await connectClient(config);
  const workflowId = input.retryFailed ? `${backfillWorkflowId(executionId)}-retry-${Date.now()}` : backfillWorkflowId(executionId);
  return client.workflow.start(backfill, {
    taskQueue: config.temporal.task_queue,
    workflowId,
    args: [{ trigger: 'manual', ...input, executionId }],
    staticSummary: input.retryFailed ? `retry failed symbols of backfill ${executionId}` : `backfill ${executionId}`,
  });
}

/** Follows a backfill through its `progress` query until it ends (across continue-as-new). */
export function waitForBackfill(handle: WorkflowHandle<typeof backfill>, quiet = false): Promise<BackfillSummary> {
  return followRun<BackfillSummary>(handle, async () => describeProgress(await handle.query(backfillProgressQuery)), quiet);
}

export function describeProgress(p: BackfillProgress): string {
  const failed = Object.entries(p.failed).map(([k, n]) => `${k} ${n}`).join(', ');
  return (
    `backfill ${p.executionId}: ${p.phase} — ${p.completed + p.alreadyCompleted}/${p.total} done` +
    `${failed ? `, failed: ${failed}` : ''}${p.skipped ? `, ${p.skipped} skipped` : ''}, ${p.inFlight} running (concurrency ${p.concurrency}), ${p.barsInserted.toLocaleString('en-US')} bars`
  );
}
