/**
 * A task run on a worker thread of its own (the restore's load, the snapshot's export): the
 * thread posts progress, then its result or its failure; the caller gets the result, or the
 * failure rebuilt as the class the activity expects (seedvault's errors, a Temporal
 * ApplicationFailure with its type, an Error keeping PostgreSQL's SQLSTATE code).
 *
 * Why threads: these tasks allocate ~1 GB of short-lived buffers per 10M rows. On the worker's
 * main thread, each collection they set off marks the whole worker heap (Temporal and AWS SDKs);
 * a thread's heap holds little besides the task (docs/PERFORMANCE.md).
 */
import { parentPort, Worker, type ResourceLimits } from 'node:worker_threads';
import { ApplicationFailure } from '@temporalio/common';
import { ConfigError, InputError, IntegrityError, ServiceError, StorageFullError } from './errors.js';

interface ThreadFailure {
  name: string;
  message: string;
  code?: string;
  /** An ApplicationFailure's type and whether it may be retried. */
  type?: string;
  nonRetryable?: boolean;
}

/** What a task's thread posts; anything else goes to the caller's onMessage. */
type TaskMessage<R> = { progress: number } | { done: R } | { failure: ThreadFailure };

/** Posted to a thread whose caller aborted, when the task asked for a grace period to stop cleanly. */
export const ABORT_TASK = 'abort';

export interface ThreadTaskOptions {
  onProgress?: (progress: number) => void;
  /** The task's own messages (not progress, result or failure). */
  onMessage?: (message: unknown, thread: Worker) => void;
  /** Aborting rejects with its reason and stops the thread. */
  signal?: AbortSignal;
  /**
   * On abort, post ABORT_TASK and give the thread this long to wind down (cancel its query) before
   * it is terminated; 0 terminates at once.
   */
  abortGraceMs?: number;
  /** V8 limits of the thread's heap (a small young generation keeps a streaming task's RSS down). */
  resourceLimits?: ResourceLimits;
}

/** Runs the thread script `script` with `workerData`; resolves with what it posts as done. */
export async function runThreadTask<R>(script: URL, workerData: unknown, options: ThreadTaskOptions = {}): Promise<R> {
  const { signal, onProgress, onMessage, abortGraceMs = 0, resourceLimits } = options;
  signal?.throwIfAborted();
  const thread = new Worker(script, { workerData, resourceLimits });
  try {
    return await new Promise<R>((resolve, reject) => {
      let settleOnAbort: () => void = () => {};
      signal?.addEventListener('abort', () => {
        if (abortGraceMs === 0) return reject(signal.reason);
        settleOnAbort = () => reject(signal.reason);
        thread.postMessage(ABORT_TASK);
        setTimeout(settleOnAbort, abortGraceMs).unref();
      }, { once: true });
      thread.on('message', (message: TaskMessage<R>) => {
        if (typeof message !== 'object' || message === null) return onMessage?.(message, thread);
        if ('progress' in message) onProgress?.(message.progress);
        else if ('done' in message) resolve(message.done);
        else if ('failure' in message) {
          if (signal?.aborted) settleOnAbort();
          else reject(rebuilt(message.failure));
        } else onMessage?.(message, thread);
      });
      thread.on('error', reject);
      thread.on('exit', (code) => {
        if (signal?.aborted) settleOnAbort();
        reject(new Error(`a task thread stopped (exit code ${code}) before it finished`));
      });
    });
  } finally {
    await thread.terminate();
    // The task's chunks and buffers that crossed to this thread are garbage now, but a quiet main
    // heap may keep them until after the next task (a split table's next part) has added its own:
    // a 7-part export added 122-153 MiB without this and one arena, 102-103 MiB with both
    // (docs/PERFORMANCE.md). A no-op unless node runs with --expose-gc (the worker does).
    globalThis.gc?.();
  }
}

/** The thread side: runs `task` and posts its result or its failure to the caller. */
export async function threadTask<R>(task: () => Promise<R>): Promise<void> {
  try {
    parentPort!.postMessage({ done: await task() } satisfies TaskMessage<R>);
  } catch (error) {
    parentPort!.postMessage({ failure: threadFailure(error) } satisfies TaskMessage<R>);
  }
}

/** Progress from the thread side. */
export function postProgress(progress: number): void {
  parentPort!.postMessage({ progress } satisfies TaskMessage<never>);
}

function threadFailure(error: unknown): ThreadFailure {
  const { name, message, code } = error as { name?: string; message?: string; code?: string };
  const failure: ThreadFailure = { name: name ?? 'Error', message: message ?? String(error), code };
  if (error instanceof ApplicationFailure) Object.assign(failure, { type: error.type ?? undefined, nonRetryable: error.nonRetryable });
  return failure;
}

/** Seedvault's errors by name, so a failure in the thread reaches the activity as the same class. */
const ERRORS: Record<string, new (message: string) => Error> = { ConfigError, InputError, IntegrityError, ServiceError, StorageFullError };

function rebuilt({ name, message, code, type, nonRetryable }: ThreadFailure): Error {
  if (name === 'ApplicationFailure') return ApplicationFailure.create({ message, type, nonRetryable });
  const Known = ERRORS[name];
  if (Known) return new Known(message);
  return Object.assign(new Error(message), code ? { code } : {});
}
