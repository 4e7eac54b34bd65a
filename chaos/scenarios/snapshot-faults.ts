/** Faults during a snapshot of the scale-10 source database, compared with the undisturbed run. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import { startSnapshot } from '../../src/client/snapshot-create.js';
import type { ComponentName } from '../../src/stack/index.js';
import { createStorage } from '../../src/storage/index.js';
import { readLatestVersion } from '../../src/storage/seed-catalog.js';
import type { seedSnapshot, SeedSnapshotResult } from '../../src/workflows/snapshot.js';
import {
  checkVersion,
  FAULT_POINTS,
  freshVersion,
  kill,
  outage,
  retriedActivities,
  scenarioEnv,
  spawnWorker,
  stopWorker,
  waitForActivityRunning,
  waitForExportPoint,
  type ChaosContext,
  type Scenario,
} from '../support.js';

/** handle.result(), retried while the Temporal server itself is away. */
async function resultSurvivingServer(handle: WorkflowHandle<typeof seedSnapshot>, timeoutMs = 600_000): Promise<SeedSnapshotResult> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await handle.result();
    } catch (err) {
      const name = (err as Error).name;
      if (name === 'WorkflowFailedError' || Date.now() > deadline) throw err;
      await sleep(1000);
    }
  }
}

/**
 * One snapshot run with a fault injected by `inject` once the run is far enough; then the
 * version must be latest, pass sha256sum -c, and equal the undisturbed run.
 */
async function snapshotUnderFault(
  ctx: ChaosContext,
  name: string,
  inject: (h: { handle: WorkflowHandle<typeof seedSnapshot>; respawn(): Promise<void>; notLatestYet(): Promise<boolean> }) => Promise<string>,
): Promise<{ observed: string; passed: boolean; dataLost: boolean }> {
  const { env, config } = await scenarioEnv(name, ctx.sourceDb);
  let worker = spawnWorker(ctx, env);
  const version = freshVersion();
  const started = Date.now();
  try {
    const handle = await startSnapshot(config, { version });
    let notLatest = true;
    const what = await inject({
      handle,
      respawn: async () => {
        await kill(worker);
        notLatest = (await readLatestVersion(createStorage(config.storage)).catch(() => null)) !== version;
        worker = spawnWorker(ctx, env);
      },
      notLatestYet: async () => (await readLatestVersion(createStorage(config.storage)).catch(() => null)) !== version,
    });
    const result = await resultSurvivingServer(handle);
    const problems = await checkVersion(ctx, config, version);
    const retried = await retriedActivities(handle);
    const seconds = ((Date.now() - started) / 1000).toFixed(0);
    const passed = result.version === version && problems.length === 0;
    return {
      observed:
        `${what}; run completed in ${seconds} s` +
        (retried.length ? ` (retried: ${[...new Set(retried)].join(', ')})` : ' (no activity retried)') +
        (problems.length ? `; PROBLEMS: ${problems.join('; ')}` : '; version latest, sha256sum -c OK, manifest equal to the undisturbed run') +
        (notLatest ? '' : '; version was latest while the fault was active'),
      passed,
      dataLost: problems.some((p) => /manifest|sha256sum|no manifest/.test(p)),
    };
  } finally {
    await stopWorker(worker);
  }
}

function killAtExportFraction(fraction: number): Scenario {
  const pct = Math.round(fraction * 100);
  return {
    name: `snapshot: worker SIGKILL at ${pct}% of export`,
    injected: `SIGKILL of the worker process ${pct}% of the undisturbed export time after exportTables starts; new worker started`,
    expected: 'export retried from a new database snapshot after the 20 s heartbeat timeout; version complete, latest, identical to an undisturbed run',
    run: (ctx) =>
      snapshotUnderFault(ctx, `kill-export-${pct}`, async ({ handle, respawn }) => {
        const point = await waitForExportPoint(ctx, handle, fraction);
        await respawn();
        return `killed at ${point}`;
      }),
  };
}

function killAtActivity(activity: 'moveLatest' | 'pruneSnapshots' | 'verifyUploads' | 'publishManifest'): Scenario {
  return {
    name: `snapshot: worker SIGKILL in ${activity}`,
    injected: `SIGKILL of the worker as soon as ${activity} shows as a running pending activity (describe, polled every 10 ms); new worker started`,
    expected: `${activity} retried after its 30 s heartbeat timeout and the run completes; version identical to an undisturbed run`,
    run: (ctx) =>
      snapshotUnderFault(ctx, `kill-${activity}`, async ({ handle, respawn }) => {
        const state = await waitForActivityRunning(handle, activity);
        await respawn();
        return state === 'running' ? `killed while ${activity} was running` : `${activity} finished before the poll saw it running (killed right after)`;
      }),
  };
}

function componentOutage(component: ComponentName, seconds: number, fraction: number): Scenario {
  const verb = component === 'postgres' ? 'restarted' : `stopped ${seconds} s`;
  const pct = Math.round(fraction * 100);
  return {
    name: `snapshot: ${component} ${verb} at ${pct}% of export`,
    injected: `${component} stopped ${Math.round(fraction * 100)}% of the way through the export (by time), started again ${seconds} s later on the same port and data`,
    expected: 'the export attempt fails and is retried once the service is back; version complete, latest, identical to an undisturbed run',
    run: (ctx) =>
      snapshotUnderFault(ctx, `${component}-export-${pct}`, async ({ handle, notLatestYet }) => {
        const point = await waitForExportPoint(ctx, handle, fraction);
        await outage(ctx, component, seconds * 1000);
        const latestOk = component === 'minio' ? await notLatestYet() : true;
        return `${component} down for ${seconds} s from ${point}${latestOk ? '' : ' (version already latest!)'}`;
      }),
  };
}

function temporalRestart(fraction: number): Scenario {
  const pct = Math.round(fraction * 100);
  return {
    name: `snapshot: Temporal dev server restarted at ${pct}% of export`,
    injected: `Temporal dev server stopped ${pct}% of the way through the export (by time) and started again 10 s later (same port, same sqlite db); worker and CLI client keep running`,
    expected: 'worker and client reconnect by themselves; the run completes; version identical to an undisturbed run',
    run: (ctx) =>
      snapshotUnderFault(ctx, `temporal-restart-${pct}`, async ({ handle }) => {
        const point = await waitForExportPoint(ctx, handle, fraction);
        await outage(ctx, 'temporal', 10_000);
        return `Temporal down for 10 s from ${point}`;
      }),
  };
}

export const snapshotFaultScenarios: Scenario[] = [
  ...FAULT_POINTS.map(killAtExportFraction),
  killAtActivity('moveLatest'),
  killAtActivity('pruneSnapshots'),
  ...FAULT_POINTS.map((f) => componentOutage('minio', 30, f)),
  ...FAULT_POINTS.map((f) => componentOutage('postgres', 3, f)),
  ...FAULT_POINTS.map(temporalRestart),
];
