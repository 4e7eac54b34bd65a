/**
 * Pure alert rules, shared by workflows (which raise alerts) and activities (which deliver
 * them): what each alert says, its stable dedupe key, the health transitions that alert,
 * and the two payload shapes. No I/O and no Node modules: the workflow bundle imports it.
 */
import type { HealthLevel } from './file-backup-health.js';

export const ALERT_KINDS = [
  'snapshot_failed',
  'restore_failed',
  'file_backup_failed',
  'symbol_failing',
  'symbol_recovered',
  'health_red',
  'health_recovered',
  'signal_expired',
  'test',
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

export type AlertSeverity = 'critical' | 'warning' | 'resolved' | 'info';

export interface Alert {
  kind: AlertKind;
  /** Stable across retries of whatever raises it: each channel is notified once per key. */
  key: string;
  severity: AlertSeverity;
  /** One line. */
  title: string;
  /** A few short lines at most. */
  text: string;
  /** ISO instant the alert was raised. */
  at: string;
  /** The run it is about, for a Web UI link. */
  workflow?: RunRef;
}

export interface RunRef {
  id: string;
  runId: string;
}

const MAX_TITLE = 200;
const MAX_TEXT = 600;
const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

function alert(kind: AlertKind, keyParts: string[], severity: AlertSeverity, title: string, text: string, at: string, workflow?: RunRef): Alert {
  return { kind, key: [kind, ...keyParts].join(':'), severity, title: clip(title, MAX_TITLE), text: clip(text, MAX_TEXT), at, ...(workflow ? { workflow } : {}) };
}

export function snapshotFailedAlert(run: RunRef, version: string | null, error: string, at: string): Alert {
  return alert('snapshot_failed', [run.id, run.runId], 'critical', `seed snapshot ${version ?? '(no version claimed)'} failed`, error, at, run);
}

export function restoreFailedAlert(run: RunRef, error: string, at: string): Alert {
  return alert('restore_failed', [run.id, run.runId], 'critical', 'restore failed, no table was changed', error, at, run);
}

export function fileBackupFailedAlert(run: RunRef, error: string, at: string): Alert {
  return alert('file_backup_failed', [run.id, run.runId], 'critical', 'file backup failed', error, at, run);
}

export interface SymbolStreak {
  symbol: string;
  /** When the run of consecutive failures began: one alert (and one recovery) per streak. */
  streakStartedAt: string;
  consecutiveFailures: number;
  error?: string;
}

export function symbolFailingAlert(s: SymbolStreak, run: RunRef, at: string): Alert {
  return alert(
    'symbol_failing',
    [clip(s.symbol, 100), s.streakStartedAt],
    'critical',
    `backfill of ${s.symbol} failed ${s.consecutiveFailures} times in a row`,
    `failing since ${s.streakStartedAt}${s.error ? `; last error: ${s.error}` : ''}`,
    at,
    run,
  );
}

export function symbolRecoveredAlert(s: Pick<SymbolStreak, 'symbol' | 'streakStartedAt'>, run: RunRef, at: string): Alert {
  return alert('symbol_recovered', [clip(s.symbol, 100), s.streakStartedAt], 'resolved', `backfill of ${s.symbol} succeeds again`, `it had been failing since ${s.streakStartedAt}`, at, run);
}

/** Health alerts on entering red (from anything, or from no earlier report) and on leaving it. */
export function healthTransition(previous: HealthLevel | null, current: HealthLevel): 'health_red' | 'health_recovered' | null {
  if (current === 'red' && previous !== 'red') return 'health_red';
  if (current !== 'red' && previous === 'red') return 'health_recovered';
  return null;
}

const MAX_COMPONENTS_LISTED = 8;

export function healthAlert(
  kind: 'health_red' | 'health_recovered',
  run: RunRef,
  report: { status: HealthLevel; components: { component: string; status: HealthLevel; details: string }[] },
  at: string,
): Alert {
  if (kind === 'health_recovered') {
    return alert(kind, [run.id, run.runId], 'resolved', `health is ${report.status} again (was red)`, `${report.components.length} component(s) checked, none red`, at, run);
  }
  const reds = report.components.filter((c) => c.status === 'red');
  const listed = reds.slice(0, MAX_COMPONENTS_LISTED).map((c) => `${c.component}: ${clip(c.details, 80)}`);
  const more = reds.length > listed.length ? [`(+${reds.length - listed.length} more)`] : [];
  return alert(kind, [run.id, run.runId], 'critical', `health is red: ${reds.length} component(s)`, [...listed, ...more].join('\n'), at, run);
}

export interface ExpiredSignal {
  signal_id: string;
  signal_type: string;
  pipeline_run_id: string;
  expires_at: string;
}

export function signalExpiredAlert(s: ExpiredSignal, at: string): Alert {
  return alert(
    'signal_expired',
    [s.signal_id],
    'warning',
    `ready signal ${s.signal_type} expired`,
    `signal ${s.signal_id} of run ${clip(s.pipeline_run_id, 100)} was not completed by ${s.expires_at}`,
    at,
  );
}

export function testAlert(at: string, nonce: string): Alert {
  return alert('test', [at, nonce], 'info', 'test alert from seedvault', 'seedvault alerts test: this channel works', at);
}

/** The id of the workflow delivering an alert: one per key, so a second raise joins the first. */
export function alertWorkflowId(key: string): string {
  return `alert-${key}`;
}

/** A Slack-compatible incoming webhook body: one `text` field. */
export function slackBody(a: Alert, link?: string): string {
  const lines = [`[seedvault] ${a.severity.toUpperCase()}: ${a.title}`, a.text, ...(link ? [link] : [])];
  return JSON.stringify({ text: lines.filter(Boolean).join('\n') });
}

/** The generic webhook body: the alert's fields, for a receiver that may dedupe on `dedupe_key`. */
export function webhookBody(a: Alert, link?: string): string {
  return JSON.stringify({
    source: 'seedvault',
    kind: a.kind,
    severity: a.severity,
    title: a.title,
    text: a.text,
    dedupe_key: a.key,
    at: a.at,
    ...(a.workflow ? { workflow_id: a.workflow.id, run_id: a.workflow.runId } : {}),
    ...(link ? { link } : {}),
  });
}
