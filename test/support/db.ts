import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrate } from '../../src/db/migrate.js';

export interface FreshDatabase {
  url: string;
  /** The migrations `migrate` applied while creating the database. */
  applied: string[];
  drop(): Promise<void>;
}

/**
 * A new, migrated database on the test server (process.env.DATABASE_URL, a role allowed
 * to create databases), so each test file works on its own data; `migrated: false` leaves
 * it empty, as a new deployment finds it.
 */
export async function freshDatabase(prefix: string, opts: { migrated?: boolean } = {}): Promise<FreshDatabase> {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) throw new Error('DATABASE_URL is not set: run the tests through the test runner (npm test)');
  const name = `${prefix.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 40)}_${randomBytes(5).toString('hex')}`;

  await withAdmin(adminUrl, (admin) => admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const applied = opts.migrated === false ? [] : await migrate(url.toString());

  return {
    url: url.toString(),
    applied,
    drop: () => withAdmin(adminUrl, (admin) => admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`)),
  };
}

async function withAdmin(adminUrl: string, work: (admin: pg.Client) => Promise<unknown>): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await work(admin);
  } finally {
    await admin.end();
  }
}

/** Connects and disconnects: 'ok', or the SQLSTATE (else the message) of the refusal. */
export async function connectionAnswer(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    await client.end();
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? (err as Error).message;
  }
}
