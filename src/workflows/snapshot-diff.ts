import { proxyActivities, setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { DiffInput } from '../activities/snapshot/diff.js';
import type { SnapshotDiff } from '../diff/snapshot-diff.js';
import { SeedvaultJob } from './search-attributes.js';

const { diffVersions } = proxyActivities<Activities>({
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '5s', maximumInterval: '2 minutes', maximumAttempts: 3, nonRetryableErrorTypes: ['InputError', 'IntegrityError'] },
  summary: 'merge-join both sides table by table by key',
});

/** Rows added, removed and changed per table between two snapshots, or a snapshot and the live tables (`newer: 'db'`). */
export async function snapshotDiff(input: DiffInput): Promise<SnapshotDiff> {
  upsertSearchAttributes([{ key: SeedvaultJob, value: 'diff' }]);
  const result = await diffVersions(input);
  const lines = result.tables.map((t) => `${t.table}: ${t.status === 'compared' ? `+${t.added} -${t.removed} ~${t.changed}` : t.status}${t.schema ? ', schema changed' : ''}`);
  setCurrentDetails(`**${result.older} -> ${result.newer}**\n\n${lines.join('\n\n')}`);
  return result;
}
