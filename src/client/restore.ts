import { Command } from 'commander';
import type { SeedRestoreResult } from '../workflows/restore.js';
import { commandConfig } from './context.js';
import { announceRun, printJson, printTable } from './output.js';
import { restoreInput, startRestore, waitForRestore, type RestoreOptions } from './restore-run.js';

export function printRestoreResult(result: SeedRestoreResult): void {
  printTable(
    result.tables.map((t) => ({
      table: t.table,
      status: t.status,
      source: t.source,
      version: t.version,
      rows: t.rowsAfter ?? t.rowsLoaded,
      from: t.dateRange?.[0] ?? null,
      to: t.dateRange?.[1] ?? null,
    })),
  );
  for (const t of result.tables) {
    for (const r of t.rejected) if (t.status === 'restored') process.stdout.write(`${t.table}: skipped ${r.source}: ${r.reason}\n`);
  }
  for (const warning of result.warnings) process.stderr.write(`warning: ${warning}\n`);
}

export function restoreCommand(): Command {
  return new Command('restore')
    .description('restore tables from a seed snapshot through the fallback chain (a Temporal workflow)')
    .option('--source <source>', 'auto | minio | s3 | local | mirror (auto: object store, then storage.mirror, then local folder, then fallback files)', 'auto')
    .option('--version <version>', 'latest or YYYY.MM.DD[-suffix]', 'latest')
    .option('--path <dir>', 'local folder with the bucket layout, or one version folder (default storage.local_path)')
    .option('--tables <list>', 'comma-separated tables or source keys (default: all sources)')
    .option('--mode <mode>', 'replace | if-empty | merge (upsert on the table key)', 'replace')
    .option('--wait', 'follow progress and print what was restored')
    .option('--json', 'machine-readable output')
    .action(async (opts: RestoreOptions & { wait?: boolean; json?: boolean }, command: Command) => {
      const config = await commandConfig(command);
      const input = restoreInput(config, opts);
      const handle = await startRestore(config, input);
      const link = announceRun(config, handle, opts);
      if (!opts.wait) return;
      const result = await waitForRestore(handle, opts.json);
      if (opts.json) printJson({ workflowId: handle.workflowId, ...result, webUi: link });
      else printRestoreResult(result);
    });
}
