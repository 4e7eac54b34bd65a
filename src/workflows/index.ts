// The worker's workflowsPath: every workflow is exported from here.
export { healthCheck } from './health.js';
export { seedSnapshot } from './snapshot.js';
