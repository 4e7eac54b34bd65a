import {
  ActivityFailure,
  ApplicationFailure,
  defineQuery,
  defineSignal,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { causeMessage } from '../errors.js';
import type { TableProgress } from '../activities/snapshot/progress.js';
import type { RestoreTableSettings } from '../activities/restore/settings.js';
import { restoreFailedAlert } from '../domain/alerts.js';
import { describeCandidate, restoreChain, STAGING_CHANGED, type Candidate, type RestoreMode, type RestoreSource, type TableOutcome } from '../domain/restore.js';
import { alertingOnFailure, currentRun } from './alerting.js';
import { RestoreStatus, SeedvaultJob, SnapshotVersion } from './search-attributes.js';

export interface SeedRestoreInput {
  source?: RestoreSource;
  /** `latest` (default) or YYYY.MM.DD[-suffix]. */
  version?: string;
  /** Folder for the local source (default storage.local_path). */
  path?: string;
  /** Source keys from the config; default all. */
  sources?: string[];
  mode?: RestoreMode;
  /**
   * Seed 002's last fallback, for a first deployment: a required table no source can give
   * is left empty with a warning (the catch-up backfill fills it) instead of failing the run.
   */
  allowEmpty?: boolean;
}

export interface SeedRestoreResult {
  mode: RestoreMode;
  tables: TableOutcome[];
  warnings: string[];
}

export type RestorePhase = 'planning' | 'loading' | 'swapping' | 'completed' | 'failed';

export interface RestoreProgress {
  phase: RestorePhase;
  /** The table and source being loaded. */
  current: string | null;
  tables: TableProgress[];
}

export const restoreProgressQuery = defineQuery<RestoreProgress>('progress');
export const restoreProgressSignal = defineSignal<[TableProgress[]]>('restoreProgress');

const quick = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '2s', maximumInterval: '1 minute', nonRetryableErrorTypes: ['InputError', 'IntegrityError'] },
});

/**
 * A source that stays unreachable for three attempts (~6 s) gives way to the next one;
 * the last source of the chain has nothing to give way to, so it waits out an outage of
 * a few minutes (8 attempts, ~4 min) before the table counts as failed.
 */
const STAGE_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '6 hours',
  retry: { initialInterval: '2s', maximumInterval: '30s', maximumAttempts: 3, nonRetryableErrorTypes: ['InputError', 'IntegrityError'] },
};
const LAST_SOURCE_RETRY = { ...STAGE_OPTIONS.retry, maximumInterval: '1 minute', maximumAttempts: 8 };

/** A PostgreSQL crash during the swap rolls it back; the retries outlast a restart. */
const COMMIT_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '6 hours',
  retry: { initialInterval: '2s', maximumInterval: '1 minute', maximumAttempts: 8, nonRetryableErrorTypes: ['InputError', 'IntegrityError', STAGING_CHANGED] },
};

/**
 * Restores tables from the newest good snapshot through the fallback chain (seed 002),
 * validating each source in a staging table and swapping all tables in at once, so a
 * failure leaves every live table as it was. A required table no source can give fails
 * the run naming every source tried; an optional one is left empty with a warning. A
 * failed run raises a `restore_failed` alert.
 */
export async function seedRestore(input: SeedRestoreInput = {}): Promise<SeedRestoreResult> {
  return alertingOnFailure(() => restore(input), (error) => restoreFailedAlert(currentRun(), error, new Date().toISOString()));
}

