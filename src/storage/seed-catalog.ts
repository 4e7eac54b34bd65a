import {
  LATEST_VERSION_KEY,
  MANIFEST_FILE,
  PIN_MARKER,
  RESERVATION_MARKER,
  type Manifest,
} from '../domain/manifest.js';
import { planPrune, type PrunePlan, type RetentionPolicy, type StoresPrunePlan } from '../domain/retention.js';
import { compareVersionsDesc, isVersion, versionPrefix } from '../domain/version.js';
import { readJson } from './read-json.js';
import type { Storage } from './types.js';

export interface VersionEntry {
  version: string;
  complete: boolean;
  pinned: boolean;
  objects: number;
  bytes: number;
}

/** The names of the `v<version>/` folders in storage, newest first. */
export async function versionNames(storage: Storage): Promise<string[]> {
  return (await storage.listPrefixes(''))
    .filter((p) => p.startsWith('v'))
    .map((p) => p.slice(1, -1))
    .filter(isVersion)
    .sort(compareVersionsDesc);
}

/** Every `v<version>/` folder in storage, newest first, with its state. */
export async function listVersions(storage: Storage): Promise<VersionEntry[]> {
  const versions = await versionNames(storage);
  return Promise.all(
    versions.map(async (version) => {
      const prefix = versionPrefix(version);
      const objects = await storage.list(prefix);
      const names = new Set(objects.map((o) => o.key.slice(prefix.length)));
      return {
        version,
        complete: names.has(MANIFEST_FILE),
        pinned: names.has(PIN_MARKER),
        objects: objects.length,
        bytes: objects.reduce((sum, o) => sum + o.size, 0),
      };
    }),
  );
}

export async function readLatestVersion(storage: Storage): Promise<string | null> {
  const text = (await storage.getText(LATEST_VERSION_KEY))?.trim();
  return text && isVersion(text) ? text : null;
}

/** The manifest of a version, or null when the version has none (incomplete or absent). */
export async function readManifest(storage: Storage, version: string): Promise<Manifest | null> {
  return readJson<Manifest>(storage, `${versionPrefix(version)}${MANIFEST_FILE}`);
}

/** The workflow id that claimed a version (its `.reserved` marker), or null. */
export async function reservationOwner(storage: Storage, version: string): Promise<string | null> {
  return (await storage.getText(`${versionPrefix(version)}${RESERVATION_MARKER}`))?.trim() || null;
}

/** Whether the workflow that reserved a version (by id) is still running. */
export type OwnerRunning = (workflowId: string) => Promise<boolean>;

/**
 * Applies the retention plan to storage (or only reports it with dryRun). An incomplete
 * version is swept only when the run named in its reservation marker has ended, so a
 * slow run is never pruned by a faster one that finished after it started.
 */
export async function pruneVersions(storage: Storage, policy: RetentionPolicy, dryRun: boolean, ownerRunning: OwnerRunning): Promise<PrunePlan> {
  const versions = await Promise.all(
    (await listVersions(storage)).map(async (v) => {
      if (v.complete) return v;
      const owner = await reservationOwner(storage, v.version);
      return { ...v, writing: owner ? await ownerRunning(owner) : false };
    }),
  );
  const plan = planPrune(versions, await readLatestVersion(storage), policy);
  if (!dryRun) {
    for (const { version } of plan.delete) {
      const objects = await storage.list(versionPrefix(version));
      await storage.delete(objects.map((o) => o.key));
    }
  }
  return plan;
}

/**
 * Applies the retention policy to each store's own versions, latest and pins (the primary
 * first); stores that hold the same versions lose the same ones.
 */
export async function pruneStores(primary: Storage, mirror: Storage | null, policy: RetentionPolicy, dryRun: boolean, ownerRunning: OwnerRunning): Promise<StoresPrunePlan> {
  const plan = await pruneVersions(primary, policy, dryRun, ownerRunning);
  return mirror ? { ...plan, mirror: await pruneVersions(mirror, policy, dryRun, ownerRunning) } : plan;
}
