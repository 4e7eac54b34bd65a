import { z } from 'zod';
import { QUALITY_DEFAULTS } from '../domain/quality-settings.js';
import { fileBackupsSchema } from './file-backups-schema.js';

/** PostgreSQL identifiers we accept for tables and columns: plain names, quoted anyway when used. */
const identifier = z
  .string()
  .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier (letters, digits, _; at most 63)');

/** Five-field cron, as Temporal schedules take it. */
const cron = z
  .string()
  // Fields hold only the cron alphabet (digits, names like MON or JAN, * , / - ? L W #).
  .regex(/^[0-9A-Za-z*,/?#-]+( [0-9A-Za-z*,/?#-]+){4}$/, 'must be a five-field cron expression such as "0 2 * * 0"');

const positiveInt = z.coerce.number().int().positive();
const positiveNumber = z.coerce.number().positive();
const booleanish = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);

const sourceSchema = z.strictObject({
  table: identifier,
  primary: z.string().min(1).optional(),
  fallback: z.array(z.string().min(1)).nullable().default(null),
  required: booleanish.default(false),
  min_rows: z.coerce.number().int().nonnegative().default(0),
  date_column: identifier.optional(),
});

const bucketName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid S3 bucket name (3-63 chars: a-z, 0-9, ".", "-")');

export const configSchema = z.strictObject({
  version: z.string().default('2.0'),
  storage: z.strictObject({
    type: z.enum(['minio', 's3', 'local']),
    endpoint: z.string().default(''),
    bucket: bucketName,
    region: z.string().min(1).default('us-east-1'),
    access_key: z.string().default(''),
    secret_key: z.string().default(''),
    use_ssl: booleanish.default(false),
    local_path: z.string().min(1).default('./data/seeds'),
  }),
  sources: z.record(identifier, sourceSchema).refine((s) => Object.keys(s).length > 0, 'at least one source is needed'),
  backup: z.strictObject({
    schedule: cron,
    retention_count: positiveInt,
    format: z.enum(['parquet', 'csv.gz']),
    compression: z.enum(['snappy', 'gzip', 'none']),
    parallelism: positiveInt.max(16).default(2),
  }),
  validation: z.strictObject({
    check_date_ranges: booleanish.default(true),
    check_row_counts: booleanish.default(true),
    check_null_ratios: booleanish.default(true),
    max_null_ratio: z.coerce.number().min(0).max(1),
  }),
  temporal: z.strictObject({
    address: z.string().regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port'),
    namespace: z.string().min(1),
    task_queue: z.string().min(1),
    /** Activity slots per worker: backfill children are I/O-bound; a snapshot export uses one slot. */
    max_concurrent_activities: positiveInt.max(1000).default(32),
  }),
  postgres: z.strictObject({
    url: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL'),
  }),
  backfill: z.strictObject({
    schedule: cron,
    symbols: z.array(z.string().min(1)).min(1),
    timeframe: z.string().min(1),
    concurrency: positiveInt.max(256),
    /** How far back a symbol with no bars at all is backfilled when no --from is given. */
    default_lookback_days: positiveInt.default(7),
    provider: z.strictObject({
      base_url: z.url(),
      api_key: z.string().default(''),
      credits_per_minute: positiveInt,
      credits_per_day: positiveInt,
      max_points_per_call: positiveInt.max(5000),
      max_api_calls_per_batch: positiveInt,
      request_timeout_seconds: positiveInt.default(30),
    }),
  }),
  file_backups: fileBackupsSchema,
  quality: z
    .strictObject({
      health_cron: cron.default(QUALITY_DEFAULTS.health_cron),
      maintenance_cron: cron.default(QUALITY_DEFAULTS.maintenance_cron),
      stale_market_hours: positiveNumber.default(QUALITY_DEFAULTS.stale_market_hours),
      snapshot_warn_days: positiveNumber.default(QUALITY_DEFAULTS.snapshot_warn_days),
      snapshot_critical_days: positiveNumber.default(QUALITY_DEFAULTS.snapshot_critical_days),
      anomaly_gap_market_hours: positiveNumber.default(QUALITY_DEFAULTS.anomaly_gap_market_hours),
      anomaly_outlier_pct: positiveNumber.default(QUALITY_DEFAULTS.anomaly_outlier_pct),
      anomaly_stale_market_hours: positiveNumber.default(QUALITY_DEFAULTS.anomaly_stale_market_hours),
    })
    .refine((q) => q.snapshot_warn_days < q.snapshot_critical_days, {
      message: 'must be below snapshot_critical_days',
      path: ['snapshot_warn_days'],
    })
    .prefault({}),
});

export type SeedvaultConfig = z.infer<typeof configSchema>;
export type SourceConfig = z.infer<typeof sourceSchema>;
