import { inTransaction } from '../../db/pool.js';
import { listVersions } from '../../storage/seed-catalog.js';
import { verifyInStores, type VersionVerification } from '../../restore/verify.js';
import type { ActivityDeps } from '../deps.js';
import { withHeartbeat } from '../heartbeat.js';

export interface VerifyInput {
  /** A version, `latest`, or `all` for every complete version. */
  version: string;
  againstDb?: boolean;
}

/** What a deep verify found in one version, as recorded: per table, and the version's own problems. */
export interface DeepVerifyOutcome {
  version: string;
  problems: string[];
  tables: { table: string; problems: string[] }[];
}

/** Verifies snapshot versions in the configured storage and its mirror (and against the database). */
export function verifyActivities({ config, pool, storage, mirror }: ActivityDeps) {
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
            results.push(await verifyInStores({ storage, mirror, version, pool: input.againstDb ? pool : undefined, dateColumns }));
          }
          return results;
        },
      );
    },

    /**
     * Records deep verifies in backup_metadata (issue 16), where the health check reads them:
     * each table row of a version gets validation_status validated / failed, validated_at now
     * and `metadata.deep_verify` (its problems and the version's own, the workflow id).
     */
    async recordDeepVerify(input: { workflowId: string; outcomes: DeepVerifyOutcome[] }): Promise<void> {
      await inTransaction(pool, async (client) => {
        for (const outcome of input.outcomes) {
          const ofTables = new Set(outcome.tables.flatMap((t) => t.problems));
          const ofVersion = outcome.problems.filter((p) => !ofTables.has(p));
          const tables = outcome.tables.map((t) => ({ table_name: t.table, problems: [...t.problems, ...ofVersion] }));
          await client.query(
            `update backup_metadata b
             set validation_status = case when jsonb_array_length(t.problems) = 0 then 'validated' else 'failed' end,
                 validated_at = now(),
                 metadata = b.metadata || jsonb_build_object('deep_verify', jsonb_build_object('workflow_id', $3::text, 'problems', t.problems))
             from jsonb_to_recordset($2::jsonb) as t(table_name text, problems jsonb)
             where b.snapshot_version = $1 and b.table_name = t.table_name`,
            [outcome.version, JSON.stringify(tables), input.workflowId],
          );
        }
      });
    },
  };
}
