import { ApplicationFailure, proxyActivities, setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
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

/** Scheduled integrity check of snapshots; fails, listing every problem, on any mismatch. */
export async function verifySnapshot(input: VerifyInput = { version: 'latest' }): Promise<VersionVerification[]> {
  upsertSearchAttributes([{ key: SeedvaultJob, value: 'verify' }]);
  const results = await verifyVersions(input);
  const problems = results.flatMap((r) => r.problems.map((p) => `${r.version}: ${p}`));
  setCurrentDetails(problems.length ? `**failed**\n\n${problems.join('\n\n')}` : `**ok** ${results.map((r) => r.version).join(', ')}`);
  if (problems.length > 0) throw ApplicationFailure.nonRetryable(`verify failed: ${problems.join('; ')}`, 'IntegrityError');
  return results;
}
