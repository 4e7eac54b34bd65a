import { pipeline } from 'node:stream';
import { ApplicationFailure } from '@temporalio/common';
import {
  CHECKSUMS_FILE,
  dataContentType,
  dataObjects,
  LATEST_PREFIX,
  LATEST_VERSION_KEY,
  MANIFEST_FILE,
  renderChecksums,
  type Manifest,
} from '../../domain/manifest.js';
import { versionPrefix } from '../../domain/version.js';
import { hashTap } from '../../files/hash-tap.js';
import { setPinned as markPinned } from '../../storage/pin.js';
import { writeOrder } from '../../storage/stores.js';
import type { Storage } from '../../storage/types.js';
import { withHeartbeat } from '../heartbeat.js';
import type { ActivityDeps } from '../deps.js';
import { checkLanded, type VersionTables } from './check-landed.js';

/** Streams one object from `from` to the same key in `to` (stores on different endpoints: no server-side copy). */
async function copyObject(from: Storage, to: Storage, key: string, contentType: string, onBytes: (bytes: number) => void): Promise<void> {
  const tap = hashTap(onBytes);
  // A failed read destroys the body, which fails the write; a failed write ends the read.
  const body = pipeline(await from.get(key), tap.stream, () => {});
  await to.put(key, body, { contentType }).catch((err: unknown) => {
    body.destroy();
    throw err;
  });
}

/**
 * Points `latest/` and LATEST_VERSION of one store at a complete version with server-side
 * copies. latest/manifest.json goes first and comes back last, so while the move runs
 * latest/ reads as incomplete and a restore falls back to LATEST_VERSION's own folder.
 */
async function moveLatestIn(storage: Storage, version: string): Promise<void> {
  const prefix = versionPrefix(version);
  const objects = (await storage.list(prefix)).map((o) => o.key.slice(prefix.length));
  if (!objects.includes(MANIFEST_FILE)) {
    throw ApplicationFailure.nonRetryable(`version ${version} has no ${MANIFEST_FILE} in ${storage.location}; refusing to make it latest`, 'IntegrityError');
  }
  const payload = objects.filter((name) => !name.startsWith('.') && name !== MANIFEST_FILE);
  await storage.delete([`${LATEST_PREFIX}${MANIFEST_FILE}`]);
  for (const name of payload) await storage.copy(`${prefix}${name}`, `${LATEST_PREFIX}${name}`);
  const stale = (await storage.list(LATEST_PREFIX))
    .map((o) => o.key)
    .filter((key) => key !== `${LATEST_PREFIX}${MANIFEST_FILE}` && !payload.includes(key.slice(LATEST_PREFIX.length)));
  await storage.delete(stale);
  await storage.put(LATEST_VERSION_KEY, `${version}\n`, { contentType: 'text/plain' });
  await storage.copy(`${prefix}${MANIFEST_FILE}`, `${LATEST_PREFIX}${MANIFEST_FILE}`);
}

/**
 * Verify, mirror, publish and promote a version: each step idempotent, so a retry after a
 * crash is safe. With `storage.mirror`, publishing, pinning and moving latest go to the
 * mirror first and the primary last (src/storage/stores.ts).
 */
export function publishActivities({ storage, mirror }: ActivityDeps) {
  const stores = writeOrder(storage, mirror);
  return {
    /** Checks every data object's size and CRC32 (or, read back, sha256) against what the export computed: see checkLanded. */
    async verifyUploads(input: VersionTables): Promise<void> {
      let checking = '';
      await withHeartbeat(() => ({ checking }), () => checkLanded(storage, input, (key) => (checking = key)));
    },

    /**
     * Copies every data object of a version from the primary to the mirror, streaming, then
     * checks the mirror's copies like verifyUploads. A retry copies again.
     */
    async mirrorUploads(input: VersionTables): Promise<void> {
      if (!mirror) throw ApplicationFailure.nonRetryable('storage.mirror is not configured on this worker', 'InputError');
      const prefix = versionPrefix(input.version);
      const objects = Object.values(input.tables).flatMap((table) => dataObjects(table).map((object) => ({ file: object.file, format: table.format })));
      const progress = { step: 'copy', key: '', bytes: 0, files: 0, of: objects.length };
      await withHeartbeat(
        () => progress,
        async () => {
          for (const object of objects) {
            Object.assign(progress, { key: `${prefix}${object.file}`, bytes: 0 });
            await copyObject(storage, mirror, progress.key, dataContentType(object.format), (bytes) => (progress.bytes = bytes));
            progress.files += 1;
          }
          progress.step = 'verify';
          await checkLanded(mirror, input, (key) => (progress.key = key));
        },
      );
    },

    /** checksums.sha256 first, manifest.json last: a manifest's presence means the version is complete. */
    async publishManifest(manifest: Manifest): Promise<void> {
      const prefix = versionPrefix(manifest.version);
      for (const { storage: store } of stores) {
        await store.put(`${prefix}${CHECKSUMS_FILE}`, renderChecksums(manifest.tables), { contentType: 'text/plain' });
        await store.put(`${prefix}${MANIFEST_FILE}`, `${JSON.stringify(manifest, null, 2)}\n`, { contentType: 'application/json' });
      }
    },

    /** Moves latest/ in every store; heartbeats let a dead worker be noticed in seconds, not at the start-to-close timeout. */
    async moveLatest(input: { version: string }): Promise<void> {
      let moving = '';
      await withHeartbeat(
        () => ({ version: input.version, store: moving }),
        async () => {
          for (const { name, storage: store } of stores) {
            moving = name;
            await moveLatestIn(store, input.version);
          }
        },
      );
    },

    async setPinned(input: { version: string; pinned: boolean }): Promise<void> {
      for (const { storage: store } of stores) await markPinned(store, input.version, input.pinned);
    },
  };
}
