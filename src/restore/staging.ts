/**
 * Staging tables, in schema seedvault_staging: by default an UNLOGGED copy of the live
 * table's columns, defaults, NOT NULL and CHECK constraints with no indexes, so the load is
 * a plain append; a logged twin (rename-swap.ts) when the swap will rename it into place.
 * Names are derived from the run, so a retried activity drops and recreates its own table
 * and two runs never share one.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { TWIN_LIKE } from './rename-swap.js';

export const STAGING_SCHEMA = 'seedvault_staging';

export interface Staging {
  /** Quoted `seedvault_staging."<table>_<suffix>"`, within PostgreSQL's 63-byte names. */
  sql: string;
  /** Unique to the run; also names the twin's indexes. */
  suffix: string;
}

export function stagingFor(table: string, runKey: string): Staging {
  const suffix = createHash('sha256').update(runKey).digest('hex').slice(0, 12);
  return { sql: `${pg.escapeIdentifier(STAGING_SCHEMA)}.${pg.escapeIdentifier(`${table.slice(0, 50)}_${suffix}`)}`, suffix };
}

export async function createStaging(client: pg.ClientBase, liveSql: string, staging: string, twin = false): Promise<void> {
  await client.query(`DROP TABLE IF EXISTS ${staging}`);
  await client.query(
    twin
      ? `CREATE TABLE ${staging} (LIKE ${liveSql} ${TWIN_LIKE})`
      : `CREATE UNLOGGED TABLE ${staging} (LIKE ${liveSql} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`,
  );
}

export async function dropStaging(client: pg.ClientBase, staging: string): Promise<void> {
  await client.query(`DROP TABLE IF EXISTS ${staging}`);
}
