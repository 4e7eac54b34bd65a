import {
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
import { restoreFailedAlert } from '../domain/alerts.js';
import { describeCandidate, restoreChain, type Candidate, type RestoreMode, type RestoreSource, type TableOutcome } from '../domain/restore.js';
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
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '2s', maximumInterval: '30s', maximumAttempts: 3, nonRetryableErrorTypes: ['InputError', 'IntegrityError'] },
};
const LAST_SOURCE_RETRY = { ...STAGE_OPTIONS.retry, maximumInterval: '1 minute', maximumAttempts: 8 };

const { commitRestore } = proxyActivities<Activities>({
  startToCloseTimeout: '6 hours',
  retry: { initialInterval: '2s', maximumInterval: '1 minute', maximumAttempts: 5, nonRetryableErrorTypes: ['InputError', 'IntegrityError'] },
  summary: 'swap every staged table in, in one transaction; record; DATA_READY',
});

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
  const outcomes: TableOutcome[] = [];
  try {
    report('loading');
    for (const table of settings.tables) {
      const outcome: TableOutcome = {
        table: table.table, status: 'failed', required: table.required, source: null, location: null, version: null,
        rowsLoaded: 0, rowsAfter: null, dateRange: null, rejected: [], message: null,
      };
      outcomes.push(outcome);
      if (mode === 'if-empty' && table.hasRows) {
        Object.assign(outcome, { status: 'skipped', message: 'the table already holds rows (if-empty)' });
        continue;
      }
      const chain = restoreChain(input.source ?? 'auto', version, { ...settings, path: input.path, fallback: table.fallback });
      for (const candidate of chain) {
        state.current = `${table.table} from ${describeCandidate(candidate)}`;
        report('loading');
        try {
          const staged = await stage(table.key, table.table, candidate, mode, candidate === chain.at(-1));
          Object.assign(outcome, { status: 'restored', source: candidate.label, location: staged.location, version: staged.version, rowsLoaded: staged.rows, dateRange: staged.dateRange });
          if (staged.version) upsertSearchAttributes([{ key: SnapshotVersion, value: staged.version }]);
          break;
        } catch (err) {
          outcome.rejected.push({ source: describeCandidate(candidate), reason: causeMessage(err) });
        }
      }
      if (outcome.status === 'failed') {
        const tried = outcome.rejected.map((r) => `${r.source}: ${r.reason}`).join('; ') || 'no source configured';
        outcome.message = `no source could restore ${table.table} (${tried})`;
        if (!table.required || input.allowEmpty) {
          const what = table.required ? 'required table left empty (--allow-empty)' : 'optional table left without restored data';
          Object.assign(outcome, { status: 'empty', message: `${what}: ${outcome.message}` });
        }
      }
    }

    const failed = outcomes.filter((o) => o.status === 'failed');
    state.current = null;
    report('swapping');
    // A missing required table means nothing is applied: the staged ones are dropped, unswapped.
    const toCommit = failed.length === 0 ? outcomes : outcomes.map((o) => (o.status === 'restored' ? { ...o, status: 'skipped' as const, message: 'not applied: a required table could not be restored' } : o));
    const committed = await commitRestore({ mode, tables: toCommit });
    if (failed.length > 0) {
      throw ApplicationFailure.nonRetryable(`restore failed, no table was changed: ${failed.map((o) => o.message).join('; ')}`, 'IntegrityError');
    }
    const warnings = committed.filter((o) => o.status === 'empty' || (o.status === 'skipped' && o.message?.startsWith('the table gained'))).map((o) => o.message!);
    for (const warning of warnings) log.warn(warning);
    report('completed');
    return { mode, tables: committed, warnings };
  } catch (err) {
    report('failed');
    throw err;
  } finally {
    await quick.dropStagingTables({ tables: settings.tables.map((t) => t.table) });
  }
}

function stage(key: string, table: string, candidate: Candidate, mode: RestoreMode, lastSource: boolean) {
  const { stageTable } = proxyActivities<Activities>({
    ...STAGE_OPTIONS,
    ...(lastSource ? { retry: LAST_SOURCE_RETRY } : {}),
    summary: `load and validate ${table} from ${describeCandidate(candidate)}`,
  });
  return stageTable({ key, candidate, mode });
}

