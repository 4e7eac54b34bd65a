import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Candidate, RestoreMode } from '../../domain/restore.js';
import { InputError, IntegrityError } from '../../errors.js';
import { describeTable } from '../../parquet/table-catalog.js';
import { columnsWithDefaults } from '../../restore/compatibility.js';
import { loadPartsInParallel } from '../../restore/load.js';
import { loadInThread } from '../../restore/load-in-thread.js';
import { fetchSourceFile, loadAsItArrives, type SourceFile } from '../../restore/source-file.js';
import { completeTwin, renameSwapBlocker } from '../../restore/rename-swap.js';
import { createStaging, dropStaging, stagingFor, type Staging } from '../../restore/staging.js';
import { validateStaging, type StagedFacts } from '../../restore/validate.js';
import type { ActivityDeps } from '../deps.js';
import { log } from '../../logging.js';
import { withHeartbeat } from '../heartbeat.js';
import { ProgressReporter } from '../snapshot/progress.js';

export const RESTORE_PROGRESS_SIGNAL = 'restoreProgress';

export interface StageTableInput {
  key: string;
  candidate: Candidate;
  mode: RestoreMode;
}

export interface StagedTable {
  table: string;
  staging: string;
  /** A complete twin, built to be renamed into place. */
  twin: boolean;
  rows: number;
  location: string;
  version: string | null;
  dateRange: [string, string] | null;
  /** Seconds each step took (download, load, validate, indexes; a download during the load counts from the load's start). */
  seconds: Record<string, number>;
  /** Connections that loaded it: more than 1 for the parts of a split table (backup.parallelism). */
  loadConnections: number;
}

function currentRun(): { workflowId: string; runId: string } {
  const execution = Context.current().info.workflowExecution;
  if (!execution) throw ApplicationFailure.nonRetryable('restore activities run only inside a workflow', 'InputError');
  return execution;
}

/** The staging table of this run for `table`: the same on every attempt, so a retry replaces it. */
export function runStaging(table: string): Staging {
  const { workflowId, runId } = currentRun();
  return stagingFor(table, `${workflowId}/${runId}`);
}

/**
 * One table from one source: fetch and check the file, load it into this run's staging
 * table, validate it there. The live table is not touched. A source that fails a check
 * raises a non-retryable IntegrityError, so the workflow moves on to the next source at once.
 */
export function stageActivities({ config, pool, storage, mirror, temporal, metrics }: ActivityDeps) {
  return {
    async stageTable(input: StageTableInput): Promise<StagedTable> {
      const source = config.sources[input.key];
      if (!source) throw ApplicationFailure.nonRetryable(`unknown source "${input.key}"`, 'InputError');
      const staging = runStaging(source.table);
      const progress = new ProgressReporter(temporal, currentRun(), [source.table], RESTORE_PROGRESS_SIGNAL);
      // Every step heartbeats, so the heartbeat timeout notices a dead worker, never a slow table.
      const step: { step: string; table: string; rows?: number } = { step: 'download', table: source.table };
      const seconds: Record<string, number> = {};
      let stepStarted = performance.now();
      const nextStep = (name: string) => {
        const now = performance.now();
        seconds[step.step] = Math.round(now - stepStarted) / 1000;
        step.step = name;
        stepStarted = now;
      };
      const client = await pool.connect();
      let file: SourceFile | undefined;
      try {
        return await withHeartbeat(() => step, async () => {
          // A single Parquet object is loaded (on the thread below) while the rest of it downloads.
          file = await fetchSourceFile(input.candidate, source.table, storage, mirror, { whileLoading: true });
          const layout = await describeTable(client, source.table, undefined, source.date_column);
          // A twin that will be renamed into place is the fast path; merge always inserts.
          const twin = input.mode !== 'merge' && (await renameSwapBlocker(client, layout.sql)) === null;
          nextStep('load');
          // The seconds into the load at which its object had fully arrived and passed its checks.
          void file.arrived?.then(() => (seconds['download (during load)'] = Math.round(performance.now() - stepStarted) / 1000), () => {});
          const kind = twin ? 'twin' : 'plain';
          const load = { layout, staging: staging.sql, file: file!, onProgress: (rows: number) => progress.update(source.table, rows) };
          const loadConnections = Math.max(1, Math.min(file.paths.length, config.backup.parallelism));
          let streamed: StagedFacts | null = null;
          if (loadConnections > 1) {
            await createStaging(client, layout.sql, staging.sql, kind);
            step.rows = await loadPartsInParallel(pool, load, loadConnections);
          } else {
            const loaded = await loadAsItArrives(file, (signal) => loadInThread({ ...load, connectionString: config.postgres.url, kind }, load.onProgress, signal));
            step.rows = loaded.rows;
            streamed = loaded.facts;
          }
          nextStep('validate');
          const validate = { client, staging: staging.sql, layout, source, defaults: await columnsWithDefaults(client, layout.sql), entry: file.entry, validation: config.validation, location: file.location };
          const facts = await validateStaging(validate, streamed);
          nextStep('build indexes');
          if (twin) await completeTwin(client, layout.sql, staging.sql, staging.suffix);
          nextStep('done');
          progress.finish(source.table, facts.rows);
          metrics.tableRestored(source.table, facts.rows, file.entry?.size_bytes ?? 0);
          log.info({ table: source.table, rows: facts.rows, location: file.location, seconds, loadConnections }, 'table staged');
          return { table: source.table, staging: staging.sql, twin, rows: facts.rows, location: file.location, version: file.version, dateRange: facts.dateRange, seconds, loadConnections };
        });
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        await dropStaging(client, staging.sql).catch(() => {});
        // A bad source stays bad on retry: fail at once so the next source is tried.
        if (err instanceof IntegrityError || err instanceof InputError) throw ApplicationFailure.nonRetryable(err.message, err.name);
        // PostgreSQL rejecting the data itself (NOT NULL, CHECK, type, bad COPY data) is the source's fault too.
        const code = (err as { code?: string }).code;
        if (code && /^(22|23|42)/.test(code)) throw ApplicationFailure.nonRetryable(`${file?.location ?? source.table}: ${(err as Error).message}`, 'IntegrityError');
        throw err;
      } finally {
        await file?.cleanup();
        client.release();
        await progress.flush();
      }
    },

    /** Drops this run's staging tables (after a failed or finished restore). */
    async dropStagingTables(input: { tables: string[] }): Promise<void> {
      for (const table of input.tables) await pool.query(`DROP TABLE IF EXISTS ${runStaging(table).sql}`);
    },
  };
}
