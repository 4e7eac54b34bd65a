import { DAY_MS, isoWeek } from './retention.js';

/**
 * Pure choices over the stored backups: point-in-time picks and the retention plan.
 * Times are compared as instants; the backup's own `timestamp` is authoritative.
 */
export interface BackupRef {
  backup_id: string;
  backup_type: string;
  timestamp: string;
  /** metadata.json present; an incomplete backup is never picked nor counted as the newest. */
  complete: boolean;
}

const ms = (iso: string) => Date.parse(iso);
const newestFirst = <T extends BackupRef>(a: T, b: T) => ms(b.timestamp) - ms(a.timestamp) || (a.backup_id < b.backup_id ? 1 : -1);

/** Per type, the newest backup taken at or before `at` (types with none are left out). */
export function pickAtPointInTime<T extends BackupRef>(backups: T[], at: Date, types?: string[]): Map<string, T> {
  const picked = new Map<string, T>();
  for (const backup of [...backups].sort(newestFirst)) {
    if (!backup.complete || (types && !types.includes(backup.backup_type))) continue;
    if (ms(backup.timestamp) > at.getTime() || picked.has(backup.backup_type)) continue;
    picked.set(backup.backup_type, backup);
  }
  return picked;
}

/** Which retention rule keeps a backup: its type's newest, the daily window, the weekly tier. */
export type RetentionTier = 'newest' | 'daily' | 'weekly';

export interface CleanupPlan {
  keep: { backup_id: string; reason: string; tier?: RetentionTier }[];
  delete: { backup_id: string; reason: string }[];
}

/** A type's retention: every backup for `days`, then the newest of each ISO week until `weeklyDays`. */
export interface TypeRetention {
  days: number;
  weeklyDays?: number;
}

/**
 * Deletes backups older than their type's retention days, but never the newest complete
 * backup of a type (an old backup beats none). With a weekly tier, a complete backup past
 * the daily window stays while it is the newest of its ISO week (UTC) and younger than
 * `weeklyDays`. Incomplete backups (a run that failed or is still uploading) follow the
 * daily age rule only. Types not configured are kept.
 */
export function planFileCleanup(backups: BackupRef[], retention: Record<string, TypeRetention>, now: Date): CleanupPlan {
  const plan: CleanupPlan = { keep: [], delete: [] };
  const newestSeen = new Set<string>();
  const weeksSeen = new Set<string>();
  for (const b of [...backups].sort(newestFirst)) {
    const rule = retention[b.backup_type];
    const state = b.complete ? '' : 'incomplete, ';
    const week = isoWeek(new Date(b.timestamp));
    const newestOfWeek = b.complete && !weeksSeen.has(`${b.backup_type} ${week}`);
    if (b.complete) weeksSeen.add(`${b.backup_type} ${week}`);
    const ageMs = now.getTime() - ms(b.timestamp);
    if (b.complete && !newestSeen.has(b.backup_type)) {
      newestSeen.add(b.backup_type);
      plan.keep.push({ backup_id: b.backup_id, reason: 'newest of its type', tier: 'newest' });
    } else if (rule === undefined) plan.keep.push({ backup_id: b.backup_id, reason: `${state}type not configured` });
    else if (ageMs <= rule.days * DAY_MS) plan.keep.push({ backup_id: b.backup_id, reason: `${state}within ${rule.days} days`, tier: 'daily' });
    else if (rule.weeklyDays !== undefined && newestOfWeek && ageMs <= rule.weeklyDays * DAY_MS) {
      plan.keep.push({ backup_id: b.backup_id, reason: `newest of ${week}, within ${rule.weeklyDays} days`, tier: 'weekly' });
    } else if (rule.weeklyDays !== undefined && newestOfWeek) plan.delete.push({ backup_id: b.backup_id, reason: `newest of ${week}, older than ${rule.weeklyDays} days` });
    else {
      const weekly = rule.weeklyDays === undefined || !b.complete ? '' : `, not the newest of ${week}`;
      plan.delete.push({ backup_id: b.backup_id, reason: `${state}older than ${rule.days} days${weekly}` });
    }
  }
  return plan;
}

/** Parses a `--at` value: ISO 8601 (with or without time/zone; no zone means UTC). */
export function parsePointInTime(text: string): Date | null {
  if (text.length > 40 || !/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?(Z|[+-]\d{2}:?\d{2})?$/.test(text)) return null;
  const zoned = /(Z|[+-]\d{2}:?\d{2})$/.test(text) ? text : `${text.length === 10 ? `${text}T23:59:59.999` : text}Z`;
  const at = new Date(zoned.replace(' ', 'T'));
  return Number.isNaN(at.getTime()) ? null : at;
}
