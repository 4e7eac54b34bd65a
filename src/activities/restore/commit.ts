import { Context } from '@temporalio/activity';
import type { RestoreMode, TableOutcome } from '../../domain/restore.js';
import { commitRestore } from '../../restore/commit.js';
import type { ActivityDeps } from '../deps.js';
import { runStaging } from './stage.js';

export interface CommitRestoreInput {
  mode: RestoreMode;
  tables: TableOutcome[];
}

/** Swaps the staged tables in, records the restore and raises DATA_READY, in one transaction. */
export function commitActivities({ pool }: ActivityDeps) {
  return {
    async commitRestore(input: CommitRestoreInput): Promise<TableOutcome[]> {
      const { workflowId, runId } = Context.current().info.workflowExecution!;
      const client = await pool.connect();
      try {
        return await commitRestore(client, {
          workflowId,
          runId,
          mode: input.mode,
          tables: input.tables.map((t) => ({ ...t, staging: t.status === 'restored' ? runStaging(t.table) : null })),
        });
      } finally {
        client.release();
      }
    },
  };
}
