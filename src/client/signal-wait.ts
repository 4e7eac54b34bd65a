import { WorkflowIdConflictPolicy } from '@temporalio/common';
import type { SeedvaultConfig } from '../config/schema.js';
import { signalWaitWorkflowId, type ReadySignal, type SignalType } from '../quality/signals.js';
import { connectClient } from '../temporal/connection.js';
import type { WaitForSignalInput, WaitForSignalResult } from '../workflows/wait-for-signal.js';

/**
 * Waits through the `waitForSignal` workflow of the type (started, or joined when one is
 * already waiting: every waiter shares `ready-signal-wait-<task queue>-<TYPE>`). Returns the signal, or
 * null after `timeoutMs`. A shared run that ends before our deadline is started again.
 */
export async function waitForReadySignal(config: SeedvaultConfig, type: SignalType, timeoutMs: number): Promise<ReadySignal | null> {
  const client = await connectClient(config);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) return null;
    const input: WaitForSignalInput = { type, timeoutMs: remaining };
    const handle = await client.workflow.start('waitForSignal', {
      taskQueue: config.temporal.task_queue,
      workflowId: signalWaitWorkflowId(type, config.temporal.task_queue),
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      args: [input],
      staticSummary: `wait for ${type}`,
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
    if (result?.signal) return result.signal;
    if (result === null) return null;
  }
}
