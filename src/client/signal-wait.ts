import { WorkflowIdConflictPolicy } from '@temporalio/common';
import type { SeedvaultConfig } from '../config/schema.js';
import { InputError } from '../errors.js';
import { signalIdWaitWorkflowId, signalWaitWorkflowId, type ReadySignal, type SignalType } from '../quality/signals.js';
import { connectClient } from '../temporal/connection.js';
import type { WaitForSignalIdInput, WaitForSignalInput, WaitForSignalResult } from '../workflows/wait-for-signal.js';

/**
 * Waits through the `waitForSignal` workflow of the type (started, or joined when one is
 * already waiting: every waiter shares `ready-signal-wait-<task queue>-<TYPE>`). Returns the signal, or
 * null after `timeoutMs`.
 */
export async function waitForReadySignal(config: SeedvaultConfig, type: SignalType, timeoutMs: number): Promise<ReadySignal | null> {
  const result = await joinSharedWait(
    config,
    { workflowType: 'waitForSignal', workflowId: signalWaitWorkflowId(type, config.temporal.task_queue), summary: `wait for ${type}` },
    (remaining): WaitForSignalInput => ({ type, timeoutMs: remaining }),
    timeoutMs,
  );
  return result?.signal ?? null;
}

/**
 * Waits through the `waitForSignalId` workflow of one signal (shared by every waiter of that
 * id) until the signal is completed, failed or expired; returns it, or null after `timeoutMs`.
 */
export async function waitForSignalOutcome(config: SeedvaultConfig, signalId: string, timeoutMs: number): Promise<ReadySignal | null> {
  const result = await joinSharedWait(
    config,
    { workflowType: 'waitForSignalId', workflowId: signalIdWaitWorkflowId(signalId, config.temporal.task_queue), summary: `wait for signal ${signalId}` },
    (remaining): WaitForSignalIdInput => ({ signalId, timeoutMs: remaining }),
    timeoutMs,
  );
  if (result && !result.signal) throw new InputError(`no ready signal ${signalId}`);
  return result?.signal ?? null;
}

/**
 * Starts the shared wait workflow, or joins the run already waiting, and returns its answer;
 * null after `timeoutMs`. A shared run that times out before our deadline (another waiter
 * started it with less time) is started again.
 */
async function joinSharedWait(
  config: SeedvaultConfig,
  run: { workflowType: 'waitForSignal' | 'waitForSignalId'; workflowId: string; summary: string },
  input: (remainingMs: number) => WaitForSignalInput | WaitForSignalIdInput,
  timeoutMs: number,
): Promise<WaitForSignalResult | null> {
  const client = await connectClient(config);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) return null;
    const handle = await client.workflow.start(run.workflowType, {
      taskQueue: config.temporal.task_queue,
      workflowId: run.workflowId,
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      args: [input(remaining)],
      staticSummary: run.summary,
    });
    // The deadline timer is cleared once the run answers, so nothing keeps the process alive.
    let timer: NodeJS.Timeout | undefined;
    const deadlineReached = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), remaining);
    });
    let result: WaitForSignalResult | null;
    try {
      result = (await Promise.race([handle.result(), deadlineReached])) as WaitForSignalResult | null;
    } finally {
      clearTimeout(timer);
    }
    if (result === null || !result.timedOut) return result;
  }
}
