import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { readySignalChanged } from '../workflows/wait-for-signal.js';
import { signalWaitWorkflowId, type SignalType } from './signals.js';

/** Wakes the waiters of each type (a no-op when nobody waits). */
export async function notifySignalWaiters(client: Client, taskQueue: string, types: readonly SignalType[]): Promise<void> {
  for (const type of new Set(types)) {
    try {
      await client.workflow.getHandle(signalWaitWorkflowId(type, taskQueue)).signal(readySignalChanged);
    } catch (err) {
      // No run, or the run just finished: nobody to wake.
      if (err instanceof WorkflowNotFoundError) continue;
      throw err;
    }
  }
}
