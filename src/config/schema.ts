import { resolve } from 'node:path';
import { z } from 'zod';
import { IANAZone } from 'luxon';
import { BAR_MINUTES, BUILTIN_CALENDARS, COLOMBIA_FX, isHolidayCountry, SessionCalendar } from '../domain/calendar.js';
import { QUALITY_DEFAULTS } from '../domain/quality-settings.js';
import { alertsSchema } from './alerts-schema.js';
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

const timeOfDay = z.string().regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, 'must be a time of day HH:mm');

/** A session calendar defined in the config (one session per trading day). */
const customCalendarSchema = z
  .strictObject({
    zone: z.string().refine((zone) => IANAZone.isValidZone(zone), 'must be an IANA time zone such as America/New_York'),
    first_bar: timeOfDay,
    last_bar: timeOfDay,
    weekdays: z.array(z.number().int().min(1).max(7)).min(1),
    holidays: z.string().refine(isHolidayCountry, 'must be a country code date-holidays knows, such as CO or US').optional(),
  })
  .superRefine((c, ctx) => {
    try {
      new SessionCalendar({ name: 'check', zone: c.zone, firstBar: c.first_bar, lastBar: c.last_bar, barMinutes: BAR_MINUTES, weekdays: c.weekdays, isHoliday: () => false });
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message.replace(/^check: /, ''), path: ['last_bar'] });
    }
  });

const bucketName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid S3 bucket name (3-63 chars: a-z, 0-9, ".", "-")');

/** Empty, or folder names ending in "/": every key seedvault writes goes under it, so teams can share a bucket. */
const storagePrefix = z
  .string()
  .regex(/^([A-Za-z0-9_-][A-Za-z0-9._-]*\/)*$/, 'must be empty or folder names each ending in "/", such as "team-a/seeds/"')
  .default('');

/** Where snapshots live: an S3-compatible bucket or a local folder (the primary store, and the mirror's shape). */
const storeFields = {
  type: z.enum(['minio', 's3', 'local']),
  endpoint: z.string().default(''),
  bucket: bucketName,
  region: z.string().min(1).default('us-east-1'),
  access_key: z.string().default(''),
  secret_key: z.string().default(''),
  use_ssl: booleanish.default(false),
  local_path: z.string().min(1).default('./data/seeds'),
  prefix: storagePrefix,
  /** An S3 call whose connection moves no byte for this long fails (and is retried) instead of hanging on a stalled endpoint. */
  idle_timeout_seconds: positiveInt.default(120),
};
const storeSchema = z.strictObject(storeFields);

type StoreLocation = Pick<StoreConfig, 'type' | 'endpoint' | 'bucket' | 'local_path' | 'prefix'>;

