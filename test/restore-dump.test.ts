/**
 * Seed 002's SQL dump fallback: only the table's COPY block of a pg_dump script is read
 * (plain, gzipped, or custom format through pg_restore), never any statement of it.
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { PG_BIN } from '../bench/support.js';
import { loadDemoData } from '../src/db/demo-data.js';
import { dumpCopyBlock } from '../src/restore/dump-copy.js';
import { freshDatabase } from './support/db.js';
import { runRestore, sql, tableDigests } from './support/restore.js';
import { execFileAsync, runSnapshot } from './support/snapshot.js';
import { createBucket, testConfig, uniqueName, withWorker } from './support/stack.js';

const SCRIPT = [
  'SET statement_timeout = 0;',
  'CREATE TABLE public.evil (x int);',
  'COPY public.other (a, b) FROM stdin;',
  'COPY public.prices (x) FROM stdin;',
  '1\tlooks like a header above, but is data of another table',
  '\\.',
  '',
  'COPY public."prices" (id, "Close Price", note) FROM stdin;',
  '1\t10.5\t\\N',
  '2\t11.25\ttab\\there',
  '\\.',
  'DROP TABLE public.prices;',
  '',
].join('\n');

async function collect(script: string, chunkSize: number, table = 'prices'): Promise<{ columns: string[] | null; data: string }> {
  const bytes = Buffer.from(script);
  async function* chunks() {
    for (let i = 0; i < bytes.length; i += chunkSize) yield bytes.subarray(i, i + chunkSize);
  }
  let columns: string[] | null = null;
  let data = '';
  for await (const part of dumpCopyBlock(chunks(), 'public', table, 'test.sql')) {
    if (Array.isArray(part)) columns = part;
    else data += part.toString();
  }
  return { columns, data };
}

describe('the COPY block of a dump script', () => {
  test('is found after other blocks and statements, whatever the chunk boundaries', async () => {
    for (const size of [1, 2, 3, 7, 64, 1 << 16]) {
      const { columns, data } = await collect(SCRIPT, size);
      assert.deepEqual(columns, ['id', 'Close Price', 'note'], `chunks of ${size}`);
      assert.equal(data, '1\t10.5\t\\N\n2\t11.25\ttab\\there\n', `chunks of ${size}`);
    }
  });

  test('a script without the table yields nothing; one cut inside the block is refused', async () => {
    assert.deepEqual(await collect(SCRIPT, 5, 'missing'), { columns: null, data: '' });
    const cut = SCRIPT.slice(0, SCRIPT.indexOf('2\t11.25'));
    await assert.rejects(collect(cut, 5), /ends inside the COPY block of public\.prices \(truncated\)/);
  });
});

describe('restore from a pg_dump fallback', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let config: ReturnType<typeof testConfig>;
  let worker: Awaited<ReturnType<typeof withWorker>>;
  let original: Record<string, string>;
  let dir: string;
  const version = `${2100 + randomInt(7900)}.09.01`;

  before(async () => {
    db = await freshDatabase('restore_dump');
    await loadDemoData(db.url, { scale: 1 });
    const bucket = uniqueName('restore-dump');
    await createBucket(bucket);
    config = testConfig({ DATABASE_URL: db.url, S3_BUCKET: bucket, SEEDVAULT_TASK_QUEUE: uniqueName('restore-dump') });
    worker = await withWorker(config);
    await runSnapshot(config, { version });
    original = await tableDigests(db.url);
    dir = await mkdtemp(join(tmpdir(), 'seedvault-dumps-'));
    // A statement that must never run on restore: the dump creates this table.
    await sql(db.url, 'create table dump_sentinel (x int)');
    const plain = join(dir, 'usdcop_backup.sql');
    await execFileAsync(join(PG_BIN, 'pg_dump'), ['-Fp', '-f', plain, '-d', db.url]);
    await writeFile(`${plain}.gz`, gzipSync(await readFile(plain)));
    await execFileAsync(join(PG_BIN, 'pg_dump'), ['-Fc', '-f', join(dir, 'macro_backup.dump'), '-d', db.url]);
    await sql(db.url, 'drop table dump_sentinel');
  });
  after(async () => {
    await worker.stop();
    await db.drop();
  });

  test('a plain .sql.gz and a custom .dump restore their tables equal to the source, running none of their statements', async () => {
    config.sources.ohlcv!.fallback = [join(dir, 'usdcop_backup.sql.gz')];
    config.sources.macro!.fallback = [join(dir, 'macro_backup.dump')];
    await sql(db.url, `delete from usdcop_m5_ohlcv where time > '2022-06-01'; update macro_indicators_daily set vix = null`);
    // No snapshot of that version anywhere: the chain ends at the fallbacks.
    const empty = await mkdtemp(join(tmpdir(), 'seedvault-no-seeds-'));
    const result = await runRestore(config, { version: '2001.01.01', path: empty, tables: 'ohlcv,macro' });
    assert.deepEqual(result.tables.map((t) => [t.table, t.status, t.source]), [['usdcop_m5_ohlcv', 'restored', 'fallback'], ['macro_indicators_daily', 'restored', 'fallback']]);
    const now = await tableDigests(db.url);
    assert.equal(now.usdcop_m5_ohlcv, original.usdcop_m5_ohlcv);
    assert.equal(now.macro_indicators_daily, original.macro_indicators_daily);
    const sentinel = await sql(db.url, `select to_regclass('dump_sentinel') as t`);
    assert.equal(sentinel.rows[0].t, null, 'the dump\'s CREATE TABLE did not run');
  });

  test('a truncated dump is refused and no table changes', async () => {
    const whole = await readFile(join(dir, 'usdcop_backup.sql'), 'utf8');
    const block = whole.indexOf('COPY public.usdcop_m5_ohlcv');
    await writeFile(join(dir, 'cut.sql.gz'), gzipSync(whole.slice(0, block + 200_000)));
    config.sources.ohlcv!.fallback = [join(dir, 'cut.sql.gz')];
    await sql(db.url, `delete from usdcop_m5_ohlcv where time > '2024-06-01'`);
    const before = await tableDigests(db.url);
    const empty = await mkdtemp(join(tmpdir(), 'seedvault-no-seeds-'));
    await assert.rejects(runRestore(config, { version: '2001.01.01', path: empty, tables: 'ohlcv' }), (err: Error) => {
      assert.match((err.cause as Error | undefined)?.message ?? err.message, /cut\.sql\.gz: the dump ends inside the COPY block of public\.usdcop_m5_ohlcv \(truncated\)/);
      return true;
    });
    assert.deepEqual(await tableDigests(db.url), before);
    config.sources.ohlcv!.fallback = null;
    config.sources.macro!.fallback = null;
  });
});
