import { Context } from '@temporalio/activity';

const MAX_EVERY_MS = 5000;

/**
 * Heartbeats while `work` runs (large tables and archives take long), with whatever
 * `details` reports at the time, so a dead worker is noticed and the Web UI shows how far
 * it got. It beats at least three times per heartbeat timeout (the SDK throttles what it
 * sends), so a slow step is never mistaken for a dead worker.
 */
export async function withHeartbeat<T>(details: () => unknown, work: () => Promise<T>): Promise<T> {
  const context = Context.current();
  const every = Math.min(MAX_EVERY_MS, Math.max(250, Math.floor((context.info.heartbeatTimeoutMs ?? MAX_EVERY_MS * 3) / 3)));
  const timer = setInterval(() => context.heartbeat(details()), every);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
