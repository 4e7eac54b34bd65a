/**
 * Faults during a restore of the undisturbed scale-30 snapshot over older content: worker
 * SIGKILL and MinIO stopped during the load, and PostgreSQL stopped or crashed in every phase
 * of a restore and on every swap path.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import { restoreInput, startRestore } from '../../src/client/restore-run.js';
import { loadDemoData } from '../../src/db/demo-data.js';
import { STAGING_CHANGED, type RestoreMode } from '../../src/domain/restore.js';
import { restoreProgressQuery, type seedRestore } from '../../src/workflows/restore.js';
import { freshDatabase } from '../../test/support/db.js';
import { holdLock, sql, TABLES, tableDigests, waitForLockWaiter, waitForSql } from '../../test/support/restore.js';
import { testConfig, uniqueName } from '../../test/support/stack.js';
import {
  bouncePostgres,
  diff,
  FAULT_POINTS,
  kill,
  ohlcvRows,
  outage,
  retriedActivities,
  retryEvidence,
  spawnWorker,
  stopWorker,
  waitForActivityRunning,
  type ChaosContext,
  type Evidence,
  type PostgresStop,
  type Scenario,
} from '../support.js';

/**
 * The content the restore replaces: the scale-1 demo data (the first symbol and book of the
 * scale-30 source, identical rows) minus the macro rows from 2024 on. So every table differs
 * from the snapshot, yet holds only rows of it, and `replace` and `merge` both end equal to it.
 */
const OLD_CONTENT = `delete from macro_indicators_daily where date >= '2024-01-01'`;

/** A statement trigger: the rename swap must not lose it, so `replace` takes TRUNCATE + INSERT ... SELECT. */
const TRIGGER = `create function noop() returns trigger language plpgsql as 'begin return null; end';
  create trigger audit after insert on usdcop_m5_ohlcv for each statement execute function noop()`;

interface Fault {
  handle: WorkflowHandle<typeof seedRestore>;
  /** The target database. */
  url: string;
  /** SIGKILLs the worker and starts a new one. */
  respawn(): Promise<void>;
  /** Takes PostgreSQL down and up again, then reads the live tables at once (see restoreUnderFault); returns what it saw. */
  bounce(how: PostgresStop): Promise<string>;
}

/**
 * Restores ctx.baseVersion over the old content with a fault injected by `inject`. After a
 * PostgreSQL restart the live tables are read in one snapshot before the retried commit can
 * run (tableDigests locks them): each must be all old or all new, never empty or partial.
 * At the end the run must have completed, every table equal to the source, and the fault hit.
 */
