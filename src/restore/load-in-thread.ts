/**
 * A restore's single-connection load, run in a worker thread (thread-task.ts): create the
 * staging table, COPY the file into it and commit, on a connection of the thread's own.
 *
 * Why a thread: decoding Parquet and encoding COPY rows goes through ~1.3 GB of short-lived
 * ArrayBuffers per 10M rows. On the worker's main thread, every collection they set off marks
 * the whole worker heap (Temporal and AWS SDKs, ~55 MB): ~70 collections per 10M rows, more
 * CPU than the encoding itself, taken from PostgreSQL on a small machine. The thread's heap
 * holds little besides the load, so its collections are cheap, and the main thread stays free
 * for heartbeats (docs/PERFORMANCE.md).
 *
 * Nothing is left half done: the thread commits only a complete load, and if the thread or
 * the process dies first, its connection closes and PostgreSQL rolls the transaction back,
 * staging table included.
 */
import type { TableLayout } from '../parquet/table-catalog.js';
import { runThreadTask } from '../thread-task.js';
import type { SourceFile } from './source-file.js';
import type { StagingKind } from './staging.js';
import type { StagedFacts } from './validate.js';

export interface LoadThreadInput {
  connectionString: string;
  layout: TableLayout;
  staging: string;
  kind: StagingKind;
  file: Omit<SourceFile, 'cleanup' | 'arrived'>;
}

export interface LoadedInThread {
  /** The rows COPY reported. */
  rows: number;
  /** What validation checks, gathered from the rows sent (a Parquet file), or null: validation scans the table. */
  facts: StagedFacts | null;
}

/**
 * Resolves once the rows are loaded and committed into the new staging table; rejects with the
 * thread's error, or with `signal`'s reason once it aborts (the thread is stopped, its transaction rolled back).
 */
export async function loadInThread(input: Omit<LoadThreadInput, 'file'> & { file: SourceFile }, onProgress?: (rows: number) => void, signal?: AbortSignal): Promise<LoadedInThread> {
  // Data only: what the caller passes may carry functions and promises (cleanup, arrived), which a thread cannot receive.
  const { connectionString, layout, staging, kind } = input;
  const { paths, arriving, format, location, version, entry } = input.file;
  const workerData: LoadThreadInput = { connectionString, layout, staging, kind, file: { paths, arriving, format, location, version, entry } };
  return runThreadTask<LoadedInThread>(new URL('./load-thread.js', import.meta.url), workerData, { onProgress, signal });
}
