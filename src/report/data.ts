import type pg from 'pg';
import { backfillWorkflowId } from '../domain/workflow-ids.js';
import type { SeedvaultConfig } from '../config/schema.js';
import { recentBackfillExecutions, type BackfillExecutionSummary } from '../db/backfill-executions.js';
import { dailyCoverage, type CoverageDay } from '../domain/day-coverage.js';
import type { GapSeverity } from '../domain/gaps.js';
import { summariseHealthHistory, type ComponentHistory } from '../domain/health-history.js';
import type { HealthLevel } from '../domain/health.js';
import { fileBackupStorage, listFileBackups } from '../files/catalog.js';
import { symbolGapReport } from '../quality/gaps.js';
import { healthMeasurements, PIPELINE_NAME } from '../quality/health.js';
import { listVersions, readLatestVersion, readManifest } from '../storage/seed-catalog.js';
import type { Storage } from '../storage/types.js';
import { workflowUiLink } from '../temporal/connection.js';

/**
 * Everything the dashboard page shows (issue 17), read from PostgreSQL and storage with the
 * readers the CLI uses. Plain data: rendering is src/report/render.ts.
 */

const MS_PER_DAY = 86_400_000;
/** pipeline_health keeps 30 days (seed 001 retention). */
const MAX_HEALTH_DAYS = 30;
const LISTED_ROWS = 50;
const SEVERITIES: GapSeverity[] = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW'];

export interface RunLink {
  workflowId: string;
  /** The Temporal Web UI page; absent when TEMPORAL_UI_URL is not set. */
  url?: string;
}

export interface SymbolCoverage {
  symbol: string;
  calendar: string;
  zone: string;
  expectedBars: number;
  presentBars: number;
  completenessPct: number;
  gapsBySeverity: Record<GapSeverity, number>;
  /** The worst gaps first (severity, then size), at most LISTED_ROWS. */
  worstGaps: { severity: GapSeverity; type: string; start: string; end: string; bars: number }[];
  days: CoverageDay[];
}

export interface SnapshotVersion {
  version: string;
  complete: boolean;
  latest: boolean;
  pinned: boolean;
  objects: number;
  bytes: number;
  createdAt: string | null;
  /** From the database snapshot to the manifest being written. */
  durationMs: number | null;
  tables: { table: string; rows: number; bytes: number }[];
  /** From backup_metadata: 'deep-verified', 'failed', 'validated' (checked when written), 'pending', or 'unknown'. */
  verify: string;
  verifiedAt: string | null;
  run?: RunLink;
}

export interface RestoreRun {
  run: RunLink;
  at: string;
  version: string | null;
  tables: { table: string; status: string; mode: string; source: string | null; rowsLoaded: number | null; message: string | null }[];
}

export interface HealthNow {
  component: string;
  status: HealthLevel;
  details: string;
  measuredAt: string;
}

export interface FileBackupType {
  type: string;
  backups: number;
  incomplete: number;
  newestAt: string | null;
  newestAgeMs: number | null;
  newestBytes: number | null;
  encrypted: boolean | null;
  run?: RunLink;
}

export interface ReportData {
  generatedAt: string;
  from: string;
  to: string;
  days: number;
  storage: string;
  symbols: SymbolCoverage[];
  snapshots: SnapshotVersion[];
  restores: RestoreRun[];
  health: {
    now: HealthNow[];
    days: number;
    history: ComponentHistory[];
    /** Worst level per component and UTC day. */
    daily: { component: string; day: string; worst: HealthLevel }[];
  };
  backfills: (Omit<BackfillExecutionSummary, 'started'> & { started: string; run: RunLink })[];
  fileBackups: FileBackupType[];
  /** Where reading file backups failed, instead of the section. */
  fileBackupsError: string | null;
  signals: { signalType: string; status: string; count: number }[];
}

export interface ReportOptions {
  config: SeedvaultConfig;
  pool: pg.Pool;
  storage: Storage;
  days: number;
  to: Date;
  now?: Date;
}

