import type { Readable } from 'node:stream';
import type { ByteRange, ObjectInfo, Storage } from './types.js';

/** A view of another storage under a fixed prefix (`storage.prefix`, `files/`), so a layout can be written as if it owned the bucket. */
export class PrefixedStorage implements Storage {
  readonly location: string;

  constructor(private readonly inner: Storage, private readonly prefix: string) {
    this.location = `${inner.location.replace(/\/$/, '')}/${prefix.replace(/\/$/, '')}`;
  }

  private strip = (o: ObjectInfo): ObjectInfo => ({ ...o, key: o.key.slice(this.prefix.length) });

  bucketExists(): Promise<boolean> {
    return this.inner.bucketExists();
  }
  createBucket(): Promise<boolean> {
    return this.inner.createBucket();
  }
  put(key: string, body: Readable | string, options?: { contentType?: string }): Promise<void> {
    return this.inner.put(this.prefix + key, body, options);
  }
  putIfAbsent(key: string, body: string): Promise<boolean> {
    return this.inner.putIfAbsent(this.prefix + key, body);
  }
  get(key: string, range?: ByteRange): Promise<Readable> {
    return this.inner.get(this.prefix + key, range);
  }
  getText(key: string): Promise<string | null> {
    return this.inner.getText(this.prefix + key);
  }
  async head(key: string): Promise<ObjectInfo | null> {
    const info = await this.inner.head(this.prefix + key);
    return info && this.strip(info);
  }
  async list(prefix: string): Promise<ObjectInfo[]> {
    return (await this.inner.list(this.prefix + prefix)).map(this.strip);
  }
  async listPrefixes(prefix: string): Promise<string[]> {
    return (await this.inner.listPrefixes(this.prefix + prefix)).map((p) => p.slice(this.prefix.length));
  }
  copy(fromKey: string, toKey: string): Promise<void> {
    return this.inner.copy(this.prefix + fromKey, this.prefix + toKey);
  }
  delete(keys: string[]): Promise<void> {
    return this.inner.delete(keys.map((k) => this.prefix + k));
  }
}
