/**
 * Snapshot benchmark: in one run, on one table of N OHLCV rows filled time step by time step
 * like a live table, measures
 *   (a) psql \copy <table> to /dev/null with binary                    — the floor: reading the rows (heap order)
 *   (b) pg_dump -Fc of the table                                        — what users compare against
 *   (c) the seedSnapshot workflow to MinIO (export + read-back verify + latest + prune)
 * and prints rows/s, c/a, c/b, output bytes and the worker's peak RSS.
 *
 *   npm run bench:snapshot -- --rows 10000000 [--json]
 */
import { statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSnapshot } from '../src/client/snapshot-create.js';
import { libpqEnv, ohlcvBench, rssMiB, PG_BIN, printResult, round, rowsFlag, run, spawnWorker, timed, versus } from './support.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const rows = rowsFlag();
const { bucket, databaseUrl, env, config } = await ohlcvBench('bench_snapshot', rows, 'time');
const libpq = libpqEnv(databaseUrl);

process.stderr.write('(a) psql \\copy to /dev/null (binary)...\n');
const copy = await timed(() =>
  run(join(PG_BIN, 'psql'), ['-X', '-q', '-c', `\\copy usdcop_m5_ohlcv to '/dev/null' with binary`], libpq),
);

process.stderr.write('(b) pg_dump -Fc...\n');
const dumpFile = join(tmpdir(), `${bucket}.dump`);
const dump = await timed(() => run(join(PG_BIN, 'pg_dump'), ['-Fc', '-t', 'usdcop_m5_ohlcv', '-f', dumpFile], libpq));

process.stderr.write('(c) seedSnapshot workflow to MinIO...\n');
const worker = spawnWorker(env);
await new Promise((r) => setTimeout(r, 3000)); // let the worker bundle its workflows before the clock starts
const snapshot = await timed(async () => (await startSnapshot(config, { tables: 'usdcop_m5_ohlcv' })).result());
const rss = rssMiB(worker.pid!, 'VmHWM');
worker.kill('SIGTERM');

const table = snapshot.value.manifest.tables.usdcop_m5_ohlcv!;
const result = {
  rows,
  copy_to_devnull_s: round(copy.seconds),
  pg_dump_fc_s: round(dump.seconds),
  ...versus('snapshot', snapshot.seconds, rows, { copy: copy.seconds, pg_dump: dump.seconds }),
  parquet_bytes: table.size_bytes,
  pg_dump_bytes: statSync(dumpFile).size,
  worker_peak_rss_mib: Math.round(rss),
};
printResult(result);
