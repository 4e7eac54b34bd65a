import { Command } from 'commander';
import { startWorker } from '../worker.js';
import { commandConfig } from './context.js';

export function workerCommand(): Command {
  return new Command('worker')
    .description('run the seedvault Temporal worker until SIGINT/SIGTERM (graceful shutdown)')
    .action(async (_opts, command: Command) => {
      const config = await commandConfig(command);
      const { done } = await startWorker(config);
      await done;
    });
}
