import type { SeedvaultConfig } from '../config/schema.js';
import { classifyFileBackup, type ComponentHealth } from '../domain/file-backup-health.js';
import { errorMessage } from '../errors.js';
import type { Storage } from '../storage/types.js';
import { listFileBackups } from './catalog.js';
import { readNothingToBackUp } from './nothing-to-back-up.js';
import { withVerifiedArchive } from './transfer.js';

/**
 * One health item per enabled type (none when file backups are off): its newest complete
 * backup must exist, be at most 48 h old, and its archive must still match the sha256 in
 * metadata.json (read back in full; no key needed, so encrypted backups are checked too);
 * a type whose latest run found nothing to back up is yellow.
 */
export async function fileBackupHealth(config: SeedvaultConfig, storage: Storage, now = new Date()): Promise<ComponentHealth[]> {
  if (!config.file_backups.enabled) return [];
  const backups = (await listFileBackups(storage)).filter((b) => b.complete);
  const nothingFound = await readNothingToBackUp(storage);
  const types = Object.entries(config.file_backups.types).filter(([, t]) => t.enabled).map(([type]) => type);
  return Promise.all(
    types.map(async (type) => {
      const newest = backups.find((b) => b.backup_type === type);
      const nothing = nothingFound.get(type) ?? null;
      if (!newest) return classifyFileBackup(type, null, now, nothing);
      let verifyProblem: string | null = null;
      try {
        await withVerifiedArchive(storage, newest.metadata!, async () => undefined);
      } catch (err) {
        verifyProblem = errorMessage(err);
      }
      return classifyFileBackup(type, { backup_id: newest.backup_id, timestamp: newest.timestamp, verifyProblem }, now, nothing);
    }),
  );
}
