import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { STAGING_CHANGED, type RestoreMode, type TableOutcome } from '../../domain/restore.js';
import { commitRestore } from '../../restore/commit.js';
import { notifySignalWaiters } from '../../quality/notify.js';
import { StagingChangedError } from '../../errors.js';
import type { ActivityDeps } from '../deps.js';
import { withHeartbeat } from '../heartbeat.js';
import { runStaging } from './stage.js';

export interface CommitRestoreInput {
  mode: RestoreMode;
  tables: TableOutcome[];
  /** Tables staged as complete twins (renamed into place when the table allows it). */
  twins?: string[];
}

/** Swaps the staged tables in, records the restore and raises DATA_READY, in one transaction. */
export function commitActivities({ config, pool, temporal }: ActivityDeps) {
  return {
    async commitRestore(input: CommitRestoreInput): Promise<TableOutcome[]> {
      const { workflowId, runId } = Context.current().info.workflowExecution!;
      const client = await pool.connect();
      try {
        const outcome = await withHeartbeat(
          () => 'swap',
          () =>
            commitRestore(client, {
              workflowId,
              runId,
              mode: input.mode,
              tables: input.tables.map((t) => ({ ...t, staging: t.status === 'restored' ? runStaging(t.table) : null, twin: input.twins?.includes(t.table) ?? false })),
            }),
        );
        // Wake `signals wait DATA_READY` (issue 7); a missed wake is caught by the waiter's re-check.
        await notifySignalWaiters(temporal, config.temporal.task_queue, ['DATA_READY']).catch(() => {});
        return outcome;
      } catch (err) {
        // The workflow stages the named tables again; nothing was swapped.
        if (err instanceof StagingChangedError) throw ApplicationFailure.nonRetryable(err.message, STAGING_CHANGED, err.tables.map((t) => t.table));
        throw err;
      } finally {
        client.release();
      }
    },
  };
}
