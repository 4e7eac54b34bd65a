import { execFile } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import type { SeedvaultConfig } from '../../src/config/schema.js';
import { startSnapshot, type CreateOptions } from '../../src/client/snapshot-create.js';
import { versionPrefix } from '../../src/domain/version.js';
import type { Storage } from '../../src/storage/types.js';
import type { SeedSnapshotResult } from '../../src/workflows/snapshot.js';

export const execFileAsync = promisify(execFile);

export async function runSnapshot(config: SeedvaultConfig, options: CreateOptions = {}): Promise<SeedSnapshotResult> {
  return (await startSnapshot(config, options)).result();
}

/** Downloads every object of a version into a new temporary folder for `use`, and removes the folder after it. */
export async function withDownloadedVersion<T>(storage: Storage, version: string, use: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'seedvault-download-'));
  try {
    const prefix = versionPrefix(version);
    for (const object of await storage.list(prefix)) {
      const name = object.key.slice(prefix.length);
      await mkdir(dirname(join(dir, name)), { recursive: true });
      await pipeline(await storage.get(object.key), createWriteStream(join(dir, name)));
    }
    return await use(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Versions in a year no other run used, since workflow ids outlive buckets in Temporal. */
export function versionsOf(days: string[]): string[] {
  const year = 2100 + randomInt(7900);
  return days.map((day) => `${year}.${day}`);
}
