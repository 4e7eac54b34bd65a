import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
  type ScheduleOptions,
} from '@temporalio/client';
import { isDeepStrictEqual } from 'node:util';
import type { SeedvaultConfig } from '../config/schema.js';
import { ANALYTICS_REFRESH_SCHEDULE_ID, analyticsSchedules } from './analytics-schedule.js';
import { backfillSchedule } from './backfill-schedule.js';
import { FILE_BACKUP_SCHEDULE_PREFIX, fileBackupSchedules } from './file-backup-schedules.js';
import { qualitySchedules } from './quality-schedules.js';
import { DEEP_VERIFY_SCHEDULE_ID, deepVerifySchedules } from './verify-schedule.js';
import type { SeedSnapshotInput } from '../workflows/snapshot.js';

export const SNAPSHOT_SCHEDULE_ID = 'seed-snapshot-weekly';

/** Every schedule seedvault owns, as the config describes them (all times UTC). */
export function desiredSchedules(config: SeedvaultConfig): ScheduleOptions[] {
  const snapshotInput: SeedSnapshotInput = { trigger: 'schedule' };
  return [
    {
      scheduleId: SNAPSHOT_SCHEDULE_ID,
      spec: { cronExpressions: [config.backup.schedule], timezone: 'UTC' },
      action: {
        type: 'startWorkflow',
        workflowType: 'seedSnapshot',
        workflowId: 'seed-snapshot-scheduled',
        taskQueue: config.temporal.task_queue,
        args: [snapshotInput],
        staticSummary: `weekly seed snapshot of ${Object.keys(config.sources).length} tables`,
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
      memo: { managedBy: 'seedvault', cron: config.backup.schedule },
    },
    backfillSchedule(config),
    ...fileBackupSchedules(config),
    ...qualitySchedules(config),
    ...deepVerifySchedules(config),
    ...analyticsSchedules(config),
  ];
}

type ScheduleAction = 'created' | 'updated' | 'unchanged' | 'deleted';

/**
 * Creates missing schedules, updates existing ones to match the config (`unchanged` when
 * that changed nothing), and deletes the
 * file-backup schedules of this task queue whose type is no longer enabled, the deep verify
 * and the analytics refresh when they are disabled (the other ids are fixed); returns what it
 * did per id. Safe when several processes apply at once: a schedule another one created
 * first is updated, one it deleted first is left out.
 */
export async function applySchedules(client: Client, config: SeedvaultConfig): Promise<{ scheduleId: string; action: ScheduleAction }[]> {
  const results: { scheduleId: string; action: ScheduleAction }[] = [];
  for (const options of desiredSchedules(config)) {
    results.push({ scheduleId: options.scheduleId, action: await createOrUpdate(client, options) });
  }
  for (const scheduleId of await retiredSchedules(client, config)) {
    try {
      await client.schedule.getHandle(scheduleId).delete();
      results.push({ scheduleId, action: 'deleted' });
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
  }
  return results;
}

async function createOrUpdate(client: Client, options: ScheduleOptions): Promise<Exclude<ScheduleAction, 'deleted'>> {
  try {
    await client.schedule.create(options);
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  const handle = client.schedule.getHandle(options.scheduleId);
  let before: ScheduleDescription | undefined;
  await handle.update((previous) => {
    before = previous;
    return { ...previous, spec: options.spec, action: options.action, policies: { ...previous.policies, ...options.policies } };
  });
  // The server stores a cron expression as calendar ranges, so the config cannot be compared
  // with what it describes; the schedule as stored before and after the update can.
  return isDeepStrictEqual(scheduleContent(before!), scheduleContent(await handle.describe())) ? 'unchanged' : 'updated';
}

/** What a schedule does, without its run history or pause state (an update keeps those). */
function scheduleContent({ spec, action, policies }: ScheduleDescription) {
  return { spec, action, policies };
}

/** Seedvault's schedules of this task queue the config no longer enables: file-backup types, the deep verify, the analytics refresh. */
export async function retiredSchedules(client: Client, config: SeedvaultConfig): Promise<string[]> {
  const wanted = new Set(desiredSchedules(config).map((s) => s.scheduleId));
  const retired: string[] = [];
  for await (const s of client.schedule.list()) {
    const ours = s.memo?.managedBy === 'seedvault' && s.memo?.taskQueue === config.temporal.task_queue;
    const optional =
      s.scheduleId.startsWith(FILE_BACKUP_SCHEDULE_PREFIX) || s.scheduleId === DEEP_VERIFY_SCHEDULE_ID || s.scheduleId === ANALYTICS_REFRESH_SCHEDULE_ID;
    if (ours && optional && !wanted.has(s.scheduleId)) retired.push(s.scheduleId);
  }
  return retired;
}

/** Each schedule the config asks for, described, or null when it does not exist. */
export async function describeSchedules(client: Client, config: SeedvaultConfig): Promise<{ scheduleId: string; description: ScheduleDescription | null }[]> {
  return Promise.all(
    desiredSchedules(config).map(async ({ scheduleId }) => {
      try {
        return { scheduleId, description: await client.schedule.getHandle(scheduleId).describe() };
      } catch (err) {
        if (!(err instanceof ScheduleNotFoundError)) throw err;
        return { scheduleId, description: null };
      }
    }),
  );
}
