/**
 * Shared code of the chaos suite (`npm run chaos`): the scenario contract, a worker in its
 * own process (so it can be SIGKILLed and its log grepped), fresh databases and buckets on
 * the suite's own stack, and the comparisons with an undisturbed run.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { SeedvaultConfig } from '../src/config/schema.js';
import type { Manifest } from '../src/domain/manifest.js';
import { createStorage } from '../src/storage/index.js';
import { connectClient } from '../src/temporal/connection.js';
import { readLatestVersion } from '../src/storage/seed-catalog.js';
import { crashPostgresComponent, startComponent, stopComponent, type ComponentName, type CrashKind, type StackEnv } from '../src/stack/index.js';
import { progressQuery, type seedSnapshot } from '../src/workflows/snapshot.js';
import { execFileAsync, withDownloadedVersion } from '../test/support/snapshot.js';
export { sql as sqlQuery } from '../test/support/restore.js';
import { waitForSql } from '../test/support/restore.js';
import { createBucket, testConfig, uniqueName } from '../test/support/stack.js';
import { activityRuns, CLI, rssMiB, spawnWorkerProcess, stopProcess } from '../bench/support.js';

export { CLI, rssMiB };

/** Where in the work each fault is injected (fractions of the undisturbed run's time or items). */
export const FAULT_POINTS = [0.1, 0.5, 0.9];

export interface ScenarioResult {
  name: string;
  injected: string;
  expected: string;
  observed: string;
  passed: boolean;
  /** Anything committed before the fault that is missing or different afterwards. */
  dataLost: boolean;
  seconds?: number;
}

export interface ChaosContext {
  stateDir: string;
  stack: StackEnv;
  /** Where worker logs and scratch files go (kept for grepping secrets). */
  workDir: string;
  /** The scale-10 source database every snapshot scenario reads (never written by them). */
  sourceDb: string;
  /** Fingerprint of an undisturbed snapshot of sourceDb. */
  baseline: ManifestFingerprint;
  /** Row count of the three tables of sourceDb. */
  sourceRows: number;
  /** tableDigests(sourceDb). */
  sourceDigests: Record<string, string>;
  /** A bucket holding an undisturbed snapshot of sourceDb as latest (restores read it). */
  baseBucket: string;
  baseVersion: string;
  /** Distinctive secrets set for every process of the suite. */
  secrets: string[];
}

/** Whether a fault demonstrably hit the work, and what showed it (or that it missed). */
export interface Evidence {
  hit: boolean;
  text: string;
}

export interface Scenario {
  name: string;
  injected: string;
  expected: string;
  run(ctx: ChaosContext): Promise<{ observed: string; passed: boolean; dataLost: boolean }>;
}

export interface Env {
  env: Record<string, string>;
  config: SeedvaultConfig;
  bucket: string;
}

/** Config env for a scenario: its own bucket and task queue on the given database. */
export async function scenarioEnv(name: string, databaseUrl: string, extra: Record<string, string> = {}): Promise<Env> {
  const bucket = uniqueName(`chaos-${name}`).toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 60);
  await createBucket(bucket);
  const env = { DATABASE_URL: databaseUrl, S3_BUCKET: bucket, SEEDVAULT_TASK_QUEUE: uniqueName(`chaos-${name}`), ...extra };
  return { env, config: testConfig(env), bucket };
}

let workerSeq = 0;
/** Workers spawned and not yet exited: stopped after each scenario, killed when the suite stops. */
export const liveWorkers = new Set<ChildProcess>();
/** Workers that exited without being told to (a crash), with their last error line. */
export const crashes: string[] = [];
const stopping = new WeakSet<ChildProcess>();

/**
 * A worker process as the image starts it (its node flags and environment), logging at info into
 * workDir/logs (grepped for secrets at the end). Like a process supervisor, a worker that exits
 * on its own is recorded as a crash and replaced.
 */
export function spawnWorker(ctx: ChaosContext, env: Record<string, string>): ChildProcess {
  const dir = join(ctx.workDir, 'logs');
  mkdirSync(dir, { recursive: true });
  const n = ++workerSeq;
  const out = createWriteStream(join(dir, `worker-${n}.log`));
  const child = spawnWorkerProcess({ ...env, SEEDVAULT_LOG_LEVEL: 'info', SEEDVAULT_NO_LOCAL_STACK: '1' }, ['ignore', 'pipe', 'pipe']);
  let tail = '';
  child.stdout!.pipe(out, { end: false });
  child.stderr!.pipe(out, { end: false });
  child.stderr!.on('data', (d: Buffer) => (tail = (tail + d.toString()).slice(-4000)));
  liveWorkers.add(child);
  child.on('exit', (code, signal) => {
    liveWorkers.delete(child);
    out.end();
    if (!stopping.has(child)) {
      const line = tail.split('\n').find((l) => /^\w*(Error|error)\b|^error:/.test(l.trim())) ?? '';
      crashes.push(`worker ${n} exited by itself (${code ?? signal}): ${line.trim().slice(0, 160)}`);
      spawnWorker(ctx, env);
    }
  });
  return child;
}

