import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ServiceError } from '../errors.js';
import type { StackPaths } from './paths.js';
import { isAlive } from './process.js';

export type ComponentName = 'temporal' | 'minio' | 'postgres';
export const COMPONENT_NAMES: readonly ComponentName[] = ['temporal', 'minio', 'postgres'];

export interface TemporalRecord {
  pid: number | null;
  port: number;
  uiPort: number;
  httpPort: number;
  metricsPort: number;
  binary: string;
  dbFile: string;
  logFile: string;
  namespace: string;
}

export interface MinioRecord {
  pid: number | null;
  port: number;
  consolePort: number;
  binary: string;
  dataDir: string;
  logFile: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
  region: string;
}

export interface PostgresRecord {
  pid: number | null;
  port: number;
  binDir: string;
  dataDir: string;
  logFile: string;
  /** OS user that owns the data dir and runs the server (PostgreSQL refuses root). */
  osUser: string;
  dbUser: string;
  database: string;
  /** Set by setPostgresPassword: TCP connections must then give it (scram-sha-256). */
  password?: string;
}

export interface ComponentRecords {
  temporal: TemporalRecord;
  minio: MinioRecord;
  postgres: PostgresRecord;
}

export type StackState = { version: 1 } & Partial<ComponentRecords>;

export function readState(paths: StackPaths): StackState {
  try {
    return JSON.parse(readFileSync(paths.stateFile, 'utf8')) as StackState;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1 };
    throw new ServiceError(`cannot read ${paths.stateFile}: ${(err as Error).message}`, { cause: err });
  }
}

/** Atomic (tmp + rename) and 0600: the file holds the MinIO secret. */
export function writeState(paths: StackPaths, state: StackState): void {
  mkdirSync(paths.stateDir, { recursive: true, mode: 0o700 });
  const tmp = `${paths.stateFile}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, paths.stateFile);
}

/**
 * Serializes stack changes across processes (two `up` at once would start two servers).
 * A lock left by a dead process is taken over.
 */
export async function withStackLock<T>(paths: StackPaths, fn: () => Promise<T>, timeoutMs = 20 * 60_000): Promise<T> {
  mkdirSync(paths.stateDir, { recursive: true, mode: 0o700 });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(paths.lockFile, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(readFileOr(paths.lockFile, ''));
      // An empty file may be one being written right now: only stale once it is a few seconds old.
      const stale = holder ? !isAlive(holder) : Date.now() - mtimeOr(paths.lockFile) > 5000;
      if (stale) {
        rmSync(paths.lockFile, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new ServiceError(`stack is locked by pid ${holder} (${paths.lockFile})`);
      await sleep(250);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(paths.lockFile, { force: true });
  }
}

function mtimeOr(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

function readFileOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return fallback;
  }
}
