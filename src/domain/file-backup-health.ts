/**
 * Health of file backups per configured type: green when the newest backup is recent and
 * verifies, yellow when it is older than 48 h or there is none or the latest run found
 * nothing to back up, red when it fails verify.
 */
export type HealthLevel = 'green' | 'yellow' | 'red';

export interface ComponentHealth {
  component: string;
  status: HealthLevel;
  details: string;
  /** How old the newest thing it judges is (snapshot.age, file_backups.<type>), for the age metrics. */
  age_seconds?: number;
}

export const STALE_AFTER_HOURS = 48;

export interface NewestBackup {
  backup_id: string;
  timestamp: string;
  /** null: verified; otherwise why verify failed. */
  verifyProblem: string | null;
}

/** The latest run of the type found nothing to back up (since its newest backup, if any). */
export interface NothingFound {
  at: string;
  reason: string;
}

export function classifyFileBackup(type: string, newest: NewestBackup | null, now: Date, nothing: NothingFound | null = null): ComponentHealth {
  const component = `file_backups.${type}`;
  if (newest?.verifyProblem) return { component, status: 'red', details: `${newest.backup_id} failed verify: ${newest.verifyProblem}` };
  const nothingDetails = nothing && `nothing to back up at ${nothing.at}: ${nothing.reason}`;
  if (!newest) return { component, status: 'yellow', details: nothingDetails ?? 'no backup yet' };
  const age_seconds = (now.getTime() - Date.parse(newest.timestamp)) / 1000;
  if (nothingDetails) return { component, status: 'yellow', details: `${nothingDetails}; newest backup ${newest.backup_id}`, age_seconds };
  const hours = age_seconds / 3600;
  const age = `${newest.backup_id}, ${hours.toFixed(1)} h old`;
  return hours > STALE_AFTER_HOURS
    ? { component, status: 'yellow', details: `newest backup is older than ${STALE_AFTER_HOURS} h: ${age}`, age_seconds }
    : { component, status: 'green', details: age, age_seconds };
}

/** The worst level among components (red > yellow > green). */
export function worstLevel(items: { status: HealthLevel }[]): HealthLevel {
  return items.some((i) => i.status === 'red') ? 'red' : items.some((i) => i.status === 'yellow') ? 'yellow' : 'green';
}
