import { ApplicationFailure } from '@temporalio/common';
import {
  CHECKSUMS_FILE,
  LATEST_PREFIX,
  LATEST_VERSION_KEY,
  MANIFEST_FILE,
  renderChecksums,
  type Manifest,
  type ManifestTable,
} from '../../domain/manifest.js';
import { versionPrefix } from '../../domain/version.js';
import { hashStream } from '../../storage/hash.js';
import { setPinned as markPinned } from '../../storage/pin.js';
import { withHeartbeat } from '../heartbeat.js';
import type { ActivityDeps } from '../deps.js';

/** Verify, publish and promote a version: each step idempotent, so a retry after a crash is safe. */
export function publishActivities({ storage }: ActivityDeps) {
  return {
    /** Reads every data object back and checks its size and sha256 against what the export computed. */
    async verifyUploads(input: { version: string; tables: Record<string, ManifestTable> }): Promise<void> {
      const prefix = versionPrefix(input.version);
      let reading = '';
      await withHeartbeat(
        () => ({ reading }),
        async () => {
          for (const table of Object.values(input.tables)) {
            const key = `${prefix}${table.file}`;
            reading = key;
            const landed = await hashStream(await storage.get(key));
            if (landed.bytes !== table.size_bytes || landed.sha256 !== table.sha256) {
              throw ApplicationFailure.nonRetryable(
                `${storage.location}/${key}: landed ${landed.bytes} bytes sha256 ${landed.sha256}, expected ${table.size_bytes} bytes sha256 ${table.sha256}`,
                'IntegrityError',
              );
            }
          }
        },
      );
    },

    /** checksums.sha256 first, manifest.json last: a manifest's presence means the version is complete. */
    async publishManifest(manifest: Manifest): Promise<void> {
      const prefix = versionPrefix(manifest.version);
      await storage.put(`${prefix}${CHECKSUMS_FILE}`, renderChecksums(manifest.tables), { contentType: 'text/plain' });
      await storage.put(`${prefix}${MANIFEST_FILE}`, `${JSON.stringify(manifest, null, 2)}\n`, { contentType: 'application/json' });
    },

    /**
     * Points `latest/` and LATEST_VERSION at a complete version with server-side copies.
     * latest/manifest.json goes first and comes back last, so while the move runs latest/
     * reads as incomplete and a restore falls back to LATEST_VERSION's own folder.
     */
    async moveLatest(input: { version: string }): Promise<void> {
      // Heartbeats let a dead worker be noticed in seconds, not at the start-to-close timeout.
      await withHeartbeat(
        () => input.version,
        async () => {
          const prefix = versionPrefix(input.version);
          const objects = (await storage.list(prefix)).map((o) => o.key.slice(prefix.length));
          if (!objects.includes(MANIFEST_FILE)) {
            throw ApplicationFailure.nonRetryable(`version ${input.version} has no ${MANIFEST_FILE}; refusing to make it latest`, 'IntegrityError');
          }
          const payload = objects.filter((name) => !name.startsWith('.') && name !== MANIFEST_FILE);
          await storage.delete([`${LATEST_PREFIX}${MANIFEST_FILE}`]);
          for (const name of payload) await storage.copy(`${prefix}${name}`, `${LATEST_PREFIX}${name}`);
          const stale = (await storage.list(LATEST_PREFIX))
            .map((o) => o.key)
            .filter((key) => key !== `${LATEST_PREFIX}${MANIFEST_FILE}` && !payload.includes(key.slice(LATEST_PREFIX.length)));
          await storage.delete(stale);
          await storage.put(LATEST_VERSION_KEY, `${input.version}\n`, { contentType: 'text/plain' });
          await storage.copy(`${prefix}${MANIFEST_FILE}`, `${LATEST_PREFIX}${MANIFEST_FILE}`);
        },
      );
    },

    async setPinned(input: { version: string; pinned: boolean }): Promise<void> {
      await markPinned(storage, input.version, input.pinned);
    },
  };
}
