import { randomBytes } from 'node:crypto';
import type { WorkflowHandle, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { SeedvaultConfig } from '../config/schema.js';
import { RESTORE_MODES, RESTORE_SOURCES, type RestoreMode, type RestoreSource } from '../domain/restore.js';
import { InputError } from '../errors.js';
import { connectClient } from '../temporal/connection.js';
import { restoreProgressQuery, seedRestore, type RestoreProgress, type SeedRestoreInput, type SeedRestoreResult } from '../workflows/restore.js';
import { followRun } from './follow-run.js';
import { resolveSources, validateVersionFlag } from './snapshot-create.js';

export interface RestoreOptions {
  source?: string;
  version?: string;
  path?: string;
  tables?: string;
  mode?: string;
}

/** Checks every flag before any I/O and turns them into the workflow input. */
export function restoreInput(config: SeedvaultConfig, opts: RestoreOptions): SeedRestoreInput {
  const source = (opts.source ?? 'auto') as RestoreSource;
  if (!RESTORE_SOURCES.includes(source)) throw new InputError(`--source: "${String(opts.source).slice(0, 20)}" is not one of ${RESTORE_SOURCES.join(', ')}`);
  const mode = (opts.mode ?? 'replace') as RestoreMode;
  if (!RESTORE_MODES.includes(mode)) throw new InputError(`--mode: "${String(opts.mode).slice(0, 20)}" is not one of ${RESTORE_MODES.join(', ')}`);
  if (opts.version !== undefined && opts.version !== 'latest') validateVersionFlag(opts.version);
  if (opts.path !== undefined && source !== 'local' && source !== 'auto') throw new InputError(`--path applies to --source local or auto, not ${source}`);
  if ((source === 'minio' || source === 's3') && config.storage.type === 'local') throw new InputError(`--source ${source}: storage.type is local in the config`);
  if (source === 'mirror' && !config.storage.mirror) throw new InputError('--source mirror: storage.mirror is not configured');
  return { source, version: opts.version ?? 'latest', path: opts.path, sources: resolveSources(config, opts.tables), mode };
}

export async function startRestore(config: SeedvaultConfig, input: SeedRestoreInput): Promise<WorkflowHandleWithFirstExecutionRunId<typeof seedRestore>> {
  const client = await connectClient(config);
  const stamp = new Date().toISOString().replace(/[-:]/g, '').slice(0, 15);
  return client.workflow.start(seedRestore, {
    taskQueue: config.temporal.task_queue,
    workflowId: `seed-restore-${stamp}-${randomBytes(3).toString('hex')}`,
    args: [input],
    staticSummary: `restore (${input.mode}) from ${input.source} ${input.version}`,
    staticDetails: `tables: ${(input.sources ?? Object.keys(config.sources)).map((k) => config.sources[k]!.table).join(', ')}`,
  });
}

/**
 * Follows the run's progress query until it ends. A restore no source could serve fails as an
 * IntegrityError (exit 4) with its message; other failures keep the exit code of their type.
 */
export function waitForRestore(handle: WorkflowHandle<typeof seedRestore>, quiet = false): Promise<SeedRestoreResult> {
  return followRun<SeedRestoreResult>(handle, async () => describe(await handle.query(restoreProgressQuery)), quiet);
}

function describe(p: RestoreProgress): string {
  const rows = p.tables.map((t) => `${t.table} ${t.rows.toLocaleString('en-US')}${t.done ? ' ✓' : ''}`).join(', ');
  return `restore: ${p.phase}${p.current ? ` ${p.current}` : ''}${rows ? ` — ${rows}` : ''}`;
}
