import {
  defineQuery,
  defineSignal,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { causeMessage } from '../errors.js';
import type { TableProgress } from '../activities/snapshot/progress.js';
import { snapshotFailedAlert } from '../domain/alerts.js';
import type { Manifest } from '../domain/manifest.js';
import type { StoresPrunePlan } from '../domain/retention.js';
import { versionDay, versionForDate } from '../domain/version.js';
import { alertingOnFailure, currentRun } from './alerting.js';
import { exportVersion } from './snapshot-export.js';
import { SeedvaultJob, SnapshotStatus, SnapshotVersion } from './search-attributes.js';

export interface SeedSnapshotInput {
  /** Default: YYYY.MM.DD of the start (UTC), suffixed -2, -3... when that day already has one. */
  version?: string;
  /** `version` is only the caller's guess at today's free one: take the next free if it is gone. */
  versionIsGuess?: boolean;
  /** Source keys from the config; default all. */
  sources?: string[];
  pin?: boolean;
  /** Who asked: `manual`, `schedule`, ... (recorded in the manifest). */
  trigger?: string;
}

export interface SeedSnapshotResult {
  version: string;
  manifest: Manifest;
  prune: StoresPrunePlan;
}

export type SnapshotPhase = 'claiming' | 'exporting' | 'verifying' | 'mirroring' | 'publishing' | 'moving latest' | 'pruning' | 'completed' | 'failed';

export interface SnapshotProgress {
  version: string | null;
  phase: SnapshotPhase;
  tables: TableProgress[];
}

export const progressQuery = defineQuery<SnapshotProgress>('progress');
export const snapshotProgressSignal = defineSignal<[TableProgress[]]>('snapshotProgress');

/**
 * Retries are bounded (about 6 minutes for quick steps, 5 for the export): an outage
 * shorter than that is ridden out, a lasting one ends as a failed, recorded run instead
 * of retrying unseen forever. A full disk (StorageFullError) fails at once.
 */
const quick = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '2s', maximumInterval: '1 minute', maximumAttempts: 10, nonRetryableErrorTypes: ['InputError', 'IntegrityError', 'VersionTaken', 'StorageFullError'] },
});

/** Promotion and pruning heartbeat, so a worker dying inside them is noticed in 30 s. */
const promote = proxyActivities<Activities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '2s', maximumInterval: '1 minute', maximumAttempts: 10, nonRetryableErrorTypes: ['IntegrityError', 'StorageFullError'] },
});

/** Best effort after a failure: it must not hide the failure or delay it for long. */
const { discardIncomplete } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '2s', maximumAttempts: 3 },
});

const { verifyUploads } = proxyActivities<Activities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '5s', maximumInterval: '2 minutes', maximumAttempts: 6, nonRetryableErrorTypes: ['IntegrityError'] },
  summary: 'check every uploaded object against the export: size and CRC32, or sha256 read back',
});

/** A copy to the mirror takes as long as the export's upload, then the check verifyUploads makes. */
const { mirrorUploads } = proxyActivities<Activities>({
  startToCloseTimeout: '12 hours',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '5s', maximumInterval: '2 minutes', maximumAttempts: 6, nonRetryableErrorTypes: ['InputError', 'IntegrityError', 'StorageFullError'] },
  summary: 'copy every uploaded object to storage.mirror and check its size and sha256 there',
});

/**
 * The seed snapshot (seed 002): export -> verify -> (copy to the mirror and verify there)
 * -> manifest -> move latest -> prune. Every step is an idempotent activity, so a worker
 * killed anywhere resumes cleanly; a version becomes latest only once its manifest is
 * published, in the mirror too when `storage.mirror` is set. A failed run raises a
 * `snapshot_failed` alert.
 */
export async function seedSnapshot(input: SeedSnapshotInput = {}): Promise<SeedSnapshotResult> {
  const state: SnapshotProgress = { version: input.version ?? null, phase: 'claiming', tables: [] };
  return alertingOnFailure(
    () => takeSnapshot(input, state),
    (error) => snapshotFailedAlert(currentRun(), state.version, error, new Date().toISOString()),
  );
}

async function takeSnapshot(input: SeedSnapshotInput, state: SnapshotProgress): Promise<SeedSnapshotResult> {
  const info = workflowInfo();
  const report = (phase: SnapshotPhase) => {
    state.phase = phase;
    const rows = state.tables.map((t) => `${t.table}: ${t.rows.toLocaleString('en-US')} rows${t.done ? ' (done)' : ''}`);
    setCurrentDetails([`**${phase}** ${state.version ?? ''}`, ...rows].join('\n\n'));
    upsertSearchAttributes([{ key: SnapshotStatus, value: phase }]);
  };
  setHandler(progressQuery, () => state);
  // Each export activity (one per part of a split table) reports its own entries.
  setHandler(snapshotProgressSignal, (tables) => {
    for (const table of tables) {
      const at = state.tables.findIndex((t) => t.table === table.table);
      if (at < 0) state.tables.push(table);
      else state.tables[at] = table;
    }
    report(state.phase);
  });
  upsertSearchAttributes([{ key: SeedvaultJob, value: 'snapshot' }]);
  report('claiming');

  const config = await quick.snapshotSettings();
  const sources = input.sources?.length ? input.sources : config.sources;
  const version = await quick.claimVersion({
    requested: input.version,
    orNextFree: input.versionIsGuess,
    base: input.versionIsGuess && input.version ? versionDay(input.version) : versionForDate(new Date(Date.now())),
    owner: info.workflowId,
  });
  state.version = version;
  upsertSearchAttributes([{ key: SnapshotVersion, value: version }]);
  await quick.recordSnapshot({ version, status: 'in_progress', workflowId: info.workflowId, sources });

  try {
    report('exporting');
    const exported = await exportVersion(version, sources, config.parallelism ?? 2);

    report('verifying');
    await verifyUploads({ version, tables: exported.tables });

    if (config.mirror) {
      report('mirroring');
      await mirrorUploads({ version, tables: exported.tables });
    }

    report('publishing');
    const manifest: Manifest = {
      version,
      created_at: new Date(Date.now()).toISOString(),
      created_by: `seedvault seedSnapshot (${input.trigger ?? 'manual'})`,
      tables: exported.tables,
      config_snapshot: config.configSnapshot,
      compatibility: {
        min_schema_version: '2.0',
        postgres_version: exported.database.server_version.split('.')[0]!,
        schema_migration: exported.database.schema_migration,
      },
      consistency: exported.database,
      workflow: { id: info.workflowId, run_id: info.runId },
    };
    await quick.publishManifest(manifest);
    if (input.pin) await quick.setPinned({ version, pinned: true });

    report('moving latest');
    await promote.moveLatest({ version });

    report('pruning');
    const prune = await promote.pruneSnapshots({ dryRun: false });

    await quick.recordPruned({ versions: prune.delete.map((d) => d.version) });
    await quick.recordSnapshot({ version, status: 'completed', workflowId: info.workflowId, sources, manifest });
    report('completed');
    log.info('snapshot completed', { version, tables: Object.keys(manifest.tables).length });
    return { version, manifest, prune };
  } catch (err) {
    report('failed');
    const discarded = await discardIncomplete({ version }).catch(() => 0);
    if (discarded > 0) log.warn('discarded the partial upload of the failed version', { version, objects: discarded });
    await quick.recordSnapshot({
      version,
      status: 'failed',
      workflowId: info.workflowId,
      sources,
      error: causeMessage(err),
    });
    throw err;
  }
}
