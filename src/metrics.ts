import type { MetricCounter, MetricGauge, MetricHistogram, MetricMeter } from '@temporalio/common';
import type { ComponentHealth, HealthLevel } from './domain/file-backup-health.js';

/**
 * seedvault's Prometheus metrics, recorded through the Temporal SDK's metric meter so they
 * share the SDK's `/metrics` endpoint (README: Metrics). Every label value comes from a
 * small, fixed set (job types, outcome classes) or from the config (tables, file backup
 * types, health components): never a version, execution or workflow id.
 */

/** The workflow types whose runs count as jobs, and their `job` label. */
export const JOB_OF_WORKFLOW = {
  seedSnapshot: 'snapshot',
  seedRestore: 'restore',
  backfill: 'backfill',
  fileBackup: 'file_backup',
  healthCheck: 'health',
  maintenance: 'maintenance',
} as const;

export type Job = (typeof JOB_OF_WORKFLOW)[keyof typeof JOB_OF_WORKFLOW];
export type JobOutcome = 'success' | 'failure' | 'cancelled';

export function jobOfWorkflow(workflowType: string): Job | null {
  return Object.hasOwn(JOB_OF_WORKFLOW, workflowType) ? JOB_OF_WORKFLOW[workflowType as keyof typeof JOB_OF_WORKFLOW] : null;
}

/** `seedvault_health_status` values, ordered so `max()` is the worst. */
export const HEALTH_LEVEL_VALUE: Record<HealthLevel, number> = { green: 0, yellow: 1, red: 2 };

/** Bucket bounds per histogram (the SDK's defaults suit milliseconds, not jobs that run for hours). */
export const HISTOGRAM_BUCKETS: Record<string, number[]> = {
  seedvault_job_duration_seconds: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200],
  seedvault_provider_rate_wait_seconds: [0.5, 1, 2, 5, 10, 30, 60, 300, 3600, 86400],
};

export class SeedvaultMetrics {
  private readonly jobRuns: MetricCounter;
  private readonly jobDuration: MetricHistogram;
  private readonly jobLastSuccess: MetricGauge;
  private readonly jobLastFailure: MetricGauge;
  private readonly rowsExported: MetricCounter;
  private readonly bytesExported: MetricCounter;
  private readonly rowsRestored: MetricCounter;
  private readonly bytesRestored: MetricCounter;
  private readonly barsInserted: MetricCounter;
  private readonly providerRequests: MetricCounter;
  private readonly creditsUsed: MetricCounter;
  private readonly rateWaits: MetricCounter;
  private readonly rateWaitSeconds: MetricHistogram;
  private readonly healthStatus: MetricGauge;
  private readonly snapshotAge: MetricGauge;
  private readonly fileBackupAge: MetricGauge;

  constructor(meter: MetricMeter) {
    this.jobRuns = meter.createCounter('seedvault_job_runs', undefined, 'Finished job runs by job type and outcome (success, failure, cancelled).');
    this.jobDuration = meter.createHistogram('seedvault_job_duration_seconds', 'float', undefined, 'Job run duration from start (of the first run of a continued-as-new chain) to end, by job type and outcome.');
    this.jobLastSuccess = meter.createGauge('seedvault_job_last_success_timestamp_seconds', 'float', undefined, 'Unix time of the last successful run of each job type seen by this worker.');
    this.jobLastFailure = meter.createGauge('seedvault_job_last_failure_timestamp_seconds', 'float', undefined, 'Unix time of the last failed or cancelled run of each job type seen by this worker.');
    this.rowsExported = meter.createCounter('seedvault_snapshot_rows_exported', undefined, 'Rows written to snapshot files, per table.');
    this.bytesExported = meter.createCounter('seedvault_snapshot_bytes_exported', undefined, 'Bytes of snapshot files uploaded, per table.');
    this.rowsRestored = meter.createCounter('seedvault_restore_rows_loaded', undefined, 'Rows loaded and validated in staging by restores, per table.');
    this.bytesRestored = meter.createCounter('seedvault_restore_bytes_loaded', undefined, 'Bytes of snapshot files loaded by restores, per table (0 for sources without a manifest entry).');
    this.barsInserted = meter.createCounter('seedvault_backfill_bars_inserted', undefined, 'New OHLCV bars inserted by backfills.');
    this.providerRequests = meter.createCounter('seedvault_provider_requests', undefined, 'Market-data provider requests by outcome class (ok, rate_limited, bad_symbol, market_closed, provider_error, timeout, error).');
    this.creditsUsed = meter.createCounter('seedvault_provider_credits_used', undefined, 'Provider credits spent from the shared rate budget.');
    this.rateWaits = meter.createCounter('seedvault_provider_rate_waits', undefined, 'Times the rate budget refused a credit, by window (minute, day).');
    this.rateWaitSeconds = meter.createHistogram('seedvault_provider_rate_wait_seconds', 'float', undefined, 'Time each refusal held requests back: a sleep inside the activity, or the delay to its retry when the window is far.');
    this.healthStatus = meter.createGauge('seedvault_health_status', 'int', undefined, 'Level of each health component at the last health check: 0 green, 1 yellow, 2 red.');
    this.snapshotAge = meter.createGauge('seedvault_snapshot_age_seconds', 'float', undefined, 'Age of the latest complete snapshot, measured by the last health check.');
    this.fileBackupAge = meter.createGauge('seedvault_file_backup_age_seconds', 'float', undefined, 'Age of the newest complete file backup per type, measured by the last health check.');
  }

  jobFinished(job: Job, outcome: JobOutcome, seconds: number, at: Date): void {
    this.jobRuns.add(1, { job, outcome });
    this.jobDuration.record(Math.max(0, seconds), { job, outcome });
    (outcome === 'success' ? this.jobLastSuccess : this.jobLastFailure).set(at.getTime() / 1000, { job });
  }

  tableExported(table: string, rows: number, bytes: number): void {
    this.rowsExported.add(rows, { table });
    this.bytesExported.add(bytes, { table });
  }

  tableRestored(table: string, rows: number, bytes: number): void {
    this.rowsRestored.add(rows, { table });
    this.bytesRestored.add(bytes, { table });
  }

  barsInsertedBy(count: number): void {
    this.barsInserted.add(count);
  }

  providerRequest(outcome: string): void {
    this.providerRequests.add(1, { outcome });
  }

  creditsSpent(credits: number): void {
    this.creditsUsed.add(credits);
  }

  rateWaited(window: 'minute' | 'day', seconds: number): void {
    this.rateWaits.add(1, { window });
    this.rateWaitSeconds.record(seconds, { window });
  }

  /** One health check's components: a level each, and the ages the snapshot and file backup checks measured. */
  healthChecked(components: ComponentHealth[]): void {
    for (const c of components) {
      this.healthStatus.set(HEALTH_LEVEL_VALUE[c.status], { component: c.component });
      if (c.age_seconds === undefined) continue;
      if (c.component === 'snapshot.age') this.snapshotAge.set(c.age_seconds);
      else if (c.component.startsWith(FILE_BACKUP_COMPONENT)) this.fileBackupAge.set(c.age_seconds, { type: c.component.slice(FILE_BACKUP_COMPONENT.length) });
    }
  }
}

const FILE_BACKUP_COMPONENT = 'file_backups.';
