import type pg from 'pg';

/**
 * Retention of the operational tables (seed 001's schedule; issue 7). Market data, trades and
 * restore history are kept for good. Each rule names the rows past their age; deletes go
 * in batches by ctid, each its own short transaction, so no table is locked for long.
 */
export interface RetentionRule {
  name: string;
  table: string;
  /** SQL condition on the table's rows, with $1 = "now". */
  where: string;
  /** What the seed says. */
  policy: string;
}

export const RETENTION_RULES: readonly RetentionRule[] = [
  {
    name: 'pipeline_runs',
    table: 'backfill_state_persistent',
    where: `status in ('completed', 'failed') and coalesce(completed_at, updated_at) < $1::timestamptz - interval '90 days'`,
    policy: 'pipeline runs: 90 days',
  },
  { name: 'api_usage', table: 'provider_rate_budget', where: `window_start < $1::timestamptz - interval '30 days'`, policy: 'API usage: 30 days' },
  {
    name: 'ready_signals',
    table: 'ready_signals',
    where: `(status = 'completed' and completed_at < $1::timestamptz - interval '7 days')
            or (status in ('failed', 'expired') and updated_at < $1::timestamptz - interval '7 days')`,
    policy: 'ready signals: 7 days after processing',
  },
  { name: 'data_gaps', table: 'data_gaps', where: `resolved_at < $1::timestamptz - interval '30 days'`, policy: 'data gaps: 30 days after resolution' },
  { name: 'pipeline_health', table: 'pipeline_health', where: `measured_at < $1::timestamptz - interval '30 days'`, policy: 'pipeline health: 30 days' },
  { name: 'data_anomalies', table: 'data_anomalies', where: `detected_at < $1::timestamptz - interval '90 days'`, policy: 'anomalies: 90 days' },
  {
    name: 'duplicate_records_log',
    table: 'duplicate_records_log',
    where: `cleaned_at < $1::timestamptz - interval '90 days'`,
    policy: 'duplicate cleanup log: 90 days (as anomalies)',
  },
  { name: 'alert_deliveries', table: 'alert_deliveries', where: `updated_at < $1::timestamptz - interval '30 days'`, policy: 'alert deliveries: 30 days' },
  {
    name: 'backup_metadata',
    table: 'backup_metadata',
    where: `not is_active and deactivated_at < $1::timestamptz - interval '7 days'`,
    policy: 'backup metadata: active + 7 days after deactivation',
  },
];

export const DEFAULT_BATCH_SIZE = 5_000;

export interface RetentionCount {
  name: string;
  table: string;
  policy: string;
  /** Rows past their age (dry run) or deleted. */
  rows: number;
  batches: number;
}

export interface RetentionOptions {
  dryRun: boolean;
  now?: Date;
  batchSize?: number;
  /** Called after each batch (heartbeats). */
  onBatch?: (rule: string, deletedSoFar: number) => void;
}

export async function runRetention(pool: pg.Pool, options: RetentionOptions): Promise<RetentionCount[]> {
  const now = options.now ?? new Date();
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const results: RetentionCount[] = [];
  for (const rule of RETENTION_RULES) {
    if (options.dryRun) {
      const { rows } = await pool.query<{ n: string }>(`select count(*)::text as n from ${rule.table} where ${rule.where}`, [now]);
      results.push({ name: rule.name, table: rule.table, policy: rule.policy, rows: Number(rows[0]!.n), batches: 0 });
      continue;
    }
    let deleted = 0;
    let batches = 0;
    for (;;) {
      const res = await pool.query(
        `delete from ${rule.table} where ctid = any(array(select ctid from ${rule.table} where ${rule.where} limit $2))`,
        [now, batchSize],
      );
      const n = res.rowCount ?? 0;
      deleted += n;
      if (n > 0) batches += 1;
      options.onBatch?.(rule.name, deleted);
      if (n < batchSize) break;
    }
    results.push({ name: rule.name, table: rule.table, policy: rule.policy, rows: deleted, batches });
  }
  return results;
}
