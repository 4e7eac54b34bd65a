/**
 * The thread side of loadInThread (load-in-thread.ts): on a connection of its own, in one
 * transaction, creates the staging table, COPYs the file into it (FREEZE, the table being
 * new in this transaction) and commits; posts progress, then the rows (with the facts
 * validation checks, gathered from a Parquet file's batches) or the failure.
 */
import { workerData } from 'node:worker_threads';
import pg from 'pg';
import { postProgress, threadTask } from '../thread-task.js';
import type { LoadedInThread, LoadThreadInput } from './load-in-thread.js';
import { columnsWithDefaults } from './compatibility.js';
import { loadIntoStaging } from './load.js';
import { createStaging } from './staging.js';
import { StreamedFacts } from './streamed-facts.js';

const input = workerData as LoadThreadInput;
const client = new pg.Client({ connectionString: input.connectionString, application_name: 'seedvault' });
// A dropped connection fails the query in progress; without a listener it would end the thread unreported.
client.on('error', () => {});
await threadTask(async (): Promise<LoadedInThread> => {
  try {
    await client.connect();
    await client.query('BEGIN');
    await createStaging(client, input.layout.sql, input.staging, input.kind);
    const file = { ...input.file, cleanup: async () => {} };
    const facts = file.format === 'parquet' ? new StreamedFacts(input.layout, await columnsWithDefaults(client, input.layout.sql)) : null;
    const rows = await loadIntoStaging({
      client, layout: input.layout, staging: input.staging, file, freeze: true, onProgress: postProgress, onBatch: facts ? (batch) => facts.add(batch) : undefined,
    });
    await client.query('COMMIT');
    return { rows, facts: facts?.facts(rows) ?? null };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    await client.end().catch(() => {});
  }
});