export async function kill(worker: ChildProcess): Promise<void> {
  stopping.add(worker);
  if (worker.exitCode !== null || worker.signalCode !== null) return;
  worker.kill('SIGKILL');
  await once(worker, 'exit');
}

/** Stops a worker gracefully (SIGTERM drains), SIGKILL after 20 s. */
export async function stopWorker(worker: ChildProcess): Promise<void> {
  stopping.add(worker);
  await stopProcess(worker);
}

/**
 * Settled resident set size of a process, MiB: the lowest of `samples` VmRSS readings taken
 * `everyMs` apart. One reading lands wherever the garbage collector and the allocator happen to
 * be; the floor over a window is the memory the process keeps.
 */
export async function settledRssMiB(pid: number, { samples, everyMs }: { samples: number; everyMs: number }): Promise<number> {
  let low = Infinity;
  for (let i = 0; i < samples; i += 1) {
    if (i > 0) await sleep(everyMs);
    low = Math.min(low, rssMiB(pid, 'VmRSS'));
  }
  return low;
}

/** Stops a stack component for `ms`, then starts it again on the same port and data. */
export async function outage(ctx: ChaosContext, component: ComponentName, ms: number): Promise<void> {
  const stack = { stateDir: ctx.stateDir };
  await stopComponent(component, stack);
  try {
    await sleep(ms);
  } finally {
    await startComponent(component, stack);
  }
}

/** How the suite's PostgreSQL goes down: `fast` is a clean stop (sessions rolled back), the others crash it. */
export type PostgresStop = 'fast' | CrashKind;

/**
 * Takes the suite's PostgreSQL down and starts it again on the same port and data: `fast`
 * stays down 3 s; a crash is followed at once by the start, which runs crash recovery.
 * Returns how long it was away, s.
 */
export async function bouncePostgres(ctx: ChaosContext, how: PostgresStop): Promise<number> {
  const started = Date.now();
  if (how === 'fast') {
    await outage(ctx, 'postgres', 3000);
  } else {
    await crashPostgresComponent(how, { stateDir: ctx.stateDir });
    await startComponent('postgres', { stateDir: ctx.stateDir });
  }
  return (Date.now() - started) / 1000;
}

/** Rows exported so far by a snapshot run (progress query), or null when not exporting. */
export async function exportedRows(handle: WorkflowHandle<typeof seedSnapshot>): Promise<number | null> {
  const progress = await handle.query(progressQuery).catch(() => null);
  if (!progress || progress.phase !== 'exporting') return null;
  return progress.tables.reduce((sum, t) => sum + t.rows, 0);
}

/**
 * Waits until an activity of that type is running: a pending activity in state STARTED
 * (describe), since the history writes ActivityTaskStarted only when the attempt ends.
 * Returns 'running', or 'finished' when it completed between two polls.
 */
export async function waitForActivityRunning(handle: WorkflowHandle, activityType: string, timeoutMs = 120_000): Promise<'running' | 'finished'> {
  const deadline = Date.now() + timeoutMs;
  // The history (long by the end of a run) is read only every ~250 ms: a short activity (prune
  // takes tens of ms) would otherwise start and end while a poll waits for it.
  let historyRead = 0;
  while (Date.now() < deadline) {
    const d = await handle.describe().catch(() => null);
    if (d?.raw.pendingActivities?.some((p) => p.activityType?.name === activityType && Number(p.state) === 2)) return 'running';
    if (d && Date.now() - historyRead >= 250 && d.raw.pendingActivities?.every((p) => p.activityType?.name !== activityType)) {
      historyRead = Date.now();
      const events = (await handle.fetchHistory().catch(() => null))?.events ?? [];
      const scheduled = events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activityType).map((e) => String(e.eventId));
      if (events.some((e) => e.activityTaskCompletedEventAttributes && scheduled.includes(String(e.activityTaskCompletedEventAttributes.scheduledEventId)))) return 'finished';
    }
    await sleep(10);
  }
  throw new Error(`${activityType} never ran`);
}

/** Rows of usdcop_m5_ohlcv in the snapshot: the table that makes up nearly all of every export and load. */
export const ohlcvRows = (ctx: ChaosContext) => (ctx.baseline.tables as Record<string, { rows: number }>).usdcop_m5_ohlcv!.rows;

/**
 * Waits until the export's COPY of usdcop_m5_ohlcv has sent `fraction` of its rows:
 * PostgreSQL's own COPY progress (pg_stat_progress_copy of the source database), live and
 * independent of the machine's load, unlike a point timed from an undisturbed run or the
 * workflow's progress (signalled every 2 s). Only ohlcv has that many rows.
 */
