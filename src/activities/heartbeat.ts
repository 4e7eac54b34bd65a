import { Context } from '@temporalio/activity';

const EVERY_MS = 5000;

/**
 * Heartbeats while `work` runs (large archives take long), with whatever `details` reports
 * at the time, so a dead worker is noticed and the Web UI shows how far it got.
 */
export async function withHeartbeat<T>(details: () => unknown, work: () => Promise<T>): Promise<T> {
  const context = Context.current();
  const timer = setInterval(() => context.heartbeat(details()), EVERY_MS);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
