import { Client, Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import type { SeedvaultConfig } from '../../src/config/schema.js';
import { freshDatabase, type FreshDatabase } from './db.js';
import { testConfig, uniqueName } from './stack.js';

/**
 * What a new deployment starts from, on the test stack: an empty database (no migrations),
 * a bucket name that does not exist yet, and a Temporal namespace of its own (no search
 * attributes, no schedules: seedvault's schedule ids are fixed, so other tests' schedules
 * live elsewhere). `env` points the CLI at them, as a deployment's environment would.
 */
export interface FreshDeployment {
  env: Record<string, string>;
  config: SeedvaultConfig;
  namespace: string;
  bucket: string;
  db: FreshDatabase;
  /** A client in the deployment's namespace; closed by drop(). */
  client(): Promise<Client>;
  drop(): Promise<void>;
}

/** `namespace: false` leaves the namespace unregistered, for a test that plays the job creating it. */
export async function freshDeployment(prefix: string, opts: { namespace?: boolean } = {}): Promise<FreshDeployment> {
  const db = await freshDatabase(prefix, { migrated: false });
  const namespace = uniqueName(prefix);
  const bucket = uniqueName(prefix);
  if (opts.namespace !== false) await registerNamespace(namespace);
  const env = {
    DATABASE_URL: db.url,
    S3_BUCKET: bucket,
    TEMPORAL_NAMESPACE: namespace,
    SEEDVAULT_TASK_QUEUE: uniqueName(prefix),
    SEEDVAULT_NO_LOCAL_STACK: '1',
  };
  const config = testConfig(env);
  const clients: Client[] = [];
  return {
    env,
    config,
    namespace,
    bucket,
    db,
    async client() {
      const client = new Client({ connection: await Connection.connect({ address: config.temporal.address }), namespace });
      clients.push(client);
      return client;
    },
    async drop() {
      await Promise.all(clients.map((c) => c.connection.close()));
      await db.drop();
    },
  };
}

/** Registers a namespace on the test stack's Temporal server (what compose's temporal-namespace job does). */
export async function registerNamespace(namespace: string): Promise<void> {
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS });
  try {
    await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
  } finally {
    await connection.close();
  }
}
