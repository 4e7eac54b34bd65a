import pg from 'pg';

/** One pool per process; activities borrow clients from it. */
export function createPool(databaseUrl: string, max = 10): pg.Pool {
  const pool = new pg.Pool({ connectionString: databaseUrl, max, application_name: 'seedvault' });
  // An idle client dropped by a server restart must not crash the worker; the next query reconnects.
  pool.on('error', () => {});
  return pool;
}

/** Quotes a possibly schema-qualified name: `public.t` -> `"public"."t"`. */
export function quoteQualified(name: string): string {
  return name.split('.').map((part) => pg.escapeIdentifier(part)).join('.');
}
