/**
 * Pure health rules (issue 7, seed 004): per-symbol staleness in market time, failure
 * streaks, open gaps and anomalies, snapshot age. Levels and `worstLevel` are shared with
 * the file-backup health rules.
 */
import type { ComponentHealth, HealthLevel } from './file-backup-health.js';
import type { QualitySettings } from './quality-settings.js';

export type { ComponentHealth, HealthLevel } from './file-backup-health.js';

/** Consecutive failed backfills from which a symbol alerts (seed 004). */
export const FAILURE_ALERT_STREAK = 3;

export interface SymbolFacts {
  symbol: string;
  lastBar: string | null;
  /** Open-market minutes elapsed since the last bar (weekends and holidays count 0). */
  marketMinutesSinceLastBar: number | null;
  consecutiveFailures: number;
  openGaps: number;
  recentAnomalies: number;
}

export function classifySymbol(f: SymbolFacts, settings: Pick<QualitySettings, 'stale_market_hours'>): ComponentHealth[] {
  const out: ComponentHealth[] = [];
  const component = `symbol.${f.symbol}`;
  if (f.lastBar === null || f.marketMinutesSinceLastBar === null) {
    out.push({ component: `${component}.freshness`, status: 'red', details: 'no bars' });
  } else {
    const hours = f.marketMinutesSinceLastBar / 60;
    const stale = hours > settings.stale_market_hours;
    out.push({
      component: `${component}.freshness`,
      status: stale ? 'red' : 'green',
      details: `last bar ${f.lastBar}, ${hours.toFixed(1)} h of open market ago${stale ? ` (> ${settings.stale_market_hours} h)` : ''}`,
    });
  }
  out.push({
    component: `${component}.failures`,
    status: f.consecutiveFailures >= FAILURE_ALERT_STREAK ? 'red' : f.consecutiveFailures > 0 ? 'yellow' : 'green',
    details: `${f.consecutiveFailures} consecutive failed backfill(s)`,
  });
  out.push({
    component: `${component}.quality`,
    status: f.openGaps > 0 || f.recentAnomalies > 0 ? 'yellow' : 'green',
    details: `${f.openGaps} open gap(s), ${f.recentAnomalies} anomaly(ies) in the last 7 days`,
  });
  return out;
}

export interface SnapshotFacts {
  version: string | null;
  createdAt: string | null;
  /** null when not verified (no snapshot); otherwise the problems verify found. */
  verifyProblems: string[] | null;
}

export function classifySnapshot(
  f: SnapshotFacts,
  now: Date,
  settings: Pick<QualitySettings, 'snapshot_warn_days' | 'snapshot_critical_days'>,
): ComponentHealth[] {
  if (!f.version || !f.createdAt) return [{ component: 'snapshot.age', status: 'red', details: 'no complete snapshot' }];
  const age_seconds = (now.getTime() - Date.parse(f.createdAt)) / 1000;
  const days = age_seconds / 86_400;
  const status: HealthLevel = days > settings.snapshot_critical_days ? 'red' : days > settings.snapshot_warn_days ? 'yellow' : 'green';
  const problems = f.verifyProblems ?? [];
  return [
    { component: 'snapshot.age', status, details: `latest ${f.version}, ${days.toFixed(1)} days old`, age_seconds },
    {
      component: 'snapshot.verify',
      status: problems.length > 0 ? 'red' : 'green',
      details: problems.length > 0 ? `${f.version} failed verify: ${problems.join('; ')}` : `${f.version} verified (objects, sha256, row counts)`,
    },
  ];
}

/** The most recent deep verify of one kept snapshot version. */
export interface DeepVerifyRecord {
  version: string;
  verifiedAt: string;
  problems: string[];
}

export interface DeepVerifySettings {
  enabled: boolean;
  interval_days: number;
}

/**
 * `snapshot.deep_verify` from the recorded deep verifies of the kept versions (issue 16): red
 * while any version's latest deep verify failed; yellow when the schedule is on and the newest
 * deep verify (or, before the first, the latest snapshot) is older than twice its interval.
 */
export function classifyDeepVerify(
  records: DeepVerifyRecord[],
  latest: { version: string; createdAt: string } | null,
  now: Date,
  settings: DeepVerifySettings,
): ComponentHealth {
  const component = 'snapshot.deep_verify';
  const failed = records.filter((r) => r.problems.length > 0);
  if (failed.length > 0) {
    return { component, status: 'red', details: failed.map((r) => `${r.version} failed deep verify at ${r.verifiedAt}: ${r.problems.join('; ')}`).join(' | ') };
  }
  const newest = records.reduce<DeepVerifyRecord | null>((n, r) => (!n || Date.parse(r.verifiedAt) > Date.parse(n.verifiedAt) ? r : n), null);
  const staleDays = settings.interval_days * 2;
  const daysSince = (iso: string) => (now.getTime() - Date.parse(iso)) / 86_400_000;
  if (newest) {
    const days = daysSince(newest.verifiedAt);
    const details = `last deep verify ${days.toFixed(1)} days ago (${records.map((r) => r.version).sort().join(', ')} ok)`;
    return settings.enabled && days > staleDays ? { component, status: 'yellow', details: `${details}, more than ${staleDays} days` } : { component, status: 'green', details };
  }
  if (!settings.enabled) return { component, status: 'green', details: 'no deep verify recorded; the schedule is disabled' };
  if (latest && daysSince(latest.createdAt) > staleDays) {
    return { component, status: 'yellow', details: `${latest.version} is ${daysSince(latest.createdAt).toFixed(1)} days old and no deep verify is recorded (more than ${staleDays} days)` };
  }
  return { component, status: 'green', details: 'no deep verify recorded yet' };
}

export function healthScore(status: HealthLevel): number {
  return status === 'green' ? 100 : status === 'yellow' ? 50 : 0;
}

export function alertLevel(status: HealthLevel): 'none' | 'warning' | 'critical' {
  return status === 'green' ? 'none' : status === 'yellow' ? 'warning' : 'critical';
}
