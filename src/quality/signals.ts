import type pg from 'pg';
import { handoverStatus, type HandoverStatus } from '../domain/ready-signals.js';
import { InputError } from '../errors.js';

/** Seed 000's signal types and statuses (ready_signals, migration 002). */
export const SIGNAL_TYPES = ['DATA_READY', 'PROCESSED_READY', 'FEATURES_READY', 'MODEL_READY', 'WEBSOCKET_READY', 'BACKUP_READY'] as const;
export type SignalType = (typeof SIGNAL_TYPES)[number];
export const SIGNAL_STATUSES = ['active', 'processing', 'completed', 'failed', 'expired'] as const;
export type SignalStatus = (typeof SIGNAL_STATUSES)[number];

export interface ReadySignal {
  signal_id: string;
  pipeline_run_id: string;
  signal_type: SignalType;
  status: SignalStatus;
  priority: number;
  dependencies: string[];
  /** Dependencies not completed yet. */
  blocked_by: string[];
  records_available: number | null;
  /** The data the signal announces (seed 001's data_start_time / data_end_time). */
  data_start_time: string | null;
  data_end_time: string | null;
  completeness_pct: number | null;
  acknowledged_by: string | null;
  acknowledged_at: string | null;
  completed_at: string | null;
  /** The consumer that completed it (seed 001's complete_ready_signal(id, consumer)). */
  completed_by: string | null;
  /** Why it failed (`fail --error`). */
  error_message: string | null;
  /** Seed 000's update_last_processed: when a consumer last processed it. */
  last_processed_at: string | null;
  expires_at: string;
  created_at: string;
  metadata: Record<string, unknown>;
}

/**
 * The deterministic id of the workflow waiting for a signal type, one shared by every waiter
 * of a deployment (its task queue): code that changes a row knows whom to signal.
 */
export function signalWaitWorkflowId(type: SignalType, taskQueue: string): string {
  return `ready-signal-wait-${taskQueue}-${type}`;
}

/** The workflow waiting for one signal to complete, fail or expire, shared by every waiter of that signal. */
export function signalIdWaitWorkflowId(signalId: string, taskQueue: string): string {
  return `ready-signal-wait-${taskQueue}-id-${signalId}`;
}

/** Signal ids are uuids. */
export function isSignalId(value: string): boolean {
  return /^[0-9a-f-]{36}$/i.test(value);
}

export function parseSignalType(value: string): SignalType {
  const upper = value.toUpperCase();
  if (!(SIGNAL_TYPES as readonly string[]).includes(upper)) throw new InputError(`unknown signal type '${value}' (one of ${SIGNAL_TYPES.join(', ')})`);
  return upper as SignalType;
}

const SELECT = `select s.signal_id::text, s.pipeline_run_id, s.signal_type, s.status, s.priority, s.dependencies::text[] as dependencies,
  coalesce((select array_agg(d::text) from unnest(s.dependencies) d
            where not exists (select 1 from ready_signals p where p.signal_id = d and p.status = 'completed')), '{}') as blocked_by,
  s.records_available::float8 as records_available, s.data_start_time, s.data_end_time, s.completeness_pct::float8 as completeness_pct,
  s.acknowledged_by, s.acknowledged_at, s.completed_at, s.completed_by, s.error_message, s.last_processed_at, s.expires_at, s.created_at, s.metadata
  from ready_signals s`;

function toSignal(row: Record<string, unknown>): ReadySignal {
  const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : null);
  return {
    ...(row as unknown as ReadySignal),
    data_start_time: iso(row.data_start_time),
    data_end_time: iso(row.data_end_time),
    acknowledged_at: iso(row.acknowledged_at),
    completed_at: iso(row.completed_at),
    last_processed_at: iso(row.last_processed_at),
    expires_at: iso(row.expires_at)!,
    created_at: iso(row.created_at)!,
  };
}

/** Moves active/processing signals past their expiry to `expired`; returns the types that changed. */
export async function expireSignals(pool: pg.Pool): Promise<{ expired: number; types: SignalType[] }> {
  const { rows } = await pool.query<{ signal_type: SignalType }>(
    `update ready_signals set status = 'expired' where status in ('active', 'processing') and expires_at < now() returning signal_type`,
  );
  return { expired: rows.length, types: [...new Set(rows.map((r) => r.signal_type))] };
}

