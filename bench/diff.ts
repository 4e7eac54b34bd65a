/**
 * Snapshot diff benchmark: two snapshots of N OHLCV rows with known deletes, updates and
 * inserts in between, diffed by the snapshotDiff workflow on a fresh worker; prints the
 * time, rows/s and the worker's peak RSS, and fails when the counts are not the changes.
 *
 *   npm run bench:diff -- --rows 10000000 [--json]
 */
import pg from 'pg';
import { startSnapshot } from '../src/client/snapshot-create.js';
import { connectClient } from '../src/temporal/connection.js';
import { snapshotDiff } from '../src/workflows/snapshot-diff.js';
import { ohlcvBench, printResult, readyWorker, rowsFlag, rssMiB, spawnWorker, stopProcess, timed, versus } from './support.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const TABLE = 'usdcop_m5_ohlcv';
const rows = rowsFlag();
const { databaseUrl, env, config } = await ohlcvBench('bench_diff', rows, 'time');
const snapshot = async () => (await startSnapshot(config, { tables: TABLE, pin: true })).result();

const snapshotWorker = spawnWorker(env);
const older = await snapshot();
const sql = new pg.Client({ connectionString: databaseUrl });
await sql.connect();
process.stderr.write('changing rows between the snapshots...\n');
const removed = (await sql.query(`delete from ${TABLE} where volume % 1000 = 1`)).rowCount ?? 0;
const changed = (await sql.query(`update ${TABLE} set volume = volume + 1 where volume % 997 = 3`)).rowCount ?? 0;
const added = (
  await sql.query(
    `insert into ${TABLE} (symbol, time, open, high, low, close, volume, source)
     select 'NEW' || lpad((i % 10)::text, 3, '0'), timestamptz '2030-01-01 00:00Z' + i * interval '5 minutes', 1, 2, 1, 1.5, 0, 'bench'
     from generate_series(1, 1000) as i`,
  )
).rowCount ?? 0;
await sql.end();
const newer = await snapshot();
await stopProcess(snapshotWorker);

// A fresh worker for the diff, so its peak RSS is the diff's own.
const client = await connectClient(config);
const worker = await readyWorker(client, env, config.temporal.task_queue);
process.stderr.write(`diffing ${older.version} -> ${newer.version}...\n`);
const diff = await timed(() =>
  client.workflow.execute(snapshotDiff, {
    taskQueue: config.temporal.task_queue,
    workflowId: `bench-diff-${newer.version}-${Date.now()}`,
    args: [{ older: older.version, newer: newer.version, tables: [TABLE], limit: 10 }],
  }),
);
const rss = rssMiB(worker.pid!, 'VmHWM');
await stopProcess(worker);
await client.connection.close();

const table = diff.value.tables[0]!;
const failures = [
  ...(table.status === 'compared' ? [] : [`the table was ${table.status}, not compared`]),
  ...(['added', 'removed', 'changed'] as const).filter((kind) => table[kind] !== { added, removed, changed }[kind]).map((kind) => `${kind}: ${table[kind]}, expected ${{ added, removed, changed }[kind]}`),
];
printResult(
  {
    rows,
    added,
    removed,
    changed,
    ...versus('diff', diff.seconds, rows, {}),
    worker_peak_rss_mib: Math.round(rss),
  },
  { diff_rows_per_s: 'rows of the older snapshot per second, both files downloaded and merge-joined', worker_peak_rss_mib: 'VmHWM of the worker that ran only the diff' },
  failures,
);
