/**
 * Build step (`npm run build`): bundles the workflow code once, so workers load a file
 * instead of running webpack at start — faster start and ~80 MB less peak memory.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';

export const WORKFLOW_BUNDLE_PATH = fileURLToPath(new URL('../../workflow-bundle.js', import.meta.url));
const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.js', import.meta.url));
/** Reports every run's end to the worker's job metrics. */
const INTERCEPTOR_MODULES = [fileURLToPath(new URL('../workflows/job-metrics.js', import.meta.url))];

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, workflowInterceptorModules: INTERCEPTOR_MODULES, logger: { info() {}, warn() {}, error() {}, debug() {}, trace() {}, log() {} } });
  writeFileSync(WORKFLOW_BUNDLE_PATH, code);
  process.stderr.write(`workflow bundle: ${(code.length / 1024 / 1024).toFixed(1)} MiB -> ${WORKFLOW_BUNDLE_PATH}\n`);
}
