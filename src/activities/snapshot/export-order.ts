import type { SeedvaultConfig } from '../../config/schema.js';
import { keptExportOrder, type ExportOrder } from '../../domain/export-order.js';
import type { ManifestTable } from '../../domain/manifest.js';
import { IntegrityError } from '../../errors.js';
import { log } from '../../logging.js';
import { readManifest, versionNames } from '../../storage/seed-catalog.js';
import type { Storage } from '../../storage/types.js';

/**
 * The export order of each table for this snapshot: backup.export_order when set, otherwise
 * the order the table has in the newest complete version that holds it (domain/export-order),
 * so a snapshot of some tables only leaves the others' order alone. Versions complete only
 * when a snapshot ends, so the activities and retries of one snapshot all get the same answer.
 */
export async function exportOrders(config: SeedvaultConfig, storage: Storage): Promise<(table: string) => ExportOrder> {
  const configured = config.backup.export_order;
  if (configured) return () => configured;
  const kept = await newestEntries(storage, Object.values(config.sources).map((source) => source.table));
  return (table) => keptExportOrder(kept.get(table));
}

/**
 * Each of `tables`' entry in the newest complete version that has one, reading manifests newest
 * first until all are found: what a table's next export keeps (its order, its parts' key ranges).
 */
export async function newestEntries(storage: Storage, tables: string[]): Promise<Map<string, ManifestTable>> {
  const found = new Map<string, ManifestTable>();
  for (const version of await versionNames(storage)) {
    if (tables.every((table) => found.has(table))) break;
    for (const [table, entry] of Object.entries((await manifestOrNull(storage, version))?.tables ?? {})) {
      if (!found.has(table)) found.set(table, entry);
    }
  }
  return found;
}

/** A corrupt manifest must not stop the snapshot that follows it; a store that cannot be read fails the activity, to be retried. */
async function manifestOrNull(storage: Storage, version: string) {
  try {
    return await readManifest(storage, version);
  } catch (err) {
    if (!(err instanceof IntegrityError)) throw err;
    log.warn({ version, err: err.message }, 'a manifest is unreadable: the export order skips that version');
    return null;
  }
}
