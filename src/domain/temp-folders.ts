/**
 * Temporary folders seedvault makes in the temp dir (downloads of restores, file backup
 * archives, live exports of a diff) carry their owner: `seedvault-<kind>-<pid>-<token>-XXXXXX`.
 * A worker killed with SIGKILL never removes its folders; the next worker's startup can tell
 * them from a live process's by the name alone. The token is random per process: after a
 * container restart the new worker often gets its predecessor's pid, and the token tells them apart.
 */
export type TempFolderKind = 'restore' | 'files' | 'diff';

export interface TempFolderOwner {
  pid: number;
  token: string;
}

const OWNED = /^seedvault-(?:restore|files|diff)-([1-9]\d{0,9})-([0-9a-f]{8})-[A-Za-z0-9]{6}$/;

/** The mkdtemp prefix of a folder of `kind` owned by `owner` (mkdtemp appends six characters). */
export function ownedTempPrefix(kind: TempFolderKind, owner: TempFolderOwner): string {
  return `seedvault-${kind}-${owner.pid}-${owner.token}-`;
}

/** The owner a folder name records, or null for any other name (older, pid-less folders included). */
export function tempFolderOwner(name: string): TempFolderOwner | null {
  const match = OWNED.exec(name);
  return match ? { pid: Number(match[1]), token: match[2]! } : null;
}

/**
 * The folders among `names` whose owner is gone: its pid is not alive, or it is this
 * process's pid with another token (an earlier process that had the same pid). A live
 * process's folder is never among them; names without an owner are left alone.
 */
export function abandonedTempFolders(names: string[], self: TempFolderOwner, isAlive: (pid: number) => boolean): string[] {
  return names.filter((name) => {
    const owner = tempFolderOwner(name);
    if (!owner) return false;
    return owner.pid === self.pid ? owner.token !== self.token : !isAlive(owner.pid);
  });
}
