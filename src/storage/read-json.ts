import { IntegrityError } from '../errors.js';
import type { Storage } from './types.js';

/** A JSON document in storage, or null when the object is absent; unreadable JSON is an IntegrityError naming it. */
export async function readJson<T>(storage: Storage, key: string): Promise<T | null> {
  const text = await storage.getText(key);
  if (text === null) return null;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new IntegrityError(`${storage.location}/${key} is not valid JSON`);
  }
}
