/** Faults during a snapshot of the scale-10 source database, compared with the undisturbed run. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import { startSnapshot } from '../../src/client/snapshot-create.js';
import type { ComponentName, CrashKind } from '../../src/stack/index.js';
import { createStorage } from '../../src/storage/index.js';
import { readLatestVersion } from '../../src/storage/seed-catalog.js';
import type { seedSnapshot, SeedSnapshotResult } from '../../src/workflows/snapshot.js';
import {
  bouncePostgres,
  checkVersion,
  FAULT_POINTS,
  freshVersion,
  kill,
  outage,
  retriedActivities,
  retryEvidence,
  scenarioEnv,
  spanEvidence,
  spawnWorker,
  stopWorker,
  waitForActivityRunning,
  waitForExportPoint,
  type ChaosContext,
  type Evidence,
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

/** What a scenario's injection did, and how to tell from the finished run that it hit. */
interface Injected {
  what: string;
  evidence(): Promise<Evidence>;
}

/**
 * One snapshot run with a fault injected by `inject` once the run is far enough; right after
 * the fault the version must not be latest unless complete, and at the end it must be
 * latest, pass sha256sum -c, and equal the undisturbed run; the fault must have hit.
 */
async function snapshotUnderFault(
  ctx: ChaosContext,
  name: string,
  inject: (h: { handle: WorkflowHandle<typeof seedSnapshot>; respawn(): Promise<void> }) => Promise<Injected>,
): Promise<{ observed: string; passed: boolean; dataLost: boolean }> {
  const { env, config } = await scenarioEnv(name, ctx.sourceDb);
  let worker = spawnWorker(ctx, env);
  const version = freshVersion();
  const started = Date.now();
  try {
    const handle = await startSnapshot(config, { version });
    const injected = await inject({
      handle,
      respawn: async () => {
        await kill(worker);
        worker = spawnWorker(ctx, env);
      },
    });
    // Made latest while incomplete is data lost: a restore of `latest` would read a partial version.
    const latestNow = (await readLatestVersion(createStorage(config.storage)).catch(() => null)) === version;
    const incompleteLatest = latestNow ? await checkVersion(ctx, config, version) : [];
    const result = await resultSurvivingServer(handle);
    const problems = await checkVersion(ctx, config, version);
    const retried = await retriedActivities(handle);
    const evidence = await injected.evidence();
    const seconds = ((Date.now() - started) / 1000).toFixed(0);
    return {
      observed:
        `${injected.what}; ${evidence.text}; run completed in ${seconds} s` +
        (retried.length ? ` (retried: ${[...new Set(retried)].join(', ')})` : ' (no activity retried)') +
        (problems.length ? `; PROBLEMS: ${problems.join('; ')}` : '; version latest, sha256sum -c OK, manifest equal to the undisturbed run') +
        (incompleteLatest.length ? `; MADE LATEST WHILE INCOMPLETE (right after the fault: ${incompleteLatest.join('; ')})` : latestNow ? '; latest right after the fault, and complete then' : ''),
      passed: result.version === version && problems.length === 0 && incompleteLatest.length === 0 && evidence.hit,
      dataLost: incompleteLatest.length > 0 || problems.some((p) => /manifest|sha256sum|no manifest/.test(p)),
    };
  } finally {
    await stopWorker(worker);
  }
}

function killAtExportFraction(fraction: number): Scenario {
  const pct = Math.round(fraction * 100);
  return {
    name: `snapshot: worker SIGKILL at ${pct}% of export`,
    injected: `SIGKILL of the worker process once the export's COPY of usdcop_m5_ohlcv has sent ${pct}% of its rows (pg_stat_progress_copy); new worker started`,
    expected: 'export retried from a new database snapshot after the 20 s heartbeat timeout; version complete, latest, identical to an undisturbed run',
    run: (ctx) =>
      snapshotUnderFault(ctx, `kill-export-${pct}`, async ({ handle, respawn }) => {
        const point = await waitForExportPoint(ctx, handle, fraction);
        await respawn();
        return { what: `killed at ${point}`, evidence: () => retryEvidence(handle, 'exportTables') };
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
        return {
          what: state === 'running' ? `killed while ${activity} was running` : `${activity} finished before the poll saw it running (killed right after)`,
          evidence: () => retryEvidence(handle, activity),
        };
      }),
  };
}

