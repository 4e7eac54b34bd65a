/**
 * Scale benchmark: one run, one large usdcop_m5_ohlcv (migrated: unique key, BRIN index,
 * CHECK constraints) filled time step by time step like a live table (`--layout key` for the
 * key-ordered variant), and the product end to end through the CLI a user types, each
 * against same-run baselines doing the same class of work:
 *   snapshot create --wait   vs  psql \copy <table> to /dev/null (binary, heap order),  pg_dump -Fc,  and an
 *                                Arrow exporter (ADBC's PostgreSQL driver + pyarrow, snappy Parquet to a file)
 *   restore --mode replace   vs  psql \copy from (binary) into an index-less copy + its index builds,  and  pg_restore
 *   verify --against-db      (correctness: exits 0, and the restored row count equals the source)
 * Worker RSS is sampled every 250 ms over the whole run; every activity's attempts come from
 * the workflow histories, and a step that needed a retry fails the run (exit 1).
 *
 *   npm run bench:scale -- --rows 100000000 [--layout time|key] [--skip key-order-read,export-only,arrow-exporter] [--rounds 3] [--json] [--markdown docs/PERFORMANCE.md]
 *
 * `--skip` leaves out phases the product's main ratios do not need (a 100M-row run saves most
 * of an hour): `key-order-read` (the rows sorted by (symbol, time), the order exports had
 * before the export order), `export-only` (the export code alone, to /dev/null) and
 * `arrow-exporter` (the Python baseline; its packages come from PyPI on a first run). Skipped
 * figures print as "-".
 * `--rounds N` measures the snapshot and the restore, each with its baseline, N times, alternating,
 * and reports medians (and the highest of the rounds for the export's memory): on a shared 2-core
 * machine one pair can be off by 20% either way.
 */
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../src/config/load.js';
import { FIRST_EXPORT_ORDER } from '../src/domain/export-order.js';
import type { Manifest } from '../src/domain/manifest.js';
import { exportTable } from '../src/parquet/export.js';
import { describeTable } from '../src/parquet/table-catalog.js';
import { Kind, type ColumnSpec } from '../src/parquet/pg-types.js';
import { completeTwin } from '../src/restore/rename-swap.js';
import { createStaging } from '../src/restore/staging.js';
import { stackStatus, stackUp } from '../src/stack/index.js';
import { resolvePaths } from '../src/stack/paths.js';
import { createStorage } from '../src/storage/index.js';
import { connectClient } from '../src/temporal/connection.js';
import { PYARROW, pythonPackages } from '../test/support/pyarrow.js';
import {
  activityRuns,
  benchProvenance,
  CLI,
  cpuSeconds,
  flag,
  LAYOUTS,
  libpqEnv,
  ohlcvBench,
  PG_BIN,
  printResult,
  readyWorker,
  removeBenchBucket,
  round,
  rowsFlag,
  RssSampler,
  rssMiB,
  run,
  spawnWorker,
  stopProcess,
  timed,
  versus,
  writeDocSection,
  type ActivityRun,
  type BenchResult,
  type Layout,
} from './support.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const TABLE = 'usdcop_m5_ohlcv';
const DATABASE = 'bench_scale';
/** The empty database pg_restore restores into. */
const RESTORE_DATABASE = 'bench_scale_pg_restore';
/** The index-less copy the \copy baseline loads, in the bench database. */
const COPY_TABLE = 'usdcop_m5_ohlcv_copy_baseline';
/** Table + indexes per row as filled (about 150 B: measured at 1M and 10M rows), rounded up. */
const BYTES_PER_ROW = 170;
/** The Arrow exporter baseline's script (in the source tree, next to this file's source) and its pinned packages. */
const ARROW_EXPORTER = fileURLToPath(new URL('../../bench/arrow-exporter.py', import.meta.url));
const ARROW_EXPORTER_PACKAGES = [PYARROW, 'adbc-driver-postgresql==1.13.0', 'adbc-driver-manager==1.13.0'];
/** Free disk wanted, in table sizes: restored copies, copy file, dump, Parquet objects, sort space. */
const DISK_FACTOR = 4;
const MAINTENANCE_WORK_MEM = '512MB'; // what the restore's index build sets (src/restore/rename-swap.ts)

const PERFORMANCE_INTRO = `# Performance

Figures measured by the bench scripts (see the Benchmarks section of the README), each section
written by the script it names, on the machine and commit it states. Each product figure comes
with same-run baselines doing the same class of work: read the ratios, not the absolute times.`;

/** Ends the run with one line instead of a stack trace. */
function refuse(message: string, code = 2): never {
  process.stderr.write(`bench:scale: ${message}\n`);
  process.exit(code);
}

