import { proxyActivities, setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { TableStats } from '../activities/table-stats.js';
import { HealthStatus, SeedvaultJob } from './search-attributes.js';

const { tableStats } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 5 },
  summary: 'count rows of the critical tables',
});

export interface HealthReport {
  status: 'green' | 'red';
  tables: TableStats[];
}

/** Checks the critical tables are reachable and not empty. */
export async function healthCheck(): Promise<HealthReport> {
  upsertSearchAttributes([{ key: SeedvaultJob, value: 'health' }]);
  const tables = await tableStats();
  const status = tables.every((t) => t.rows > 0) ? 'green' : 'red';
  setCurrentDetails(tables.map((t) => `${t.table}: ${t.rows} rows`).join('\n'));
  upsertSearchAttributes([{ key: HealthStatus, value: status }]);
  return { status, tables };
}
