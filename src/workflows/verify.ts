import { ApplicationFailure, proxyActivities, setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { VerifyInput } from '../activities/restore/verify.js';
import type { VersionVerification } from '../restore/verify.js';
import { SeedvaultJob } from './search-attributes.js';

const { verifyVersions } = proxyActivities<Activities>({
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '5s', maximumInterval: '2 minutes', maximumAttempts: 3, nonRetryableErrorTypes: ['InputError', 'IntegrityError'] },
  summary: 'check objects, sha256 and footer row counts (and the live tables)',
});

const { recordDeepVerify } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '5s', maximumInterval: '1 minute', maximumAttempts: 5 },
  summary: 'record the outcome in backup_metadata for the health check',
});

/**
 * Integrity check of snapshots (the `snapshot-deep-verify` schedule, or started by hand);
 * fails, listing every problem, on any mismatch. A check of the bucket alone is recorded for
 * the health check; one against the live tables is not (the tables move on after a snapshot).
 */
export async function verifySnapshot(input: VerifyInput = { version: 'latest' }): Promise<VersionVerification[]> {
  upsertSearchAttributes([{ key: SeedvaultJob, value: 'verify' }]);
  const results = await verifyVersions(input);
  if (!input.againstDb) {
    const outcomes = results.map((r) => ({ version: r.version, problems: r.problems, tables: r.tables.map((t) => ({ table: t.table, problems: t.problems })) }));
    await recordDeepVerify({ workflowId: workflowInfo().workflowId, outcomes });
  }
  const problems = results.flatMap((r) => r.problems.map((p) => `${r.version}: ${p}`));
  setCurrentDetails(problems.length ? `**failed**\n\n${problems.join('\n\n')}` : `**ok** ${results.map((r) => r.version).join(', ')}`);
  if (problems.length > 0) throw ApplicationFailure.nonRetryable(`verify failed: ${problems.join('; ')}`, 'IntegrityError');
  return results;
}
