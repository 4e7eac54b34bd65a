import { PIN_MARKER } from '../domain/manifest.js';
import { versionPrefix } from '../domain/version.js';
import type { Storage } from './types.js';

/** A pinned version carries a `.pinned` marker object that retention respects. */
export async function setPinned(storage: Storage, version: string, pinned: boolean): Promise<void> {
  const key = `${versionPrefix(version)}${PIN_MARKER}`;
  if (pinned) await storage.put(key, 'pinned\n');
  else await storage.delete([key]);
}
