/**
 * Restore benchmark: in one run, on one table of N OHLCV rows, measures loading the same
 * rows into the emptied live table (unique index, CHECK constraints) with
 *   (a) psql \copy ... from <file> with binary   — the floor: the server ingesting the rows
 *   (b) pg_restore --data-only of a pg_dump -Fc   — what users compare against
 *   (c) the seedRestore workflow from MinIO (download + sha256 + staging load + validation + swap)
 * and prints rows/s, c/a, c/b and the worker's peak RSS.
 *
 *   npm run bench:restore -- --rows 10000000 [--json]
 */
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { restoreInput, startRestore } from '../src/client/restore-run.js';
import { startSnapshot } from '../src/client/snapshot-create.js';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../src/config/load.js';
import { libpqEnv, ohlcvBench, rssMiB, PG_BIN, printResult, round, rowsFlag, run, spawnWorker, timed, versus } from './support.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const rows = rowsFlag();
const bench = await ohlcvBench('bench_restore', rows, 'key');
const { databaseUrl, bucket, env } = bench;
const config = loadConfig(DEFAULT_CONFIG_PATH, { ...process.env, ...env, SEEDVAULT_LOCAL_SEEDS: join(tmpdir(), bucket) });
const libpq = libpqEnv(databaseUrl);
const psql = (command: string) => run(join(PG_BIN, 'psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', command], libpq);
const truncate = () => psql('truncate usdcop_m5_ohlcv');

const copyFile = join(tmpdir(), `${bucket}.copy`);
const dumpFile = join(tmpdir(), `${bucket}.dump`);
await psql(`\\copy usdcop_m5_ohlcv to '${copyFile}' with binary`);
await run(join(PG_BIN, 'pg_dump'), ['-Fc', '-t', 'usdcop_m5_ohlcv', '-f', dumpFile], libpq);
const snapshotWorker = spawnWorker(env);
await startSnapshot(config, { tables: 'usdcop_m5_ohlcv' }).then((handle) => handle.result());
snapshotWorker.kill('SIGTERM');
// A fresh worker for the restore, so its peak RSS is the restore's own.
const worker = spawnWorker(env);
await new Promise((r) => setTimeout(r, 3000)); // let the worker bundle its workflows before the clock starts

process.stderr.write('(a) psql \\copy from (binary)...\n');
await truncate();
const copy = await timed(() => psql(`\\copy usdcop_m5_ohlcv from '${copyFile}' with binary`));

process.stderr.write('(b) pg_restore --data-only...\n');
await truncate();
const restoreDump = await timed(() => run(join(PG_BIN, 'pg_restore'), ['--data-only', '-t', 'usdcop_m5_ohlcv', '-d', databaseUrl, dumpFile], libpq));

process.stderr.write('(c) seedRestore workflow from MinIO...\n');
await truncate();
const restore = await timed(async () => (await startRestore(config, restoreInput(config, { source: 'minio', tables: 'usdcop_m5_ohlcv' }))).result());
const rss = rssMiB(worker.pid!, 'VmHWM');
worker.kill('SIGTERM');

await Promise.all([rm(copyFile, { force: true }), rm(dumpFile, { force: true })]);

const check = new pg.Client({ connectionString: databaseUrl });
await check.connect();
const restored = Number((await check.query('select count(*) as n from usdcop_m5_ohlcv')).rows[0].n);
await check.end();
if (restored !== rows) throw new Error(`the restore left ${restored} rows, expected ${rows}`);

const result = {
  rows,
  copy_from_binary_s: round(copy.seconds),
  pg_restore_s: round(restoreDump.seconds),
  ...versus('restore', restore.seconds, rows, { copy: copy.seconds, pg_restore: restoreDump.seconds }),
  worker_peak_rss_mib: Math.round(rss),
};
printResult(result);
