import { quoteQualified } from '../db/pool.js';
import type { ActivityDeps } from './deps.js';

export interface TableStats {
  table: string;
  rows: number;
  /** Newest value of the source's date column (ISO), when it has one. */
  newest: string | null;
}

/** Row count and newest date of each configured source table. */
export function tableStatsActivities({ config, pool }: ActivityDeps) {
  return {
    async tableStats(): Promise<TableStats[]> {
      const stats: TableStats[] = [];
      for (const source of Object.values(config.sources)) {
        const table = quoteQualified(source.table);
        const newest = source.date_column ? `max(${quoteQualified(source.date_column)})` : 'null';
        const { rows } = await pool.query<{ rows: string; newest: Date | string | null }>(
          `select count(*) as rows, ${newest} as newest from ${table}`,
        );
        const value = rows[0]!.newest;
        stats.push({
          table: source.table,
          rows: Number(rows[0]!.rows),
          newest: value === null ? null : value instanceof Date ? value.toISOString() : String(value),
        });
      }
      return stats;
    },
  };
}
