/**
 * Staging tables, in schema seedvault_staging: by default a copy of the live table's
 * columns, defaults, NOT NULL and CHECK constraints with no indexes, so the load is a plain
 * append; a complete twin (rename-swap.ts) when the swap will rename it into place.
 * A restore's staging is always LOGGED: PostgreSQL empties unlogged tables when it recovers
 * from a crash, and a validated staging table must survive until the swap reads it
 * (commit.ts re-counts it).
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

/**
 * `plain`: columns and constraints, no indexes (loaded, then copied into the live table);
 * `twin`: a complete twin to be renamed into place; `scratch`: an UNLOGGED plain copy for
 * reads that a crash may simply repeat (verify --against-db), never for a restore.
 */
export type StagingKind = 'plain' | 'twin' | 'scratch';

export async function createStaging(client: pg.ClientBase, liveSql: string, staging: string, kind: StagingKind): Promise<void> {
  await client.query(`DROP TABLE IF EXISTS ${staging}`);
  const like = kind === 'twin' ? TWIN_LIKE : 'INCLUDING DEFAULTS INCLUDING CONSTRAINTS';
  await client.query(`CREATE ${kind === 'scratch' ? 'UNLOGGED ' : ''}TABLE ${staging} (LIKE ${liveSql} ${like})`);
}

export async function dropStaging(client: pg.ClientBase, staging: string): Promise<void> {
  await client.query(`DROP TABLE IF EXISTS ${staging}`);
}
