import { InputError } from '../errors.js';

/** Rejects keys that could escape the bucket or folder (`..`, absolute, empty segments, control chars). */
export function assertSafeKey(key: string): string {
  const bad =
    key.length === 0 ||
    key.length > 1024 ||
    key.startsWith('/') ||
    key.includes('\\') ||
    /[\u0000-\u001f]/.test(key) ||
    key.split('/').some((segment, i, all) => segment === '..' || segment === '.' || (segment === '' && i < all.length - 1));
  if (bad) throw new InputError(`unsafe storage key "${key.slice(0, 80)}"`);
  return key;
}