const rows = rowsFlag();
const layout = flag('layout', 'time') as Layout;
if (!LAYOUTS.includes(layout)) refuse(`--layout must be one of ${LAYOUTS.join(', ')}, got ${layout}`);
const SKIPPABLE = ['key-order-read', 'export-only', 'arrow-exporter'] as const;
const skipped = new Set(flag('skip', '').split(',').filter(Boolean));
for (const phase of skipped) if (!(SKIPPABLE as readonly string[]).includes(phase)) refuse(`--skip takes a comma-separated list of ${SKIPPABLE.join(', ')}, got ${phase}`);
const roundCount = Number(flag('rounds', '1'));
// Odd, so the median is one round's figures.
if (![1, 3, 5, 7, 9].includes(roundCount)) refuse(`--rounds must be 1, 3, 5, 7 or 9, got ${flag('rounds', '')}`);
const markdownFile = process.argv.includes('--markdown') ? flag('markdown', '') : null;
if (markdownFile === '') refuse('--markdown needs a file, e.g. --markdown docs/PERFORMANCE.md');
const runStarted = Date.now();
const say = (line: string) => process.stderr.write(`[${Math.round((Date.now() - runStarted) / 1000)} s] ${line}\n`);
const mib = (bytes: number) => round(bytes / 2 ** 20);

/** One snapshot and its read floor, measured back to back. */
interface SnapshotRound {
  copy: number;
  product: { seconds: number; idle: number | null; vmhwm: number | null };
  created: { workflowId: string; version: string; manifest: Manifest };
  /** CPU seconds each process spent during the snapshot command. */
  cpu: Record<'postgres' | 'worker' | 'workerMainThread' | 'minio' | 'temporal' | 'cli', number>;
}

/** One restore and its baseline, measured back to back. */
interface RestoreRound {
  copyFrom: number;
  indexBuild: number;
  product: { seconds: number; idle: number | null; vmhwm: number | null };
  workflowId: string;
  stageSteps: Record<string, number>;
}

