import { ApplicationFailure } from '@temporalio/common';
import { diffSnapshots, type SnapshotDiff } from '../../diff/snapshot-diff.js';
import { InputError, IntegrityError } from '../../errors.js';
import type { ActivityDeps } from '../deps.js';
import { withHeartbeat } from '../heartbeat.js';

export interface DiffInput {
  /** A version or `latest`. */
  older: string;
  /** A version, `latest` or `db`. */
  newer: string;
  tables?: string[];
  /** Samples per kind and table. */
  limit: number;
}

/** Diffs snapshots on the worker, next to the bucket and the database; returns counts and samples only. */
export function diffActivities({ pool, storage }: ActivityDeps) {
  return {
    async diffVersions(input: DiffInput): Promise<SnapshotDiff> {
      let current = '';
      let done = 0;
      try {
        // A large table takes minutes to merge-join; heartbeats tell a slow diff from a dead worker.
        return await withHeartbeat(
          () => ({ table: current, done }),
          () =>
            diffSnapshots({
              storage,
              pool,
              ...input,
              onTable: (table, index) => {
                [current, done] = [table, index];
              },
            }),
        );
      } catch (err) {
        // A missing version or out-of-order rows fail the same way on every retry.
        if (err instanceof InputError || err instanceof IntegrityError) throw ApplicationFailure.nonRetryable(err.message, err.name);
        throw err;
      }
    },
  };
}
