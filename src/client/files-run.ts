import { randomBytes } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import type { SeedvaultConfig } from '../config/schema.js';
import { connectClient, workflowUiLink } from '../temporal/connection.js';
import { fileRunProgressQuery } from '../workflows/file-backup-progress.js';
import { followRun } from './follow-run.js';

/** Workflow ids are global per Temporal server: a timestamp plus random bytes never collide. */
function fileWorkflowId(kind: string): string {
  return `${kind}-${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}-${randomBytes(4).toString('hex')}`;
}

/**
 * Starts one of the file workflows and, unless `json`, tells where to watch it; then follows
 * its `progress` query to the end and returns its result.
 */
export async function runFileWorkflow<T>(
  config: SeedvaultConfig,
  workflowType: 'fileBackup' | 'fileRestore' | 'fileBackupCleanup',
  kind: string,
  input: unknown,
  summary: string,
  quiet: boolean,
): Promise<T> {
  const client = await connectClient(config);
  const handle: WorkflowHandle = await client.workflow.start(workflowType, {
    taskQueue: config.temporal.task_queue,
    workflowId: fileWorkflowId(kind),
    args: [input],
    staticSummary: summary,
  });
  const link = workflowUiLink(config, handle.workflowId);
  if (!quiet && link) process.stderr.write(`Web UI: ${link}\n`);
  const describe = async () => {
    const p = await handle.query(fileRunProgressQuery);
    return `${kind}: ${p.phase}${p.done.length ? ` — ${p.done.at(-1)}` : ''}`;
  };
  return followRun<T>(handle, describe, quiet);
}
