import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../src/config/load.js';
import { migrate } from '../src/db/migrate.js';
import { stackUp } from '../src/stack/index.js';

export const PG_BIN = '/usr/lib/postgresql/15/bin';
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

/** Runs a command to completion; rejects with its stderr on a non-zero exit. */
export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited ${code}: ${stderr.trim()}`))));
  });
}

/** Resident set size of a live process (VmRSS) or its peak so far (VmHWM), MiB. */
export function rssMiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) / 1024;
}

export function spawnWorker(env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, [CLI, 'worker'], { env: { ...process.env, ...env, SEEDVAULT_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'inherit'] });
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

/**
 * N valid 5-minute bars over 100 symbols, generated inside PostgreSQL in key order, so
 * the heap is physically sorted like a table that grew bar by bar (and like `CLUSTER`):
 * `ORDER BY symbol, time` then reads sequentially for every contender alike.
 */
export async function fillOhlcv(databaseUrl: string, rows: number): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const perSymbol = Math.ceil(rows / 100);
  await client.query(
    `insert into usdcop_m5_ohlcv (symbol, time, open, high, low, close, volume, source)
     select 'SYM' || lpad((i / $2)::text, 3, '0'),
            timestamptz '2020-01-02 13:00Z' + (i % $2) * interval '5 minutes',
            round((4000 + 500 * sin(i / 5000.0))::numeric, 4) as open,
            round((4000 + 500 * sin(i / 5000.0) + 3 + (i % 7))::numeric, 4),
            round((4000 + 500 * sin(i / 5000.0) - 3 - (i % 5))::numeric, 4),
            round((4000 + 500 * sin(i / 5000.0) + (i % 3) - 1)::numeric, 4),
            (i * 7919) % 100000, 'bench'
     from generate_series(0, $1::bigint - 1) as i
     order by i`,
    [rows, perSymbol],
  );
  await client.query('vacuum analyze usdcop_m5_ohlcv');
  await client.end();
}

/** A new bucket on the stack's MinIO, named for this run. */
export async function benchBucket(stack: { S3_ENDPOINT: string; S3_ACCESS_KEY: string; S3_SECRET_KEY: string }): Promise<string> {
  const bucket = `bench-${randomBytes(3).toString('hex')}`;
  const s3 = new S3Client({
    region: 'us-east-1',
    endpoint: stack.S3_ENDPOINT,
    forcePathStyle: true,
    credentials: { accessKeyId: stack.S3_ACCESS_KEY, secretAccessKey: stack.S3_SECRET_KEY },
  });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  s3.destroy();
  return bucket;
}

/** The libpq variables psql, pg_dump and pg_restore need for a database URL. */
export function libpqEnv(databaseUrl: string): NodeJS.ProcessEnv {
  const url = new URL(databaseUrl);
  return { ...process.env, PGHOST: url.hostname, PGPORT: url.port, PGUSER: url.username, PGDATABASE: url.pathname.slice(1) };
}

export function round(x: number): number {
  return Math.round(x * 100) / 100;
}

/** `--rows N` of a bench script, validated. */
export function rowsFlag(): number {
  const rows = Number(flag('rows', '1000000'));
  if (!Number.isInteger(rows) || rows < 1) throw new Error(`--rows must be a positive integer, got ${flag('rows', '')}`);
  return rows;
}

/**
 * The local stack, a fresh database `name` with `rows` OHLCV bars, a fresh bucket, and
 * the worker environment and config pointing at them.
 */
export async function ohlcvBench(name: string, rows: number, extraEnv: Record<string, string> = {}) {
  const stack = await stackUp();
  const databaseUrl = await benchDatabase(stack.DATABASE_URL, name);
  process.stderr.write(`filling usdcop_m5_ohlcv with ${rows.toLocaleString('en-US')} rows...\n`);
  await fillOhlcv(databaseUrl, rows);
  const bucket = await benchBucket(stack);
  const env: Record<string, string> = { ...stack, DATABASE_URL: databaseUrl, S3_BUCKET: bucket, SEEDVAULT_TASK_QUEUE: bucket, ...extraEnv };
  const config = loadConfig(DEFAULT_CONFIG_PATH, { ...process.env, ...env });
  return { stack, databaseUrl, bucket, env, config };
}

/** Prints a bench's figures (`--json` for one JSON document) and ends the process. */
export function printResult(result: Record<string, number | string | null>): never {
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else {
    const width = Math.max(...Object.keys(result).map((k) => k.length)) + 2;
    for (const [key, value] of Object.entries(result)) {
      process.stdout.write(`${key.padEnd(width)} ${value === null ? '-' : value.toLocaleString('en-US')}\n`);
    }
  }
  process.exit(0);
}