/** Two configs name the same store when they would read and write the same keys. */
function sameStore(a: StoreLocation, b: StoreLocation): boolean {
  if ((a.type === 'local') !== (b.type === 'local')) return false;
  const where = (s: StoreLocation) => (s.type === 'local' ? [resolve(s.local_path)] : [s.endpoint.replace(/^https?:\/\//, '').replace(/\/$/, ''), s.bucket]);
  return JSON.stringify([...where(a), a.prefix]) === JSON.stringify([...where(b), b.prefix]);
}

/**
 * `storage.mirror` (issue 16): a second store holding every snapshot version too, verified,
 * before the version counts as complete. Its bucket is needed only for minio and s3.
 */
const mirrorSchema = z
  .strictObject({ ...storeFields, bucket: z.union([z.literal(''), bucketName]).default('') })
  .refine((m) => m.type === 'local' || m.bucket !== '', { message: 'is required for type minio or s3', path: ['bucket'] });

/** One store's settings: the primary (`storage`) or `storage.mirror`. */
export type StoreConfig = z.infer<typeof storeSchema> | z.infer<typeof mirrorSchema>;

export const configSchema = z.strictObject({
  version: z.string().default('2.0'),
  storage: storeSchema.extend({ mirror: mirrorSchema.optional() }).refine((s) => !s.mirror || !sameStore(s, s.mirror), {
    message: 'names the primary store itself: give it another bucket, endpoint, local_path or prefix',
    path: ['mirror'],
  }),
  sources: z.record(identifier, sourceSchema).refine((s) => Object.keys(s).length > 0, 'at least one source is needed'),
  backup: z.strictObject({
    schedule: cron,
    retention_count: positiveInt,
    /** Seed 000's max_age_days: complete snapshots older than this go too (never latest, pinned or the newest). */
    retention_days: z.preprocess((v) => (v === '' ? null : v), positiveInt.nullable()).default(null),
    format: z.enum(['parquet', 'csv.gz']),
    compression: z.enum(['snappy', 'gzip', 'none']),
    /** gzip level of csv.gz files (1 fastest ... 9 smallest); empty: zlib's default, 6. */
    compression_level: z.preprocess((v) => (v === '' ? null : v), positiveInt.max(9).nullable()).default(null),
    /** Tables or parts of tables exported at once, across all workers. */
    parallelism: positiveInt.max(16).default(2),
    /** A table with more rows than this is exported as key-range parts, by separate activities on any worker. */
    split_rows: positiveInt.min(1000).default(20_000_000),
    /**
     * How the exported rows are sorted: key (the key's own order: the restore's index build sorts
     * presorted rows) or time_first (the key, its date or timestamp column first: a faster export
     * of a table that grows in time order, smaller files). Empty: the order each table has in the
     * newest complete version holding it, time_first for a table none holds (domain/export-order), so files of
     * unchanged rows stay identical. See table-catalog's exportOrder.
     */
    export_order: z.preprocess((v) => (v === '' ? null : v), z.enum(['key', 'time_first']).nullable()).default(null),
    /** Scheduled deep verify of the bucket's snapshots (issue 16); its outcome feeds the health check. */
    deep_verify: z
      .strictObject({
        enabled: booleanish.default(true),
        interval_days: positiveInt.max(365).default(7),
        versions: z.enum(['latest', 'all']).default('latest'),
      })
      .prefault({}),
  }).refine((b) => b.compression_level === null || b.format === 'csv.gz', {
    // parquet-wasm writes gzip and zstd pages at the codec's default level and exposes no setting.
    message: 'applies to format csv.gz only: the Parquet writer has no codec levels',
    path: ['compression_level'],
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
    /** Activity slots per worker on the main task queue: backfill children are I/O-bound; exports have slots of their own below. */
    max_concurrent_activities: positiveInt.max(1000).default(32),
    /** Exports (tables or parts) a worker runs at once; empty: half its cores, at least 1 (src/domain/export-slots.ts). */
    max_concurrent_exports: z.preprocess((v) => (v === '' ? null : v), positiveInt.max(64).nullable()).default(null),
    /** How long a restore step may go without a heartbeat before its worker counts as dead. */
    heartbeat_timeout_seconds: positiveInt.max(3600).default(20),
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
    /** Market calendar of every symbol not in symbol_calendars: a built-in name or one of `calendars`. */
    calendar: z.string().default(COLOMBIA_FX.name),
    symbol_calendars: z.record(z.string().min(1), z.string()).default({}),
    calendars: z.record(z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'calendar names: a-z, 0-9, -'), customCalendarSchema).default({}),
    provider: z.strictObject({
      base_url: z.url(),
      api_key: z.string().default(''),
      credits_per_minute: positiveInt,
      credits_per_day: positiveInt,
      max_points_per_call: positiveInt.max(5000),
      max_api_calls_per_batch: positiveInt,
      request_timeout_seconds: positiveInt.default(30),
    }),
  }).superRefine((b, ctx) => {
    for (const name of Object.keys(b.calendars)) {
      if (BUILTIN_CALENDARS[name]) ctx.addIssue({ code: 'custom', message: `"${name}" is a built-in calendar; pick another name`, path: ['calendars', name] });
    }
    const known = (name: string) => Boolean(BUILTIN_CALENDARS[name] ?? b.calendars[name]);
    const names = `${[...Object.keys(BUILTIN_CALENDARS), ...Object.keys(b.calendars)].join(', ')}`;
    if (!known(b.calendar)) ctx.addIssue({ code: 'custom', message: `unknown calendar "${b.calendar.slice(0, 40)}" (known: ${names})`, path: ['calendar'] });
    for (const [symbol, name] of Object.entries(b.symbol_calendars)) {
      if (!known(name)) ctx.addIssue({ code: 'custom', message: `unknown calendar "${name.slice(0, 40)}" (known: ${names})`, path: ['symbol_calendars', symbol] });
    }
  }),
  file_backups: fileBackupsSchema,
  quality: z
    .strictObject({
      health_cron: cron.default(QUALITY_DEFAULTS.health_cron),
      maintenance_cron: cron.default(QUALITY_DEFAULTS.maintenance_cron),
      signal_expiry_cron: cron.default(QUALITY_DEFAULTS.signal_expiry_cron),
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
  alerts: alertsSchema,
  /** Seed 001's analytics views (migration 009), refreshed by a schedule. */
  analytics: z
    .strictObject({
      refresh_enabled: booleanish.default(true),
      refresh_interval_minutes: positiveInt.max(7 * 24 * 60).default(60),
    })
    .prefault({}),
  /** Prometheus endpoint of the worker (`/metrics`): host:port, or empty for none. */
  metrics: z
    .strictObject({
      bind_address: z.string().regex(/^([^\s:]+:\d{1,5})?$/, 'must be host:port (such as 0.0.0.0:9464) or empty').default(''),
    })
    .prefault({}),
});

export type SeedvaultConfig = z.infer<typeof configSchema>;
export type SourceConfig = z.infer<typeof sourceSchema>;
