import { Command } from 'commander';
import { migrate } from '../db/migrate.js';
import { commandConfig } from './context.js';
import { printJson } from './output.js';
import { printRestoreResult } from './restore.js';
import { restoreInput, startRestore, waitForRestore } from './restore-run.js';

export function seedCommand(): Command {
  const seed = new Command('seed').description('bring a new server up with its data');
  seed
    .command('init')
    .description('migrate, then restore every empty table through the fallback chain (if-empty) and wait')
    .option('--path <dir>', 'local folder for the local fallback (default storage.local_path)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { path?: string; json?: boolean }, command: Command) => {
      const config = await commandConfig(command);
      const applied = await migrate(config.postgres.url);
      const handle = await startRestore(config, restoreInput(config, { source: 'auto', mode: 'if-empty', path: opts.path }));
      const result = await waitForRestore(handle, opts.json);
      // The catch-up backfill after seeding is not wired to this command yet.
      const backfill = 'not started: run the backfill workflow to catch up to now';
      if (opts.json) return printJson({ migrations: applied, workflowId: handle.workflowId, restore: result, backfill });
      process.stdout.write(applied.length ? `migrations applied: ${applied.join(', ')}\n` : 'schema up to date\n');
      printRestoreResult(result);
      process.stdout.write(`backfill: ${backfill}\n`);
    });
  return seed;
}
