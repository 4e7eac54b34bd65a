import type { SeedvaultConfig } from '../../config/schema.js';
import { keptExportOrder, type ExportOrder } from '../../domain/export-order.js';
import type { Manifest } from '../../domain/manifest.js';
import { IntegrityError } from '../../errors.js';
import { log } from '../../logging.js';
import { readLatestVersion, readManifest } from '../../storage/seed-catalog.js';
import type { Storage } from '../../storage/types.js';

/**
 * The export order of each table for this snapshot: backup.export_order when set, otherwise
 * the order the table has in the latest version (domain/export-order). The latest version
 * moves only when a snapshot completes, so every activity of one snapshot, and every retry,
 * gets the same answer.
 */
export async function exportOrders(config: SeedvaultConfig, storage: Storage): Promise<(table: string) => ExportOrder> {
  const configured = config.backup.export_order;
  if (configured) return () => configured;
  const latest = await readLatestVersion(storage);
  let manifest: Manifest | null = null;
  try {
    manifest = latest ? await readManifest(storage, latest) : null;
  } catch (err) {
    // A corrupt latest manifest must not stop the snapshot that replaces it; a store that
    // cannot be read fails the activity, to be retried, rather than change the files' order.
    if (!(err instanceof IntegrityError)) throw err;
    log.warn({ version: latest, err: err.message }, 'the latest manifest is unreadable: every table exported in the first snapshot\'s order');
  }
  return (table) => keptExportOrder(manifest?.tables[table]);
}
