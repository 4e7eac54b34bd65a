/**
 * exportTable run on a worker thread (thread-task.ts) with a connection of its own that joins
 * the caller's exported database snapshot: COPY, decoding, Arrow, Parquet encoding and the
 * sha256 all happen there, off the worker's main thread and its large heap. The thread posts
 * the file's bytes in order; they are written to `out` here (the upload's body), and the thread
 * waits for their acknowledgement, so a slow `out` slows the COPY instead of filling memory.
 */
import type { Worker } from 'node:worker_threads';
import { runThreadTask } from '../thread-task.js';
import type { ExportOptions, ExportResult } from './export.js';

export interface ExportThreadInput {
  connectionString: string;
  /** The exported database snapshot (pg_export_snapshot) the thread's transaction reads. */
  snapshotId: string;
  options: Omit<ExportOptions, 'client' | 'out' | 'onProgress' | 'signal' | 'openReader'>;
}

/** A chunk of the file, posted by the thread. */
export interface FileChunk {
  chunk: Uint8Array;
}

/** Posted back for each chunk `out` has taken. */
export const CHUNK_TAKEN = 'taken';

/**
 * The thread's young generation, in MiB. V8's default (16 MiB semi-spaces and more) let the thread
 * add 140-165 MiB of RSS to a 3M-row export against 110-115 MiB for the same export on the main
 * thread; at 4 (or 2) the thread matched it, at the same speed: its heap holds little that survives.
 */
const YOUNG_GENERATION_MIB = 4;

/** How long a thread whose export was aborted gets to cancel its COPY on the server before it is stopped. */
const ABORT_GRACE_MS = 5_000;

/**
 * Resolves with exportTable's result once every byte is written to `out` and `out` is ended;
 * on failure `out` is destroyed and the thread's error (or `signal`'s reason) rejects.
 */
export async function exportInThread(input: ExportThreadInput, out: NodeJS.WritableStream, onProgress?: (rows: number) => void, signal?: AbortSignal): Promise<ExportResult> {
  const take = (message: unknown, thread: Worker) => {
    const { chunk } = message as FileChunk;
    if (out.write(chunk)) thread.postMessage(CHUNK_TAKEN);
    else out.once('drain', () => thread.postMessage(CHUNK_TAKEN));
  };
  try {
    const result = await runThreadTask<ExportResult>(new URL('./export-thread.js', import.meta.url), input, {
      onProgress,
      onMessage: take,
      signal,
      abortGraceMs: ABORT_GRACE_MS,
      resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MIB },
    });
    out.end();
    return result;
  } catch (error) {
    // With the error, as a pipeline would: a reader of `out` (the upload) fails with it, not with a premature close.
    (out as Partial<NodeJS.WritableStream & { destroy(error: unknown): void }>).destroy?.(error);
    throw error;
  }
}