async function restoreUnderFault(
  ctx: ChaosContext,
  name: string,
  options: { mode?: RestoreMode; prepare?: string },
  inject: (fault: Fault) => Promise<{ what: string; evidence(): Promise<Evidence> }>,
): Promise<{ observed: string; passed: boolean; dataLost: boolean }> {
  const db = await freshDatabase(`chaos_${name}`);
  await loadDemoData(db.url, { scale: 1 });
  await sql(db.url, OLD_CONTENT);
  if (options.prepare) await sql(db.url, options.prepare);
  const old = await tableDigests(db.url);
  /** Per table: old, new (the source's content) or PARTIAL. */
  const states = (digests: Record<string, string>) =>
    TABLES.map((t) => (digests[t] === old[t] ? 'old' : digests[t] === ctx.sourceDigests[t] ? 'new' : 'PARTIAL'));
  const mixed = (s: string[]) => s.includes('PARTIAL') || new Set(s).size > 1;
  const describe = (s: string[]) => (mixed(s) ? `MIXED: ${TABLES.map((t, i) => `${t} ${s[i]}`).join(', ')}` : `all ${s.length} tables ${s[0]}`);
  const recovered: string[][] = [];

  const env = { DATABASE_URL: db.url, S3_BUCKET: ctx.baseBucket, SEEDVAULT_TASK_QUEUE: uniqueName(`chaos-${name}`) };
  const config = testConfig(env);
  let worker = spawnWorker(ctx, env);
  const started = Date.now();
  try {
    const handle = await startRestore(config, restoreInput(config, { version: ctx.baseVersion, source: 'minio', mode: options.mode }));
    const injected = await inject({
      handle,
      url: db.url,
      respawn: async () => {
        await kill(worker);
        worker = spawnWorker(ctx, env);
      },
      bounce: async (how) => {
        const away = await bouncePostgres(ctx, how);
        const s = states(await tableDigests(db.url));
        recovered.push(s);
        return `back after ${away.toFixed(1)} s; right after: ${describe(s)}`;
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
    const final = states(digests);
    const differences = diff(digests, ctx.sourceDigests);
    const retried = [...new Set(await retriedActivities(handle))];
    const evidence = await injected.evidence();
    const seconds = ((Date.now() - started) / 1000).toFixed(0);
    const torn = recovered.some(mixed) || mixed(final);
    return {
      observed:
        `${injected.what}; ${evidence.text}; ` +
        (error ? `run FAILED after ${seconds} s: ${error.slice(0, 200)}` : `run completed in ${seconds} s`) +
        (retried.length ? ` (retried: ${retried.join(', ')})` : ' (no activity retried)') +
        (differences.length ? `; at the end ${describe(final)}: ${differences.join('; ')}` : '; all 3 tables equal to the source (count + content hash)'),
      passed: !error && differences.length === 0 && !torn && evidence.hit,
      dataLost: torn || (!error && differences.length > 0),
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
    injected: `SIGKILL of the worker once the COPY into usdcop_m5_ohlcv's staging table has passed ${pct}% of its rows (pg_stat_progress_copy); new worker started`,
    expected: 'stageTable retried into the same staging table after the 20 s heartbeat timeout; live tables equal to the source',
    run: (ctx) =>
      restoreUnderFault(ctx, `kill_load_${pct}`, {}, async ({ handle, url, respawn }) => {
        const seen = await waitForOhlcvCopy(ctx, url, handle, fraction);
        await respawn();
        return { what: `killed with the ${seen}`, evidence: () => retryEvidence(handle, 'stageTable') };
      }),
  };
}

/**
 * Waits until the COPY into usdcop_m5_ohlcv's staging table has passed `fraction` of its rows:
 * PostgreSQL's own COPY progress, live (the workflow's progress is signalled only every 2 s, and
 * a clock-based point drifts with the machine's load). Only ohlcv has that many rows.
 */
async function waitForOhlcvCopy(ctx: ChaosContext, url: string, handle: WorkflowHandle<typeof seedRestore>, fraction: number): Promise<string> {
  const rows = Math.round(ohlcvRows(ctx) * fraction);
  await waitForSql(url, `select count(*)::int as n from pg_stat_progress_copy where datname = current_database() and tuples_processed >= $1`, [rows], `a COPY past ${rows} rows`);
  const p = await handle.query(restoreProgressQuery).catch(() => null);
  return `COPY into the staging table past ${rows} of ${ohlcvRows(ctx)} rows (progress query: ${p?.tables.map((t) => `${t.table} ${t.rows}`).join(', ') || 'nothing yet'})`;
}

const minioDuringDownload: Scenario = {
  name: 'restore: MinIO stopped 30 s during download',
  injected: 'MinIO stopped as soon as stageTable started (the download), started again 30 s later',
  expected: 'with --source minio there is no fallback, so stageTable waits the outage out (8 attempts, 2 s to 1 min apart) and is retried once MinIO is back; live tables equal to the source',
  run: (ctx) =>
    restoreUnderFault(ctx, 'minio_download', {}, async ({ handle }) => {
      await waitForActivityRunning(handle, 'stageTable');
      await outage(ctx, 'minio', 30_000);
      return { what: 'MinIO down for 30 s from the first stageTable', evidence: () => retryEvidence(handle, 'stageTable') };
    }),
};

/** Where in the restore PostgreSQL goes down, how to get there deterministically, and the step that must show the hit. */
interface Phase {
  label: string;
  injected: string;
  activity: 'stageTable' | 'commitRestore';
  /** Waits until the restore is there, holding whatever lock keeps it there; returns that lock (or null) and what was seen. */
  reach(ctx: ChaosContext, fault: Fault): Promise<{ lock: { release(): Promise<void> } | null; seen: string }>;
}

const LOAD: Phase = {
  label: 'during the load',
  injected: "once the COPY into usdcop_m5_ohlcv's staging table has passed half its rows (pg_stat_progress_copy)",
  activity: 'stageTable',
  async reach(ctx, { url, handle }) {
    return { lock: null, seen: await waitForOhlcvCopy(ctx, url, handle, 0.5) };
  },
};

const VALIDATED: Phase = {
  label: 'between validation and commit',
  injected: 'once every table is staged and validated and commitRestore waits at its first statement (a test connection holds restore_history ACCESS EXCLUSIVE)',
  activity: 'commitRestore',
  async reach(_ctx, { url, handle }) {
    const lock = await holdLock(url, 'lock table restore_history in access exclusive mode');
    await waitForLockWaiter(url, 'restore_history', 'SELECT 1 FROM restore_history');
    const p = await handle.query(restoreProgressQuery).catch(() => null);
    return { lock, seen: `commitRestore waiting before its first statement, ${p?.tables.filter((t) => t.done).length ?? 0}/3 tables validated (progress query)` };
  },
};

const COMMIT_WAITING: Phase = {
  label: 'in the commit, waiting for a live table',
  injected:
    'once commitRestore has re-counted the staging tables, swapped usdcop_m5_ohlcv and macro_indicators_daily in its transaction and waits for trades_history (a test connection holds ACCESS SHARE on it)',
  activity: 'commitRestore',
  async reach(_ctx, { url }) {
    const lock = await holdLock(url, 'select 1 from trades_history limit 1');
    await waitForLockWaiter(url, 'trades_history', 'LOCK TABLE');
    return { lock, seen: 'commitRestore waiting for the trades_history lock with two tables swapped in its open transaction (pg_locks)' };
  },
};

const COMMIT_COPYING: Phase = {
  label: 'in the commit, copying rows into a live table',
  injected: "while commitRestore's INSERT ... SELECT into usdcop_m5_ohlcv runs (pg_stat_activity of the target database), holding the live table ACCESS EXCLUSIVE",
  activity: 'commitRestore',
  async reach(_ctx, { url }) {
    await waitForSql(
      url,
      `select count(*)::int as n from pg_stat_activity where datname = current_database() and state = 'active' and query ilike 'INSERT INTO %usdcop_m5_ohlcv%'`,
      [],
      "the commit's INSERT into usdcop_m5_ohlcv",
    );
    return { lock: null, seen: "commitRestore's INSERT ... SELECT into usdcop_m5_ohlcv running (pg_stat_activity)" };
  },
};

const SWAPS: Record<'rename' | 'truncate' | 'merge', { label: string; mode: RestoreMode; prepare?: string }> = {
  rename: { label: 'replace by rename', mode: 'replace' },
  truncate: { label: 'replace by TRUNCATE + INSERT: usdcop_m5_ohlcv has a trigger', mode: 'replace', prepare: TRIGGER },
  merge: { label: 'merge', mode: 'merge' },
};

const STOPS: Record<PostgresStop, { verb: string; injected: string }> = {
  fast: { verb: 'restarted', injected: 'stopped (fast shutdown), started again 3 s later' },
  immediate: { verb: 'crashed (immediate)', injected: 'crashed by `pg_ctl stop -m immediate`, started again at once (crash recovery)' },
  sigkill: { verb: 'crashed (SIGKILL)', injected: 'crashed by SIGKILL of the postmaster, started again at once (crash recovery)' },
};

/** Every phase, every swap path inside the commit, and each way down at least once. */
const POSTGRES_FAULTS: [Phase, keyof typeof SWAPS, PostgresStop][] = [
  [LOAD, 'rename', 'immediate'],
  [VALIDATED, 'truncate', 'sigkill'],
  [COMMIT_WAITING, 'rename', 'sigkill'],
  [COMMIT_WAITING, 'rename', 'fast'],
  [COMMIT_COPYING, 'truncate', 'immediate'],
  [COMMIT_COPYING, 'merge', 'sigkill'],
];

function postgresDown([phase, swapKey, how]: (typeof POSTGRES_FAULTS)[number]): Scenario {
  const swap = SWAPS[swapKey];
  return {
    name: `restore: PostgreSQL ${STOPS[how].verb} ${phase.label} (${swap.label.split(':')[0]})`,
    injected: `restore (${swap.label}) over older content of all 3 tables; PostgreSQL ${STOPS[how].injected} ${phase.injected}`,
    expected:
      `right after PostgreSQL is back every live table is all old or all new (never empty or partial); ${phase.activity} retried` +
      `${phase.activity === 'commitRestore' ? ' (or refused with StagingChanged and the tables staged again)' : ''}; the run completes with every live table equal to the snapshot`,
    run: (ctx) =>
      restoreUnderFault(ctx, `pg_${how}_${phase.activity}_${swapKey}`, swap, async (fault) => {
        const { lock, seen } = await phase.reach(ctx, fault);
        let back: string;
        try {
          back = await fault.bounce(how);
        } finally {
          await lock?.release();
        }
        return { what: `${STOPS[how].verb} with ${seen}; ${back}`, evidence: () => retryEvidence(fault.handle, phase.activity, phase.activity === 'commitRestore' ? STAGING_CHANGED : undefined) };
      }),
  };
}

export const restoreFaultScenarios: Scenario[] = [...FAULT_POINTS.map(killDuringLoad), minioDuringDownload, ...POSTGRES_FAULTS.map(postgresDown)];
