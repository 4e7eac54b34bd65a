/**
 * A table over backup.split_rows exported in parts by two workers, one of them SIGKILLed:
 * either a worker exporting a part (only its parts may run again, from the same snapshot) or
 * the worker holding the database snapshot (the export starts over from a new one).
 */
import type { ChildProcess } from 'node:child_process';
import { startSnapshot } from '../../src/client/snapshot-create.js';
import { loadDemoData } from '../../src/db/demo-data.js';
import { createStorage } from '../../src/storage/index.js';
import { freshDatabase } from '../../test/support/db.js';
import { activityStarts, killHolderWorker, killPartWorker, verifyAgainstTable } from '../../test/support/split.js';
import { freshVersion, kill, scenarioEnv, spawnWorker, sqlQuery, stopWorker, waitForPollers, type ChaosContext, type Scenario } from '../support.js';

const BARS = 'usdcop_m5_ohlcv';
/** Demo data at scale 10: 887,400 bars, so about six parts of 150,000 rows. */
const SCALE = 10;
const SPLIT_ROWS = 150_000;

type Fault = 'part' | 'holder';

async function splitUnderFault(ctx: ChaosContext, fault: Fault): Promise<{ observed: string; passed: boolean; dataLost: boolean }> {
  const db = await freshDatabase(`chaos_split_${fault}`);
  const workers: ChildProcess[] = [];
  try {
    await loadDemoData(db.url, { scale: SCALE });
    await sqlQuery(db.url, `analyze ${BARS}`);
    // Two activity slots per worker and three exports at once: both workers take parts.
    const { env, config } = await scenarioEnv(`split-${fault}`, db.url, { SEEDVAULT_SPLIT_ROWS: String(SPLIT_ROWS), SEEDVAULT_MAX_ACTIVITIES: '2', SEEDVAULT_EXPORT_PARALLELISM: '3' });
    workers.push(spawnWorker(ctx, env), spawnWorker(ctx, env));
    await waitForPollers(config, 2);
    const version = freshVersion();
    const started = Date.now();
    const handle = await startSnapshot(config, { version, tables: BARS });
    const hit = fault === 'part' ? await killPartWorker(handle, workers, kill) : await killHolderWorker(handle, workers, kill);
    const manifest = (await handle.result()).manifest;
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const { starts, scheduled } = await activityStarts(handle);
    const parts = starts.filter((s) => s.activity === 'exportTablePart');
    const reruns = parts.filter((s) => s.attempt > 1).map((s) => s.activityId).sort();
    const entry = manifest.tables[BARS]!;
    const lastParts = parts.slice(-(entry.parts?.length ?? 0));
    const verified = await verifyAgainstTable(createStorage(config.storage), db.url, version, BARS, 'time');
    const equal = verified.ok && verified.tables[0]?.file_facts?.rows === entry.rows;
    const oneSnapshot = new Set(lastParts.map((p) => p.input.snapshotId)).size === 1;
    const recovered =
      fault === 'part'
        ? scheduled.holdDatabaseSnapshot === 1 && reruns.length > 0 && reruns.join() === [...hit.killed].sort().join()
        : scheduled.holdDatabaseSnapshot === 2;
    return {
      observed:
        `SIGKILL of worker ${hit.pid} while it ran ${hit.killed.length} activit${hit.killed.length === 1 ? 'y' : 'ies'}; run completed in ${seconds} s with ${entry.parts?.length ?? 0} parts of ${entry.rows.toLocaleString('en-US')} rows; ` +
        `holdDatabaseSnapshot scheduled ${scheduled.holdDatabaseSnapshot}x, exportTablePart ${scheduled.exportTablePart}x, parts run again: ${reruns.length ? reruns.join(', ') : 'none'}; ` +
        `the manifest's parts from ${oneSnapshot ? 'one database snapshot' : 'SEVERAL SNAPSHOTS'}; ` +
        (equal ? 'verify --against-db: rows, date range and content hash equal the table' : `VERIFY FAILED: ${verified.problems.join('; ')}`),
      passed: recovered && oneSnapshot && equal,
      dataLost: !equal,
    };
  } finally {
    for (const worker of workers) await stopWorker(worker);
    await db.drop();
  }
}

export const splitFaultScenarios: Scenario[] = [
  {
    name: 'split table: worker SIGKILL mid-part',
    injected: `a ${SCALE}x demo bars table (split_rows ${SPLIT_ROWS.toLocaleString('en-US')}: ~6 parts) exported by two workers; SIGKILL of a worker as soon as it runs a part while the other holds the database snapshot`,
    expected: 'exactly the parts the dead worker was running run again (attempt 2, on the other worker) from the same snapshot; the snapshot is held once; the version equals the table',
    run: (ctx) => splitUnderFault(ctx, 'part'),
  },
  {
    name: 'split table: SIGKILL of the worker holding the database snapshot',
    injected: `the same export; SIGKILL of the worker running holdDatabaseSnapshot once a part is being exported`,
    expected: 'the snapshot is lost with its holder: the export starts over from a new snapshot (holdDatabaseSnapshot scheduled twice); every part of the manifest comes from that one snapshot; the version equals the table',
    run: (ctx) => splitUnderFault(ctx, 'holder'),
  },
];
