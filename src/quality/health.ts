import type pg from 'pg';
import type { SeedvaultConfig } from '../config/schema.js';
import { calendarFor } from '../config/calendars.js';
import { worstLevel } from '../domain/file-backup-health.js';
import type { HealthMeasurement } from '../domain/health-history.js';
import { alertLevel, classifyDeepVerify, classifySnapshot, classifySymbol, healthScore, type ComponentHealth, type DeepVerifyRecord, type HealthLevel, type SnapshotFacts } from '../domain/health.js';
import { OHLCV_TABLE } from '../db/ohlcv-bars.js';
import { errorMessage } from '../errors.js';
import { fileBackupStorage } from '../files/catalog.js';
import { fileBackupHealth } from '../files/health.js';
import { findManifest } from '../restore/source-file.js';
import { verifyVersion } from '../restore/verify.js';
import { readLatestVersion } from '../storage/seed-catalog.js';
import type { Storage } from '../storage/types.js';
import { marketMinutesBetween } from './market-time.js';
import { measureProcess, type ProcessUsage } from './resources.js';

export const PIPELINE_NAME = 'seedvault';

/** A component's verdict and how long the check that judged it took. */
export type MeasuredComponent = ComponentHealth & { response_time_ms: number };

export interface HealthReport extends ProcessUsage {
  status: HealthLevel;
  measured_at: string;
  components: MeasuredComponent[];
}

export interface HealthOptions {
  config: SeedvaultConfig;
  pool: pg.Pool;
  storage: Storage;
  now?: Date;
  /** Read every object of the latest snapshot back (default true). */
  verifySnapshot?: boolean;
}

/** Symbols to judge: the configured ones plus every symbol holding bars. */
export async function symbolsToCheck(pool: pg.Pool, config: SeedvaultConfig): Promise<string[]> {
  // Loose index scan: one index probe per distinct symbol instead of reading every bar.
  const { rows } = await pool.query<{ symbol: string }>(
    `with recursive s as (
       (select symbol from ${OHLCV_TABLE} order by symbol limit 1)
       union all
       select (select symbol from ${OHLCV_TABLE} where symbol > s.symbol order by symbol limit 1) from s where s.symbol is not null
     ) select symbol from s where symbol is not null`,
  );
  return [...new Set([...config.backfill.symbols, ...rows.map((r) => r.symbol)])].sort();
}

export async function symbolHealth(pool: pg.Pool, config: SeedvaultConfig, now: Date): Promise<MeasuredComponent[]> {
  const out: MeasuredComponent[] = [];
  for (const symbol of await symbolsToCheck(pool, config)) out.push(...(await timed(() => oneSymbolHealth(pool, config, symbol, now))));
  return out;
}

async function oneSymbolHealth(pool: pg.Pool, config: SeedvaultConfig, symbol: string, now: Date): Promise<ComponentHealth[]> {
  const { rows } = await pool.query<{ last: Date | null; failures: number | null; gaps: number; anomalies: number }>(
    `select (select max(time) from ${OHLCV_TABLE} where symbol = $1) as last,
            (select consecutive_failures from symbol_failure_tracking where symbol = $1) as failures,
            (select count(*)::int from data_gaps where symbol = $1 and fill_status in ('detected', 'filling', 'failed')) as gaps,
            (select count(*)::int from data_anomalies where symbol = $1 and detected_at > $2::timestamptz - interval '7 days') as anomalies`,
    [symbol, now],
  );
  const r = rows[0]!;
  const last = r.last ? r.last.getTime() : null;
  return classifySymbol({
    symbol,
    lastBar: last === null ? null : new Date(last).toISOString(),
    marketMinutesSinceLastBar: last === null ? null : marketMinutesBetween(calendarFor(config, symbol), last, now.getTime()),
    consecutiveFailures: r.failures ?? 0,
    openGaps: r.gaps,
    recentAnomalies: r.anomalies,
  }, config.quality);
}

/** Runs one check and stamps its components with how long it took. */
async function timed(check: () => Promise<ComponentHealth[]>): Promise<MeasuredComponent[]> {
  const started = performance.now();
  const components = await check();
  const response_time_ms = Math.round(performance.now() - started);
  return components.map((c) => ({ ...c, response_time_ms }));
}

export async function snapshotHealth(storage: Storage, now: Date, verify: boolean, settings: SeedvaultConfig['quality']): Promise<ComponentHealth[]> {
  let facts: SnapshotFacts = { version: null, createdAt: null, verifyProblems: null };
  try {
    const version = await readLatestVersion(storage);
    if (version) {
      const { manifest } = await findManifest(storage, version);
      facts = { version: manifest.version, createdAt: manifest.created_at, verifyProblems: null };
      if (verify) facts.verifyProblems = (await verifyVersion({ storage, version: manifest.version })).problems;
    }
  } catch (err) {
    return [{ component: 'snapshot.age', status: 'red', details: `cannot read the latest snapshot: ${errorMessage(err)}` }];
  }
  return classifySnapshot(facts, now, settings);
}

/**
 * `snapshot.deep_verify` from backup_metadata: each kept version's last deep verify (its rows
 * carry `metadata.deep_verify`, see recordDeepVerify) and the newest completed snapshot.
 */
