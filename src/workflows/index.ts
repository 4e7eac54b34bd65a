// The worker's workflowsPath: every workflow is exported from here.
export { seedSnapshot } from './snapshot.js';
