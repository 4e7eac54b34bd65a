import { readJson } from '../storage/read-json.js';
import type { Storage } from '../storage/types.js';

/**
 * A type whose latest run found nothing to back up (its sources match no file on the
 * worker's host). Kept beside the backups under `_nothing-to-back-up/<type>.json` (never a
 * backup id, so listings skip it) until a backup of the type completes.
 */
export interface NothingToBackUp {
  backup_type: string;
  /** When the run looked, ISO. */
  at: string;
  reason: string;
  workflow: { id: string; run_id: string } | null;
}

const PREFIX = '_nothing-to-back-up/';
const recordKey = (type: string) => `${PREFIX}${type}.json`;

export async function recordNothingToBackUp(storage: Storage, record: NothingToBackUp): Promise<void> {
  await storage.put(recordKey(record.backup_type), `${JSON.stringify(record, null, 2)}\n`, { contentType: 'application/json' });
}

export async function clearNothingToBackUp(storage: Storage, type: string): Promise<void> {
  await storage.delete([recordKey(type)]);
}

/** Every type's record, by type. */
export async function readNothingToBackUp(storage: Storage): Promise<Map<string, NothingToBackUp>> {
  const keys = (await storage.list(PREFIX)).map((o) => o.key).filter((k) => k.endsWith('.json'));
  const records = await Promise.all(keys.map((key) => readJson<NothingToBackUp>(storage, key)));
  return new Map(records.filter((r) => r !== null).map((r) => [r.backup_type, r]));
}
