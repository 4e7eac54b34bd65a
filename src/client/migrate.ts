import { Command } from 'commander';
import { migrate } from '../db/migrate.js';
import { commandConfig } from './context.js';
import { printJson } from './output.js';

export function migrateCommand(): Command {
  return new Command('migrate')
    .description('apply pending schema migrations to postgres.url (safe to run repeatedly and concurrently)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }, command: Command) => {
      const config = await commandConfig(command);
      const applied = await migrate(config.postgres.url);
      if (opts.json) printJson({ applied });
      else process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'schema up to date\n');
    });
}
