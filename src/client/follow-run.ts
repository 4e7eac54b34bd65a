import { setTimeout as sleep } from 'node:timers/promises';
import { ApplicationFailure, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { InputError, IntegrityError, SeedvaultError } from '../errors.js';
import { ProgressLine } from './progress.js';

/** The innermost application failure of a failed run as the CLI's error, keeping its exit code. */
function failureAsError(err: unknown): unknown {
  if (!(err instanceof WorkflowFailedError)) return err;
  let cause: unknown = err.cause;
  let innermost: ApplicationFailure | null = null;
  while (cause instanceof Error) {
    if (cause instanceof ApplicationFailure) innermost = cause;
    cause = cause.cause;
  }
  if (!innermost) return new SeedvaultError(err.cause?.message ?? err.message);
  if (innermost.type === 'InputError' || innermost.type === 'ConfigError') return new InputError(innermost.message);
  if (innermost.type === 'IntegrityError') return new IntegrityError(innermost.message);
  return new SeedvaultError(innermost.message);
}

/**
 * A pause between polls that does not keep the process alive: once the run's result is in,
 * the command exits at once instead of when the last pause would have ended (up to 2 s
 * added to every `--wait`). The result's own long poll keeps the process up until then.
 */
export function pollPause(ms: number): Promise<void> {
  return sleep(ms, undefined, { ref: false });
}

/** Polls without an answer before saying that no worker seems to hold the run. */
const NO_WORKER_HINT_AFTER = 3;

/**
 * Waits for a run, redrawing one progress line from `describe` (a query) every second;
 * a failed run is rethrown as a one-line error with the exit code its failure type implies.
 */
export async function followRun<T>(handle: WorkflowHandle, describe: () => Promise<string>, quiet = false): Promise<T> {
  const line = new ProgressLine();
  let ended = false;
  const outcome = (handle.result() as Promise<T>).finally(() => {
    ended = true;
  });
  outcome.catch(() => {});
  let unanswered = 0;
  while (!ended && !quiet) {
    // The query fails while no worker holds the run; the next poll catches up.
    // A query to a run no worker holds may hang for long: give it two seconds.
    const text = await Promise.race([describe().catch(() => null), pollPause(2000).then(() => null)]);
    if (text) {
      unanswered = 0;
      line.update(text);
    } else if (++unanswered === NO_WORKER_HINT_AFTER) {
      const taskQueue = await handle.describe().then((d) => d.taskQueue, () => '?');
      line.update(`waiting for a worker on task queue "${taskQueue}" (is \`seedvault worker\` running?)`);
    }
    await Promise.race([outcome.catch(() => {}), pollPause(1000)]);
  }
  line.done();
  try {
    return await outcome;
  } catch (err) {
    throw failureAsError(err);
  }
}