export async function waitForExportPoint(ctx: ChaosContext, handle: WorkflowHandle<typeof seedSnapshot>, fraction: number): Promise<string> {
  await waitForActivityRunning(handle, 'exportTables');
  const rows = Math.round(ohlcvRows(ctx) * fraction);
  await waitForSql(ctx.sourceDb, `select count(*)::int as n from pg_stat_progress_copy where datname = current_database() and command = 'COPY TO' and tuples_processed >= $1`, [rows], `an export COPY past ${rows} rows`);
  const progress = await exportedRows(handle);
  return `${Math.round(fraction * 100)}% of the export (its COPY past ${rows} of ${ohlcvRows(ctx)} rows; progress query: ${progress ?? 0}/${ctx.sourceRows} rows)`;
}

/** Waits until the run's history shows ActivityTaskStarted for an activity of that type. */
export async function waitForActivityStarted(handle: WorkflowHandle, activityType: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const events = (await handle.fetchHistory().catch(() => null))?.events ?? [];
    const scheduled = new Map<string, string>();
    for (const e of events) {
      const s = e.activityTaskScheduledEventAttributes;
      if (s) scheduled.set(String(e.eventId), s.activityType?.name ?? '');
      const started = e.activityTaskStartedEventAttributes;
      if (started && scheduled.get(String(started.scheduledEventId)) === activityType) return;
    }
    await sleep(20);
  }
  throw new Error(`${activityType} never started`);
}

const eventMs = (e: { eventTime?: { seconds?: unknown; nanos?: number | null } | null } | undefined) =>
  Number(e?.eventTime?.seconds ?? 0) * 1000 + Math.floor((e?.eventTime?.nanos ?? 0) / 1e6);

/** When the last attempt of the first activity of that type started and when it completed (epoch ms; 0 when not yet). */
export async function activityTimes(handle: WorkflowHandle, activityType: string): Promise<{ started: number; completed: number }> {
  const events = (await handle.fetchHistory()).events ?? [];
  const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activityType);
  const of = (e: (typeof events)[number]) => e.activityTaskStartedEventAttributes?.scheduledEventId ?? e.activityTaskCompletedEventAttributes?.scheduledEventId;
  const mine = events.filter((e) => scheduled && String(of(e)) === String(scheduled.eventId));
  return { started: eventMs(mine.find((e) => e.activityTaskStartedEventAttributes)), completed: eventMs(mine.find((e) => e.activityTaskCompletedEventAttributes)) };
}

/** Duration of the first completed attempt of an activity type, from the history, ms. */
export async function activityDurationMs(handle: WorkflowHandle, activityType: string): Promise<number> {
  const { started, completed } = await activityTimes(handle, activityType);
  return completed - started;
}

/** Waits until `n` workers poll the config's task queue for activities; returns their identities (`<pid>@<host>`). */
export async function waitForPollers(config: SeedvaultConfig, n: number, timeoutMs = 60_000): Promise<string[]> {
  const client = await connectClient(config);
  try {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const { pollers } = await client.workflowService.describeTaskQueue({
        namespace: config.temporal.namespace,
        taskQueue: { name: config.temporal.task_queue },
        taskQueueType: proto.temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
      });
      if (pollers.length >= n) return pollers.map((p) => p.identity ?? '');
      await sleep(200);
    }
    throw new Error(`${n} workers never polled ${config.temporal.task_queue}`);
  } finally {
    await client.connection.close();
  }
}

/** Attempts above 1 on any started activity: the fault cost a retry. */
export async function retriedActivities(handle: WorkflowHandle): Promise<string[]> {
  return (await activityRuns(handle)).filter((r) => r.attempt > 1).map((r) => `${r.activity}#${r.attempt}`);
}

/** Retried activities (type#attempt) of every workflow run on the config's task queue: a parent and its children. */
export async function retriedOnTaskQueue(config: SeedvaultConfig): Promise<string[]> {
  const client = await connectClient(config);
  try {
    const retried: string[] = [];
    for await (const w of client.workflow.list({ query: `TaskQueue = "${config.temporal.task_queue}"` })) {
      retried.push(...(await retriedActivities(client.workflow.getHandle(w.workflowId, w.runId))));
    }
    return retried;
  } finally {
    await client.connection.close();
  }
}

