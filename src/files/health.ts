import type { SeedvaultConfig } from '../config/schema.js';
import { classifyFileBackup, type ComponentHealth } from '../domain/file-backup-health.js';
import { errorMessage } from '../errors.js';
import type { Storage } from '../storage/types.js';
import { listFileBackups } from './catalog.js';
import { withVerifiedArchive } from './transfer.js';

/**
 * One health item per enabled type: its newest complete backup must exist, be at most
 * 48 h old, and its archive must still match the sha256 in metadata.json (read back in
 * full; no key needed, so encrypted backups are checked too).
 */
export async function fileBackupHealth(config: SeedvaultConfig, storage: Storage, now = new Date()): Promise<ComponentHealth[]> {
  const backups = (await listFileBackups(storage)).filter((b) => b.complete);
  const types = Object.entries(config.file_backups.types).filter(([, t]) => t.enabled).map(([type]) => type);
  return Promise.all(
    types.map(async (type) => {
      const newest = backups.find((b) => b.backup_type === type);
      if (!newest) return classifyFileBackup(type, null, now);
      let verifyProblem: string | null = null;
      try {
        await withVerifiedArchive(storage, newest.metadata!, async () => undefined);
      } catch (err) {
        verifyProblem = errorMessage(err);
      }
      return classifyFileBackup(type, { backup_id: newest.backup_id, timestamp: newest.timestamp, verifyProblem }, now);
    }),
  );
}
