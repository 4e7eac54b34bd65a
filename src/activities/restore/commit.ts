import { Context } from '@temporalio/activity';
import type { RestoreMode, TableOutcome } from '../../domain/restore.js';
import { commitRestore } from '../../restore/commit.js';
import { notifySignalWaiters } from '../../quality/notify.js';
import type { ActivityDeps } from '../deps.js';
import { runStaging } from './stage.js';

export interface CommitRestoreInput {
  mode: RestoreMode;
  tables: TableOutcome[];
}

/** Swaps the staged tables in, records the restore and raises DATA_READY, in one transaction. */
export function commitActivities({ config, pool, temporal }: ActivityDeps) {
  return {
    async commitRestore(input: CommitRestoreInput): Promise<TableOutcome[]> {
      const { workflowId, runId } = Context.current().info.workflowExecution!;
      const client = await pool.connect();
      try {
        const outcome = await commitRestore(client, {
          workflowId,
          runId,
          mode: input.mode,
          tables: input.tables.map((t) => ({ ...t, staging: t.status === 'restored' ? runStaging(t.table) : null })),
        });
        // Wake `signals wait DATA_READY` (issue 7); a missed wake is caught by the waiter's re-check.
        await notifySignalWaiters(temporal, config.temporal.task_queue, ['DATA_READY']).catch(() => {});
        return outcome;
      } finally {
        client.release();
      }
    },
  };
}
