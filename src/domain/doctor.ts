/**
 * Pure verdicts of `seedvault doctor`: each check's facts -> green / yellow / red with one
 * line of details and, when not green, one line saying what to do. The I/O that gathers
 * the facts is in src/doctor/.
 */
import { worstLevel, type HealthLevel } from './file-backup-health.js';

/** `skipped`: not checked because a check it depends on is red (that line names the cause). */
export type DoctorStatus = HealthLevel | 'skipped';

/** What a red line is about, for the exit code: a service that does not answer, or a config value. */
export type RedCause = 'service' | 'config';

export interface DoctorCheck {
  check: string;
  status: DoctorStatus;
  details: string;
  /** What to do, one line; present on yellow and red lines. */
  fix?: string;
  cause?: RedCause;
}

export interface DoctorReport {
  status: HealthLevel;
  checked_at: string;
  checks: DoctorCheck[];
}

export const green = (check: string, details: string): DoctorCheck => ({ check, status: 'green', details });
export const yellow = (check: string, details: string, fix: string): DoctorCheck => ({ check, status: 'yellow', details, fix });
export const red = (check: string, details: string, fix: string, cause?: RedCause): DoctorCheck => ({ check, status: 'red', details, fix, ...(cause ? { cause } : {}) });
export const skipped = (check: string, because: string): DoctorCheck => ({ check, status: 'skipped', details: `not checked: ${because}` });

export function doctorReport(checks: DoctorCheck[], now: Date): DoctorReport {
  return { status: worstLevel(checks.filter((c): c is DoctorCheck & { status: HealthLevel } => c.status !== 'skipped')), checked_at: now.toISOString(), checks };
}

/**
 * The CLI's exit code for a report: 0 without red lines; else 3 when a service does not
 * answer (usually the root cause of the rest), 2 when a config value is wrong, 4 otherwise.
 */
export function doctorExitCode(checks: DoctorCheck[]): number {
  const reds = checks.filter((c) => c.status === 'red');
  if (reds.length === 0) return 0;
  if (reds.some((c) => c.cause === 'service')) return 3;
  if (reds.some((c) => c.cause === 'config')) return 2;
  return 4;
}

/** Applied node-pg-migrate migrations against the files this version ships. */
export function migrationVerdict(applied: string[], available: string[]): DoctorCheck {
  const done = new Set(applied);
  const known = new Set(available);
  const missing = available.filter((m) => !done.has(m));
  const unknown = applied.filter((m) => !known.has(m));
  if (missing.length > 0) {
    return red('migrations', `${missing.length} not applied: ${missing.join(', ')}`, 'run: seedvault setup (or: seedvault migrate)');
  }
  if (unknown.length > 0) {
    return yellow('migrations', `the database has migrations this seedvault does not ship: ${unknown.join(', ')}`, 'run the seedvault version that applied them');
  }
  return green('migrations', `current: ${applied.length} applied, last ${applied.at(-1) ?? '-'}`);
}

/** Search attributes the workflows set that the namespace lacks (`total`: how many seedvault sets). */
export function searchAttributeVerdict(namespace: string, missing: { name: string; type: string }[], total: number): DoctorCheck {
  if (missing.length === 0) return green('search attributes', `${total} registered in ${namespace}`);
  const first = missing[0]!;
  return red(
    'search attributes',
    `missing in ${namespace}: ${missing.map((m) => m.name).join(', ')} (workflows that set them fail)`,
    `run: seedvault setup (a worker's start registers them too), or: temporal operator search-attribute create --namespace ${namespace} --name ${first.name} --type ${first.type[0]}${first.type.slice(1).toLowerCase()}`,
  );
}

export interface PollerFacts {
  identity: string;
  kind: 'workflow' | 'activity';
  lastPoll: Date | null;
}

/**
 * A worker long-polls for up to a minute and polls again at once, so a live one has polled
 * within about 60 s; the server keeps listing a stopped one for minutes.
 */
export const POLLER_LIVE_SECONDS = 90;

const ago = (then: Date, now: Date) => `${Math.max(0, Math.round((now.getTime() - then.getTime()) / 1000))} s ago`;

export function workerVerdict(taskQueue: string, pollers: PollerFacts[], now: Date): DoctorCheck {
  const live = pollers.filter((p) => p.lastPoll && now.getTime() - p.lastPoll.getTime() <= POLLER_LIVE_SECONDS * 1000);
  const fix = `start one: seedvault worker (with temporal.task_queue = ${taskQueue})`;
  const missing = (['workflow', 'activity'] as const).filter((kind) => !live.some((p) => p.kind === kind));
  if (missing.length > 0) {
    const newest = pollers.filter((p) => p.lastPoll).sort((a, b) => b.lastPoll!.getTime() - a.lastPoll!.getTime())[0];
    const last = newest ? `; last poll by ${newest.identity} ${ago(newest.lastPoll!, now)}` : '';
    const what = missing.length === 2 ? 'no worker polls' : `no worker polls ${missing[0]} tasks of`;
    return red('worker', `${what} task queue ${taskQueue}${last}`, fix);
  }
  const byIdentity = new Map<string, Date>();
  for (const p of live) {
    const seen = byIdentity.get(p.identity);
    if (!seen || seen < p.lastPoll!) byIdentity.set(p.identity, p.lastPoll!);
  }
  const workers = [...byIdentity].map(([identity, at]) => `${identity} (last poll ${ago(at, now)})`);
  return green('worker', `${workers.length} on task queue ${taskQueue}: ${workers.join(', ')}`);
}

