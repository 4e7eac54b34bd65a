import { ApplicationFailure } from '@temporalio/common';
import { MANIFEST_FILE, RESERVATION_MARKER } from '../../domain/manifest.js';
import { retentionPolicy, type StoresPrunePlan } from '../../domain/retention.js';
import { nextFreeVersion, versionPrefix } from '../../domain/version.js';
import { listVersions, pruneStores } from '../../storage/seed-catalog.js';
import { deleteOrder, writeOrder } from '../../storage/stores.js';
import type { Storage } from '../../storage/types.js';
import { isWorkflowRunning } from '../../temporal/connection.js';
import type { ActivityDeps } from '../deps.js';
import { withHeartbeat } from '../heartbeat.js';

/**
 * Claims a version for one workflow with a create-if-absent marker object, so two
 * triggers (manual and scheduled) can never write the same version. Retries of the same
 * workflow find their own claim and go on.
 */
export async function reserveVersion(storage: Storage, version: string, owner: string): Promise<boolean> {
  const key = `${versionPrefix(version)}${RESERVATION_MARKER}`;
  if (await storage.putIfAbsent(key, owner)) return true;
  return (await storage.getText(key)) === owner;
}

/**
 * Reserves a version in every store (the mirror too, so a version the mirror still holds is
 * never overwritten). A store that refuses leaves the others' markers: prune sweeps them.
 */
async function reserveEverywhere(stores: Storage[], version: string, owner: string): Promise<boolean> {
  for (const storage of stores) if (!(await reserveVersion(storage, version, owner))) return false;
  return true;
}

async function claimFirstFree(stores: Storage[], base: string, owner: string): Promise<string> {
  const taken = new Set((await Promise.all(stores.map(listVersions))).flat().map((v) => v.version));
  for (;;) {
    const candidate = nextFreeVersion(base, taken);
    if (await reserveEverywhere(stores, candidate, owner)) return candidate;
    taken.add(candidate);
  }
}

export function versionActivities({ config, storage, mirror, temporal }: ActivityDeps) {
  const stores = writeOrder(storage, mirror).map((s) => s.storage);
  return {
    /**
     * With `requested`, claims exactly that version (failing if another run owns it),
     * unless `orNextFree` says it was only a guess (the CLI's pick for "today"), which a
     * racing run may have taken first; otherwise the first free one of `base`, `base-2`, ...
     */
    async claimVersion(input: { requested?: string; orNextFree?: boolean; base: string; owner: string }): Promise<string> {
      if (input.requested) {
        if (await reserveEverywhere(stores, input.requested, input.owner)) return input.requested;
        if (input.orNextFree) return claimFirstFree(stores, input.base, input.owner);
        throw ApplicationFailure.nonRetryable(
          `version ${input.requested} already exists or is being written by another run`,
          'VersionTaken',
        );
      }
      return claimFirstFree(stores, input.base, input.owner);
    },

    /**
     * After a failed run: deletes what it uploaded of a version that never got its manifest
     * on the primary (space back on a full disk), in every store (the mirror's manifest too,
     * written first), keeping the reservations so the id stays its own. A version published
     * on the primary stays: it is complete even if moving latest failed.
     */
    async discardIncomplete(input: { version: string }): Promise<number> {
      const prefix = versionPrefix(input.version);
      if (await storage.head(`${prefix}${MANIFEST_FILE}`)) return 0;
      let discarded = 0;
      for (const { storage: store } of deleteOrder(storage, mirror)) {
        const partial = (await store.list(prefix)).filter((o) => o.key !== `${prefix}${RESERVATION_MARKER}`).map((o) => o.key);
        await store.delete(partial);
        discarded += partial.length;
      }
      return discarded;
    },

    async pruneSnapshots(input: { dryRun: boolean }): Promise<StoresPrunePlan> {
      return withHeartbeat(() => null, () => pruneStores(storage, mirror, retentionPolicy(config.backup, new Date()), input.dryRun, (id) => isWorkflowRunning(temporal, id)));
    },
  };
}
