import type { Readable } from 'node:stream';

/** Bytes [start, end) of an object. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface ObjectInfo {
  key: string;
  size: number;
  /** head() of an S3 store only: the CRC32 it checked the upload against (see UploadCrc), when it has one. */
  crc32?: string;
}

/**
 * One interface over the object store and a local folder with the same layout; workflows
 * and activities never know which one they use. Keys are relative to the bucket/folder.
 */
export interface Storage {
  /** Human-readable location for messages, e.g. `s3://seeds` or `/srv/seeds`. */
  readonly location: string;
  /** Whether the bucket (the folder, for a local storage) exists. */
  bucketExists(): Promise<boolean>;
  /** Creates the bucket (folder) when missing; true when this call created it. Safe when several processes race. */
  createBucket(): Promise<boolean>;
  /** Streams `body` to `key` (multipart for S3); the object appears only when complete. */
  put(key: string, body: Readable | string, options?: { contentType?: string }): Promise<void>;
  /** Creates `key` only if absent; returns false when it already exists. */
  putIfAbsent(key: string, body: string): Promise<boolean>;
  /** The object's bytes, or only those of `range` (`end` exclusive). */
  get(key: string, range?: ByteRange): Promise<Readable>;
  getText(key: string): Promise<string | null>;
  head(key: string): Promise<ObjectInfo | null>;
  /** Every object under `prefix`, recursively. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** Immediate "folders" under `prefix` (e.g. `v2026.01.22/`). */
  listPrefixes(prefix: string): Promise<string[]>;
  copy(fromKey: string, toKey: string): Promise<void>;
  delete(keys: string[]): Promise<void>;
}
