import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { errorMessage, InputError, SeedvaultError, ServiceError } from '../errors.js';
import { copyLine, type CopyTable } from './demo/copy-text.js';
import { macroTable } from './demo/macro.js';
import { ohlcvTable } from './demo/ohlcv.js';
import { tradesTable } from './demo/trades.js';

export const DEFAULT_DEMO_SEED = 42;
export const MAX_DEMO_SCALE = 1000;

export interface DemoDataOptions {
  /** Number of OHLCV symbols (and trade books); 1 gives the production table sizes. */
  scale?: number;
  seed?: number;
  /** Called with a table's running row count while it loads, and once with its total. */
  onProgress?: (table: string, rows: number) => void;
}

export interface DemoDataCounts {
  ohlcv: number;
  macro: number;
  trades: number;
}

const ROWS_PER_CHUNK = 1_000;
const PROGRESS_EVERY_ROWS = 250_000;
const UNDEFINED_TABLE = '42P01';

/**
 * Replaces the three critical tables with deterministic demo data: the same scale and
 * seed always give identical contents. Rows are generated lazily and streamed with COPY,
 * all in one transaction, so readers see either the old tables or the complete new ones.
 */
export async function loadDemoData(databaseUrl: string, opts: DemoDataOptions = {}): Promise<DemoDataCounts> {
  const scale = opts.scale ?? 1;
  const seed = opts.seed ?? DEFAULT_DEMO_SEED;
  if (!Number.isInteger(scale) || scale < 1 || scale > MAX_DEMO_SCALE) {
    throw new InputError(`scale must be an integer from 1 to ${MAX_DEMO_SCALE}, got ${scale}`);
  }
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new InputError(`seed must be an integer from 0 to ${0xffffffff}, got ${seed}`);
  }

  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'seedvault-demo-data' });
  try {
    await client.connect();
  } catch (err) {
    throw new ServiceError(`cannot connect to PostgreSQL: ${errorMessage(err)}`, { cause: err });
  }
  try {
    await client.query('BEGIN');
    await client.query('TRUNCATE usdcop_m5_ohlcv, macro_indicators_daily, trades_history RESTART IDENTITY');
    const counts = {
      ohlcv: await copyTable(client, ohlcvTable(scale, seed), opts.onProgress),
      macro: await copyTable(client, macroTable(seed), opts.onProgress),
      trades: await copyTable(client, tradesTable(scale, seed), opts.onProgress),
    };
    await client.query('COMMIT');
    return counts;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    if ((err as { code?: string }).code === UNDEFINED_TABLE) {
      throw new SeedvaultError(`${errorMessage(err)}: migrate the database first`, { cause: err });
    }
    throw err;
  } finally {
    await client.end();
  }
}

/** Streams the table's rows through COPY; the generator only runs as fast as PostgreSQL takes them. */
async function copyTable(client: pg.Client, source: CopyTable, onProgress?: (table: string, rows: number) => void): Promise<number> {
  // FREEZE is allowed because the table was truncated in this transaction; it saves a later vacuum.
  const copy = client.query(copyFrom(`COPY ${source.table} (${source.columns.join(', ')}) FROM STDIN WITH (FREEZE)`));
  function* chunks(): Generator<string> {
    let chunk = '';
    let rows = 0;
    for (const row of source.rows()) {
      chunk += copyLine(row);
      rows += 1;
      if (rows % ROWS_PER_CHUNK === 0) {
        yield chunk;
        chunk = '';
      }
      if (rows % PROGRESS_EVERY_ROWS === 0) onProgress?.(source.table, rows);
    }
    if (chunk) yield chunk;
  }
  await pipeline(Readable.from(chunks()), copy);
  onProgress?.(source.table, copy.rowCount);
  return copy.rowCount;
}
