import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { describeTable } from '../../parquet/table-catalog.js';
import type { ActivityDeps } from '../deps.js';

export interface RestoreTableSettings {
  /** Source key in the config. */
  key: string;
  table: string;
  required: boolean;
  fallback: string[] | null;
  /** Whether the live table holds at least one row now (for if-empty). */
  hasRows: boolean;
}

export interface RestoreSettings {
  storageType: 'minio' | 's3' | 'local';
  localPath: string;
  /** Whether `storage.mirror` is configured (absent in runs planned before mirrors). */
  mirror?: boolean;
  heartbeatTimeoutSeconds: number;
  tables: RestoreTableSettings[];
}

/** The config facts a restore needs (workflows cannot read files), and which live tables hold rows. */
export function restoreSettingsActivities({ config, pool }: ActivityDeps) {
  return {
    async restoreSettings(input: { sources?: string[] }): Promise<RestoreSettings> {
      const keys = input.sources?.length ? input.sources : Object.keys(config.sources);
      const tables: RestoreTableSettings[] = [];
      for (const key of keys) {
        const source = config.sources[key];
        if (!source) throw ApplicationFailure.nonRetryable(`unknown source "${key}" (config sources: ${Object.keys(config.sources).join(', ')})`, 'InputError');
        const client = await pool.connect();
        try {
          const layout = await describeTable(client, source.table, undefined, undefined);
          const rows = await client.query(`SELECT 1 FROM ${layout.sql} LIMIT 1`);
          tables.push({ key, table: source.table, required: source.required, fallback: source.fallback, hasRows: Boolean(rows.rowCount) });
        } finally {
          client.release();
        }
      }
      // A local primary keeps its versions under storage.prefix, like a bucket; the fallback folder of a bucket has the plain layout.
      const localPath = config.storage.type === 'local' && config.storage.prefix ? join(config.storage.local_path, config.storage.prefix) : config.storage.local_path;
      return { storageType: config.storage.type, localPath, mirror: Boolean(config.storage.mirror), heartbeatTimeoutSeconds: config.temporal.heartbeat_timeout_seconds, tables };
    },
  };
}
