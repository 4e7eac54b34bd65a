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

export interface CleanupPlan {
  keep: { backup_id: string; reason: string }[];
  delete: { backup_id: string; reason: string }[];
}

/**
 * Deletes backups older than their type's retention_days, but never the newest complete
 * backup of a type (an old backup beats none). Incomplete backups (a run that failed or is
 * still uploading) follow the same age rule. Types not configured are kept.
 */
export function planFileCleanup(backups: BackupRef[], retentionDays: Record<string, number>, now: Date): CleanupPlan {
  const plan: CleanupPlan = { keep: [], delete: [] };
  const newestSeen = new Set<string>();
  for (const b of [...backups].sort(newestFirst)) {
    const days = retentionDays[b.backup_type];
    const state = b.complete ? '' : 'incomplete, ';
    if (b.complete && !newestSeen.has(b.backup_type)) {
      newestSeen.add(b.backup_type);
      plan.keep.push({ backup_id: b.backup_id, reason: 'newest of its type' });
    } else if (days === undefined) plan.keep.push({ backup_id: b.backup_id, reason: `${state}type not configured` });
    else if (now.getTime() - ms(b.timestamp) > days * 86_400_000) plan.delete.push({ backup_id: b.backup_id, reason: `${state}older than ${days} days` });
    else plan.keep.push({ backup_id: b.backup_id, reason: `${state}within ${days} days` });
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
