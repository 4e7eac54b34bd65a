import { ApplicationFailure } from '@temporalio/common';
import { RESERVATION_MARKER } from '../../domain/manifest.js';
import type { PrunePlan } from '../../domain/retention.js';
import { nextFreeVersion, versionPrefix } from '../../domain/version.js';
import { listVersions, pruneVersions } from '../../storage/seed-catalog.js';
import type { Storage } from '../../storage/types.js';
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

export function versionActivities({ config, storage }: ActivityDeps) {
  return {
    /**
     * With `requested`, claims exactly that version (failing if another run owns it);
     * otherwise the first free one of `base`, `base-2`, `base-3`, ...
     */
    async claimVersion(input: { requested?: string; base: string; owner: string }): Promise<string> {
      if (input.requested) {
        if (await reserveVersion(storage, input.requested, input.owner)) return input.requested;
        throw ApplicationFailure.nonRetryable(
          `version ${input.requested} already exists or is being written by another run`,
          'VersionTaken',
        );
      }
      const taken = new Set((await listVersions(storage)).map((v) => v.version));
      for (;;) {
        const candidate = nextFreeVersion(input.base, taken);
        if (await reserveVersion(storage, candidate, input.owner)) return candidate;
        taken.add(candidate);
      }
    },

    async pruneSnapshots(input: { dryRun: boolean }): Promise<PrunePlan> {
      return withHeartbeat(() => null, () => pruneVersions(storage, config.backup.retention_count, input.dryRun));
    },
  };
}
