import { execFileSync, spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, DeleteBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { Client, WorkflowHandle } from '@temporalio/client';
import proto from '@temporalio/proto';
import pg from 'pg';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../src/config/load.js';
import type { SeedvaultConfig } from '../src/config/schema.js';
import { migrate } from '../src/db/migrate.js';
import { stackUp } from '../src/stack/index.js';
import { createStorage } from '../src/storage/index.js';
import { WORKER_ENV, WORKER_NODE_FLAGS } from '../src/worker-node-flags.js';

export const PG_BIN = '/usr/lib/postgresql/15/bin';
/** The checkout: bench scripts run compiled from dist/bench. */
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = fileURLToPath(new URL('../../bin/seedvault.js', import.meta.url));

/** `--name value` flags of a bench script, with defaults. */
export function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

export async function timed<T>(work: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const start = process.hrtime.bigint();
  const value = await work();
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, value };
}

/**
 * Runs a command to completion and resolves with its stdout; rejects with the end of its
 * stderr on a non-zero exit. `started` gets the child's pid (to sample its memory).
 */
export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env, started?: (pid: number) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    if (child.pid !== undefined) started?.(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr.trim()}`))));
  });
}

/** Resident set size of a live process (VmRSS) or its peak so far (VmHWM), MiB. */
export function rssMiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) / 1024;
}

/** Clock ticks per second of /proc's CPU times (USER_HZ). */
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/**
 * CPU seconds (user + system) of a live process, all its threads; with `reaped`, plus those of
 * its children that have exited and been waited for (a postmaster's backends, the bench's CLIs
 * and workers). `thread` reads one thread's own (e.g. the main thread: its tid is the pid).
 */
export function cpuSeconds(pid: number | 'self', options: { reaped?: boolean; thread?: number } = {}): number {
  const path = options.thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${options.thread}/stat`;
  const stat = readFileSync(path, 'utf8');
  // Fields after the command name in parentheses (which may hold spaces): utime is field 14 of the line.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  const [utime, stime, cutime, cstime] = [fields[11]!, fields[12]!, fields[13]!, fields[14]!];
  return (utime + stime + (options.reaped ? cutime + cstime : 0)) / CLOCK_TICKS;
}

/** Samples VmRSS of every tracked process every 250 ms, keeping the highest per label (MiB). */
export class RssSampler {
  readonly peaks = new Map<string, number>();
  /** When each label's peak was sampled (epoch ms). */
  readonly peakTimes = new Map<string, number>();
  /** Every sample of each label, oldest first: [epoch ms, MiB]. */
  private readonly samples = new Map<string, [number, number][]>();
  private readonly tracked = new Map<number, string>();
  private readonly timer = setInterval(() => this.sample(), 250).unref();

  track(label: string, pid: number): void {
    this.tracked.set(pid, label);
    this.sample();
  }

