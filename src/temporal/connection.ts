import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { ServiceError } from '../errors.js';
import type { SeedvaultConfig } from '../config/schema.js';

/** A Temporal client for the configured server; a server that does not answer is a one-line ServiceError. */
export async function connectClient(config: SeedvaultConfig): Promise<Client> {
  try {
    const connection = await Connection.connect({ address: config.temporal.address, connectTimeout: '5s' });
    return new Client({ connection, namespace: config.temporal.namespace });
  } catch (err) {
    throw new ServiceError(
      `cannot reach Temporal at ${config.temporal.address} (${(err as Error).message.split('\n')[0]}); is the stack up? try: seedvault stack up`,
    );
  }
}

/** Link to a workflow run in the Web UI, when the UI address is known. */
export function workflowUiLink(config: SeedvaultConfig, workflowId: string, runId?: string): string | undefined {
  const ui = process.env.TEMPORAL_UI_URL;
  if (!ui) return undefined;
  const base = `${ui.replace(/\/$/, '')}/namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${runId}/history` : base;
}

/** Whether a workflow id's newest run is still running; an unknown id is not. */
export async function isWorkflowRunning(client: Client, workflowId: string): Promise<boolean> {
  try {
    return (await client.workflow.getHandle(workflowId).describe()).status.name === 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}
