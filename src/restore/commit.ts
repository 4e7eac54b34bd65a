/**
 * Swaps every validated staging table into its live table in ONE transaction, records the
 * restore in restore_history and raises DATA_READY in the same transaction: readers see all
 * old tables or all new ones, and any failure leaves every live table as it was.
 *
 * `replace` renames the staging twin into place when the table allows it (rename-swap.ts:
 * the rows are written once); otherwise, and for `merge`, rows are copied with TRUNCATE +
 * INSERT ... SELECT (or an upsert), which keeps the live table's oid and everything that
 * points at it. Either way readers wait on the ACCESS EXCLUSIVE lock during the swap only,
 * not during the download and load. Like any TRUNCATE or DROP it is not MVCC-safe for
 * transactions whose snapshot predates the commit (they see the table empty).
 *
 * Before anything is swapped, every staging table is locked against writers and counted:
 * it must hold exactly the rows validated when it was staged. A staging table emptied or
 * cut short behind the restore's back (a crash, an operator) raises StagingChangedError
 * with every live table untouched, and the workflow stages those tables again.
 */
import pg from 'pg';
import type { RestoreMode, TableOutcome } from '../domain/restore.js';
import { IntegrityError, StagingChangedError } from '../errors.js';
import { describeTable, type TableLayout } from '../parquet/table-catalog.js';
import { renameSwapBlocker, swapByRename } from './rename-swap.js';
import { dropStaging, type Staging } from './staging.js';

export interface CommitInput {
  workflowId: string;
  runId: string;
  mode: RestoreMode;
  /** Outcomes so far; `restored` ones name their staging table and whether it is a complete twin. */
  tables: (TableOutcome & { staging: Staging | null; twin?: boolean })[];
}

