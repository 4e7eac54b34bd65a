import { compareVersionsDesc } from './version.js';

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

/**
 * Which versions to delete: keep the newest `keep` complete versions, the version
 * LATEST_VERSION names and every pinned one; delete older complete versions; sweep
 * incomplete versions older than the newest complete one unless their run is still
 * writing them (a newer incomplete one may still be uploading, so it stays too).
 */
export function planPrune(versions: StoredVersion[], latest: string | null, keep: number): PrunePlan {
  if (!Number.isInteger(keep) || keep < 1) throw new Error(`retention count must be a positive integer, got ${keep}`);
  const sorted = [...versions].sort((a, b) => compareVersionsDesc(a.version, b.version));
  const newestComplete = sorted.find((v) => v.complete)?.version ?? null;
  const plan: PrunePlan = { keep: [], delete: [] };
  let completeSeen = 0;
  for (const v of sorted) {
    if (v.complete) completeSeen += 1;
    if (v.version === latest) plan.keep.push({ version: v.version, reason: 'latest' });
    else if (v.pinned) plan.keep.push({ version: v.version, reason: 'pinned' });
    else if (v.complete && completeSeen <= keep) plan.keep.push({ version: v.version, reason: `newest ${keep}` });
    else if (v.complete) plan.delete.push({ version: v.version, reason: `older than the newest ${keep}` });
    else if (v.writing) plan.keep.push({ version: v.version, reason: 'incomplete, its run is still writing it' });
    else if (newestComplete !== null && compareVersionsDesc(v.version, newestComplete) > 0) {
      plan.delete.push({ version: v.version, reason: 'incomplete, older than the newest complete version' });
    } else plan.keep.push({ version: v.version, reason: 'incomplete, may still be uploading' });
  }
  return plan;
}
