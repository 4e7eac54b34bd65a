import type { SeedvaultConfig } from '../config/schema.js';
import { planFileCleanup, type CleanupPlan, type TypeRetention } from '../domain/file-backup-selection.js';
import type { Storage } from '../storage/types.js';
import { deleteFileBackup, listFileBackups } from './catalog.js';

/**
 * Applies each type's retention_days and weekly tier (or only reports the plan with dryRun).
 * `onDeleted` hears of each backup as soon as it is gone, so a cleanup failing half-way has
 * reported exactly what it deleted.
 */
export async function cleanupFileBackups(
  storage: Storage,
  config: SeedvaultConfig,
  now: Date,
  dryRun: boolean,
  onDeleted: (id: string) => Promise<void>,
): Promise<CleanupPlan> {
  const retention = Object.fromEntries(
    Object.entries(config.file_backups.types).map(([type, t]): [string, TypeRetention] => [type, { days: t.retention_days, weeklyDays: t.weekly_retention_days }]),
  );
  const plan = planFileCleanup(await listFileBackups(storage), retention, now);
  if (dryRun) return plan;
  for (const { backup_id } of plan.delete) {
    await deleteFileBackup(storage, backup_id);
    await onDeleted(backup_id);
  }
  return plan;
}