export async function deepVerifyHealth(pool: pg.Pool, config: SeedvaultConfig, now: Date): Promise<ComponentHealth[]> {
  const { rows } = await pool.query<{ version: string; verified_at: Date; problems: string[] }>(
    `select snapshot_version as version, max(validated_at) as verified_at,
            coalesce(array_agg(distinct problem) filter (where problem is not null), '{}') as problems
     from backup_metadata
     left join lateral jsonb_array_elements_text(metadata->'deep_verify'->'problems') as problem on true
     where is_active and snapshot_version is not null and metadata ? 'deep_verify'
     group by snapshot_version`,
  );
  // File backups' rows have no version: they are not snapshots.
  const latest = await pool.query<{ version: string; created_at: Date }>(
    `select snapshot_version as version, min(created_at) as created_at from backup_metadata
     where is_active and snapshot_status = 'completed' and snapshot_version is not null
     group by snapshot_version order by created_at desc limit 1`,
  );
  const records: DeepVerifyRecord[] = rows.map((r) => ({ version: r.version, verifiedAt: r.verified_at.toISOString(), problems: r.problems }));
  const newest = latest.rows[0];
  return [classifyDeepVerify(records, newest ? { version: newest.version, createdAt: newest.created_at.toISOString() } : null, now, config.backup.deep_verify)];
}

/**
 * The whole report: symbols, snapshots, file backups; each component with its check's
 * duration, and this process's CPU and memory over the run (issue 16).
 */
export async function healthReport(options: HealthOptions): Promise<HealthReport> {
  const now = options.now ?? new Date();
  const usage = measureProcess();
  const components = [
    ...(await symbolHealth(options.pool, options.config, now)),
    ...(await timed(() => snapshotHealth(options.storage, now, options.verifySnapshot ?? true, options.config.quality))),
    ...(await timed(() => deepVerifyHealth(options.pool, options.config, now))),
    ...(await timed(() => fileBackupHealth(options.config, fileBackupStorage(options.config, options.storage), now).catch((err: unknown): ComponentHealth[] => [
      { component: 'file_backups', status: 'red', details: `cannot read file backups: ${errorMessage(err)}` },
    ]))),
  ];
  return { status: worstLevel(components), measured_at: now.toISOString(), components, ...(await usage.stop()) };
}

/**
 * The overall level of the newest recorded report other than `runId`'s (the worst of its
 * rows), or null when there is none: what a health transition is measured from. Excluding
 * the run's own rows keeps the answer the same when its activity is retried.
 */
export async function previousHealthStatus(pool: pg.Pool, runId: string): Promise<HealthLevel | null> {
  const { rows } = await pool.query<{ status: HealthLevel }>(
    `with theirs as (select status, measured_at from pipeline_health where pipeline_name = $1 and details->>'run_id' is distinct from $2)
     select status from theirs where measured_at = (select max(measured_at) from theirs)`,
    [PIPELINE_NAME, runId],
  );
  return rows.length === 0 ? null : worstLevel(rows);
}

/** One pipeline_health row per component (with its check's duration and the run's CPU and memory), in one statement. */
export async function recordHealth(pool: pg.Pool, report: HealthReport, runId?: string): Promise<number> {
  const c = report.components;
  const result = await pool.query(
    `insert into pipeline_health (pipeline_name, component, status, health_score, details, alert_level, measured_at,
                                  response_time_ms, cpu_usage_pct, memory_usage_pct)
     select $1, t.component, t.status, t.score, jsonb_build_object('details', t.details, 'run_id', $6::text), t.alert, $7, t.ms, $10, $11
     from unnest($2::text[], $3::text[], $4::numeric[], $5::text[], $8::text[], $9::int[]) as t(component, status, score, details, alert, ms)`,
    [
      PIPELINE_NAME, c.map((x) => x.component), c.map((x) => x.status), c.map((x) => healthScore(x.status)), c.map((x) => x.details),
      runId ?? null, report.measured_at, c.map((x) => alertLevel(x.status)), c.map((x) => x.response_time_ms), report.cpu_usage_pct, report.memory_usage_pct,
    ],
  );
  return result.rowCount ?? 0;
}

/**
 * The recorded measurements `summariseHealthHistory` needs for [from, to]: every row inside,
 * and per component measured inside, its newest row before `from` (the level at the start).
 */
export async function healthMeasurements(pool: pg.Pool, from: Date, to: Date): Promise<HealthMeasurement[]> {
  const { rows } = await pool.query<{ component: string; status: HealthLevel; measured_at: Date }>(
    `with inside as (
       select component, status, measured_at from pipeline_health where pipeline_name = $1 and measured_at between $2 and $3
     )
     select component, status, measured_at from inside
     union all
     select c.component, p.status, p.measured_at
     from (select distinct component from inside) c
     cross join lateral (
       select status, measured_at from pipeline_health
       where pipeline_name = $1 and component = c.component and measured_at < $2
       order by measured_at desc limit 1
     ) p`,
    [PIPELINE_NAME, from, to],
  );
  return rows.map((r) => ({ component: r.component, status: r.status, measuredAt: r.measured_at }));
}
