import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StorageFullError } from '../errors.js';
import { assertSafeKey } from './keys.js';
import type { ByteRange, ObjectInfo, Storage } from './types.js';

/**
 * A folder with the same layout as the bucket. Writes go to a temporary name in the same
 * directory and are renamed into place, so a reader never sees a half-written file.
 */
export class LocalStorage implements Storage {
  readonly location: string;

  constructor(root: string) {
    this.location = resolve(root);
  }

  private path(key: string): string {
    return join(this.location, assertSafeKey(key));
  }

  private async atomically(key: string, write: (tmp: string) => Promise<void>): Promise<void> {
    const target = this.path(key);
    await mkdir(dirname(target), { recursive: true });
    const tmp = `${target}.tmp-${randomBytes(6).toString('hex')}`;
    try {
      await write(tmp);
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      throw this.classify(err, key);
    }
  }

  /** A full disk or quota is a StorageFullError naming the folder, so workflows stop retrying. */
  private classify(err: unknown, key: string): unknown {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOSPC' && code !== 'EDQUOT') return err;
    return new StorageFullError(`${this.location}: no space left writing ${key} (${code})`, { cause: err });
  }

  async bucketExists(): Promise<boolean> {
    try {
      return (await stat(this.location)).isDirectory();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  async createBucket(): Promise<boolean> {
    // mkdir -p names the first folder it made, or nothing when the folder was there already.
    return (await mkdir(this.location, { recursive: true })) !== undefined;
  }

  async put(key: string, body: Readable | string): Promise<void> {
    await this.atomically(key, (tmp) =>
      typeof body === 'string' ? writeFile(tmp, body) : pipeline(body, createWriteStream(tmp)),
    );
  }

  async putIfAbsent(key: string, body: string): Promise<boolean> {
    const target = this.path(key);
    await mkdir(dirname(target), { recursive: true });
    try {
      await writeFile(target, body, { flag: 'wx' });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw this.classify(err, key);
    }
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const path = this.path(key);
    await stat(path); // fail now with ENOENT rather than on the first read
    return createReadStream(path, range && { start: range.start, end: range.end - 1 });
  }

  async getText(key: string): Promise<string | null> {
    try {
      return await readFile(this.path(key), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    try {
      const info = await stat(this.path(key));
      return info.isFile() ? { key, size: info.size } : null;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const objects: ObjectInfo[] = [];
    const walk = async (dir: string, keyPrefix: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
      for (const entry of entries) {
        const key = `${keyPrefix}${entry.name}`;
        if (entry.isDirectory()) await walk(join(dir, entry.name), `${key}/`);
        else if (entry.isFile() && !entry.name.includes('.tmp-') && key.startsWith(prefix)) {
          objects.push({ key, size: (await stat(join(dir, entry.name))).size });
        }
      }
    };
    // Walk from the deepest folder the prefix names; the rest of the prefix filters names.
    const folder = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/') + 1) : '';
    await walk(folder ? this.path(folder) : this.location, folder);
    return objects.sort((a, b) => (a.key < b.key ? -1 : 1));
  }

  async listPrefixes(prefix: string): Promise<string[]> {
    const folder = prefix ? this.path(prefix) : this.location;
    try {
      const entries = await readdir(folder, { withFileTypes: true });
      return entries.filter((e) => e.isDirectory()).map((e) => `${prefix}${e.name}/`).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  async copy(fromKey: string, toKey: string): Promise<void> {
    const from = this.path(fromKey);
    await this.atomically(toKey, (tmp) => copyFile(from, tmp));
  }

  async delete(keys: string[]): Promise<void> {
    for (const key of keys) {
      await rm(this.path(key), { force: true });
      // Drop folders the delete left empty, so a pruned version disappears from listings.
      let dir = dirname(this.path(key));
      while (dir.startsWith(`${this.location}/`)) {
        try {
          await rmdir(dir);
        } catch {
          break;
        }
        dir = dirname(dir);
      }
    }
  }
}

