import { proxyActivities, setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { RetentionCount } from '../quality/retention.js';
import { SeedvaultJob } from './search-attributes.js';

const { expireReadySignals, applyRetention } = proxyActivities<Activities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '5s', maximumInterval: '2 minutes', maximumAttempts: 5 },
});

export interface MaintenanceInput {
  trigger?: 'schedule' | 'manual';
  dryRun?: boolean;
  /** ISO instant taken as "now" (tests); default the workflow's start time. */
  now?: string;
  batchSize?: number;
}

export interface MaintenanceResult {
  dryRun: boolean;
  expiredSignals: number;
  retention: RetentionCount[];
}

/** Daily maintenance: expire overdue ready signals, then the retention schedule of seed 001 in batched deletes. */
export async function maintenance(input: MaintenanceInput = {}): Promise<MaintenanceResult> {
  upsertSearchAttributes([{ key: SeedvaultJob, value: 'maintenance' }]);
  const dryRun = input.dryRun ?? false;
  const expiredSignals = dryRun ? 0 : await expireReadySignals();
  const retention = await applyRetention({ dryRun, now: input.now ?? new Date().toISOString(), batchSize: input.batchSize });
  setCurrentDetails(
    `**${dryRun ? 'dry run' : 'done'}**; expired signals: ${expiredSignals}\n\n${retention.map((r) => `- ${r.name}: ${r.rows} row(s) ${dryRun ? 'past their age' : 'deleted'} (${r.policy})`).join('\n')}`,
  );
  return { dryRun, expiredSignals, retention };
}
