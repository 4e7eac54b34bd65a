import { Command } from 'commander';
import { printJson } from './output.js';
import { commandConfig } from './context.js';
import { redactConfig } from '../config/redact.js';

export function configCommand(): Command {
  const config = new Command('config').description('inspect the configuration');
  config
    .command('check')
    .description('load and validate the config; exit 2 with the file and key on any problem')
    .option('--json', 'print the effective config (secrets masked) as JSON')
    .action(async (opts: { json?: boolean }, command: Command) => {
      const loaded = await commandConfig(command);
      if (opts.json) printJson(redactConfig(loaded));
      else process.stdout.write('config ok\n');
    });
  return config;
}
