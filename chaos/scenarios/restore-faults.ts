/** Faults during a restore of the undisturbed scale-10 snapshot into an empty database. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import { restoreInput, startRestore } from '../../src/client/restore-run.js';
import { restoreProgressQuery, type seedRestore } from '../../src/workflows/restore.js';
import { freshDatabase } from '../../test/support/db.js';
import { tableDigests } from '../../test/support/restore.js';
import { testConfig, uniqueName } from '../../test/support/stack.js';
import { diff, FAULT_POINTS, kill, outage, retriedActivities, spawnWorker, stopWorker, waitForActivityRunning, type ChaosContext, type Scenario } from '../support.js';

async function restoreUnderFault(
  ctx: ChaosContext,
  name: string,
  inject: (h: { handle: WorkflowHandle<typeof seedRestore>; respawn(): Promise<void> }) => Promise<string>,
): Promise<{ observed: string; passed: boolean; dataLost: boolean }> {
  const db = await freshDatabase(`chaos_${name}`);
  const env = { DATABASE_URL: db.url, S3_BUCKET: ctx.baseBucket, SEEDVAULT_TASK_QUEUE: uniqueName(`chaos-${name}`) };
  const config = testConfig(env);
  let worker = spawnWorker(ctx, env);
  const started = Date.now();
  try {
    const handle = await startRestore(config, restoreInput(config, { version: ctx.baseVersion, source: 'minio' }));
    const what = await inject({
      handle,
      respawn: async () => {
        await kill(worker);
        worker = spawnWorker(ctx, env);
      },
    });
    let error: string | null = null;
    for (;;) {
      try {
        await handle.result();
        break;
      } catch (err) {
        if ((err as Error).name === 'WorkflowFailedError' || Date.now() - started > 600_000) {
          error = ((err as Error).cause as Error | undefined)?.message ?? (err as Error).message;
          break;
        }
        await sleep(1000);
      }
    }
    const digests = await tableDigests(db.url);
    const differences = diff(digests, ctx.sourceDigests);
    const retried = [...new Set(await retriedActivities(handle))];
    const seconds = ((Date.now() - started) / 1000).toFixed(0);
    return {
      observed:
        `${what}; ` +
        (error ? `run FAILED after ${seconds} s: ${error.slice(0, 200)}` : `run completed in ${seconds} s`) +
        (retried.length ? ` (retried: ${retried.join(', ')})` : ' (no activity retried)') +
        (differences.length ? `; tables differ from the source: ${differences.join('; ')}` : '; all 3 tables equal to the source (count + content hash)'),
      passed: !error && differences.length === 0,
      dataLost: !error && differences.length > 0,
    };
  } finally {
    await stopWorker(worker);
    await db.drop().catch(() => {});
  }
}

function killDuringLoad(fraction: number): Scenario {
  const pct = Math.round(fraction * 100);
  return {
    name: `restore: worker SIGKILL at ${pct}% of the load`,
    injected: `SIGKILL of the worker ${pct}% of the undisturbed usdcop_m5_ohlcv stageTable time (download + load + validate) after it starts; new worker started`,
    expected: 'stageTable retried into the same staging table after the 20 s heartbeat timeout; live tables equal to the source',
    run: (ctx) =>
      restoreUnderFault(ctx, `kill_load_${pct}`, async ({ handle, respawn }) => {
        await waitForActivityRunning(handle, 'stageTable');
        await sleep(Math.round(fraction * ctx.restoreStageMs));
        const p = await handle.query(restoreProgressQuery).catch(() => null);
        const loaded = p?.tables.reduce((s, t) => s + t.rows, 0) ?? 0;
        await respawn();
        return `killed ${((fraction * ctx.restoreStageMs) / 1000).toFixed(1)} s into stageTable (progress query: ${loaded} rows loaded)`;
      }),
  };
}

const minioDuringDownload: Scenario = {
  name: 'restore: MinIO stopped 30 s during download',
  injected: 'MinIO stopped as soon as stageTable started (the download), started again 30 s later',
  expected: 'with --source minio there is no fallback, so stageTable waits the outage out (8 attempts, 2 s to 1 min apart) and is retried once MinIO is back; live tables equal to the source',
  run: (ctx) =>
    restoreUnderFault(ctx, 'minio_download', async ({ handle }) => {
      await waitForActivityRunning(handle, 'stageTable');
      await outage(ctx, 'minio', 30_000);
      return 'MinIO down for 30 s from the first stageTable';
    }),
};

const postgresDuringSwap: Scenario = {
  name: 'restore: PostgreSQL restarted during swap',
  injected: 'PostgreSQL stopped (fast shutdown) as soon as commitRestore shows as running (describe, polled every 10 ms), started again 3 s later',
  expected: 'the swap transaction is rolled back or committed whole; commitRestore retried; live tables equal to the source',
  run: (ctx) =>
    restoreUnderFault(ctx, 'pg_swap', async ({ handle }) => {
      const state = await waitForActivityRunning(handle, 'commitRestore', 300_000);
      await outage(ctx, 'postgres', 3000);
      return `PostgreSQL restarted ${state === 'running' ? 'while commitRestore was running' : 'just after commitRestore finished (missed the window)'}`;
    }),
};

export const restoreFaultScenarios: Scenario[] = [...FAULT_POINTS.map(killDuringLoad), minioDuringDownload, postgresDuringSwap];