  /** Takes a last sample of the process and stops tracking it. */
  untrack(pid: number): void {
    this.sample();
    this.tracked.delete(pid);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /**
   * The label's RSS as a span of time (epoch ms) began (its last sample before `from`) and its
   * highest sample within the span; null when no sample falls in it.
   */
  during(label: string, from: number, to: number): { atStart: number; peak: number } | null {
    const series = this.samples.get(label) ?? [];
    const before = series.filter(([time]) => time <= from).at(-1);
    const within = series.filter(([time]) => from <= time && time <= to).map(([, rss]) => rss);
    return before && within.length ? { atStart: before[1], peak: Math.max(...within) } : null;
  }

  private sample(): void {
    for (const [pid, label] of this.tracked) {
      try {
        const rss = rssMiB(pid, 'VmRSS');
        if (!this.samples.has(label)) this.samples.set(label, []);
        this.samples.get(label)!.push([Date.now(), rss]);
        if (rss > (this.peaks.get(label) ?? 0)) {
          this.peaks.set(label, rss);
          this.peakTimes.set(label, Date.now());
        }
      } catch {
        this.tracked.delete(pid); // exited
      }
    }
  }
}

/** A worker process as the image starts it: the CLI under the worker's node flags and environment (bench and chaos). */
export function spawnWorkerProcess(env: Record<string, string>, stdio: StdioOptions): ChildProcess {
  return spawn(process.execPath, [...WORKER_NODE_FLAGS, CLI, 'worker'], { env: { ...process.env, ...WORKER_ENV, ...env }, stdio });
}

/** A bench worker: warnings only, on the bench's stderr. */
export function spawnWorker(env: Record<string, string>): ChildProcess {
  return spawnWorkerProcess({ ...env, SEEDVAULT_LOG_LEVEL: 'warn' }, ['ignore', 'ignore', 'inherit']);
}

/** Spawns a worker and resolves once it polls its task queue for workflow and activity tasks. */
export async function readyWorker(client: Client, env: Record<string, string>, taskQueue: string): Promise<ChildProcess> {
  const worker = spawnWorker(env);
  // The SDK's default identity is pid@host; pollers of an earlier worker stay listed for minutes.
  const mine = (pollers: { identity?: string | null }[] | null | undefined) => pollers?.some((p) => p.identity?.startsWith(`${worker.pid}@`)) ?? false;
  const { TaskQueueType } = proto.temporal.api.enums.v1;
  const describe = (taskQueueType: proto.temporal.api.enums.v1.TaskQueueType) =>
    client.workflowService.describeTaskQueue({ namespace: client.options.namespace, taskQueue: { name: taskQueue }, taskQueueType });
  const deadline = Date.now() + 60_000;
  try {
    for (;;) {
      if (worker.exitCode !== null) throw new Error(`the worker exited (${worker.exitCode}) before polling ${taskQueue}`);
      const [workflows, activities] = await Promise.all([
        describe(TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW),
        describe(TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY),
      ]);
      if (mine(workflows.pollers) && mine(activities.pollers)) return worker;
      if (Date.now() > deadline) throw new Error(`the worker did not poll ${taskQueue} within 60 s`);
      await sleep(100);
    }
  } catch (err) {
    await stopProcess(worker);
    throw err;
  }
}

/** SIGTERM (a worker drains), SIGKILL after 20 s; resolves once the process is gone. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await once(child, 'exit');
  clearTimeout(timer);
}

export interface ActivityRun {
  activity: string;
  /** The attempt that ran last: the history records ActivityTaskStarted when an attempt ends. 0 if none started. */
  attempt: number;
  /** From that attempt's start to its completion; null when it did not complete. */
  seconds: number | null;
  /** The ApplicationFailure type it failed with, when it failed. */
  failure: string | null;
  /**
   * The workflow asked to cancel it. One cancelled while running and not waited for (a held
   * snapshot's holder) never closes in the history, so it has no ActivityTaskStarted: attempt 0.
   */
  cancelRequested: boolean;
  /** Epoch ms of that attempt's start (0 if none started) and of its close (null while open). */
  startedAt: number;
  closedAt: number | null;
}

/** Every activity a run scheduled, in order, from its history. */
export async function activityRuns(handle: WorkflowHandle): Promise<ActivityRun[]> {
  const events = (await handle.fetchHistory()).events ?? [];
  const ms = (e: (typeof events)[number]) => Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);
  const runs = new Map<string, ActivityRun>();
  for (const e of events) {
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled) runs.set(String(e.eventId), { activity: scheduled.activityType?.name ?? '?', attempt: 0, seconds: null, failure: null, cancelRequested: false, startedAt: 0, closedAt: null });
    const started = e.activityTaskStartedEventAttributes;
    const run = started && runs.get(String(started.scheduledEventId));
    if (run) Object.assign(run, { attempt: started.attempt ?? 1, startedAt: ms(e) });
    const completed = runs.get(String(e.activityTaskCompletedEventAttributes?.scheduledEventId));
    if (completed) Object.assign(completed, { seconds: (ms(e) - completed.startedAt) / 1000, closedAt: ms(e) });
    const failed = e.activityTaskFailedEventAttributes;
    const failedRun = failed && runs.get(String(failed.scheduledEventId));
    if (failedRun) Object.assign(failedRun, { failure: failed.failure?.applicationFailureInfo?.type ?? 'failed', closedAt: ms(e) });
    const cancelled = runs.get(String(e.activityTaskCancelRequestedEventAttributes?.scheduledEventId));
    if (cancelled) cancelled.cancelRequested = true;
  }
  return [...runs.values()];
}

/** Creates (or recreates) a migrated database next to the stack's own and returns its URL. */
export async function benchDatabase(adminUrl: string, name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`);
  await admin.query(`create database ${pg.escapeIdentifier(name)}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  await migrate(url.toString());
  return url.toString();
}

/** Heap orders of the bench table: see fillOhlcv. */
export const LAYOUTS = ['time', 'key'] as const;
export type Layout = (typeof LAYOUTS)[number];

/** Rows per INSERT of fillOhlcv, each committed on its own: a 100M-row fill is 50 transactions, not one. */
const FILL_CHUNK_ROWS = 2_000_000;

