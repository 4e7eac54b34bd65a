import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { readySignalChanged } from '../workflows/wait-for-signal.js';
import { signalIdWaitWorkflowId, signalWaitWorkflowId, type SignalType } from './signals.js';

/** Wakes the waiters of each type and of each signal id (a no-op when nobody waits). */
export async function notifySignalWaiters(client: Client, taskQueue: string, types: readonly SignalType[], signalIds: readonly string[] = []): Promise<void> {
  const workflowIds = [...[...new Set(types)].map((type) => signalWaitWorkflowId(type, taskQueue)), ...signalIds.map((id) => signalIdWaitWorkflowId(id, taskQueue))];
  for (const workflowId of workflowIds) {
    try {
      await client.workflow.getHandle(workflowId).signal(readySignalChanged);
    } catch (err) {
      // No run, or the run just finished: nobody to wake.
      if (err instanceof WorkflowNotFoundError) continue;
      throw err;
    }
  }
}
