/** Workflow ids that more than one module derives (the CLI starts the run, the report links to it). */

/** One backfill execution's workflow: a rerun of the same execution id reaches the same run. */
export function backfillWorkflowId(executionId: string): string {
  return `backfill-${executionId}`;
}