/**
 * N valid 5-minute bars over 100 symbols, generated inside PostgreSQL into the migrated
 * table (its unique key, BRIN index and CHECK constraints maintained as rows arrive). Bar k
 * of symbol s is at 2020-01-02 13:00Z + k x 5 min; the heap order is the layout's:
 * - `time`: every symbol's bar of one time step, then the next step, as a table fed bar by bar
 *   grows: the heap follows time, and `ORDER BY symbol, time` (the key) has to sort or jump;
 * - `key`: each symbol's bars in time order, then the next symbol, as after `CLUSTER` on the
 *   key: `ORDER BY symbol, time` reads the heap sequentially.
 * Both layouts hold the same rows when N is a multiple of 100. `onChunk` hears the rows committed so far.
 */
export async function fillOhlcv(databaseUrl: string, rows: number, layout: Layout, onChunk?: (rowsDone: number) => void): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const steps = Math.ceil(rows / 100);
  // Series row i is (symbol s, step k); x numbers each symbol's bars one after the other.
  const [s, k] = layout === 'time' ? ['i % 100', 'i / 100'] : ['i / $3', 'i % $3'];
  try {
    for (let first = 0; first < rows; first += FILL_CHUNK_ROWS) {
      // A function scan yields the series in order and INSERT plans are never parallel: rows go in as generated.
      await client.query(
        `insert into usdcop_m5_ohlcv (symbol, time, open, high, low, close, volume, source)
         select 'SYM' || lpad(s::text, 3, '0'),
                timestamptz '2020-01-02 13:00Z' + k * interval '5 minutes',
                round((4000 + 500 * sin(x / 5000.0))::numeric, 4) as open,
                round((4000 + 500 * sin(x / 5000.0) + 3 + (x % 7))::numeric, 4),
                round((4000 + 500 * sin(x / 5000.0) - 3 - (x % 5))::numeric, 4),
                round((4000 + 500 * sin(x / 5000.0) + (x % 3) - 1)::numeric, 4),
                (x * 7919) % 100000, 'bench'
         from (select s, k, s * $3 + k as x
               from (select ${s} as s, ${k} as k from generate_series($1::bigint, $2::bigint) as i) as series) as bars`,
        [first, Math.min(first + FILL_CHUNK_ROWS, rows) - 1, steps],
      );
      onChunk?.(Math.min(first + FILL_CHUNK_ROWS, rows));
    }
    await client.query('vacuum analyze usdcop_m5_ohlcv');
  } finally {
    await client.end();
  }
}

type S3Access = { S3_ENDPOINT: string; S3_ACCESS_KEY: string; S3_SECRET_KEY: string };

function benchS3(stack: S3Access): S3Client {
  return new S3Client({
    region: 'us-east-1',
    endpoint: stack.S3_ENDPOINT,
    forcePathStyle: true,
    credentials: { accessKeyId: stack.S3_ACCESS_KEY, secretAccessKey: stack.S3_SECRET_KEY },
  });
}

/** A new bucket on the stack's MinIO, named for this run. */
export async function benchBucket(stack: S3Access): Promise<string> {
  const bucket = `bench-${randomBytes(3).toString('hex')}`;
  const s3 = benchS3(stack);
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  s3.destroy();
  return bucket;
}

/** Deletes every object of the config's bucket, then the bucket. */
export async function removeBenchBucket(stack: S3Access, config: SeedvaultConfig): Promise<void> {
  const storage = createStorage(config.storage);
  await storage.delete((await storage.list('')).map((o) => o.key));
  const s3 = benchS3(stack);
  await s3.send(new DeleteBucketCommand({ Bucket: config.storage.bucket }));
  s3.destroy();
}

/** The libpq variables psql, pg_dump and pg_restore need for a database URL. */
export function libpqEnv(databaseUrl: string): NodeJS.ProcessEnv {
  const url = new URL(databaseUrl);
  return { ...process.env, PGHOST: url.hostname, PGPORT: url.port, PGUSER: url.username, PGDATABASE: url.pathname.slice(1) };
}

export function round(x: number): number {
  return Math.round(x * 100) / 100;
}

/** A product step's seconds and rows/s, and its time as a multiple of each baseline's (`ratio_<name>_to_<baseline>`). */
export function versus(name: string, seconds: number, rows: number, baselines: Record<string, number>): BenchResult {
  return {
    [`${name}_s`]: round(seconds),
    [`${name}_rows_per_s`]: Math.round(rows / seconds),
    ...Object.fromEntries(Object.entries(baselines).map(([baseline, s]) => [`ratio_${name}_to_${baseline}`, round(seconds / s)])),
  };
}

