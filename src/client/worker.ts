import { Command } from 'commander';
import { routeLogs, workerLogFormat } from '../logging.js';
import { startWorker } from '../worker.js';
import { commandConfig } from './context.js';

export function workerCommand(): Command {
  return new Command('worker')
    .description('run the seedvault Temporal worker until SIGINT/SIGTERM (graceful shutdown); JSON logs on stderr, pretty lines in a terminal (SEEDVAULT_LOG_FORMAT=json|pretty)')
    .action(async (_opts, command: Command) => {
      routeLogs(workerLogFormat());
      const config = await commandConfig(command);
      const { done } = await startWorker(config);
      await done;
    });
}
