import { join } from 'node:path';
import type { SeedvaultConfig } from '../config/schema.js';
import { routeLogs } from '../logging.js';
import { resolvePaths } from '../stack/paths.js';
import type { RunningWorker } from '../worker.js';

/**
 * A worker inside a command a person runs (`demo`). Its log lines would interleave with the
 * command's output, so they go as JSON to `<state dir>/logs/<name>-worker.log`, whose path is
 * printed once on stderr; `verbose` shows them on stderr as pretty lines instead.
 */
export async function hostWorker(config: SeedvaultConfig, opts: { name: string; verbose?: boolean }): Promise<RunningWorker> {
  if (opts.verbose) routeLogs('pretty');
  else {
    const file = join(resolvePaths().stateDir, 'logs', `${opts.name}-worker.log`);
    routeLogs('json', file);
    process.stderr.write(`worker log: ${file}\n`);
  }
  // Loaded here: the Temporal worker and every activity take half a second other commands need not pay.
  const { startWorker } = await import('../worker.js');
  return startWorker(config);
}