/** The fault hit `activity` when the history shows it retried (an attempt above 1) or, given `refusal`, failed with that type. */
export async function retryEvidence(handle: WorkflowHandle, activity: string, refusal?: string): Promise<Evidence> {
  const runs = (await activityRuns(handle)).filter((r) => r.activity === activity);
  const retried = runs.filter((r) => r.attempt > 1).map((r) => `${activity}#${r.attempt}`);
  const refused = refusal ? runs.filter((r) => r.failure === refusal).length : 0;
  const seen = [...retried, ...(refused ? [`${activity} refused ${refused}x with ${refusal}`] : [])];
  return seen.length
    ? { hit: true, text: `fault hit: ${seen.join(', ')} in the history` }
    : { hit: false, text: `MISSED: no ${activity} attempt above 1${refusal ? ` nor ${refusal} refusal` : ''} in the history` };
}

/** For a fault that costs no retry: the activity started before the fault began and completed after it ended. */
export async function spanEvidence(handle: WorkflowHandle, activity: string, fault: { from: number; to: number }): Promise<Evidence> {
  const { started, completed } = await activityTimes(handle, activity);
  const at = (ms: number) => `${((ms - fault.from) / 1000).toFixed(1)} s`;
  return started > 0 && started < fault.from && completed > fault.to
    ? { hit: true, text: `fault hit: ${activity} was running across it (started ${at(started)}, completed ${at(completed)} from the fault's start)` }
    : { hit: false, text: `MISSED: ${activity} started ${started ? at(started) : 'never'}, completed ${completed ? at(completed) : 'never'} from the fault's start (${at(fault.to)} long)` };
}

export type ManifestFingerprint = Record<string, unknown>;

/**
 * The manifest minus what differs between two runs of the same data: version, times, run
 * ids, txid/LSN, and the config fingerprints (each scenario has its own bucket and task queue).
 */
export function fingerprint(manifest: Manifest): ManifestFingerprint {
  const { version: _v, created_at: _c, workflow: _w, config_snapshot: _s, consistency, ...rest } = manifest;
  const { taken_at: _t, txid_snapshot: _x, wal_lsn: _l, ...facts } = consistency;
  return { ...rest, consistency: facts };
}

export async function readManifest(config: SeedvaultConfig, version: string): Promise<Manifest | null> {
  const text = await createStorage(config.storage).getText(`v${version}/manifest.json`);
  return text ? (JSON.parse(text) as Manifest) : null;
}

/** Differences between two fingerprints, as short "path: a != b" strings. */
export function diff(a: unknown, b: unknown, path = ''): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b as object)]);
    return [...keys].flatMap((k) => diff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k));
  }
  return [`${path}: ${JSON.stringify(a)?.slice(0, 80)} != ${JSON.stringify(b)?.slice(0, 80)}`];
}

/**
 * A version is complete and equal to the undisturbed run: latest, `sha256sum -c` passes,
 * manifest fingerprint equal to the baseline. Returns the problems found (none = ok).
 */
export async function checkVersion(ctx: ChaosContext, config: SeedvaultConfig, version: string): Promise<string[]> {
  const problems: string[] = [];
  const storage = createStorage(config.storage);
  const latest = await readLatestVersion(storage);
  if (latest !== version) problems.push(`latest is ${latest}, not ${version}`);
  const manifest = await readManifest(config, version);
  if (!manifest) return [...problems, 'no manifest'];
  const sums = await withDownloadedVersion(storage, version, (dir) =>
    execFileAsync('sha256sum', ['-c', 'checksums.sha256'], { cwd: dir }).then(
      (r) => r.stdout,
      (e: { stdout: string }) => e.stdout,
    ),
  );
  const ok = sums.split('\n').filter((l) => l.endsWith(': OK')).length;
  if (ok !== 3) problems.push(`sha256sum -c: ${ok}/3 OK`);
  problems.push(...diff(fingerprint(manifest), ctx.baseline).map((d) => `manifest differs from undisturbed run: ${d}`));
  return problems;
}

/** Every CLI run of the suite: the credentials it was given and its stdout + stderr (the secret scan greps them). */
export const recordedCliRuns: { credentials: string[]; output: string }[] = [];

/** Runs the CLI and records its output; never rejects. */
export async function cli(args: string[], env: Record<string, string | undefined>, timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  const full: Record<string, string | undefined> = { ...process.env, SEEDVAULT_NO_LOCAL_STACK: '1', ...env };
  const outcome = await execFileAsync(process.execPath, [CLI, ...args], { env: full, timeout: timeoutMs }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number | string; stdout: string; stderr: string }) => ({ code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }),
  );
  recordedCliRuns.push({ credentials: [full.DATABASE_URL ?? '', full.S3_SECRET_KEY ?? '', full.TWELVEDATA_API_KEY ?? ''], output: outcome.stdout + outcome.stderr });
  return outcome;
}

let versionSeq = 0;
/** A version no other scenario uses (years far in the future, one per call). */
export function freshVersion(): string {
  versionSeq += 1;
  const year = 3000 + (Math.floor(Date.now() / 1000) % 5000) + versionSeq;
  return `${year}.01.${String(1 + (versionSeq % 28)).padStart(2, '0')}`;
}
