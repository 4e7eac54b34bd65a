/** Racing triggers of the same snapshot, and a local storage backend that runs out of space. */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { startSnapshot } from '../../src/client/snapshot-create.js';
import { rootCauseMessage } from '../../src/errors.js';
import { createStorage } from '../../src/storage/index.js';
import { listVersions, readLatestVersion } from '../../src/storage/seed-catalog.js';
import { connectClient } from '../../src/temporal/connection.js';
import { cli, freshVersion, readManifest, scenarioEnv, spawnWorker, stopWorker, type Scenario } from '../support.js';

const exec = promisify(execFile);

const raceScenario: Scenario = {
  name: 'snapshot: two manual snapshots and the schedule at once',
  injected: 'two `seedvault snapshot create` (no --version: both want today) and `seedvault schedule trigger seed-snapshot-weekly` started in the same instant, one worker',
  expected:
    'the three runs overlap in time (each starts before any ends); each version is written by exactly one run: one completed workflow and one complete manifest per version, none written twice',
  async run(ctx) {
    const { env, config } = await scenarioEnv('race', ctx.sourceDb);
    const worker = spawnWorker(ctx, env);
    const client = await connectClient(config);
    try {
      const applied = await cli(['schedule', 'apply'], env);
      if (applied.code !== 0) return { observed: `schedule apply failed: ${applied.stderr.trim()}`, passed: false, dataLost: false };
      const starts = await Promise.all([
        cli(['snapshot', 'create', '--json'], env),
        cli(['snapshot', 'create', '--json'], env),
        cli(['schedule', 'trigger', 'seed-snapshot-weekly'], env),
      ]);
      const bad = starts.filter((s) => s.code !== 0);
      // Wait for every run on this task queue to finish.
      const deadline = Date.now() + 420_000;
      let runs: { id: string; status: string; version: string | null; start: number; close: number }[] = [];
      for (;;) {
        runs = [];
        for await (const w of client.workflow.list({ query: `TaskQueue = "${config.temporal.task_queue}"` })) {
          const v = w.searchAttributes?.SnapshotVersion as unknown;
          runs.push({
            id: w.workflowId,
            status: w.status.name,
            version: Array.isArray(v) ? String(v[0]) : typeof v === 'string' ? v : null,
            start: w.startTime.getTime(),
            close: w.closeTime?.getTime() ?? Infinity,
          });
        }
        if (runs.length >= 3 && runs.every((r) => r.status !== 'RUNNING')) break;
        if (Date.now() > deadline) break;
        await sleep(2000);
      }
      const storage = createStorage(config.storage);
      const versions = (await listVersions(storage)).map((v) => v.version);
      const complete: string[] = [];
      for (const v of versions) if (await readManifest(config, v)) complete.push(v);
      const perVersion = new Map<string, string[]>();
      for (const r of runs.filter((r) => r.status === 'COMPLETED' && r.version)) perVersion.set(r.version!, [...(perVersion.get(r.version!) ?? []), r.id]);
      const twice = [...perVersion].filter(([, ids]) => ids.length > 1);
      const orphan = complete.filter((v) => !perVersion.has(v));
      // The race happened only if every run started before any of them ended.
      const overlap = Math.min(...runs.map((r) => r.close)) - Math.max(...runs.map((r) => r.start));
      const raced = runs.length === 3 && overlap > 0;
      const passed = raced && bad.length === 0 && twice.length === 0 && orphan.length === 0 && complete.length >= 1 && runs.every((r) => r.status !== 'RUNNING');
      const summary = runs.map((r) => `${r.id}=${r.status}${r.version ? `(${r.version})` : ''}`).join(', ');
      return {
        observed:
          `${runs.length} runs: ${summary}; ` +
          (raced ? `all three ran at once for ${(overlap / 1000).toFixed(1)} s` : 'NO RACE: the runs did not all run at once') +
          `; complete versions: ${complete.join(', ') || 'none'}` +
          (twice.length ? `; WRITTEN TWICE: ${twice.map(([v]) => v).join(', ')}` : '; every version written by one run') +
          (bad.length ? `; CLI failures: ${bad.map((b) => b.stderr.trim()).join(' / ')}` : ''),
        passed,
        dataLost: twice.length > 0,
      };
    } finally {
      for (const id of ['seed-snapshot-weekly', 'backfill-daily']) await client.schedule.getHandle(id).delete().catch(() => {});
      for await (const s of client.schedule.list()) if (s.scheduleId.startsWith('file-backup-')) await client.schedule.getHandle(s.scheduleId).delete().catch(() => {});
      await stopWorker(worker);
      await client.connection.close();
    }
  },
};

