// The worker's workflowsPath: every workflow is exported from here.
export { seedSnapshot } from './snapshot.js';
export { backfill } from './backfill.js';
export { backfillSymbol } from './backfill-symbol.js';
export { seedRestore } from './restore.js';
export { verifySnapshot } from './verify.js';
export { snapshotDiff } from './snapshot-diff.js';
export { fileBackup } from './file-backup.js';
export { fileRestore } from './file-restore.js';
export { fileBackupCleanup } from './file-backup-cleanup.js';
export { healthCheck } from './health-check.js';
export { waitForSignal, waitForSignalId } from './wait-for-signal.js';
export { maintenance } from './maintenance.js';
export { signalExpiry } from './signal-expiry.js';
export { deliverAlert } from './alerting.js';
export { analyticsRefresh } from './analytics-refresh.js';
