/**
 * Observing and breaking a split-table export (backup.split_rows) from outside: which worker
 * runs which activity, SIGKILLs aimed at a part or at the snapshot's holder, and what the
 * history shows afterwards. Shared by the tests and the chaos suite.
 */
import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import pg from 'pg';
import { verifyVersion, type VersionVerification } from '../../src/restore/verify.js';
import type { Storage } from '../../src/storage/types.js';

export interface ActivityStart {
  activity: string;
  activityId: string;
  attempt: number;
  /** pid@host of the worker that ran the attempt. */
  identity: string;
  input: Record<string, unknown>;
  /** The task queue it was scheduled on. */
  taskQueue: string;
  /** When its last attempt started and when it closed (epoch ms; null: still open). */
  startedAt: number;
  closedAt: number | null;
}

/** The pid in a worker identity (pid@host). */
export const pidOf = (identity: string) => Number(identity.split('@')[0]);

/**
 * The last started attempt of every closed activity of a run, from its history (Temporal
 * records the start of an activity with retries only when it closes), and how many times
 * each activity type was scheduled.
 */
export async function activityStarts(handle: WorkflowHandle): Promise<{ starts: ActivityStart[]; scheduled: Record<string, number> }> {
  const events = (await handle.fetchHistory()).events ?? [];
  const ms = (e: (typeof events)[number]) => Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);
  const byEvent = new Map<string, Pick<ActivityStart, 'activity' | 'activityId' | 'input' | 'taskQueue'>>();
  const startOf = new Map<string, ActivityStart>();
  const starts: ActivityStart[] = [];
  const scheduled: Record<string, number> = {};
  for (const e of events) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s) {
      const activity = s.activityType?.name ?? '?';
      const input = JSON.parse(Buffer.from(s.input?.payloads?.[0]?.data ?? '{}').toString());
      byEvent.set(String(e.eventId), { activity, activityId: s.activityId ?? '', input, taskQueue: s.taskQueue?.name ?? '' });
      scheduled[activity] = (scheduled[activity] ?? 0) + 1;
    }
    const started = e.activityTaskStartedEventAttributes;
    if (started) {
      const start = { ...byEvent.get(String(started.scheduledEventId))!, attempt: started.attempt ?? 1, identity: started.identity ?? '', startedAt: ms(e), closedAt: null };
      startOf.set(String(started.scheduledEventId), start);
      starts.push(start);
    }
    const closed = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes ?? e.activityTaskCanceledEventAttributes;
    const closedStart = closed && startOf.get(String(closed.scheduledEventId));
    if (closedStart) closedStart.closedAt = ms(e);
  }
  return { starts, scheduled };
}

interface Running {
  activity: string;
  activityId: string;
  pid: number;
}

/** The run's activities that a worker has started and not finished (a dead worker's stay listed until their heartbeat timeout). */
async function running(handle: WorkflowHandle): Promise<Running[]> {
  const pending = (await handle.describe()).raw.pendingActivities ?? [];
  return pending
    .filter((p) => Number(p.state) === 2 && p.lastWorkerIdentity)
    .map((p) => ({ activity: p.activityType?.name ?? '?', activityId: p.activityId ?? '', pid: pidOf(p.lastWorkerIdentity!) }));
}

async function killWhen(handle: WorkflowHandle, workers: ChildProcess[], kill: (worker: ChildProcess) => Promise<void>, pick: (now: Running[]) => number | null): Promise<{ pid: number; killed: string[] }> {
  for (let i = 0; i < 2400; i++) {
    const pid = pick(await running(handle));
    if (pid !== null) {
      await kill(workers.find((w) => w.pid === pid)!);
      const killed = (await running(handle)).filter((r) => r.pid === pid).map((r) => r.activityId);
      return { pid, killed };
    }
    await sleep(50);
  }
  throw new Error(`${handle.workflowId}: the awaited moment of the split export never came`);
}

/** SIGKILLs a worker exporting a part while the snapshot's holder runs on another; returns it and the activities it was running. */
export function killPartWorker(handle: WorkflowHandle, workers: ChildProcess[], kill: (worker: ChildProcess) => Promise<void>) {
  return killWhen(handle, workers, kill, (now) => {
    const holder = now.find((r) => r.activity === 'holdDatabaseSnapshot');
    return (holder && now.find((r) => r.activity === 'exportTablePart' && r.pid !== holder.pid)?.pid) ?? null;
  });
}

/** SIGKILLs the worker holding the database snapshot once a part is being exported. */
export function killHolderWorker(handle: WorkflowHandle, workers: ChildProcess[], kill: (worker: ChildProcess) => Promise<void>) {
  return killWhen(handle, workers, kill, (now) => (now.some((r) => r.activity === 'exportTablePart') ? (now.find((r) => r.activity === 'holdDatabaseSnapshot')?.pid ?? null) : null));
}

/** Verifies `version` against the live table (rows, date range, a hash of every row's text, in PostgreSQL). */
export async function verifyAgainstTable(storage: Storage, databaseUrl: string, version: string, table: string, dateColumn: string): Promise<VersionVerification> {
  const pool = new pg.Pool({ connectionString: databaseUrl });
  try {
    return await verifyVersion({ storage, version, pool, dateColumns: { [table]: dateColumn } });
  } finally {
    await pool.end();
  }
}
