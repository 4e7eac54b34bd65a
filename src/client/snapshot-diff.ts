import { randomBytes } from 'node:crypto';
import { Command } from 'commander';
import type { SeedvaultConfig } from '../config/schema.js';
import type { DiffInput } from '../activities/snapshot/diff.js';
import type { SnapshotDiff } from '../diff/snapshot-diff.js';
import { DEFAULT_SAMPLE_LIMIT, LIVE_DATABASE, sampleLimitProblem, selectTables, type TableDiff } from '../domain/snapshot-diff.js';
import { InputError, IntegrityError } from '../errors.js';
import { createStorage } from '../storage/index.js';
import { connectClient } from '../temporal/connection.js';
import { snapshotDiff } from '../workflows/snapshot-diff.js';
import { commandConfig } from './context.js';
import { followRun } from './follow-run.js';
import { announceRun, printJson, printTable } from './output.js';
import { validateVersionFlag } from './snapshot-create.js';

interface DiffFlags {
  tables?: string;
  limit: string;
  wait?: boolean;
  json?: boolean;
}

/** `snapshot diff`: checks the versions and tables here, then diffs on a worker (near the bucket and the database). */
export function snapshotDiffCommand(): Command {
  return new Command('diff')
    .description('rows added, removed and changed per table between two snapshots, or a snapshot and the live tables (a Temporal workflow)')
    .argument('<older>', 'latest or YYYY.MM.DD[-suffix]')
    .argument('<newer>', `latest, YYYY.MM.DD[-suffix], or ${LIVE_DATABASE} for the live tables`)
    .option('--tables <list>', 'comma-separated tables (default: every table of either side)')
    .option('--limit <n>', 'samples of each kind (added, removed, changed) per table', String(DEFAULT_SAMPLE_LIMIT))
    .option('--wait', 'wait for the diff and print it')
    .option('--json', 'machine-readable output')
    .action(async (older: string, newer: string, opts: DiffFlags, command: Command) => {
      const config = await commandConfig(command);
      const input = await checkedInput(config, older, newer, opts);
      const client = await connectClient(config);
      try {
        const handle = await client.workflow.start(snapshotDiff, {
          taskQueue: config.temporal.task_queue,
          workflowId: `snapshot-diff-${older}-${newer}-${randomBytes(4).toString('hex')}`,
          args: [input],
          staticSummary: `snapshot diff ${older} -> ${newer}`,
        });
        announceRun(config, handle, opts);
        if (!opts.wait) return;
        const result = await followRun<SnapshotDiff>(handle, async () => `diff ${older} -> ${newer}: running`, Boolean(opts.json));
        if (opts.json) printJson({ workflowId: handle.workflowId, ...result });
        else printDiff(result);
      } finally {
        await client.connection.close();
      }
    });
}

/** Every flag and argument checked, and both versions found, before a run starts. */
async function checkedInput(config: SeedvaultConfig, older: string, newer: string, opts: DiffFlags): Promise<DiffInput> {
  if (older === LIVE_DATABASE) throw new InputError(`<older>: "${LIVE_DATABASE}" may only be the newer side`);
  for (const [version, name] of [[older, '<older>'], [newer, '<newer>']] as const) {
    if (version !== 'latest' && version !== LIVE_DATABASE) validateVersionFlag(version, name);
  }
  const limit = Number(opts.limit);
  const problem = sampleLimitProblem(limit);
  if (problem) throw new InputError(`--limit: "${opts.limit.slice(0, 20)}": ${problem}`);
  const storage = createStorage(config.storage);
  const tablesOf = async (version: string, name: string): Promise<string[]> => {
    if (version === LIVE_DATABASE) return [];
    try {
      // Loaded here: it brings Arrow and Parquet, which every `snapshot` subcommand would otherwise load.
      const { findManifest } = await import('../restore/source-file.js');
      return Object.keys((await findManifest(storage, version)).manifest.tables);
    } catch (err) {
      if (err instanceof IntegrityError) throw new InputError(`${name}: snapshot ${version} not found or incomplete in ${storage.location}`);
      throw err;
    }
  };
  const requested = opts.tables?.split(',').map((t) => t.trim());
  selectTables(requested, await tablesOf(older, '<older>'), await tablesOf(newer, '<newer>'));
  return { older, newer, tables: requested, limit };
}

function printDiff(result: SnapshotDiff): void {
  process.stdout.write(`diff ${result.older} -> ${result.newer}\n`);
  printTable(
    result.tables.map((t) => ({
      table: t.table,
      status: t.status,
      older_rows: t.olderRows,
      newer_rows: t.newerRows,
      added: t.added,
      removed: t.removed,
      changed: t.changed,
      schema: t.schema ? 'changed' : 'same',
    })),
  );
  for (const t of result.tables) printDetails(t);
  if (result.samplesTrimmed) process.stdout.write('\n(samples cut below --limit to keep the result small)\n');
}

/** Schema changes, why a table was skipped, and the samples, under the summary. */
function printDetails(t: TableDiff): void {
  const lines: string[] = [];
  if (t.message) lines.push(`  ${t.message}`);
  if (t.schema) {
    const parts = [...t.schema.added.map((c) => `+${c}`), ...t.schema.removed.map((c) => `-${c}`), ...t.schema.retyped];
    lines.push(`  schema: ${parts.join(', ')}`);
  }
  const key = (k: Record<string, string | null>) => Object.entries(k).map(([name, value]) => `${name}=${value ?? 'NULL'}`).join(' ');
  for (const k of t.samples.added) lines.push(`  + ${key(k)}`);
  for (const k of t.samples.removed) lines.push(`  - ${key(k)}`);
  for (const c of t.samples.changed) {
    const columns = Object.entries(c.columns).map(([name, [before, after]]) => `${name}: ${before ?? 'NULL'} -> ${after ?? 'NULL'}`);
    lines.push(`  ~ ${key(c.key)}: ${columns.join(', ')}`);
  }
  if (lines.length > 0) process.stdout.write(`\n${t.table}\n${lines.join('\n')}\n`);
}