/** The round whose product time is the median (rounds are odd in number). */
function medianRound<T extends { product: { seconds: number } }>(rounds: T[]): T {
  return [...rounds].sort((a, b) => a.product.seconds - b.product.seconds)[rounds.length >> 1]!;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Undoes what the run created, newest first, whether it ends well or not. */
const cleanups: (() => Promise<unknown>)[] = [];
async function cleanUp(): Promise<void> {
  for (const undo of cleanups.reverse()) await undo().catch((err: Error) => say(`cleanup: ${err.message}`));
}

const stack = await stackUp();
const minRows = loadConfig(DEFAULT_CONFIG_PATH, { ...process.env, ...stack }).sources.ohlcv?.min_rows ?? 0;
if (rows < minRows) refuse(`--rows must be at least ${minRows}: the restore refuses an ohlcv source with fewer rows (sources.ohlcv.min_rows)`);
const admin = new pg.Client({ connectionString: stack.DATABASE_URL });
await admin.connect();
cleanups.push(() => admin.end());
const sampler = new RssSampler();
cleanups.push(async () => sampler.stop());
const failures: string[] = [];
const provenance = await benchProvenance(); // the code that runs: before the run writes anything
try {
  const dataDirectory = (await admin.query<{ data_directory: string }>('show data_directory')).rows[0]!.data_directory;
  const diskFree = await freeDisk([dataDirectory, tmpdir(), resolvePaths().stateDir], rows * BYTES_PER_ROW * DISK_FACTOR);

  // Dropped last: the bench database holds the table every phase reads.
  cleanups.push(() => admin.query(`drop database if exists ${DATABASE} with (force)`));
  const fill = await timed(() => ohlcvBench(DATABASE, rows, layout));
  const { databaseUrl, bucket, env, config } = fill.value;
  // Untimed: flush what the fill and its VACUUM dirtied, so no phase pays for the fill's checkpoint
  // (it otherwise lands on the first baseline read and slows it: 52 s against the export's 31 s here).
  await admin.query('checkpoint');
  cleanups.push(() => removeBenchBucket(stack, config));
  const libpq = libpqEnv(databaseUrl);
  const cliEnv = { ...process.env, ...env, SEEDVAULT_LOG_LEVEL: 'warn' };
  const psql = (command: string, options = '') => run(join(PG_BIN, 'psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', command], { ...libpq, PGOPTIONS: options });
  const copyFile = join(tmpdir(), `${bucket}.copy`);
  const dumpFile = join(tmpdir(), `${bucket}.dump`);
  cleanups.push(() => Promise.all([rm(copyFile, { force: true }), rm(dumpFile, { force: true })]));
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  cleanups.push(() => db.end());
  const client = await connectClient(config);
  cleanups.push(() => client.connection.close());
  const components = await stackStatus();
  const pidOf = (name: string) => {
    const pid = components.find((c) => c.name === name)?.pid;
    if (!pid) throw new Error(`the stack's ${name} is not running`);
    return pid;
  };
  const serverPids = { postgres: pidOf('postgres'), minio: pidOf('minio'), temporal: pidOf('temporal') };
  /** CPU seconds so far of the stack's servers (the postmaster with the backends it reaped). */
  const cpuSoFar = () => ({
    postgres: cpuSeconds(serverPids.postgres, { reaped: true }),
    minio: cpuSeconds(serverPids.minio),
    temporal: cpuSeconds(serverPids.temporal),
  });

  /**
   * A CLI command, with a fresh worker of its own when it runs a workflow: its time, stdout and
   * the worker's VmHWM. A worker that dies (OOM, crash) is replaced, as a supervisor would, so the
   * run ends instead of hanging; that is a failure, and the retried activity shows it too.
   */
  const product = async (step: string, args: string[], withWorker: boolean, beforeCommand?: () => void) => {
    let stopping = false;
    const workers: ChildProcess[] = []; // the last one is the live one
    const supervise = (worker: ChildProcess) => {
      workers.push(worker);
      sampler.track(`${step}_worker`, worker.pid!);
      worker.once('exit', (code, signal) => {
        if (stopping) return;
        failures.push(`${step}: the worker exited by itself (${signal ?? `code ${code}`}); a new one took over`);
        supervise(spawnWorker(env));
      });
    };
    if (withWorker) supervise(await readyWorker(client, env, config.temporal.task_queue));
    // The ready worker before any work: what the step's own memory is measured from.
    const idle = workers.length ? round(rssMiB(workers[0]!.pid!, 'VmRSS')) : null;
    const ready = workers[0] && { total: cpuSeconds(workers[0].pid!), mainThread: cpuSeconds(workers[0].pid!, { thread: workers[0].pid! }) };
    // The bench's exited children's CPU: the command's own, once it is reaped (the worker lives on).
    const reapedCpu = () => cpuSeconds('self', { reaped: true }) - cpuSeconds('self');
    try {
      beforeCommand?.();
      const reapedBefore = reapedCpu();
      const cli = await timed(() => run(process.execPath, [CLI, ...args], cliEnv, (pid) => sampler.track(`${step}_cli`, pid)));
      const cliCpu = reapedCpu() - reapedBefore;
      const live = workers.at(-1);
      // From the command's start: a replaced worker's figures would mix two processes.
      const workerCpu = live && ready && live === workers[0]
        ? { total: cpuSeconds(live.pid!) - ready.total, mainThread: cpuSeconds(live.pid!, { thread: live.pid! }) - ready.mainThread }
        : null;
      return { seconds: cli.seconds, stdout: cli.value, idle, vmhwm: live ? round(rssMiB(live.pid!, 'VmHWM')) : null, workerCpu, cliCpu };
    } finally {
      stopping = true;
      const live = workers.at(-1);
      if (live) {
        sampler.untrack(live.pid!);
        await stopProcess(live);
      }
    }
  };

  /**
   * Each activity of a run with its time, naming the attempt when it took more than one; a retry
   * fails the bench. An activity cancelled while it ran and not waited for (the snapshot's holder)
   * has no attempt in the history: it counts as a clean run and has no start for the time figures.
   */
  const activities = async (step: string, workflowId: string) => {
    const all = await activityRuns(client.workflow.getHandle(workflowId));
    const leftRunning = (r: ActivityRun) => r.attempt === 0 && r.cancelRequested;
    for (const r of all) if (r.attempt !== 1 && !leftRunning(r)) failures.push(`${step}: activity ${r.activity} ran ${r.attempt} attempts, a clean run needs 1`);
    const summary = all.map((r) => `${r.activity} ${r.seconds === null ? '-' : `${r.seconds.toFixed(2)} s`}${leftRunning(r) ? ' (cancelled while running)' : r.attempt === 1 ? '' : ` (attempt ${r.attempt})`}`);
    const runs = all.filter((r) => r.attempt > 0);
    /** The activity running at `time` (epoch ms), or where between activities it fell. */
    const runningAt = (time: number | undefined) => {
      if (time === undefined) return null;
      const running = runs.find((r) => r.startedAt <= time && time <= (r.closedAt ?? Infinity));
      const after = runs.filter((r) => r.closedAt !== null && r.closedAt < time).at(-1);
      return running?.activity ?? (after ? `after ${after.activity}` : 'before the first activity');
    };
    /** From the first start to the last close of these activities (epoch ms), if they ran. */
    const span = (names: string[]) => {
      const ran = runs.filter((r) => names.includes(r.activity) && r.closedAt !== null);
      return ran.length ? { from: Math.min(...ran.map((r) => r.startedAt)), to: Math.max(...ran.map((r) => r.closedAt!)) } : null;
    };
    return { summary: summary.join(', '), maxAttempt: Math.max(...runs.map((r) => r.attempt)), runningAt, span, startedAt: Math.min(...runs.map((r) => r.startedAt)) };
  };

  const tableSizes = async () => {
    const size = (await db.query<{ heap: string; indexes: string; total: string }>(
      'select pg_relation_size($1) as heap, pg_indexes_size($1) as indexes, pg_total_relation_size($1) as total',
      [TABLE],
    )).rows[0]!;
    return { heap: Number(size.heap), indexes: Number(size.indexes), total: Number(size.total) };
  };
  const source = await tableSizes();
  // The export's order and read settings, from the export's own catalog code (backup.export_order,
  // else a first snapshot's order: the bucket is new): index scans off when the heap is not in that order.
  const order = config.backup.export_order ?? FIRST_EXPORT_ORDER;
  const exported = await describeTable(db, TABLE, undefined, undefined, order);
  const exportOrder = exported.orderColumns.join(', ');
  const exportOrderSql = `select * from ${TABLE} order by ${exportOrder}`;
  const exportOrderSettings = exported.heapInExportOrder ? '' : '-c enable_indexscan=off -c enable_bitmapscan=off';
  const exportOrderPlan = (await db.query<{ 'QUERY PLAN': string }>(`explain ${exportOrderSql}`)).rows[0]!['QUERY PLAN'].replace(/\s+\(cost=.*$/, '');

  say(`(a2) psql \\copy (select ... order by ${exportOrder}) to /dev/null (binary): the export's read...`);
  const copyExportOrder = await timed(() => psql(`\\copy (${exportOrderSql}) to '/dev/null' with binary`, exportOrderSettings));
  say('(a3) psql \\copy (select ... order by symbol, time) to /dev/null (binary), scan + sort: the key order...');
  const copyKeyOrder = skipped.has('key-order-read')
    ? null
    : await timed(() => psql(`\\copy (select * from ${TABLE} order by symbol, time) to '/dev/null' with binary`, '-c enable_indexscan=off -c enable_bitmapscan=off'));
  say('(b) pg_dump -Fc...');
  const dump = await timed(() => run(join(PG_BIN, 'pg_dump'), ['-Fc', '-t', TABLE, '-f', dumpFile], libpq));
  const dumpBytes = statSync(dumpFile).size;
  say('(b2) pg_dump -Fc -Z0...');
  const dumpUncompressed = await timed(() => run(join(PG_BIN, 'pg_dump'), ['-Fc', '-Z0', '-t', TABLE, '-f', `${dumpFile}.z0`], libpq));
  await rm(`${dumpFile}.z0`);

  say('(b3) Arrow exporter: ADBC PostgreSQL driver + pyarrow, snappy Parquet to a file...');
  const arrowExporter = skipped.has('arrow-exporter') ? null : await arrowExporterBaseline(databaseUrl, exportOrderSql, exportOrderSettings, exported.columns, join(tmpdir(), `${bucket}.arrow-exporter.parquet`));

  say('(c0) exportTable in this process to /dev/null (the export alone: COPY, decoding, Arrow, Parquet, sha256)...');
  const exportOnly = skipped.has('export-only') ? null : await timed(() => exportTable({ client: db, table: TABLE, dateColumn: 'time', format: 'parquet', compression: 'snappy', order, out: createWriteStream('/dev/null') }));
  const snapshotRounds: SnapshotRound[] = [];
  let bucketBytes = 0;
  for (let n = 1; n <= roundCount; n++) {
    say(`(a) round ${n}/${roundCount}: psql \\copy <table> to /dev/null (binary): the read floor, heap order...`);
    const copy = await timed(() => psql(`\\copy ${TABLE} to '/dev/null' with binary`));
    say(`(c) round ${n}/${roundCount}: seedvault snapshot create --wait...`);
    let cpuBefore = cpuSoFar();
    const product_ = await product('snapshot', ['snapshot', 'create', '--tables', TABLE, '--wait', '--json'], true, () => (cpuBefore = cpuSoFar()));
    // The worker's connections closed with it: let the postmaster reap their backends.
    await sleep(500);
    const cpuAfter = cpuSoFar();
    const worker = product_.workerCpu ?? { total: 0, mainThread: 0 };
    const cpu = {
      postgres: cpuAfter.postgres - cpuBefore.postgres,
      worker: worker.total,
      workerMainThread: worker.mainThread,
      minio: cpuAfter.minio - cpuBefore.minio,
      temporal: cpuAfter.temporal - cpuBefore.temporal,
      cli: product_.cliCpu,
    };
    snapshotRounds.push({ copy: copy.seconds, product: product_, created: JSON.parse(product_.stdout) as SnapshotRound['created'], cpu });
    // One version, its latest/ copy and the manifests; later rounds add versions up to the retention.
    if (n === 1) bucketBytes = (await createStorage(config.storage).list('')).reduce((sum, o) => sum + o.size, 0);
  }
  const snapshotRound = medianRound(snapshotRounds);
  const copyHeapSeconds = median(snapshotRounds.map((r) => r.copy));
  const snapshot = snapshotRound.product;
  const roundActivities = await Promise.all(snapshotRounds.map((r) => activities('snapshot', r.created.workflowId)));
  const snapshotActivities = roundActivities[snapshotRounds.indexOf(snapshotRound)]!;
  // Each round's export against its own worker's RSS as the export started.
  const exportMemories = roundActivities.map((runs) => {
    const span = runs.span(['exportTables', 'exportTablePart']);
    const memory = span && sampler.during('snapshot_worker', span.from, span.to);
    return memory && { atStart: round(memory.atStart), added: round(memory.peak - memory.atStart) };
  });
  const exportMemory = exportMemories[snapshotRounds.indexOf(snapshotRound)] ?? null;
  // The rounds ran one after another: the peak fell in the last one that had started by then.
  const snapshotPeakTime = sampler.peakTimes.get('snapshot_worker');
  const peakRound = roundActivities.filter((runs) => snapshotPeakTime !== undefined && runs.startedAt <= snapshotPeakTime).at(-1) ?? snapshotActivities;
  const exportAdded = exportMemories.every((m) => m !== null) ? Math.max(...exportMemories.map((m) => m!.added)) : null;
  const { postgres, worker, minio, temporal, cli } = snapshotRound.cpu;
  const snapshotCpuTotal = postgres + worker + minio + temporal + cli;
  // The newest version: older rounds' versions may have been pruned.
  const created = snapshotRounds.at(-1)!.created;

  say('(d) pg_restore into an empty database...');
  cleanups.push(() => admin.query(`drop database if exists ${RESTORE_DATABASE} with (force)`));
  await admin.query(`create database ${RESTORE_DATABASE}`);
  const pgRestoreEnv = { ...libpq, PGDATABASE: RESTORE_DATABASE, PGOPTIONS: `-c maintenance_work_mem=${MAINTENANCE_WORK_MEM}` };
  const pgRestore = await timed(() => run(join(PG_BIN, 'pg_restore'), ['--exit-on-error', '-d', RESTORE_DATABASE, dumpFile], pgRestoreEnv));
  await admin.query(`drop database ${RESTORE_DATABASE} with (force)`);
  await rm(dumpFile);

  // Untimed preparation: the same rows in the same order, by a sort (5x faster than the index scan at 10M rows).
  await psql(`\\copy (${exportOrderSql}) to '${copyFile}' with binary`);
  const copyFileBytes = statSync(copyFile).size;
  const rounds: RestoreRound[] = [];
  for (let n = 1; n <= roundCount; n++) {
    say(`(e) round ${n}/${roundCount}: psql \\copy from (binary) into an index-less copy of the table, then its index builds...`);
    await createStaging(db, TABLE, COPY_TABLE, 'twin');
    const copyFrom = await timed(() => psql(`\\copy ${COPY_TABLE} from '${copyFile}' with binary`));
    const indexBuild = await timed(() => completeTwin(db, TABLE, COPY_TABLE, 'copy_baseline'));
    await db.query(`drop table ${COPY_TABLE}`);

    say(`(f) round ${n}/${roundCount}: seedvault restore --mode replace --wait into the truncated table...`);
    await psql(`truncate ${TABLE}`);
    const product_ = await product('restore', ['restore', '--source', 'minio', '--tables', 'ohlcv', '--mode', 'replace', '--wait', '--json'], true);
    const result = JSON.parse(product_.stdout) as { workflowId: string; tables: { table: string; stageSeconds: Record<string, number> | null }[] };
    rounds.push({ copyFrom: copyFrom.seconds, indexBuild: indexBuild.seconds, product: product_, workflowId: result.workflowId, stageSteps: result.tables.find((t) => t.table === TABLE)?.stageSeconds ?? {} });
    const restoredRows = Number((await db.query<{ n: string }>(`select count(*) as n from ${TABLE}`)).rows[0]!.n);
    if (restoredRows !== rows) failures.push(`round ${n}: the restore left ${restoredRows} rows in ${TABLE}, the source had ${rows}`);
  }
  await rm(copyFile);
  // The round whose restore time is the median stands for the run; each baseline is its own median.
  const restoreRound = medianRound(rounds);
  const copyFromSeconds = median(rounds.map((r) => r.copyFrom));
  const indexBuildSeconds = median(rounds.map((r) => r.indexBuild));
  const restore = restoreRound.product;
  const restoreActivities = await activities('restore', restoreRound.workflowId);
  const stageSteps = restoreRound.stageSteps;
  const restoredRows = Number((await db.query<{ n: string }>(`select count(*) as n from ${TABLE}`)).rows[0]!.n);
  const restored = await tableSizes();

  say('(g) seedvault verify --against-db...');
  const verify = await product('verify', ['verify', '--version', created.version, '--against-db', '--json'], false).catch((err: Error) => {
    failures.push(`verify --against-db: ${err.message}`);
    return null;
  });

  const peak = (label: string) => round(sampler.peaks.get(label) ?? 0);
  const result: BenchResult = {
    ...provenance,
    rows,
    layout,
    export_order: order,
    export_order_plan: exportOrderPlan,
    fill_s: round(fill.seconds),
    copy_to_devnull_s: round(copyHeapSeconds),
    copy_export_order_s: round(copyExportOrder.seconds),
    copy_key_order_s: copyKeyOrder ? round(copyKeyOrder.seconds) : null,
    pg_dump_s: round(dump.seconds),
    pg_dump_z0_s: round(dumpUncompressed.seconds),
    arrow_exporter_s: arrowExporter ? round(arrowExporter.seconds) : null,
    arrow_exporter_cast_s: arrowExporter ? round(arrowExporter.castSeconds) : null,
    arrow_exporter_cpu_s: arrowExporter ? round(arrowExporter.cpuSeconds) : null,
    arrow_exporter_peak_rss_mib: arrowExporter ? peak('arrow_exporter') : null,
    arrow_exporter_parquet_mib: arrowExporter ? mib(arrowExporter.bytes) : null,
    export_only_s: exportOnly ? round(exportOnly.seconds) : null,
    ratio_export_only_to_copy: exportOnly ? round(exportOnly.seconds / copyHeapSeconds) : null,
    ...versus('snapshot', snapshot.seconds, rows, {
      copy: copyHeapSeconds,
      copy_export_order: copyExportOrder.seconds,
      pg_dump: dump.seconds,
      pg_dump_z0: dumpUncompressed.seconds,
      ...(arrowExporter ? { arrow_exporter: arrowExporter.seconds } : {}),
    }),
    snapshot_rounds: snapshotRounds.map((r, i) => `${round(r.product.seconds)} / ${round(r.copy)} s, ${exportMemories[i]?.added ?? '-'} MiB`).join('; '),
    snapshot_cpu_s: Object.entries(snapshotRound.cpu).map(([name, seconds]) => `${name} ${seconds.toFixed(2)}`).join(', '),
    snapshot_cpu_use: round(snapshotCpuTotal / (availableParallelism() * snapshot.seconds)),
    snapshot_activities: snapshotActivities.summary,
    snapshot_max_attempt: snapshotActivities.maxAttempt,
    copy_from_s: round(copyFromSeconds),
    index_build_s: round(indexBuildSeconds),
    pg_restore_s: round(pgRestore.seconds),
    ...versus('restore', restore.seconds, rows, { copy_and_index: copyFromSeconds + indexBuildSeconds, pg_restore: pgRestore.seconds }),
    restore_rounds: rounds.map((r) => `${round(r.product.seconds)} / ${round(r.copyFrom + r.indexBuild)} s`).join(', '),
    restore_activities: restoreActivities.summary,
    restore_stage_steps: Object.entries(stageSteps).map(([step, sec]) => `${step} ${sec.toFixed(2)} s`).join(', '),
    restore_max_attempt: restoreActivities.maxAttempt,
    restored_rows: restoredRows,
    verify_s: verify ? round(verify.seconds) : null,
    worker_peak_rss_mib: Math.max(peak('snapshot_worker'), peak('restore_worker')),
    snapshot_worker_idle_rss_mib: snapshot.idle,
    snapshot_worker_peak_rss_mib: peak('snapshot_worker'),
    snapshot_worker_added_rss_mib: snapshot.idle === null ? null : round(peak('snapshot_worker') - snapshot.idle),
    snapshot_worker_peak_during: peakRound.runningAt(snapshotPeakTime),
    snapshot_worker_rss_at_export_mib: exportMemory?.atStart ?? null,
    export_added_rss_mib: exportAdded,
    snapshot_worker_vmhwm_mib: snapshot.vmhwm,
    restore_worker_idle_rss_mib: restore.idle,
    restore_worker_peak_rss_mib: peak('restore_worker'),
    restore_worker_vmhwm_mib: restore.vmhwm,
    snapshot_cli_peak_rss_mib: peak('snapshot_cli'),
    restore_cli_peak_rss_mib: peak('restore_cli'),
    verify_cli_peak_rss_mib: peak('verify_cli'),
    table_heap_mib: mib(source.heap),
    table_indexes_mib: mib(source.indexes),
    table_total_mib: mib(source.total),
    restored_table_total_mib: mib(restored.total),
    parquet_mib: mib(created.manifest.tables[TABLE]!.size_bytes),
    bucket_mib: mib(bucketBytes),
    pg_dump_mib: mib(dumpBytes),
    copy_file_mib: mib(copyFileBytes),
    disk_free_at_start_mib: mib(diskFree),
    status: failures.length ? 'FAILED' : 'ok',
  };
  const notes = notesFor(created.version);
  if (markdownFile) writeDocSection(markdownFile, 'bench:scale', markdownSection(result, notes), PERFORMANCE_INTRO);
  await cleanUp();
  printResult(result, notes, failures);
} catch (err) {
  await cleanUp();
  refuse((err as Error).message, 1);
}

/**
 * Free bytes (df's "Available") on the file systems of `paths`; refuses to start when one has
 * less than `needed`: a 100M-row run writes tens of GB.
 */
async function freeDisk(paths: string[], needed: number): Promise<number> {
  const lines = (await run('df', ['-Pk', ...paths])).trim().split('\n').slice(1);
  const free = lines.map((line, i) => {
    const [, , , available, , mount] = line.split(/\s+/);
    return { path: paths[i]!, mount: mount!, bytes: Number(available) * 1024 };
  });
  const short = free.find((f) => f.bytes < needed);
  if (short) {
    const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;
    throw new Error(
      `not enough free disk for --rows ${rows.toLocaleString('en-US')}: ${short.path} (on ${short.mount}) has ${gib(short.bytes)} free, the run needs about ${gib(needed)} ` +
        `(${DISK_FACTOR}x the estimated ${gib(rows * BYTES_PER_ROW)} of table and indexes: the table's restored copies, the copy file, the dump, the Parquet objects and sort space). ` +
        'Free some space or lower --rows.',
    );
  }
  return Math.min(...free.map((f) => f.bytes));
}

/**
 * The Arrow exporter baseline: the rows of `select` (the export's order, under the export's session
 * settings) read by ADBC's PostgreSQL driver (libpq, binary COPY into Arrow) and written by pyarrow's
 * ParquetWriter with the snapshot's types and writer settings (bench/arrow-exporter.py) to a local
 * file. Its packages are installed (untimed) into the user's cache first.
 */
async function arrowExporterBaseline(databaseUrl: string, select: string, settings: string, columns: ColumnSpec[], out: string) {
  const pythonPath = await pythonPackages(ARROW_EXPORTER_PACKAGES, true);
  const decimals = columns.filter((c) => c.kind === Kind.Decimal).map((c) => `${c.name}=${c.precision},${c.scale}`);
  const env = { ...process.env, PYTHONPATH: pythonPath, PGOPTIONS: settings, DATABASE_URL: databaseUrl };
  const reapedBefore = cpuSeconds('self', { reaped: true });
  try {
    const exported = await timed(() => run('python3', [ARROW_EXPORTER, select, out, ...decimals], env, (pid) => sampler.track('arrow_exporter', pid)));
    const report = JSON.parse(exported.value) as { rows: number; cast_seconds: number };
    if (report.rows !== rows) failures.push(`arrow exporter: wrote ${report.rows} rows, the table has ${rows}`);
    const cpu = cpuSeconds('self', { reaped: true }) - reapedBefore;
    return { seconds: exported.seconds, castSeconds: report.cast_seconds, cpuSeconds: cpu, bytes: statSync(out).size };
  } finally {
    await rm(out, { force: true });
  }
}

/** What each figure measures, and what work its baseline shares with the product. */
function notesFor(version: string): Record<string, string> {
  return {
    layout: layout === 'time' ? 'heap in time order (all symbols of a 5-minute step, then the next): the key order needs a sort or index jumps' : 'heap in key order (symbol, time), as after CLUSTER',
    export_order: 'backup.export_order (SEEDVAULT_EXPORT_ORDER; empty: time_first in a new bucket): time_first sorts the rows by time, symbol; key by symbol, time',
    export_order_plan: 'the planner\'s EXPLAIN of select * ... order by <the export order> on the filled table (the export turns index scans off when the heap is not in that order, see copy_export_order_s)',
    copy_export_order_s: 'profile: psql \\copy (select * ... order by <the export order>) to /dev/null with binary as one query (index scans off when the leading column\'s correlation is under 0.9): the export\'s rows in the export\'s order; on a heap in that order the export reads them in time ranges instead (src/parquet/time-chunks.ts)',
    copy_key_order_s: 'profile: psql \\copy (select * ... order by symbol, time) with enable_indexscan and enable_bitmapscan off: the key order exports had before, by sequential scan and sort',
    fill_s: `create and migrate the database, INSERT ... SELECT generate_series in committed chunks of 2M rows into the indexed table, VACUUM ANALYZE; then an untimed CHECKPOINT, so no timed phase pays for the fill's dirty pages`,
    copy_to_devnull_s: 'baseline, the read floor: psql \\copy usdcop_m5_ohlcv to /dev/null with binary: every row in heap order, no sort',
    pg_dump_s: 'baseline: pg_dump -Fc -t usdcop_m5_ohlcv to a file: heap order (no sort), zlib at its default level, the same class of compression as the snapshot\'s snappy Parquet',
    pg_dump_z0_s: 'baseline: the same pg_dump with -Z0 (no compression; PostgreSQL 15\'s pg_dump has no lz4)',
    export_only_s: 'profile: exportTable (the snapshot\'s export code) in the bench process to /dev/null: COPY, binary decoding, Arrow batches, snappy Parquet, sha256; no upload',
    ratio_export_only_to_copy: 'export_only_s / copy_to_devnull_s: what decoding and encoding add to the read',
    ratio_snapshot_to_pg_dump_z0: 'snapshot_s / pg_dump_z0_s',
    arrow_exporter_s: `baseline: a Python Arrow exporter (${ARROW_EXPORTER_PACKAGES.join(', ')}): the export's query and session settings as copy_export_order_s (one query, no time ranges), binary COPY into Arrow batches, NUMERIC (text from the driver) cast to the snapshot's DECIMAL types, pyarrow's ParquetWriter with the snapshot's settings (snappy, 131,072-row groups, dictionary for strings only, chunk statistics) to a local file: no upload, checksum or manifest`,
    arrow_exporter_cast_s: 'profile: of arrow_exporter_s, the seconds the script spent casting batches (NUMERIC text to DECIMAL): arrow_exporter_s minus this is an exporter that keeps prices as text, a file pandas reads as strings',
    arrow_exporter_cpu_s: 'CPU seconds (user + system) of the Python process, every thread; PostgreSQL\'s not included',
    arrow_exporter_peak_rss_mib: 'highest VmRSS of the Python process, sampled every 250 ms',
    ratio_snapshot_to_arrow_exporter: 'snapshot_s / arrow_exporter_s: the snapshot end to end (upload, checks, manifest, latest copy included) against an export to a local file',
    snapshot_s: 'seedvault snapshot create --tables usdcop_m5_ohlcv --wait (CLI + fresh worker): sorted export to snappy Parquet in MinIO, upload check (size and CRC32 by HEAD), manifest, latest copy, prune',
    ratio_snapshot_to_copy: 'snapshot_s / copy_to_devnull_s',
    ratio_snapshot_to_copy_export_order: 'snapshot_s / copy_export_order_s',
    ratio_snapshot_to_pg_dump: 'snapshot_s / pg_dump_s',
    snapshot_cpu_s: 'CPU seconds (user + system) each process spent during snapshot_s of the median round, from /proc: postgres (the backends and parallel workers the postmaster reaped, autovacuum included), worker (every thread; workerMainThread its main thread, the rest the export thread, libuv and V8 helpers), MinIO, the Temporal dev server, the CLI',
    snapshot_cpu_use: 'the processes of snapshot_cpu_s (workerMainThread counted once, in worker) over nproc x snapshot_s: near 1 the snapshot is bound by the cores, not by waiting',
    snapshot_activities: 'each activity of the snapshot run: seconds of its last attempt (from the workflow history)',
    snapshot_max_attempt: 'highest ActivityTaskStarted.attempt in the snapshot run: more than 1 fails the bench',
    copy_from_s: `baseline, load floor: psql \\copy from a binary file of the same rows in the same order as the Parquet into an index-less logged copy of the table (defaults, CHECK constraints), like the restore's twin`,
    index_build_s: `baseline, after copy_from_s: the table's UNIQUE (symbol, time) key and BRIN (time) index built on that copy by the restore's own index code, maintenance_work_mem ${MAINTENANCE_WORK_MEM} (what pg_restore does after its data)`,
    pg_restore_s: `baseline: pg_restore of the -Fc dump into an empty database: table, data (heap order), constraints and indexes, maintenance_work_mem ${MAINTENANCE_WORK_MEM} like the restore`,
    restore_s: 'seedvault restore --source minio --tables ohlcv --mode replace --wait into the truncated table (CLI + fresh worker): download, sha256, load into a twin, validation, index build, swap',
    ratio_restore_to_copy_and_index: 'restore_s / (copy_from_s + index_build_s)',
    snapshot_rounds: `each round (--rounds ${roundCount}): snapshot_s / copy_to_devnull_s, measured back to back, and the round's export_added_rss_mib; snapshot_s is the median round (its activities and worker figures are the ones reported; memory peaks span every round), copy_to_devnull_s the median of the rounds`,
    restore_rounds: `each round (--rounds ${roundCount}): restore_s / copy_from_s + index_build_s, measured back to back; restore_s is the median round (its activities and steps are the ones reported; memory peaks span every round), copy_from_s and index_build_s the medians of the rounds`,
    ratio_restore_to_pg_restore: 'restore_s / pg_restore_s',
    restore_activities: 'each activity of the restore run: seconds of its last attempt (from the workflow history)',
    restore_stage_steps: "stageTable's own steps for the table (the run's result): download (a table in one object: size and Parquet tail by range reads; parts: fetch, sha256, footer check), load (COPY into the twin, reading row groups as the download brings them), download (during load) (seconds into the load when the object was in and its size, sha256 and footer matched), validate (the load's facts for a Parquet file, one scan for CSV or a dump), build indexes",
    restore_max_attempt: 'highest ActivityTaskStarted.attempt in the restore run: more than 1 fails the bench',
    restored_rows: 'count(*) after the restore: must equal rows',
    verify_s: `seedvault verify --version ${version} --against-db (CLI only, no workflow): sha256, Parquet footer, row count, date range and content hash against the table; must exit 0`,
    worker_peak_rss_mib: 'highest VmRSS of any worker process, sampled every 250 ms over the whole run (one worker per step)',
    snapshot_worker_idle_rss_mib: 'VmRSS of the snapshot\'s fresh worker once it polls its task queue, before the snapshot starts',
    snapshot_worker_added_rss_mib: 'snapshot_worker_peak_rss_mib - snapshot_worker_idle_rss_mib: what the whole snapshot adds to a fresh worker, with what its first workflow and planning activities leave behind (see snapshot_worker_rss_at_export_mib)',
    snapshot_worker_rss_at_export_mib: "the worker's VmRSS as the export activity started (its last sample before), after the snapshot's workflow tasks and planning activities: an idle worker that has run a workflow",
    export_added_rss_mib: 'highest VmRSS while the export activities ran - snapshot_worker_rss_at_export_mib: what the export adds to the idle worker (target <= 120 MiB, per table or part exported at once); the highest of the rounds',
    snapshot_worker_peak_during: 'the snapshot activity that was running when the worker\'s peak RSS was sampled (from the workflow history\'s start and close times)',
    snapshot_worker_vmhwm_mib: 'the snapshot worker\'s VmHWM (kernel peak) just before it was stopped',
    restore_worker_vmhwm_mib: 'the restore worker\'s VmHWM (kernel peak) just before it was stopped',
    verify_cli_peak_rss_mib: 'verify runs in the CLI process: its highest VmRSS sampled every 250 ms',
    table_total_mib: 'pg_total_relation_size of the filled table: heap + UNIQUE (symbol, time) + BRIN (time)',
    restored_table_total_mib: 'pg_total_relation_size after the restore (indexes freshly built)',
    parquet_mib: 'the version\'s Parquet object (manifest size_bytes)',
    bucket_mib: 'every object in the bucket after the snapshot (the version, its latest/ copy, manifests)',
    copy_file_mib: 'the binary COPY file of the \\copy from baseline',
    disk_free_at_start_mib: `lowest df "Available" of the PostgreSQL data directory, ${tmpdir()} and the stack's state dir at start (${DISK_FACTOR}x ${BYTES_PER_ROW} B/row required)`,
  };
}

function markdownSection(result: BenchResult, notes: Record<string, string>): string {
  const cell = (value: number | string | null) => (value === null ? '-' : value.toLocaleString('en-US')).replaceAll('|', '\\|');
  const head = ['date', 'machine', 'commit'];
  return [
    `## Scale: \`npm run bench:scale -- --rows ${rows} --layout ${layout}\``,
    '',
    ...head.map((k) => `- ${k}: ${cell(result[k]!)}`),
    '',
    '| figure | value | what it measures |',
    '| --- | --- | --- |',
    ...Object.entries(result)
      .filter(([k]) => !head.includes(k))
      .map(([k, v]) => `| ${k} | ${cell(v)} | ${cell(notes[k] ?? '')} |`),
  ].join('\n');
}
