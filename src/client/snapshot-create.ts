import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdReusePolicy,
  type WorkflowHandle,
  type WorkflowHandleWithFirstExecutionRunId,
} from '@temporalio/client';
import type { SeedvaultConfig } from '../config/schema.js';
import { nextFreeVersion, versionForDate, versionProblem } from '../domain/version.js';
import { InputError, SeedvaultError } from '../errors.js';
import { listVersions } from '../storage/seed-catalog.js';
import { connectClient, isWorkflowRunning } from '../temporal/connection.js';
import { progressQuery, seedSnapshot, type SeedSnapshotResult, type SnapshotProgress } from '../workflows/snapshot.js';
import { followRun } from './follow-run.js';

export interface CreateOptions {
  version?: string;
  tables?: string;
  pin?: boolean;
}

export function snapshotWorkflowId(version: string): string {
  return `seed-snapshot-${version}`;
}

/** Maps `--tables` (table names or source keys) to source keys; anything unknown is an InputError. */
export function resolveSources(config: SeedvaultConfig, tables: string | undefined): string[] | undefined {
  if (!tables) return undefined;
  return tables.split(',').map((name) => {
    const trimmed = name.trim();
    const key = Object.entries(config.sources).find(([k, s]) => k === trimmed || s.table === trimmed)?.[0];
    if (!key) {
      const known = Object.values(config.sources).map((s) => s.table).join(', ');
      throw new InputError(`--tables: unknown table "${trimmed.slice(0, 63)}" (configured: ${known})`);
    }
    return key;
  });
}

export function validateVersionFlag(version: string | undefined, flag = '--version'): void {
  if (version === undefined) return;
  const problem = versionProblem(version);
  if (problem) throw new InputError(`${flag}: invalid snapshot version "${version.slice(0, 40)}": ${problem}`);
}

/**
 * Starts a snapshot run. An explicit version that is running or complete is a clear
 * error; without one, the first free `YYYY.MM.DD[-n]` of today (UTC) is taken, skipping
 * versions the bucket holds and workflow ids Temporal has already used.
 */
export async function startSnapshot(
  config: SeedvaultConfig,
  options: CreateOptions,
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof seedSnapshot>> {
  validateVersionFlag(options.version);
  const sources = resolveSources(config, options.tables);
  const client = await connectClient(config);
  // Loaded here, not at the top: restore shares this module's flag checks and has no use for the AWS SDK.
  const { createStorage } = await import('../storage/index.js');
  const taken = new Set(options.version ? [] : (await listVersions(createStorage(config.storage))).map((v) => v.version));
  for (;;) {
    const version = options.version ?? nextFreeVersion(versionForDate(new Date()), taken);
    const workflowId = snapshotWorkflowId(version);
    try {
      return await client.workflow.start(seedSnapshot, {
        taskQueue: config.temporal.task_queue,
        workflowId,
        args: [{ version, versionIsGuess: !options.version, sources, pin: options.pin, trigger: 'manual' }],
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        staticSummary: `seed snapshot ${version}`,
        staticDetails: `tables: ${(sources ?? Object.keys(config.sources)).map((k) => config.sources[k]!.table).join(', ')}`,
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      if (!options.version) {
        taken.add(version);
        continue;
      }
      const running = await isWorkflowRunning(client, workflowId);
      throw new SeedvaultError(
        running
          ? `snapshot ${version} is already running (workflow ${workflowId}); follow it in the Web UI or with: seedvault snapshot list`
          : `snapshot ${version} already exists (workflow ${workflowId}); pick another --version`,
      );
    }
  }
}

/** Follows a run through its `progress` query until it ends, drawing a progress line. */
export function waitWithProgress(handle: WorkflowHandle<typeof seedSnapshot>): Promise<SeedSnapshotResult> {
  return followRun<SeedSnapshotResult>(handle, async () => describeProgress(await handle.query(progressQuery)));
}

function describeProgress(p: SnapshotProgress): string {
  const rows = p.tables.map((t) => `${t.table} ${t.rows.toLocaleString('en-US')}${t.done ? ' ✓' : ''}`).join(', ');
  return `snapshot ${p.version ?? '?'}: ${p.phase}${rows ? ` — ${rows}` : ''}`;
}

