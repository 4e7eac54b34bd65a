import { Command } from 'commander';
import type { SeedvaultConfig } from '../config/schema.js';
import { migrate } from '../db/migrate.js';
import { IntegrityError } from '../errors.js';
import { workflowUiLink } from '../temporal/connection.js';
import { startBackfill } from './backfill-start.js';
import { commandConfig } from './context.js';
import { printJson } from './output.js';
import { printRestoreResult } from './restore.js';
import { restoreInput, startRestore, waitForRestore } from './restore-run.js';

type CatchUp = { started: true; executionId: string; workflowId: string; webUi?: string } | { started: false; reason: string };

/**
 * Seed 002's bring-up ends with a backfill "to now": restored data is as old as its
 * snapshot. Started, not awaited: it can run for a long time and is followed like any backfill.
 */
async function startCatchUp(config: SeedvaultConfig): Promise<CatchUp> {
  if (!config.backfill.provider.api_key) return { started: false, reason: 'no provider api key (backfill.provider.api_key / TWELVEDATA_API_KEY)' };
  const handle = await startBackfill(config, {});
  return {
    started: true,
    executionId: handle.workflowId.replace(/^backfill-/, ''),
    workflowId: handle.workflowId,
    webUi: workflowUiLink(config, handle.workflowId, handle.firstExecutionRunId),
  };
}

export function seedCommand(): Command {
  const seed = new Command('seed').description('bring a new server up with its data');
  seed
    .command('init')
    .description('migrate, restore every empty table through the fallback chain (if-empty), then start the catch-up backfill')
    .option('--path <dir>', 'local folder for the local fallback (default storage.local_path)')
    .option('--allow-empty', 'first deployment: a required table no source can give stays empty instead of failing (seed 002\'s last fallback)')
    .option('--no-backfill', 'do not start the catch-up backfill after the restore')
    .option('--json', 'machine-readable output')
    .action(async (opts: { path?: string; allowEmpty?: boolean; backfill: boolean; json?: boolean }, command: Command) => {
      const config = await commandConfig(command);
      const applied = await migrate(config.postgres.url);
      const input = { ...restoreInput(config, { source: 'auto', mode: 'if-empty', path: opts.path }), allowEmpty: opts.allowEmpty };
      const handle = await startRestore(config, input);
      const result = await waitForRestore(handle, opts.json).catch((err: unknown) => {
        if (!(err instanceof IntegrityError) || opts.allowEmpty || !err.message.includes('no source could restore')) throw err;
        throw new IntegrityError(`${err.message}; a first deployment with no snapshot anywhere: seed init --allow-empty`);
      });
      const backfill: CatchUp = opts.backfill ? await startCatchUp(config) : { started: false, reason: '--no-backfill' };
      if (opts.json) return printJson({ migrations: applied, workflowId: handle.workflowId, restore: result, backfill });
      process.stdout.write(applied.length ? `migrations applied: ${applied.join(', ')}\n` : 'schema up to date\n');
      printRestoreResult(result);
      process.stdout.write(
        backfill.started
          ? `catch-up backfill started: ${backfill.workflowId}; follow it with: seedvault backfill status ${backfill.executionId}${backfill.webUi ? `\nWeb UI: ${backfill.webUi}` : ''}\n`
          : `catch-up backfill not started: ${backfill.reason}\n`,
      );
    });
  return seed;
}
