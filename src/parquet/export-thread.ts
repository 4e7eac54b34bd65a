/**
 * The thread side of exportInThread (export-in-thread.ts): joins the database snapshot on a
 * connection of its own (two for a read in time ranges), runs exportTable into a stream that
 * posts the file's bytes to the caller, a few chunks ahead of its acknowledgements, and rolls
 * the read-only transaction back.
 */
import { Writable } from 'node:stream';
import { parentPort, workerData } from 'node:worker_threads';
import pg from 'pg';
import { joinDatabaseSnapshot } from '../db/database-snapshot.js';
import { ABORT_TASK, postProgress, threadTask } from '../thread-task.js';
import { CHUNK_TAKEN, type ExportThreadInput, type FileChunk } from './export-in-thread.js';
import { exportTable, type ExportResult } from './export.js';

/** Chunks posted and not yet taken before the export waits: enough to keep the caller's upload fed. */
const CHUNKS_AHEAD = 8;

/** Posts each chunk written; holds the writer back while CHUNKS_AHEAD are untaken. */
class PostedChunks extends Writable {
  private untaken = 0;
  private resume: (() => void) | null = null;

  taken(): void {
    this.untaken -= 1;
    const resume = this.resume;
    this.resume = null;
    resume?.();
  }

  override _write(chunk: Uint8Array, _encoding: BufferEncoding, callback: () => void): void {
    this.untaken += 1;
    // A copy of the chunk's bytes alone (Buffer.slice would share, a view would clone its whole buffer), then moved.
    const own = new Uint8Array(chunk);
    parentPort!.postMessage({ chunk: own } satisfies FileChunk, [own.buffer]);
    if (this.untaken < CHUNKS_AHEAD) callback();
    else this.resume = callback;
  }
}

const input = workerData as ExportThreadInput;
const abort = new AbortController();
const out = new PostedChunks();
parentPort!.on('message', (message) => (message === ABORT_TASK ? abort.abort() : message === CHUNK_TAKEN && out.taken()));
const client = new pg.Client({ connectionString: input.connectionString, application_name: 'seedvault' });
// The second reader of a read in time ranges (exportTable's openReader), connected only if asked for.
const reader = new pg.Client({ connectionString: input.connectionString, application_name: 'seedvault' });
// A dropped connection fails the query in progress; without a listener it would end the thread unreported.
client.on('error', () => {});
reader.on('error', () => {});
await threadTask(async (): Promise<ExportResult> => {
  try {
    await client.connect();
    await joinDatabaseSnapshot(client, input.snapshotId);
    const openReader = async () => {
      await reader.connect();
      await joinDatabaseSnapshot(reader, input.snapshotId);
      return reader;
    };
    const result = await exportTable({ ...input.options, client, out, onProgress: postProgress, signal: abort.signal, openReader });
    await client.query('rollback');
    return result;
  } finally {
    await client.end().catch(() => {});
    await reader.end().catch(() => {});
  }
});
