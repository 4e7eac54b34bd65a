import type { Client } from '@temporalio/client';
import type pg from 'pg';
import type { SeedvaultConfig } from '../config/schema.js';
import type { SeedvaultMetrics } from '../metrics.js';
import type { Storage } from '../storage/types.js';

/** What every activity may use; built once per worker process. */
export interface ActivityDeps {
  config: SeedvaultConfig;
  pool: pg.Pool;
  storage: Storage;
  /** `storage.mirror`: every snapshot version is copied there too; null when none is configured. */
  mirror: Storage | null;
  /** For activities that report progress back to their workflow by signal. */
  temporal: Client;
  /** seedvault's Prometheus metrics (README: Metrics). */
  metrics: SeedvaultMetrics;
}