const diskFullScenario: Scenario = {
  name: 'snapshot: local storage disk full',
  injected: 'storage.type local on a 4 MiB tmpfs (room for a trades-only version and its latest copy; the full scale-30 snapshot needs ~50 MiB); a version already latest there',
  expected: 'the run fails within seconds with a clear "no space" error (a full disk is not retried); the failed version is not made latest and its partial files are deleted; the earlier latest stays intact',
  async run(ctx) {
    const dir = join(ctx.workDir, 'tmpfs');
    mkdirSync(dir, { recursive: true });
    await exec('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', dir]);
    try {
      const { env, config } = await scenarioEnv('diskfull', ctx.sourceDb, { SEEDVAULT_STORAGE_TYPE: 'local', SEEDVAULT_LOCAL_SEEDS: dir });
      const worker = spawnWorker(ctx, env);
      const version = freshVersion();
      try {
        // A small earlier version (trades only) that must stay latest.
        const first = freshVersion();
        const firstRun = await startSnapshot(config, { version: first, tables: 'trades_history' });
        const firstOutcome = await Promise.race([firstRun.result().then(() => 'ok', (e: Error) => `failed: ${e.message}`), sleep(90_000).then(() => 'still running after 90 s')]);
        if (firstOutcome !== 'ok') {
          await firstRun.terminate('chaos: the small version did not fit').catch(() => {});
          return { observed: `the small trades-only version did not complete on the tmpfs: ${firstOutcome}`, passed: false, dataLost: false };
        }
        const storage = createStorage(config.storage);
        const latestBefore = await readLatestVersion(storage);
        const handle = await startSnapshot(config, { version });
        const started = Date.now();
        const outcome = await Promise.race([
          handle.result().then(
            () => 'completed',
            (e: Error) => `failed: ${rootCauseMessage(e).split('\n')[0]!.slice(0, 220)}`,
          ),
          sleep(150_000).then(() => 'still running after 150 s'),
        ]);
        let pending = '';
        if (outcome.startsWith('still')) {
          const d = await handle.describe();
          const p = d.raw.pendingActivities?.[0];
          pending = p ? `; pending ${p.activityType?.name} attempt ${p.attempt}: ${p.lastFailure?.message?.slice(0, 160) ?? ''}` : '';
          await handle.terminate('chaos: disk-full scenario gave up');
        }
        const seconds = (Date.now() - started) / 1000;
        const latestAfter = await readLatestVersion(storage);
        const manifest = await readManifest(config, version);
        const clear = /ENOSPC|no space|space left/i.test(outcome + pending);
        const leftInVersion = existsSync(join(dir, `v${version}`)) ? readdirSync(join(dir, `v${version}`)) : [];
        const passed = outcome.startsWith('failed') && clear && latestAfter === latestBefore && !manifest && seconds < 60 && leftInVersion.join() === '.reserved';
        return {
          observed:
            `run ${outcome} after ${seconds.toFixed(0)} s${pending}; left in v${version}/: ${leftInVersion.join(', ') || 'nothing'}; latest ${latestAfter === latestBefore ? `stayed ${latestAfter}` : `CHANGED to ${latestAfter}`}; ` +
            `${manifest ? 'a manifest was written' : 'no manifest for the failed version'}; left on disk: ${readdirSync(dir).join(', ')}`,
          passed,
          dataLost: latestAfter !== latestBefore || !!manifest,
        };
      } finally {
        await stopWorker(worker);
      }
    } finally {
      await exec('umount', ['-l', dir]).catch(() => {});
    }
  },
};

export const concurrencyDiskScenarios: Scenario[] = [raceScenario, diskFullScenario];