export async function listSignals(
  pool: pg.Pool,
  filter: { type?: SignalType; status?: SignalStatus; pipelineRunId?: string; limit?: number } = {},
): Promise<ReadySignal[]> {
  await expireSignals(pool);
  const { rows } = await pool.query(
    `${SELECT} where ($1::text is null or s.signal_type = $1) and ($2::text is null or s.status = $2)
       and ($3::text is null or s.pipeline_run_id = $3)
     order by s.created_at desc, s.priority limit $4`,
    [filter.type ?? null, filter.status ?? null, filter.pipelineRunId ?? null, filter.limit ?? 50],
  );
  return rows.map(toSignal);
}

export async function getSignal(pool: pg.Pool, id: string): Promise<ReadySignal | null> {
  if (!isSignalId(id)) throw new InputError(`'${id}' is not a signal id (a uuid)`);
  const { rows } = await pool.query(`${SELECT} where s.signal_id = $1`, [id]);
  return rows[0] ? toSignal(rows[0]) : null;
}

/**
 * The signal a waiter on `type` takes: completed, not acknowledged yet, completed at or
 * after `since`, every dependency completed; highest priority (lowest number), then oldest.
 */
export async function findReadySignal(pool: pg.Pool, type: SignalType, since?: string): Promise<ReadySignal | null> {
  await expireSignals(pool);
  const { rows } = await pool.query(
    `${SELECT} where s.signal_type = $1 and s.status = 'completed' and s.acknowledged_at is null
       and ($2::timestamptz is null or s.completed_at >= $2)
       and not exists (select 1 from unnest(s.dependencies) d
                       where not exists (select 1 from ready_signals p where p.signal_id = d and p.status = 'completed'))
     order by s.priority, s.completed_at limit 1`,
    [type, since ?? null],
  );
  return rows[0] ? toSignal(rows[0]) : null;
}

export interface CreateSignalInput {
  type: SignalType;
  pipelineRunId: string;
  status?: 'active' | 'completed';
  priority?: number;
  dependencies?: string[];
  expiresInMinutes?: number;
  recordsAvailable?: number;
  /** ISO instants; start <= end. */
  dataStartTime?: string;
  dataEndTime?: string;
  completenessPct?: number;
  metadata?: Record<string, unknown>;
}

export async function createSignal(pool: pg.Pool, input: CreateSignalInput): Promise<ReadySignal> {
  const deps = input.dependencies ?? [];
  if (deps.length > 0) {
    const { rows } = await pool.query<{ n: number }>(`select count(*)::int as n from ready_signals where signal_id = any($1::uuid[])`, [deps]);
    if (rows[0]!.n !== new Set(deps).size) throw new InputError(`unknown dependency in ${deps.join(', ')}`);
  }
  const status = input.status ?? 'active';
  if (status === 'completed') await assertUnblocked(pool, deps);
  const { rows } = await pool.query<{ signal_id: string }>(
    `insert into ready_signals (pipeline_run_id, signal_type, status, priority, dependencies, expires_at, records_available,
       data_start_time, data_end_time, completeness_pct, metadata, completed_at)
     values ($1, $2, $3, $4, $5::uuid[], now() + make_interval(mins => $6), $7, $8, $9, $10, $11, case when $3 = 'completed' then now() end)
     returning signal_id::text`,
    [
      input.pipelineRunId,
      input.type,
      status,
      input.priority ?? 5,
      deps,
      input.expiresInMinutes ?? 60,
      input.recordsAvailable ?? null,
      input.dataStartTime ?? null,
      input.dataEndTime ?? null,
      input.completenessPct ?? null,
      JSON.stringify(input.metadata ?? {}),
    ],
  );
  return (await getSignal(pool, rows[0]!.signal_id))!;
}

async function assertUnblocked(pool: pg.Pool, deps: string[]): Promise<void> {
  if (deps.length === 0) return;
  const { rows } = await pool.query<{ id: string; status: string }>(
    `select signal_id::text as id, status from ready_signals where signal_id = any($1::uuid[]) and status <> 'completed'`,
    [deps],
  );
  if (rows.length > 0) throw new InputError(`blocked by dependencies not completed: ${rows.map((r) => `${r.id} (${r.status})`).join(', ')}`);
}

