import type { Scenario } from '../support.js';
import { backfillScenarios } from './backfill-faults.js';
import { badInputScenarios } from './bad-input.js';
import { loadScenario } from './load.js';
import { mixedLoadScenario } from './load-mixed.js';
import { concurrencyDiskScenarios } from './concurrency-disk.js';
import { restoreFaultScenarios } from './restore-faults.js';
import { secretScenario } from './secrets.js';
import { snapshotFaultScenarios } from './snapshot-faults.js';
import { splitFaultScenarios } from './split-faults.js';
import { tamperedScenarios } from './tampered.js';

/** In run order; the secret grep runs last, over everything the others logged and recorded. */
export const SCENARIOS: Scenario[] = [
  ...badInputScenarios,
  ...tamperedScenarios,
  ...snapshotFaultScenarios,
  ...splitFaultScenarios,
  ...concurrencyDiskScenarios,
  ...restoreFaultScenarios,
  ...backfillScenarios,
  loadScenario,
  mixedLoadScenario,
  secretScenario,
];
