/**
 * Snapshot versions are `YYYY.MM.DD` with an optional `-suffix` for a second snapshot on
 * the same day (`2026.01.22-2`). Pure: used by the CLI (validation before any I/O), the
 * workflows and retention.
 */
const VERSION = /^(\d{4})\.(\d{2})\.(\d{2})(?:-([a-z0-9]{1,16}))?$/;

export interface ParsedVersion {
  date: string; // YYYY-MM-DD
  suffix: string | null;
}

/** Returns a reason when `text` is not a valid version, else null. */
export function versionProblem(text: string): string | null {
  if (text.length > 40) return 'too long';
  const match = VERSION.exec(text);
  if (!match) return 'expected YYYY.MM.DD or YYYY.MM.DD-suffix (suffix: a-z, 0-9, at most 16)';
  const [, y, m, d] = match;
  const day = new Date(Date.UTC(Number(y), Number(m) - 1, Number(d)));
  if (day.getUTCFullYear() !== Number(y) || day.getUTCMonth() + 1 !== Number(m) || day.getUTCDate() !== Number(d)) {
    return 'not a calendar date';
  }
  return null;
}

export function isVersion(text: string): boolean {
  return versionProblem(text) === null;
}

export function parseVersion(text: string): ParsedVersion {
  const problem = versionProblem(text);
  if (problem) throw new Error(`invalid snapshot version "${text.slice(0, 40)}": ${problem}`);
  const [, y, m, d, suffix] = VERSION.exec(text)!;
  return { date: `${y}-${m}-${d}`, suffix: suffix ?? null };
}

/** The default version for a snapshot started at `at` (UTC date). */
export function versionForDate(at: Date): string {
  return at.toISOString().slice(0, 10).replaceAll('-', '.');
}

/** The day part of a version: `2026.01.22` of `2026.01.22-3`. */
export function versionDay(version: string): string {
  return parseVersion(version).date.replaceAll('-', '.');
}

/** Newest first: by date, then numeric suffix (2026.01.22-10 after -2), a bare date oldest of its day. */
export function compareVersionsDesc(a: string, b: string): number {
  const pa = parseVersion(a);
  const pb = parseVersion(b);
  if (pa.date !== pb.date) return pa.date < pb.date ? 1 : -1;
  const rank = (s: string | null) => (s === null ? -1 : /^\d+$/.test(s) ? Number(s) : Number.MAX_SAFE_INTEGER);
  const diff = rank(pb.suffix) - rank(pa.suffix);
  if (diff !== 0) return diff;
  return (pb.suffix ?? '') < (pa.suffix ?? '') ? -1 : (pb.suffix ?? '') > (pa.suffix ?? '') ? 1 : 0;
}

/** `base` if free, else `base-2`, `base-3`, ... — the first not in `taken`. */
export function nextFreeVersion(base: string, taken: Iterable<string>): string {
  const used = new Set(taken);
  if (!used.has(base)) return base;
  for (let n = 2; ; n += 1) {
    const candidate = `${base}-${n}`;
    if (!used.has(candidate)) return candidate;
  }
}

/** Storage prefix of a version: `v2026.01.22/`. */
export function versionPrefix(version: string): string {
  parseVersion(version);
  return `v${version}/`;
}