async function restore(input: SeedRestoreInput): Promise<SeedRestoreResult> {
  const mode = input.mode ?? 'replace';
  const version = input.version ?? 'latest';
  const state: RestoreProgress = { phase: 'planning', current: null, tables: [] };
  const report = (phase: RestorePhase) => {
    state.phase = phase;
    const rows = state.tables.map((t) => `${t.table}: ${t.rows.toLocaleString('en-US')}${t.done ? ' rows (validated)' : ''}`);
    setCurrentDetails([`**${phase}** ${state.current ?? ''}`, ...rows].join('\n\n'));
    upsertSearchAttributes([{ key: RestoreStatus, value: phase }]);
  };
  setHandler(restoreProgressQuery, () => state);
  setHandler(restoreProgressSignal, (tables) => {
    for (const t of tables) state.tables = [...state.tables.filter((s) => s.table !== t.table), t];
    report(state.phase);
  });
  upsertSearchAttributes([{ key: SeedvaultJob, value: 'restore' }]);
  report('planning');

  const settings = await quick.restoreSettings({ sources: input.sources });
  const heartbeatTimeout = `${settings.heartbeatTimeoutSeconds} seconds`;
  const outcomes: TableOutcome[] = [];
  /** Per staged table: the chain from the source that gave it (pinned to the version loaded), and whether it is a twin. */
  const staged = new Map<string, { chain: Candidate[]; twin: boolean }>();

  /** Walks `chain` until a source stages the table; records every rejection in the outcome. */
  const stageFromChain = async (table: RestoreTableSettings, chain: Candidate[], outcome: TableOutcome): Promise<void> => {
    for (const [i, candidate] of chain.entries()) {
      state.current = `${table.table} from ${describeCandidate(candidate)}`;
      report('loading');
      try {
        const result = await stage(table.key, table.table, candidate, mode, i === chain.length - 1, heartbeatTimeout);
        Object.assign(outcome, { status: 'restored', source: candidate.label, location: result.location, version: result.version, rowsLoaded: result.rows, dateRange: result.dateRange, stageSeconds: result.seconds, loadConnections: result.loadConnections });
        staged.set(table.table, { chain: chain.slice(i).map((c, j) => (j === 0 ? pinned(c, result.version) : c)), twin: result.twin });
        if (result.version) upsertSearchAttributes([{ key: SnapshotVersion, value: result.version }]);
        return;
      } catch (err) {
        outcome.rejected.push({ source: describeCandidate(candidate), reason: causeMessage(err) });
      }
    }
    const tried = outcome.rejected.map((r) => `${r.source}: ${r.reason}`).join('; ') || 'no source configured';
    Object.assign(outcome, { status: 'failed', message: `no source could restore ${table.table} (${tried})` });
    if (!table.required || input.allowEmpty) {
      const what = table.required ? 'required table left empty (--allow-empty)' : 'optional table left without restored data';
      Object.assign(outcome, { status: 'empty', message: `${what}: ${outcome.message}` });
    }
  };

  try {
    report('loading');
    for (const table of settings.tables) {
      const outcome: TableOutcome = {
        table: table.table, status: 'failed', required: table.required, source: null, location: null, version: null,
        rowsLoaded: 0, rowsAfter: null, dateRange: null, stageSeconds: null, rejected: [], message: null,
      };
      outcomes.push(outcome);
      if (mode === 'if-empty' && table.hasRows) {
        Object.assign(outcome, { status: 'skipped', message: 'the table already holds rows (if-empty)' });
        continue;
      }
      await stageFromChain(table, restoreChain(input.source ?? 'auto', version, { ...settings, path: input.path, fallback: table.fallback }), outcome);
    }

    for (let round = 0; ; round += 1) {
      const failed = outcomes.filter((o) => o.status === 'failed');
      state.current = null;
      report('swapping');
      // A missing required table means nothing is applied: the staged ones are dropped, unswapped.
      const toCommit = failed.length === 0 ? outcomes : outcomes.map((o) => (o.status === 'restored' ? { ...o, status: 'skipped' as const, message: 'not applied: a required table could not be restored' } : o));
      let committed: TableOutcome[];
      try {
        committed = await commit(heartbeatTimeout)({ mode, tables: toCommit, twins: [...staged].filter(([, s]) => s.twin).map(([t]) => t) });
      } catch (err) {
        const changed = stagingChanged(err);
        // A staging table lost after validation (a crash) costs a reload, not the restore; bounded, as a second loss in a row means something keeps destroying it.
        if (!changed || round >= MAX_RESTAGE_ROUNDS) throw err;
        log.warn(`staging changed after validation, staging again: ${changed.join(', ')}`);
        for (const name of changed) {
          const table = settings.tables.find((t) => t.table === name)!;
          const outcome = outcomes.find((o) => o.table === name)!;
          outcome.rejected.push({ source: outcome.source ?? 'staging', reason: 'staging table changed after validation (staged again)' });
          await stageFromChain(table, staged.get(name)!.chain, outcome);
        }
        continue;
      }
      if (failed.length > 0) {
        throw ApplicationFailure.nonRetryable(`restore failed, no table was changed: ${failed.map((o) => o.message).join('; ')}`, 'IntegrityError');
      }
      const warnings = committed.filter((o) => o.status === 'empty' || (o.status === 'skipped' && o.message?.startsWith('the table gained'))).map((o) => o.message!);
      for (const warning of warnings) log.warn(warning);
      report('completed');
      return { mode, tables: committed, warnings };
    }
  } catch (err) {
    report('failed');
    throw err;
  } finally {
    await quick.dropStagingTables({ tables: settings.tables.map((t) => t.table) });
  }
}

/** How often a commit that found staging changed is answered by staging again before the run fails. */
const MAX_RESTAGE_ROUNDS = 2;

/** The tables a commit found changed since validation, or null for any other failure. */
function stagingChanged(err: unknown): string[] | null {
  const cause = err instanceof ActivityFailure ? err.cause : null;
  return cause instanceof ApplicationFailure && cause.type === STAGING_CHANGED ? (cause.details?.[0] as string[]) : null;
}

/** A candidate that asked for `latest` asks again for the version it gave, so a reload never mixes versions. */
function pinned(candidate: Candidate, version: string | null): Candidate {
  return candidate.kind === 'file' || !version ? candidate : { ...candidate, version };
}

function commit(heartbeatTimeout: string) {
  return proxyActivities<Activities>({
    ...COMMIT_OPTIONS,
    heartbeatTimeout,
    summary: 'swap every staged table in, in one transaction; record; DATA_READY',
  }).commitRestore;
}

function stage(key: string, table: string, candidate: Candidate, mode: RestoreMode, lastSource: boolean, heartbeatTimeout: string) {
  const { stageTable } = proxyActivities<Activities>({
    ...STAGE_OPTIONS,
    heartbeatTimeout,
    ...(lastSource ? { retry: LAST_SOURCE_RETRY } : {}),
    summary: `load and validate ${table} from ${describeCandidate(candidate)}`,
  });
  return stageTable({ key, candidate, mode });
}