function componentOutage(component: ComponentName, seconds: number, fraction: number): Scenario {
  const verb = component === 'postgres' ? 'restarted' : `stopped ${seconds} s`;
  const pct = Math.round(fraction * 100);
  return {
    name: `snapshot: ${component} ${verb} at ${pct}% of export`,
    injected: `${component} stopped ${Math.round(fraction * 100)}% of the way through the export (by usdcop_m5_ohlcv rows its COPY has sent), started again ${seconds} s later on the same port and data`,
    expected: 'the export attempt fails and is retried once the service is back; version complete, latest, identical to an undisturbed run',
    run: (ctx) =>
      snapshotUnderFault(ctx, `${component}-export-${pct}`, async ({ handle }) => {
        const point = await waitForExportPoint(ctx, handle, fraction);
        await outage(ctx, component, seconds * 1000);
        return { what: `${component} down for ${seconds} s from ${point}`, evidence: () => retryEvidence(handle, 'exportTables') };
      }),
  };
}

function postgresCrash(kind: CrashKind, fraction: number): Scenario {
  const pct = Math.round(fraction * 100);
  const how = kind === 'immediate' ? '`pg_ctl stop -m immediate`' : 'SIGKILL of the postmaster';
  return {
    name: `snapshot: PostgreSQL crashed (${kind}) at ${pct}% of export`,
    injected: `PostgreSQL crashed by ${how} ${pct}% of the way through the export (by usdcop_m5_ohlcv rows its COPY has sent), started again at once (crash recovery)`,
    expected: 'the export attempt fails and is retried from a new database snapshot once PostgreSQL has recovered; version complete, latest, identical to an undisturbed run',
    run: (ctx) =>
      snapshotUnderFault(ctx, `pg-crash-${kind}-${pct}`, async ({ handle }) => {
        const point = await waitForExportPoint(ctx, handle, fraction);
        const away = await bouncePostgres(ctx, kind);
        return { what: `crashed at ${point}, back after ${away.toFixed(1)} s of crash recovery`, evidence: () => retryEvidence(handle, 'exportTables') };
      }),
  };
}

function temporalRestart(fraction: number): Scenario {
  const pct = Math.round(fraction * 100);
  return {
    name: `snapshot: Temporal dev server restarted at ${pct}% of export`,
    injected: `Temporal dev server stopped ${pct}% of the way through the export (by usdcop_m5_ohlcv rows its COPY has sent) and started again 10 s later (same port, same sqlite db); worker and CLI client keep running`,
    expected:
      'worker and client reconnect by themselves; exportTables, running at the restart, completes after it (or is retried); the run completes; version identical to an undisturbed run',
    run: (ctx) =>
      snapshotUnderFault(ctx, `temporal-restart-${pct}`, async ({ handle }) => {
        const point = await waitForExportPoint(ctx, handle, fraction);
        const fault = { from: Date.now(), to: 0 };
        await outage(ctx, 'temporal', 10_000);
        fault.to = Date.now();
        // Running across the restart, or retried because of it (the history then only shows the last attempt's start).
        const evidence = async () => {
          const retried = await retryEvidence(handle, 'exportTables');
          return retried.hit ? retried : spanEvidence(handle, 'exportTables', fault);
        };
        return { what: `Temporal down for 10 s from ${point}`, evidence };
      }),
  };
}

export const snapshotFaultScenarios: Scenario[] = [
  ...FAULT_POINTS.map(killAtExportFraction),
  killAtActivity('moveLatest'),
  killAtActivity('pruneSnapshots'),
  ...FAULT_POINTS.map((f) => componentOutage('minio', 30, f)),
  ...FAULT_POINTS.map((f) => componentOutage('postgres', 3, f)),
  postgresCrash('immediate', 0.5),
  postgresCrash('sigkill', 0.5),
  ...FAULT_POINTS.map(temporalRestart),
];
