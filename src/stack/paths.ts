import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export interface StackOptions {
  /** Pids, ports, credentials, logs and data. Default: $SEEDVAULT_STATE_DIR or ~/.local/state/seedvault. */
  stateDir?: string;
  /** Downloaded and built binaries, shared by every stack. Default: $SEEDVAULT_CACHE_DIR or ~/.cache/seedvault. */
  cacheDir?: string;
}

export interface StackPaths {
  stateDir: string;
  cacheDir: string;
  stateFile: string;
  lockFile: string;
}

export function resolvePaths(opts: StackOptions = {}): StackPaths {
  const stateDir = resolve(opts.stateDir ?? process.env.SEEDVAULT_STATE_DIR ?? join(homedir(), '.local', 'state', 'seedvault'));
  const cacheDir = resolve(opts.cacheDir ?? process.env.SEEDVAULT_CACHE_DIR ?? join(homedir(), '.cache', 'seedvault'));
  return { stateDir, cacheDir, stateFile: join(stateDir, 'stack.json'), lockFile: join(stateDir, 'stack.lock') };
}

/** Short stable id of a state dir, for paths that must live outside it (PostgreSQL data when root). */
export function stateDirId(stateDir: string): string {
  return createHash('sha256').update(stateDir).digest('hex').slice(0, 12);
}
