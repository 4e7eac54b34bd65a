/**
 * The export step of a seed snapshot. Tables up to backup.split_rows rows are exported by one
 * exportTables activity, as always. Bigger tables fan out: holdDatabaseSnapshot opens the
 * snapshot, plans key ranges in it and holds it open; every range (and every small table) is
 * its own activity, on whichever worker takes it, joined to that snapshot, at most
 * backup.parallelism at once. A worker dying mid-part reruns that part only; losing the
 * holder loses the snapshot, and the whole export starts over from a new one.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  defineSignal,
  log,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { ExportTablesResult } from '../activities/snapshot/export.js';
import type { ExportedPart, HeldSnapshot } from '../activities/snapshot/split.js';
import { mapWithConcurrency } from '../domain/concurrency.js';
import { exportTaskQueue } from '../domain/export-slots.js';
import type { ManifestTable } from '../domain/manifest.js';
import { SNAPSHOT_HELD_SIGNAL, SNAPSHOT_LOST } from '../domain/split.js';

export const snapshotHeldSignal = defineSignal<[HeldSnapshot]>(SNAPSHOT_HELD_SIGNAL);

/** Exports can take hours at 100x scale; the heartbeat timeout is what notices a dead worker. */
const EXPORT_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '12 hours',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '5s', maximumInterval: '2 minutes', maximumAttempts: 6, nonRetryableErrorTypes: ['InputError', 'StorageFullError', SNAPSHOT_LOST] },
  // A part of an abandoned attempt must have stopped before the next attempt writes the same object.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  summary: 'export tables from one database snapshot and upload them',
};

/** On the exports' own task queue (src/domain/export-slots.ts), but where a run replayed from before it had them. */
function exportActivities() {
  const onTheirQueue = patched('export-task-queue');
  return proxyActivities<Activities>(onTheirQueue ? { ...EXPORT_OPTIONS, taskQueue: exportTaskQueue(workflowInfo().taskQueue) } : EXPORT_OPTIONS);
}

/** Never retried by Temporal: a new holder is a new snapshot, which only a new export attempt may use. */
const { holdDatabaseSnapshot } = proxyActivities<Activities>({
  startToCloseTimeout: '12 hours',
  heartbeatTimeout: '30 seconds',
  retry: { maximumAttempts: 1 },
  summary: 'hold the export database snapshot open while the parts are exported',
});

const quick = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '2s', maximumInterval: '1 minute', maximumAttempts: 10, nonRetryableErrorTypes: ['InputError', 'IntegrityError'] },
});

/** Attempts at a split export, each from a new database snapshot. */
const SNAPSHOT_ATTEMPTS = 3;

export async function exportVersion(version: string, sources: string[], parallelism: number): Promise<ExportTablesResult> {
  const { exportTables, exportTablePart } = exportActivities();
  if (!patched('split-big-tables')) return exportTables({ version, sources });
  const split = await quick.tablesToSplit({ sources });
  if (split.length === 0) return exportTables({ version, sources });
  let held: HeldSnapshot | null = null;
  let round = 0;
  setHandler(snapshotHeldSignal, (snapshot) => {
    if (snapshot.round === round) held = snapshot;
  });
  for (;;) {
    round++;
    held = null;
    try {
      return await exportFromHeldSnapshot({ version, sources, split, round, parallelism, held: () => held, exportTables, exportTablePart });
    } catch (err) {
      if (round >= SNAPSHOT_ATTEMPTS || !snapshotLost(err)) throw err;
      log.warn('the export database snapshot was lost; exporting again from a new one', { version, round });
    }
  }
}

interface Round {
  version: string;
  sources: string[];
  split: string[];
  round: number;
  parallelism: number;
  held: () => HeldSnapshot | null;
  exportTables: Activities['exportTables'];
  exportTablePart: Activities['exportTablePart'];
}

type Job = { source: string } | { source: string; index: number; count: number; range: HeldSnapshot['split'][string]['ranges'][number] };

async function exportFromHeldSnapshot({ version, sources, split, round, parallelism, held, exportTables, exportTablePart }: Round): Promise<ExportTablesResult> {
  const scope = new CancellationScope();
  const started: Promise<unknown>[] = [];
  let holderEnd: { error: unknown } | null = null;
  const holding = scope.run(() => holdDatabaseSnapshot({ round, split }));
  holding.then(
    () => (holderEnd = { error: null }),
    (error: unknown) => (holderEnd = { error }),
  );
  try {
    await condition(() => held() !== null || holderEnd !== null);
    const snapshot = held();
    if (!snapshot) throw holderLost(holderEnd!.error);
    const jobs: Job[] = sources.flatMap((source): Job[] => {
      const ranges = snapshot.split[source]?.ranges;
      return ranges ? ranges.map((range, index) => ({ source, index, count: ranges.length, range })) : [{ source }];
    });
    const exporting = mapWithConcurrency(jobs, parallelism, (job) => {
      const run = scope.run((): Promise<ExportTablesResult | ExportedPart> =>
        'index' in job
          ? exportTablePart({ version, source: job.source, snapshotId: snapshot.snapshotId, index: job.index, count: job.count, range: job.range })
          : exportTables({ version, sources: [job.source], snapshotId: snapshot.snapshotId }),
      );
      started.push(run);
      return run;
    });
    const lost = condition(() => holderEnd !== null).then(() => {
      throw holderLost(holderEnd!.error);
    });
    lost.catch(() => {}); // once the exports are done, the holder's end is expected
    const results = await Promise.race([exporting, lost]);
    const tables: Record<string, ManifestTable> = {};
    for (const source of sources) {
      const entry = snapshot.split[source];
      if (entry) {
        const parts = jobs.flatMap((job, i) => (job.source === source ? [results[i] as ExportedPart] : []));
        const assembled = await quick.assembleSplitTable({ source, keyColumns: entry.keyColumns, parts });
        tables[assembled.table] = assembled.entry;
      } else {
        Object.assign(tables, (results[jobs.findIndex((job) => job.source === source)] as ExportTablesResult).tables);
      }
    }
    return { database: snapshot.database, tables };
  } finally {
    // Ends the holder (whose snapshot is no longer needed) and, after a failure, every export still running.
    scope.cancel();
    await Promise.allSettled(started);
  }
}

function holderLost(error: unknown): unknown {
  return error ?? ApplicationFailure.nonRetryable('the database snapshot holder ended', SNAPSHOT_LOST);
}

/**
 * A failure that a new database snapshot may cure: a part found the snapshot gone, or the
 * holder failed in any way but bad input (it died, or lost its connection while planning).
 */
function snapshotLost(err: unknown): boolean {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure && cause.type === SNAPSHOT_LOST) return true;
  return err instanceof ActivityFailure && err.activityType === 'holdDatabaseSnapshot' && !(cause instanceof ApplicationFailure && cause.nonRetryable);
}
