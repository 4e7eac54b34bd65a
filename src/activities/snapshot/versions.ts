import { ApplicationFailure } from '@temporalio/common';
import { MANIFEST_FILE, RESERVATION_MARKER } from '../../domain/manifest.js';
import { retentionPolicy, type PrunePlan } from '../../domain/retention.js';
import { nextFreeVersion, versionPrefix } from '../../domain/version.js';
import { listVersions, pruneVersions } from '../../storage/seed-catalog.js';
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

async function claimFirstFree(storage: Storage, base: string, owner: string): Promise<string> {
  const taken = new Set((await listVersions(storage)).map((v) => v.version));
  for (;;) {
    const candidate = nextFreeVersion(base, taken);
    if (await reserveVersion(storage, candidate, owner)) return candidate;
    taken.add(candidate);
  }
}

export function versionActivities({ config, storage, temporal }: ActivityDeps) {
  return {
    /**
     * With `requested`, claims exactly that version (failing if another run owns it),
     * unless `orNextFree` says it was only a guess (the CLI's pick for "today"), which a
     * racing run may have taken first; otherwise the first free one of `base`, `base-2`, ...
     */
    async claimVersion(input: { requested?: string; orNextFree?: boolean; base: string; owner: string }): Promise<string> {
      if (input.requested) {
        if (await reserveVersion(storage, input.requested, input.owner)) return input.requested;
        if (input.orNextFree) return claimFirstFree(storage, input.base, input.owner);
        throw ApplicationFailure.nonRetryable(
          `version ${input.requested} already exists or is being written by another run`,
          'VersionTaken',
        );
      }
      return claimFirstFree(storage, input.base, input.owner);
    },

    /**
     * After a failed run: deletes what it uploaded of a version that never got its
     * manifest (space back on a full disk), keeping the reservation so the id stays its own.
     * A published version stays: it is complete even if moving latest failed.
     */
    async discardIncomplete(input: { version: string }): Promise<number> {
      const prefix = versionPrefix(input.version);
      const objects = await storage.list(prefix);
      if (objects.some((o) => o.key === `${prefix}${MANIFEST_FILE}`)) return 0;
      const partial = objects.filter((o) => o.key !== `${prefix}${RESERVATION_MARKER}`).map((o) => o.key);
      await storage.delete(partial);
      return partial.length;
    },

    async pruneSnapshots(input: { dryRun: boolean }): Promise<PrunePlan> {
      return withHeartbeat(() => null, () => pruneVersions(storage, retentionPolicy(config.backup, new Date()), input.dryRun, (id) => isWorkflowRunning(temporal, id)));
    },
  };
}