/** `--rows N` of a bench script, validated. */
export function rowsFlag(): number {
  const rows = Number(flag('rows', '1000000'));
  if (!Number.isInteger(rows) || rows < 1) throw new Error(`--rows must be a positive integer, got ${flag('rows', '')}`);
  return rows;
}

/**
 * The local stack, a fresh database `name` with `rows` OHLCV bars in `layout` order, a
 * fresh bucket, and the worker environment and config pointing at them.
 */
export async function ohlcvBench(name: string, rows: number, layout: Layout, extraEnv: Record<string, string> = {}) {
  const stack = await stackUp();
  const databaseUrl = await benchDatabase(stack.DATABASE_URL, name);
  const started = Date.now();
  const say = (done: number) => process.stderr.write(`filling usdcop_m5_ohlcv in ${layout} order: ${done.toLocaleString('en-US')} of ${rows.toLocaleString('en-US')} rows (${Math.round((Date.now() - started) / 1000)} s)\n`);
  say(0);
  await fillOhlcv(databaseUrl, rows, layout, say);
  const bucket = await benchBucket(stack);
  const env: Record<string, string> = { ...stack, DATABASE_URL: databaseUrl, S3_BUCKET: bucket, SEEDVAULT_TASK_QUEUE: bucket, ...extraEnv };
  const config = loadConfig(DEFAULT_CONFIG_PATH, { ...process.env, ...env });
  return { stack, databaseUrl, bucket, env, config };
}

export type BenchResult = Record<string, number | string | null>;

/**
 * Prints a bench's figures (`--json` for one JSON document) and ends the process: each
 * figure with its note, if any, then the failures on stderr (exit 1 when there are any).
 */
export function printResult(result: BenchResult, notes: Record<string, string> = {}, failures: string[] = []): never {
  if (process.argv.includes('--json')) {
    const extra = { ...(Object.keys(notes).length ? { notes } : {}), ...(failures.length ? { failures } : {}) };
    process.stdout.write(`${JSON.stringify({ ...result, ...extra }, null, 2)}\n`);
  } else {
    const width = Math.max(...Object.keys(result).map((k) => k.length)) + 2;
    const values = Object.fromEntries(Object.entries(result).map(([key, value]) => [key, value === null ? '-' : value.toLocaleString('en-US')]));
    const valueWidth = Math.max(...Object.values(values).map((v) => (v.length > 24 ? 0 : v.length)));
    for (const [key, value] of Object.entries(values)) {
      const note = notes[key] ? `${' '.repeat(Math.max(1, valueWidth - value.length + 2))}${notes[key]}` : '';
      process.stdout.write(`${key.padEnd(width)} ${value}${note}\n`);
    }
  }
  for (const failure of failures) process.stderr.write(`FAILED: ${failure}\n`);
  process.exit(failures.length ? 1 : 0);
}

/** What a bench ran on: nproc, memory and CPU model; the commit and whether the tree differs from it. */
export async function benchProvenance(): Promise<BenchResult> {
  const model = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
  const git = (...args: string[]) => run('git', ['-C', REPO_ROOT, ...args]).then((out) => out.trim());
  return {
    date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    machine: `${availableParallelism()} cores (nproc), ${Math.round(totalmem() / 2 ** 30)} GiB RAM, ${model.trim()}`,
    commit: `${await git('rev-parse', 'HEAD')}${(await git('status', '--porcelain')) ? ' (dirty tree)' : ''}`,
  };
}

/**
 * Writes `body` between `<!-- name begin -->` and `<!-- name end -->` in a Markdown file,
 * replacing that section if present, else appending it; a missing file starts with `intro`.
 * Other sections of the file are left as they are.
 */
export function writeDocSection(file: string, name: string, body: string, intro: string): void {
  const begin = `<!-- ${name} begin -->`;
  const end = `<!-- ${name} end -->`;
  const section = `${begin}\n${body.trim()}\n${end}`;
  const text = existsSync(file) ? readFileSync(file, 'utf8') : `${intro.trim()}\n`;
  const from = text.indexOf(begin);
  const to = text.indexOf(end, from);
  writeFileSync(file, from >= 0 && to >= 0 ? `${text.slice(0, from)}${section}${text.slice(to + end.length)}` : `${text.trimEnd()}\n\n${section}\n`);
}