export type SignalTransition = 'processing' | 'completed' | 'failed';

/**
 * Moves a signal on: active -> processing -> completed | failed. A signal cannot complete
 * while a dependency has not completed. Returns the signal and the types whose waiters
 * should look again (its own, and those of signals it unblocked).
 */
export async function transitionSignal(
  pool: pg.Pool,
  id: string,
  to: SignalTransition,
  details: { error?: string; completedBy?: string } = {},
): Promise<{ signal: ReadySignal; notify: SignalType[] }> {
  await expireSignals(pool);
  const current = await getSignal(pool, id);
  if (!current) throw new InputError(`no ready signal ${id}`);
  const allowed: Record<SignalTransition, SignalStatus[]> = { processing: ['active'], completed: ['active', 'processing'], failed: ['active', 'processing'] };
  if (!allowed[to].includes(current.status)) throw new InputError(`signal ${id} is ${current.status}; cannot move it to ${to}`);
  if (to === 'completed') await assertUnblocked(pool, current.dependencies);
  await pool.query(
    `update ready_signals set status = $2,
       completed_at = case when $2 = 'completed' then now() else completed_at end,
       completed_by = case when $2 = 'completed' then $4 else completed_by end,
       processing_time_ms = case when $2 in ('completed', 'failed') then least(2147483647, (extract(epoch from now() - created_at) * 1000))::int else processing_time_ms end,
       error_message = coalesce($3, error_message)
     where signal_id = $1`,
    [id, to, details.error ?? null, details.completedBy ?? null],
  );
  const dependents = await pool.query<{ signal_type: SignalType }>(`select distinct signal_type from ready_signals where dependencies @> array[$1::uuid]`, [id]);
  return { signal: (await getSignal(pool, id))!, notify: [...new Set([current.signal_type, ...dependents.rows.map((r) => r.signal_type)])] };
}

/** A consumer takes a completed signal: records who and when (waiters then skip it). */
export async function acknowledgeSignal(pool: pg.Pool, id: string, by: string): Promise<ReadySignal> {
  const current = await getSignal(pool, id);
  if (!current) throw new InputError(`no ready signal ${id}`);
  if (current.acknowledged_at) throw new InputError(`signal ${id} was already acknowledged by ${current.acknowledged_by} at ${current.acknowledged_at}`);
  await pool.query(`update ready_signals set acknowledged_by = $2, acknowledged_at = now() where signal_id = $1`, [id, by]);
  return (await getSignal(pool, id))!;
}

/** Seed 000's update_last_processed: a consumer processed the signal now (any status). */
export async function touchSignal(pool: pg.Pool, id: string): Promise<ReadySignal> {
  if (!(await getSignal(pool, id))) throw new InputError(`no ready signal ${id}`);
  await pool.query(`update ready_signals set last_processed_at = now() where signal_id = $1`, [id]);
  return (await getSignal(pool, id))!;
}

/**
 * Seed 000's get_websocket_handover_status: the run's newest WEBSOCKET_READY signal and
 * each of its dependencies. Null when no signal at all carries the run id.
 */
export async function websocketHandoverStatus(pool: pg.Pool, pipelineRunId: string): Promise<HandoverStatus | null> {
  // listSignals expires overdue signals first, so an overdue WEBSOCKET_READY reads as expired.
  if ((await listSignals(pool, { pipelineRunId, limit: 1 })).length === 0) return null;
  const [websocket] = await listSignals(pool, { pipelineRunId, type: 'WEBSOCKET_READY', limit: 1 });
  if (!websocket) return handoverStatus(pipelineRunId, null, []);
  const { rows } = await pool.query<{ signal_id: string; signal_type: string | null; status: string | null; completed_at: Date | null }>(
    `select d.id::text as signal_id, p.signal_type, p.status, p.completed_at
     from unnest($1::uuid[]) with ordinality as d(id, n) left join ready_signals p on p.signal_id = d.id order by d.n`,
    [websocket.dependencies],
  );
  const { signal_id, signal_type, status, completed_at } = websocket;
  return handoverStatus(
    pipelineRunId,
    { signal_id, signal_type, status, completed_at },
    rows.map((r) => ({ ...r, completed_at: r.completed_at?.toISOString() ?? null })),
  );
}
