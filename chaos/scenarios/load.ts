/** Load: 20 demo-scale snapshots back to back, prune running after each; throughput and worker memory. */
import { startSnapshot } from '../../src/client/snapshot-create.js';
import { loadDemoData } from '../../src/db/demo-data.js';
import { createStorage } from '../../src/storage/index.js';
import { listVersions, readLatestVersion } from '../../src/storage/seed-catalog.js';
import { freshDatabase } from '../../test/support/db.js';
import { freshVersion, readManifest, rssMiB, scenarioEnv, spawnWorker, stopWorker, type Scenario } from '../support.js';

const RUNS = 20;

export const loadScenario: Scenario = {
  name: 'load: 20 snapshots back to back with prune',
  injected: `${RUNS} snapshots of a scale-1 demo database (99.5k rows) one after the other on one worker process; retention_count 4, so every run also prunes`,
  expected: `all ${RUNS} complete; exactly 4 complete versions left, the last one latest; worker RSS flat (growth from run 5 to run ${RUNS} under 64 MiB)`,
  async run(ctx) {
    const db = await freshDatabase('chaos_load');
    await loadDemoData(db.url, { scale: 1 });
    const { env, config } = await scenarioEnv('load', db.url);
    const worker = spawnWorker(ctx, env);
    const rss: number[] = [];
    const started = Date.now();
    let last = '';
    let rows = 0;
    try {
      for (let i = 0; i < RUNS; i += 1) {
        last = freshVersion();
        const result = await (await startSnapshot(config, { version: last })).result();
        rows += Object.values(result.manifest.tables).reduce((sum, t) => sum + t.rows, 0);
        rss.push(rssMiB(worker.pid!, 'VmRSS'));
      }
      const seconds = (Date.now() - started) / 1000;
      const peak = rssMiB(worker.pid!, 'VmHWM');
      const storage = createStorage(config.storage);
      const versions = (await listVersions(storage)).map((v) => v.version);
      const complete: string[] = [];
      for (const v of versions) if (await readManifest(config, v)) complete.push(v);
      const latest = await readLatestVersion(storage);
      const growth = rss[RUNS - 1]! - rss[4]!;
      const passed = complete.length === config.backup.retention_count && latest === last && growth < 64;
      return {
        observed:
          `${RUNS} snapshots in ${seconds.toFixed(0)} s (${((RUNS / seconds) * 60).toFixed(1)} per minute${rows ? `, ${Math.round(rows / seconds).toLocaleString('en-US')} rows/s` : ''}); ` +
          `${complete.length} complete versions left (${versions.length} version folders), latest ${latest === last ? 'is the last run' : `is ${latest}, NOT the last run`}; ` +
          `worker RSS after runs 1/5/10/20: ${[0, 4, 9, RUNS - 1].map((i) => rss[i]!.toFixed(0)).join('/')} MiB, peak ${peak.toFixed(0)} MiB`,
        passed,
        dataLost: latest !== last,
      };
    } finally {
      await stopWorker(worker);
      await db.drop().catch(() => {});
    }
  },
};
