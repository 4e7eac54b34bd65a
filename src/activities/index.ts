import type { ActivityDeps } from './deps.js';
import { exportActivities } from './snapshot/export.js';
import { publishActivities } from './snapshot/publish.js';
import { recordActivities } from './snapshot/record.js';
import { settingsActivities } from './snapshot/settings.js';
import { versionActivities } from './snapshot/versions.js';

/** Every activity the worker registers, bound to the worker's dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...settingsActivities(deps),
    ...versionActivities(deps),
    ...exportActivities(deps),
    ...publishActivities(deps),
    ...recordActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { ActivityDeps } from './deps.js';
