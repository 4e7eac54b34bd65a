import { listVersions } from '../../storage/seed-catalog.js';
import { verifyVersion, type VersionVerification } from '../../restore/verify.js';
import type { ActivityDeps } from '../deps.js';
import { withHeartbeat } from '../heartbeat.js';

export interface VerifyInput {
  /** A version, `latest`, or `all` for every complete version. */
  version: string;
  againstDb?: boolean;
}

/** Verifies snapshot versions in the configured storage (and against the database). */
export function verifyActivities({ config, pool, storage }: ActivityDeps) {
  return {
    async verifyVersions(input: VerifyInput): Promise<VersionVerification[]> {
      const versions = input.version === 'all' ? (await listVersions(storage)).filter((v) => v.complete).map((v) => v.version) : [input.version];
      const dateColumns = Object.fromEntries(Object.values(config.sources).map((s) => [s.table, s.date_column]));
      const results: VersionVerification[] = [];
      let current = '';
      // Reading a large version back takes long; heartbeats tell a slow read from a dead worker.
      return withHeartbeat(
        () => ({ verifying: current, done: results.length, of: versions.length }),
        async () => {
          for (const version of versions) {
            current = version;
            results.push(await verifyVersion({ storage, version, pool: input.againstDb ? pool : undefined, dateColumns }));
          }
          return results;
        },
      );
    },
  };
}
