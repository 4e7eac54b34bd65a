import { alertActivities } from './alerts.js';
import { analyticsActivities } from './analytics.js';
import { executionActivities } from './backfill/execution.js';
import { fetchActivities } from './backfill/fetch.js';
import { finishActivities } from './backfill/finish.js';
import { planActivities } from './backfill/plan.js';
import type { ActivityDeps } from './deps.js';
import { fileBackupActivities } from './files/backup.js';
import { fileCleanupActivities } from './files/cleanup.js';
import { fileRestoreActivities } from './files/restore.js';
import { healthActivities } from './quality/health.js';
import { qualityActivities } from './quality/maintenance.js';
import { signalActivities } from './quality/signals.js';
import { commitActivities } from './restore/commit.js';
import { restoreSettingsActivities } from './restore/settings.js';
import { stageActivities } from './restore/stage.js';
import { verifyActivities } from './restore/verify.js';
import { diffActivities } from './snapshot/diff.js';
import { exportActivities } from './snapshot/export.js';
import { publishActivities } from './snapshot/publish.js';
import { recordActivities } from './snapshot/record.js';
import { settingsActivities } from './snapshot/settings.js';
import { splitActivities } from './snapshot/split.js';
import { versionActivities } from './snapshot/versions.js';

/** Every activity the worker registers, bound to the worker's dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...settingsActivities(deps),
    ...versionActivities(deps),
    ...exportActivities(deps),
    ...splitActivities(deps),
    ...publishActivities(deps),
    ...recordActivities(deps),
    ...executionActivities(deps),
    ...planActivities(deps),
    ...fetchActivities(deps),
    ...finishActivities(deps),
    ...restoreSettingsActivities(deps),
    ...stageActivities(deps),
    ...commitActivities(deps),
    ...verifyActivities(deps),
    ...fileBackupActivities(deps),
    ...fileRestoreActivities(deps),
    ...fileCleanupActivities(deps),
    ...healthActivities(deps),
    ...qualityActivities(deps),
    ...signalActivities(deps),
    ...alertActivities(deps),
    ...analyticsActivities(deps),
    ...diffActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { ActivityDeps } from './deps.js';
