import { compareVersionsDesc, parseVersion } from './version.js';

export interface StoredVersion {
  version: string;
  /** manifest.json present: the version finished uploading. */
  complete: boolean;
  pinned: boolean;
  /** Incomplete, and the run that reserved it is still running: never swept. */
  writing?: boolean;
}

export interface PrunePlan {
  keep: { version: string; reason: string }[];
  delete: { version: string; reason: string }[];
}

/** The primary's prune plan, and the mirror's when `storage.mirror` is configured. */
export interface StoresPrunePlan extends PrunePlan {
  mirror?: PrunePlan;
}

/** Seed 000's cleanup_old_backups(max_age_days, max_count): by count, and optionally by age. */
export interface RetentionPolicy {
  /** Complete versions kept, newest first. */
  count: number;
  /** Complete versions whose date is more than this many days before `today` go too; null: no age limit. */
  maxAgeDays: number | null;
  /** YYYY-MM-DD, UTC. */
  today: string;
}

export function retentionPolicy(backup: { retention_count: number; retention_days?: number | null }, now: Date): RetentionPolicy {
  return { count: backup.retention_count, maxAgeDays: backup.retention_days ?? null, today: now.toISOString().slice(0, 10) };
}

export const DAY_MS = 86_400_000;

/**
 * Which versions to delete: keep the newest `count` complete versions (younger than
 * `maxAgeDays` when set), the version LATEST_VERSION names, every pinned one and always the
 * newest complete one; delete other complete versions; sweep incomplete versions older than
 * the newest complete one unless their run is still writing them (a newer incomplete one
 * may still be uploading, so it stays too).
 */
export function planPrune(versions: StoredVersion[], latest: string | null, policy: RetentionPolicy): PrunePlan {
  const { count: keep, maxAgeDays } = policy;
  if (!Number.isInteger(keep) || keep < 1) throw new Error(`retention count must be a positive integer, got ${keep}`);
  if (maxAgeDays !== null && (!Number.isInteger(maxAgeDays) || maxAgeDays < 1)) throw new Error(`retention days must be a positive integer, got ${maxAgeDays}`);
  const sorted = [...versions].sort((a, b) => compareVersionsDesc(a.version, b.version));
  const newestComplete = sorted.find((v) => v.complete)?.version ?? null;
  const ageDays = (version: string) => Math.floor((Date.parse(policy.today) - Date.parse(parseVersion(version).date)) / DAY_MS);
  const plan: PrunePlan = { keep: [], delete: [] };
  let completeSeen = 0;
  for (const v of sorted) {
    if (v.complete) completeSeen += 1;
    if (v.version === latest) plan.keep.push({ version: v.version, reason: 'latest' });
    else if (v.pinned) plan.keep.push({ version: v.version, reason: 'pinned' });
    else if (v.complete && v.version !== newestComplete && maxAgeDays !== null && ageDays(v.version) > maxAgeDays) {
      plan.delete.push({ version: v.version, reason: `older than ${maxAgeDays} days` });
    }
    else if (v.complete && completeSeen <= keep) plan.keep.push({ version: v.version, reason: `newest ${keep}` });
    else if (v.complete) plan.delete.push({ version: v.version, reason: `older than the newest ${keep}` });
    else if (v.writing) plan.keep.push({ version: v.version, reason: 'incomplete, its run is still writing it' });
    else if (newestComplete !== null && compareVersionsDesc(v.version, newestComplete) > 0) {
      plan.delete.push({ version: v.version, reason: 'incomplete, older than the newest complete version' });
    } else plan.keep.push({ version: v.version, reason: 'incomplete, may still be uploading' });
  }
  return plan;
}

/** The ISO 8601 week of an instant in UTC, `2026-W03` (weeks start on Monday; week 1 holds the year's first Thursday). */
export function isoWeek(at: Date): string {
  const day = (at.getUTCDay() + 6) % 7;
  const thursday = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate() - day + 3));
  const year = thursday.getUTCFullYear();
  const week = Math.ceil(((thursday.getTime() - Date.UTC(year, 0, 1)) / DAY_MS + 1) / 7);
  return `${year}-W${String(week).padStart(2, '0')}`;
}