export async function commitRestore(client: pg.ClientBase, input: CommitInput): Promise<TableOutcome[]> {
  await client.query('BEGIN');
  try {
    // A retry after a commit whose reply was lost finds its rows and changes nothing.
    const done = await client.query(`SELECT 1 FROM restore_history WHERE workflow_id = $1 AND run_id = $2 LIMIT 1`, [input.workflowId, input.runId]);
    if (done.rowCount) {
      await client.query('ROLLBACK');
      return recorded(client, input);
    }
    await checkStagedRows(client, input.tables);
    const outcomes: TableOutcome[] = [];
    for (const { staging, twin, ...outcome } of input.tables) {
      if (outcome.status !== 'restored' || !staging) {
        outcomes.push(outcome);
        continue;
      }
      const layout = await describeTable(client, outcome.table, undefined, undefined);
      await client.query(`LOCK TABLE ${layout.sql} IN ACCESS EXCLUSIVE MODE`);
      if (input.mode === 'if-empty' && (await client.query(`SELECT 1 FROM ${layout.sql} LIMIT 1`)).rowCount) {
        outcomes.push({ ...outcome, status: 'skipped', rowsLoaded: 0, message: 'the table gained rows while the restore ran; left alone' });
      } else {
        const known = await swapIn(client, layout, staging, input.mode, twin ?? false, outcome.rowsLoaded);
        // Counted only after a merge: readers wait on the lock this transaction holds.
        const rowsAfter = known ?? Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${layout.sql}`)).rows[0]!.n);
        outcomes.push({ ...outcome, rowsAfter });
      }
      await dropStaging(client, staging.sql);
    }
    for (const o of outcomes) {
      await client.query(
        `INSERT INTO restore_history (workflow_id, run_id, table_name, mode, status, source, location, snapshot_version,
                                      rows_loaded, rows_after, data_start_date, data_end_date, rejected, message)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
        [input.workflowId, input.runId, o.table, input.mode, o.status, o.source, o.location, o.version, o.rowsLoaded, o.rowsAfter,
          o.dateRange?.[0] ?? null, o.dateRange?.[1] ?? null, JSON.stringify(o.rejected), o.message],
      );
    }
    if (!outcomes.some((o) => o.status === 'failed' && o.required)) {
      await client.query(
        `INSERT INTO ready_signals (pipeline_run_id, signal_type, status, records_available, completeness_pct, completed_at, metadata)
         VALUES ($1, 'DATA_READY', 'completed', $2, 100, now(), $3)`,
        [input.workflowId, outcomes.reduce((sum, o) => sum + (o.rowsAfter ?? 0), 0), JSON.stringify({ restore: input.runId, tables: Object.fromEntries(outcomes.map((o) => [o.table, o.status])) })],
      );
    }
    await client.query('COMMIT');
    return outcomes;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

/**
 * The commit-time invariant: each staging table holds exactly the rows validated when it was
 * staged. SHARE locks keep writers out until the swap commits, so the count stays true.
 */
async function checkStagedRows(client: pg.ClientBase, tables: CommitInput['tables']): Promise<void> {
  const changed: { table: string; expected: number; found: number | null }[] = [];
  for (const { staging, status, table, rowsLoaded } of tables) {
    if (status !== 'restored' || !staging) continue;
    await client.query('SAVEPOINT staged_rows');
    try {
      await client.query(`LOCK TABLE ${staging.sql} IN SHARE MODE`);
      const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${staging.sql}`);
      const found = Number(rows[0]!.n);
      if (found !== rowsLoaded) changed.push({ table, expected: rowsLoaded, found });
      await client.query('RELEASE SAVEPOINT staged_rows');
    } catch (err) {
      if ((err as { code?: string }).code !== '42P01') throw err;
      await client.query('ROLLBACK TO SAVEPOINT staged_rows');
      changed.push({ table, expected: rowsLoaded, found: null });
    }
  }
  if (changed.length > 0) throw new StagingChangedError(changed);
}

/**
 * Puts the staged rows in place; returns the live table's rows when they are known without a
 * count: `staged` after a rename or a truncate and insert (checkStagedRows counted the staging
 * table under a SHARE lock this transaction holds), null after a merge.
 */
async function swapIn(client: pg.ClientBase, layout: TableLayout, twin: Staging, mode: RestoreMode, isTwin: boolean, staged: number): Promise<number | null> {
  const staging = twin.sql;
  if (mode !== 'merge' && isTwin && (await renameSwapBlocker(client, layout.sql)) === null) {
    // A dependency the checks did not foresee makes the DROP fail: fall back to copying rows.
    await client.query('SAVEPOINT rename_swap');
    try {
      await swapByRename(client, layout.sql, staging, twin.suffix);
      await client.query('RELEASE SAVEPOINT rename_swap');
      await setIdentities(client, layout);
      return staged;
    } catch (err) {
      if ((err as { code?: string }).code !== '2BP01') throw err;
      await client.query('ROLLBACK TO SAVEPOINT rename_swap');
    }
  }
  const columns = layout.columns.map((c) => pg.escapeIdentifier(c.name));
  const list = columns.join(', ');
  if (mode === 'merge') {
    if (layout.keyColumns.length === 0) throw new IntegrityError(`merge needs a primary key or NOT NULL unique key on ${layout.label}`);
    const key = layout.keyColumns.map((c) => pg.escapeIdentifier(c));
    const updates = columns.filter((c) => !key.includes(c)).map((c) => `${c} = EXCLUDED.${c}`);
    await client.query(
      `INSERT INTO ${layout.sql} (${list}) OVERRIDING SYSTEM VALUE SELECT ${list} FROM ${staging}
       ON CONFLICT (${key.join(', ')}) DO ${updates.length ? `UPDATE SET ${updates.join(', ')}` : 'NOTHING'}`,
    );
  } else {
    await client.query(`TRUNCATE ${layout.sql}`);
    const inserted = await client.query(`INSERT INTO ${layout.sql} (${list}) OVERRIDING SYSTEM VALUE SELECT ${list} FROM ${staging}`);
    if (inserted.rowCount !== staged) throw new IntegrityError(`${layout.label}: inserted ${inserted.rowCount} rows from staging, validated ${staged}; nothing was changed`);
  }
  await setIdentities(client, layout);
  return mode === 'merge' ? null : staged;
}

async function setIdentities(client: pg.ClientBase, layout: TableLayout): Promise<void> {
  // Identity and serial columns: the next generated id must not collide with a restored one.
  const sequences = await client.query<{ column: string; sequence: string }>(
    `SELECT attname::text AS column, pg_get_serial_sequence($1, attname) AS sequence FROM pg_attribute
      WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped AND pg_get_serial_sequence($1, attname) IS NOT NULL`,
    [layout.sql],
  );
  for (const { column, sequence } of sequences.rows) {
    const c = pg.escapeIdentifier(column);
    await client.query(`SELECT setval($1, coalesce(max(${c}), 1), max(${c}) IS NOT NULL) FROM ${layout.sql}`, [sequence]);
  }
}

async function recorded(client: pg.ClientBase, input: CommitInput): Promise<TableOutcome[]> {
  const { rows } = await client.query<{ table_name: string; status: TableOutcome['status']; rows_after: string | null; rows_loaded: string | null; message: string | null }>(
    `SELECT table_name, status, rows_after, rows_loaded, message FROM restore_history WHERE workflow_id = $1 AND run_id = $2`,
    [input.workflowId, input.runId],
  );
  return input.tables.map(({ staging: _staging, twin: _twin, ...outcome }) => {
    const row = rows.find((r) => r.table_name === outcome.table);
    return row ? { ...outcome, status: row.status, rowsAfter: row.rows_after === null ? null : Number(row.rows_after), rowsLoaded: Number(row.rows_loaded ?? 0), message: row.message } : outcome;
  });
}
