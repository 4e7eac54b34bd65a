import { Command } from 'commander';
import { migrate } from '../db/migrate.js';
import { log, routeLogs, workerLogFormat } from '../logging.js';
import { commandConfig } from './context.js';

export function workerCommand(): Command {
  return new Command('worker')
    .description('run the seedvault Temporal worker until SIGINT/SIGTERM (graceful shutdown); JSON logs on stderr, pretty lines in a terminal (SEEDVAULT_LOG_FORMAT=json|pretty)')
    .option('--migrate', 'apply pending schema migrations before polling (seed 004: migrations at startup)')
    .action(async (opts: { migrate?: boolean }, command: Command) => {
      routeLogs(workerLogFormat());
      const config = await commandConfig(command);
      if (opts.migrate) {
        // Locked, so several workers starting together apply each migration once.
        const applied = await migrate(config.postgres.url);
        log.info({ applied }, applied.length ? `applied ${applied.length} migration(s)` : 'schema up to date');
      }
      const { startWorker } = await import('../worker.js');
      const { done } = await startWorker(config);
      await done;
    });
}