export async function gatherReport(options: ReportOptions): Promise<ReportData> {
  const { config, pool, storage, days, to } = options;
  const now = options.now ?? new Date();
  const from = new Date(to.getTime() - days * MS_PER_DAY);
  const link = (workflowId: string, runId?: string): RunLink => ({ workflowId, url: workflowUiLink(config, workflowId, runId) });
  const files = await fileBackups(config, storage, now, link).then(
    (types) => ({ types, error: null }),
    (err: unknown) => ({ types: [], error: (err as Error).message }),
  );
  return {
    generatedAt: now.toISOString(),
    from: from.toISOString(),
    to: to.toISOString(),
    days,
    storage: storage.location,
    symbols: await Promise.all(config.backfill.symbols.map((symbol) => symbolCoverage(pool, config, symbol, from, to))),
    snapshots: await snapshotVersions(pool, storage, link),
    restores: await restoreRuns(pool, from, link),
    health: await health(pool, Math.min(days, MAX_HEALTH_DAYS), now),
    backfills: (await recentBackfillExecutions(pool, { limit: LISTED_ROWS, since: from })).map((b) => ({
      ...b,
      started: b.started.toISOString(),
      run: link(backfillWorkflowId(b.execution_id)),
    })),
    fileBackups: files.types,
    fileBackupsError: files.error,
    signals: (
      await pool.query<{ signal_type: string; status: string; count: number }>(
        `select signal_type, status, count(*)::int as count from ready_signals where created_at >= $1 group by 1, 2 order by 1, 2`,
        [from],
      )
    ).rows.map((r) => ({ signalType: r.signal_type, status: r.status, count: r.count })),
  };
}

async function symbolCoverage(pool: pg.Pool, config: SeedvaultConfig, symbol: string, from: Date, to: Date): Promise<SymbolCoverage> {
  const report = await symbolGapReport(pool, config, symbol, { from: from.getTime(), to: to.getTime(), lookbackDays: 0 });
  const rank = (s: GapSeverity) => SEVERITIES.indexOf(s);
  return {
    symbol,
    calendar: report.calendar.name,
    zone: report.calendar.zone,
    expectedBars: report.expectedBars,
    presentBars: report.presentBars,
    completenessPct: report.completenessPct,
    gapsBySeverity: Object.fromEntries(SEVERITIES.map((s) => [s, report.gaps.filter((g) => g.severity === s).length])) as Record<GapSeverity, number>,
    worstGaps: [...report.gaps]
      .sort((a, b) => rank(a.severity) - rank(b.severity) || b.missingBars - a.missingBars || a.start - b.start)
      .slice(0, LISTED_ROWS)
      .map((g) => ({ severity: g.severity, type: g.type, start: new Date(g.start).toISOString(), end: new Date(g.end).toISOString(), bars: g.missingBars })),
    days: dailyCoverage(report.calendar, report.gaps, from.getTime(), to.getTime()),
  };
}

async function snapshotVersions(pool: pg.Pool, storage: Storage, link: (id: string, run?: string) => RunLink): Promise<SnapshotVersion[]> {
  const [versions, latest] = await Promise.all([listVersions(storage), readLatestVersion(storage)]);
  const { rows } = await pool.query<{ version: string; failed: boolean; validated: boolean; deep: boolean; verified_at: Date | null }>(
    `select snapshot_version as version, bool_or(validation_status = 'failed') as failed, bool_and(validation_status = 'validated') as validated,
            bool_or(metadata ? 'deep_verify') as deep, max(validated_at) as verified_at
     from backup_metadata where snapshot_version = any($1) group by snapshot_version`,
    [versions.map((v) => v.version)],
  );
  const verifies = new Map(rows.map((r) => [r.version, r]));
  return Promise.all(
    versions.map(async (v): Promise<SnapshotVersion> => {
      const manifest = v.complete ? await readManifest(storage, v.version) : null;
      const check = verifies.get(v.version);
      const verify = !check ? 'unknown' : check.failed ? 'failed' : !check.validated ? 'pending' : check.deep ? 'deep-verified' : 'validated';
      return {
        ...v,
        latest: v.version === latest,
        createdAt: manifest?.created_at ?? null,
        durationMs: manifest ? Date.parse(manifest.created_at) - Date.parse(manifest.consistency.taken_at) : null,
        tables: Object.entries(manifest?.tables ?? {}).map(([table, t]) => ({ table, rows: t.rows, bytes: t.size_bytes })),
        verify,
        verifiedAt: check?.verified_at?.toISOString() ?? null,
        ...(manifest ? { run: link(manifest.workflow.id, manifest.workflow.run_id) } : {}),
      };
    }),
  );
}