export interface ScheduleFacts {
  /** null: the schedule does not exist. */
  paused: boolean | null;
  note?: string;
  nextRun: Date | null;
  taskQueue: string | null;
}

export function scheduleVerdict(id: string, f: ScheduleFacts, taskQueue: string): DoctorCheck {
  const check = `schedule ${id}`;
  if (f.paused === null) return red(check, 'missing', 'run: seedvault setup (or: seedvault schedule apply)');
  if (f.taskQueue !== taskQueue) {
    return red(check, `starts its workflows on task queue ${f.taskQueue ?? '-'}, not ${taskQueue}`, 'run: seedvault setup (or: seedvault schedule apply)');
  }
  const next = f.nextRun ? `next run ${f.nextRun.toISOString()}` : 'no next run';
  if (f.paused) return yellow(check, `paused${f.note ? ` (${f.note})` : ''}; ${next} once unpaused`, `seedvault schedule unpause ${id}`);
  return green(check, next);
}

/** A workflow a schedule started, newest first, with the status of its latest run (after continue-as-new). */
export interface ScheduledRun {
  workflowId: string;
  startedAt: Date;
  /** RUNNING, COMPLETED, FAILED, TERMINATED, TIMED_OUT, CANCELLED, ... */
  status: string;
  closedAt: Date | null;
}

/** The schedule's most recent finished run decides; the last success is named either way. */
export function lastRunVerdict(id: string, runs: ScheduledRun[]): DoctorCheck {
  const check = `last run ${id}`;
  if (runs.length === 0) return green(check, 'no run yet');
  const running = runs.find((r) => r.status === 'RUNNING');
  const finished = runs.find((r) => r.status !== 'RUNNING');
  if (!finished) return green(check, `first run running since ${running!.startedAt.toISOString()}`);
  const success = runs.find((r) => r.status === 'COMPLETED');
  const lastSuccess = success ? `last success ${(success.closedAt ?? success.startedAt).toISOString()}` : 'no success among the recent runs';
  const now = running ? `; running since ${running.startedAt.toISOString()}` : '';
  if (finished.status === 'COMPLETED') return green(check, `${lastSuccess}${now}`);
  const when = (finished.closedAt ?? finished.startedAt).toISOString();
  return red(
    check,
    `${finished.status.toLowerCase().replace('_', ' ')} ${when} (${finished.workflowId}); ${lastSuccess}${now}`,
    `see why: temporal workflow show --workflow-id ${finished.workflowId}; once fixed: seedvault schedule trigger ${id}`,
  );
}

/** An alert channel's recent deliveries (alert_deliveries). */
export interface DeliveryHistory {
  /** The newest finished delivery. */
  last: { kind: string; status: 'delivered' | 'failed'; at: Date; error: string | null } | null;
  /** Deliveries that gave up in the last 24 h. */
  failedLastDay: number;
}

export interface ChannelFacts {
  channel: string;
  urlEnv: string;
  urlSet: boolean;
  /** A string: why the history is unknown. */
  history: DeliveryHistory | string;
}

/** An alert channel: its URL variable set here, and whether its recent alerts got through. */
export function alertChannelVerdict(f: ChannelFacts): DoctorCheck {
  const check = `alerts ${f.channel}`;
  if (!f.urlSet) return red(check, `environment variable ${f.urlEnv} is not set`, `set ${f.urlEnv} to the channel's webhook URL, here and where the worker runs`, 'config');
  if (typeof f.history === 'string') return skipped(check, f.history);
  const { last, failedLastDay } = f.history;
  const test = 'once the receiver is fixed: seedvault alerts test';
  if (last?.status === 'failed') return red(check, `the last alert (${last.kind}) was not delivered, ${last.at.toISOString()}: ${last.error ?? 'no reason recorded'}`, test);
  if (failedLastDay > 0) {
    return yellow(check, `${failedLastDay} alert(s) not delivered in the last 24 h; the newest (${last!.kind}) was, ${last!.at.toISOString()}`, `see the worker log ("alert not delivered"); ${test}`);
  }
  return green(check, last ? `last alert (${last.kind}) delivered ${last.at.toISOString()}` : 'nothing sent yet (try: seedvault alerts test)');
}
