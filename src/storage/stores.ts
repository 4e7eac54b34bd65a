import type { Storage } from './types.js';

/** A store with the name messages give it: `primary` (`storage`) or `mirror` (`storage.mirror`). */
export interface NamedStore {
  name: 'primary' | 'mirror';
  storage: Storage;
}

/**
 * Every configured store, the mirror first: a manifest, a pin or latest/ reaches the
 * primary only once the mirror holds it, so what the primary shows the mirror has too.
 */
export function writeOrder(primary: Storage, mirror: Storage | null): NamedStore[] {
  const stores: NamedStore[] = [{ name: 'primary', storage: primary }];
  return mirror ? [{ name: 'mirror', storage: mirror }, ...stores] : stores;
}

/** Every configured store, the primary first: deletions leave the primary the one holding less. */
export function deleteOrder(primary: Storage, mirror: Storage | null): NamedStore[] {
  return writeOrder(primary, mirror).reverse();
}
