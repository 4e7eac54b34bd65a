import pg from 'pg';
import { OHLCV_TABLE } from '../db/ohlcv-bars.js';
import { quoteQualified } from '../db/pool.js';
import { InputError } from '../errors.js';

export interface DuplicateOptions {
  symbol: string;
  dryRun: boolean;
  /** A table of candles keyed by (symbol, time) without a unique constraint on them (default usdcop_m5_ohlcv). */
  table?: string;
  symbolColumn?: string;
  timeColumn?: string;
}

export interface DuplicateGroup {
  time: string;
  copies: number;
  removed: number;
}

export interface DuplicateResult {
  symbol: string;
  table: string;
  dryRun: boolean;
  keptRule: string;
  groups: DuplicateGroup[];
  removed: number;
}

/**
 * Finds candles sharing (symbol, time) and keeps one of each: the most recently written
 * row (`updated_at`, else `created_at`, when the table has them), ties broken by the first
 * physical row. Every duplicated bar gets a duplicate_records_log row, plus one summary row
 * (time NULL); a dry run logs what it would remove with dry_run = true and deletes nothing.
 */
export async function cleanupDuplicates(pool: pg.Pool, options: DuplicateOptions): Promise<DuplicateResult> {
  const table = options.table ?? OHLCV_TABLE;
  const symbolColumn = options.symbolColumn ?? 'symbol';
  const timeColumn = options.timeColumn ?? 'time';
  const client = await pool.connect();
  try {
    const cols = await client.query<{ column_name: string }>(
      `select a.attname as column_name from pg_attribute a where a.attrelid = to_regclass($1) and a.attnum > 0 and not a.attisdropped`,
      [table],
    );
    const names = new Set(cols.rows.map((r) => r.column_name));
    if (names.size === 0) throw new InputError(`table ${table} does not exist`);
    for (const c of [symbolColumn, timeColumn]) if (!names.has(c)) throw new InputError(`table ${table} has no column ${c}`);
    const recency = names.has('updated_at') ? 'updated_at' : names.has('created_at') ? 'created_at' : null;
    const keptRule = recency ? `newest ${recency}, then first physical row` : 'first physical row';
    const order = `${recency ? `${pg.escapeIdentifier(recency)} desc nulls last, ` : ''}ctid`;
    const [rel, sym, time] = [quoteQualified(table), pg.escapeIdentifier(symbolColumn), pg.escapeIdentifier(timeColumn)];

    await client.query('begin');
    // The table lock keeps concurrent writers from adding a copy between the count and the delete.
    if (!options.dryRun) await client.query(`lock table ${rel} in share row exclusive mode`);
    const ranked = `select ctid as row_ctid, ${time} as t, row_number() over (partition by ${time} order by ${order}) as rn,
                           count(*) over (partition by ${time}) as copies
                    from ${rel} where ${sym} = $1`;
    const { rows } = await client.query<{ t: Date; copies: string; removed: string }>(
      `select t, max(copies)::text as copies, count(*) filter (where rn > 1)::text as removed from (${ranked}) r where copies > 1 group by t order by t`,
      [options.symbol],
    );
    const groups = rows.map((r) => ({ time: r.t.toISOString(), copies: Number(r.copies), removed: Number(r.removed) }));
    const removed = groups.reduce((n, g) => n + g.removed, 0);
    if (!options.dryRun && removed > 0) {
      const del = await client.query(`delete from ${rel} x using (${ranked}) r where x.ctid = r.row_ctid and r.rn > 1`, [options.symbol]);
      if (del.rowCount !== removed) throw new Error(`expected to remove ${removed} duplicate rows, removed ${del.rowCount}`);
    }
    await client.query(
      `insert into duplicate_records_log (symbol, time, duplicates_removed, kept_rule, details, dry_run)
       select $1::text, g.t, g.removed, $4::text, jsonb_build_object('table', $5::text, 'copies', g.copies), $6::boolean
       from unnest($2::timestamptz[], $3::int[], $7::int[]) as g(t, removed, copies)
       union all
       select $1::text, null::timestamptz, $8::int, $4::text, jsonb_build_object('table', $5::text, 'bars', $9::int, 'summary', true), $6::boolean`,
      [options.symbol, groups.map((g) => g.time), groups.map((g) => g.removed), keptRule, table, options.dryRun, groups.map((g) => g.copies), removed, groups.length],
    );
    await client.query('commit');
    return { symbol: options.symbol, table, dryRun: options.dryRun, keptRule, groups, removed };
  } catch (err) {
    await client.query('rollback').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
