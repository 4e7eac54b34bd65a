import { execFile } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

/** Downloads every object of a version into a new temporary folder and returns it. */
export async function downloadVersion(storage: Storage, version: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'seedvault-download-'));
  const prefix = versionPrefix(version);
  for (const object of await storage.list(prefix)) {
    const name = object.key.slice(prefix.length);
    await pipeline(await storage.get(object.key), createWriteStream(join(dir, name)));
  }
  return dir;
}

/** Versions in a year no other run used, since workflow ids outlive buckets in Temporal. */
export function versionsOf(days: string[]): string[] {
  const year = 2100 + randomInt(7900);
  return days.map((day) => `${year}.${day}`);
}
