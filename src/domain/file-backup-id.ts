/**
 * File backup ids are `<type>_<YYYYMMDD_HHMMSS>` (UTC, seed 003), with `-2`, `-3`... when
 * two backups of one type start in the same second. Ids become storage keys and paths, so
 * they are validated strictly (ASCII only, bounded) before any I/O.
 */
const TYPE = /^[a-z][a-z0-9_]{0,31}$/;
const ID = /^([a-z][a-z0-9_]{0,31})_(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})(\d{2})(?:-([1-9]\d{0,3}))?$/;

export interface ParsedBackupId {
  type: string;
  /** The second the id names, as ISO UTC. */
  at: string;
  suffix: number | null;
}

/** Returns a reason when `type` is not a usable backup type name, else null. */
export function backupTypeProblem(type: string): string | null {
  return TYPE.test(type) ? null : 'expected a-z, 0-9 and _ (starting with a letter, at most 32)';
}

/** Returns a reason when `id` is not a valid backup id, else null. */
export function backupIdProblem(id: string): string | null {
  if (id.length > 64) return 'too long';
  const match = ID.exec(id);
  if (!match) return 'expected <type>_YYYYMMDD_HHMMSS[-n] (a-z, 0-9, _)';
  const [, , y, mo, d, h, mi, s] = match.map(Number) as number[];
  const at = new Date(Date.UTC(y!, mo! - 1, d!, h!, mi!, s!));
  const fits = at.getUTCFullYear() === y && at.getUTCMonth() + 1 === mo && at.getUTCDate() === d && at.getUTCHours() === h && at.getUTCMinutes() === mi;
  return fits && s! < 60 ? null : 'not a valid UTC date and time';
}

export function parseBackupId(id: string): ParsedBackupId {
  const problem = backupIdProblem(id);
  if (problem) throw new Error(`invalid backup id "${id.slice(0, 64)}": ${problem}`);
  const [, type, y, mo, d, h, mi, s, suffix] = ID.exec(id)!;
  return { type: type!, at: `${y}-${mo}-${d}T${h}:${mi}:${s}.000Z`, suffix: suffix ? Number(suffix) : null };
}

/** The id a backup of `type` started at `at` gets when nothing else took it. */
export function backupIdFor(type: string, at: Date): string {
  const problem = backupTypeProblem(type);
  if (problem) throw new Error(`invalid backup type "${type.slice(0, 40)}": ${problem}`);
  const stamp = at.toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '_');
  return `${type}_${stamp}`;
}

/** The n-th candidate for a second: the base id, then `-2`, `-3`, ... */
export function backupIdCandidate(base: string, attempt: number): string {
  return attempt <= 1 ? base : `${base}-${attempt}`;
}
