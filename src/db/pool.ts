import pg from 'pg';

/**
 * One pool per process; activities borrow clients from it. `timeoutMs` bounds connecting and
 * each query (for callers that must answer even when the server does not, like doctor).
 */
export function createPool(databaseUrl: string, max = 10, timeoutMs?: number): pg.Pool {
  const bounds = timeoutMs ? { connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs } : {};
  const pool = new pg.Pool({ connectionString: databaseUrl, max, application_name: 'seedvault', ...bounds });
  // An idle client dropped by a server restart must not crash the worker; the next query reconnects.
  pool.on('error', () => {});
  // The same for a client checked out but between queries (the export's coordinator holding its
  // snapshot, a transaction between statements): pg-pool removes its listener on checkout, so the
  // 'error' of a terminated connection would be unhandled and kill the process. The activity's
  // next query on that client fails instead, and Temporal retries it.
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

/** Quotes a possibly schema-qualified name: `public.t` -> `"public"."t"`. */
export function quoteQualified(name: string): string {
  return name.split('.').map((part) => pg.escapeIdentifier(part)).join('.');
}

/** Runs `work` in one transaction on a pooled client: committed if it returns, rolled back if it throws. */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    const result = await work(client);
    await client.query('commit');
    return result;
  } catch (err) {
    await client.query('rollback').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