async function restoreRuns(pool: pg.Pool, from: Date, link: (id: string, run?: string) => RunLink): Promise<RestoreRun[]> {
  const { rows } = await pool.query<{
    workflow_id: string; run_id: string; table_name: string; mode: string; status: string; source: string | null;
    snapshot_version: string | null; rows_loaded: string | null; message: string | null; created_at: Date;
  }>(
    `select workflow_id, run_id, table_name, mode, status, source, snapshot_version, rows_loaded, message, created_at
     from restore_history where created_at >= $1 order by created_at desc, table_name limit $2`,
    [from, LISTED_ROWS * 10],
  );
  const runs = new Map<string, RestoreRun>();
  for (const r of rows) {
    const key = `${r.workflow_id}/${r.run_id}`;
    let run = runs.get(key);
    if (!run) runs.set(key, (run = { run: link(r.workflow_id, r.run_id), at: r.created_at.toISOString(), version: r.snapshot_version, tables: [] }));
    run.tables.push({
      table: r.table_name,
      status: r.status,
      mode: r.mode,
      source: r.source,
      rowsLoaded: r.rows_loaded === null ? null : Number(r.rows_loaded),
      message: r.message,
    });
  }
  return [...runs.values()].slice(0, LISTED_ROWS);
}

async function health(pool: pg.Pool, days: number, now: Date): Promise<ReportData['health']> {
  const from = new Date(now.getTime() - days * MS_PER_DAY);
  const latest = await pool.query<{ component: string; status: HealthLevel; details: { details?: string }; measured_at: Date }>(
    `select distinct on (component) component, status, details, measured_at from pipeline_health
     where pipeline_name = $1 order by component, measured_at desc`,
    [PIPELINE_NAME],
  );
  const daily = await pool.query<{ component: string; day: string; worst: HealthLevel }>(
    `select component, to_char(measured_at at time zone 'UTC', 'YYYY-MM-DD') as day,
            (array['green', 'yellow', 'red'])[max(case status when 'red' then 3 when 'yellow' then 2 else 1 end)] as worst
     from pipeline_health where pipeline_name = $1 and measured_at between $2 and $3 group by 1, 2 order by 1, 2`,
    [PIPELINE_NAME, from, now],
  );
  return {
    now: latest.rows.map((r) => ({ component: r.component, status: r.status, details: r.details.details ?? '', measuredAt: r.measured_at.toISOString() })),
    days,
    history: summariseHealthHistory(await healthMeasurements(pool, from, now), from, now),
    daily: daily.rows,
  };
}

async function fileBackups(config: SeedvaultConfig, storage: Storage, now: Date, link: (id: string, run?: string) => RunLink): Promise<FileBackupType[]> {
  const backups = await listFileBackups(fileBackupStorage(config, storage));
  const types = new Map<string, FileBackupType>();
  // Newest first, so the first complete backup of a type is its newest.
  for (const b of backups) {
    let t = types.get(b.backup_type);
    if (!t) types.set(b.backup_type, (t = { type: b.backup_type, backups: 0, incomplete: 0, newestAt: null, newestAgeMs: null, newestBytes: null, encrypted: null }));
    t.backups += 1;
    if (!b.metadata) t.incomplete += 1;
    else if (t.newestAt === null) {
      t.newestAt = b.timestamp;
      t.newestAgeMs = now.getTime() - Date.parse(b.timestamp);
      t.newestBytes = b.metadata.size_bytes;
      t.encrypted = b.metadata.encryption !== null;
      if (b.metadata.workflow) t.run = link(b.metadata.workflow.id, b.metadata.workflow.run_id);
    }
  }
  return [...types.values()].sort((a, b) => a.type.localeCompare(b.type));
}
