// The worker's workflowsPath: every workflow is exported from here.
export { seedSnapshot } from './snapshot.js';
export { backfill } from './backfill.js';
export { backfillSymbol } from './backfill-symbol.js';
export { seedRestore } from './restore.js';
export { verifySnapshot } from './verify.js';
export { fileBackup } from './file-backup.js';
export { fileRestore } from './file-restore.js';
export { fileBackupCleanup } from './file-backup-cleanup.js';
