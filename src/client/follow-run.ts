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
  while (!ended && !quiet) {
    // The query fails while no worker holds the run; the next poll catches up.
    const text = await describe().catch(() => null);
    if (text) line.update(text);
    await Promise.race([outcome.catch(() => {}), sleep(1000)]);
  }
  line.done();
  try {
    return await outcome;
  } catch (err) {
    throw failureAsError(err);
  }
}
