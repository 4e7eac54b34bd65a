import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { IntegrityError } from '../errors.js';

/**
 * Streamed AES-256-GCM in authenticated chunks (the STREAM construction), so a streamed
 * decrypt rejects tampering, reordering and truncation before any plaintext is trusted.
 *
 * header (36 bytes): magic "SVFBENC" | version 1 | chunk size u32 BE | salt (16) | key id (8)
 * then chunks: ciphertext (chunk size, the last one shorter or empty) + 16-byte tag.
 * Each file gets its own key, HKDF-SHA256(master, salt); a chunk's nonce is its index
 * (11 bytes) plus a last-chunk flag byte; every chunk authenticates the header as AAD.
 */
export const ENCRYPTION_FORMAT = 'seedvault-stream-v1';
export const CHUNK_BYTES = 64 * 1024;
const MAGIC = Buffer.from('SVFBENC\x01', 'latin1');
const HEADER_BYTES = 36;
const TAG_BYTES = 16;

export interface MasterKey {
  key: Buffer;
  /** 16 hex chars derived from the key: names it in metadata and headers, reveals nothing. */
  id: string;
}

function chunkKey(master: Buffer, salt: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', master, salt, 'seedvault file backup chunk key', 32));
}

function nonce(index: number, last: boolean): Buffer {
  const n = Buffer.alloc(12);
  n.writeUIntBE(index, 5, 6);
  n[11] = last ? 1 : 0;
  return n;
}

export function encryptStream(master: MasterKey): Transform {
  const salt = randomBytes(16);
  const header = Buffer.concat([MAGIC, Buffer.alloc(4), salt, Buffer.from(master.id, 'hex')]);
  header.writeUInt32BE(CHUNK_BYTES, 8);
  const key = chunkKey(master.key, salt);
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let index = 0;
  const seal = (plain: Buffer, last: boolean) => {
    const cipher = createCipheriv('aes-256-gcm', key, nonce(index++, last)).setAAD(header);
    return Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  };
  return new Transform({
    construct(callback) {
      this.push(header);
      callback();
    },
    transform(chunk: Buffer, _enc, callback: TransformCallback) {
      pending.push(chunk);
      pendingBytes += chunk.length;
      // Hold back at least one byte: only the flush knows which chunk is the last.
      if (pendingBytes > CHUNK_BYTES) {
        let all = Buffer.concat(pending);
        while (all.length > CHUNK_BYTES) {
          this.push(seal(all.subarray(0, CHUNK_BYTES), false));
          all = all.subarray(CHUNK_BYTES);
        }
        pending = [all];
        pendingBytes = all.length;
      }
      callback();
    },
    flush(callback: TransformCallback) {
      callback(null, seal(Buffer.concat(pending), true));
    },
  });
}

/** Reads a header's key id without decrypting, so a wrong key is named before any work. */
function headerKeyId(header: Buffer): string | null {
  return header.length >= HEADER_BYTES && header.subarray(0, 8).equals(MAGIC) ? header.subarray(28, 36).toString('hex') : null;
}

export function decryptStream(master: MasterKey): Transform {
  let header: Buffer | null = null;
  let key: Buffer | null = null;
  let chunkBytes = 0;
  let buffered = Buffer.alloc(0);
  let index = 0;
  const open = (sealed: Buffer, last: boolean) => {
    const decipher = createDecipheriv('aes-256-gcm', key!, nonce(index++, last)).setAAD(header!);
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new IntegrityError(`encrypted archive failed authentication at chunk ${index - 1}${last ? ' (end)' : ''}: tampered or truncated`);
    }
  };
  return new Transform({
    transform(chunk: Buffer, _enc, callback: TransformCallback) {
      try {
        buffered = Buffer.concat([buffered, chunk]);
        if (!header) {
          if (buffered.length < HEADER_BYTES) return callback();
          header = Buffer.from(buffered.subarray(0, HEADER_BYTES));
          const id = headerKeyId(header);
          if (id === null) throw new IntegrityError('not a seedvault encrypted archive (bad header)');
          if (id !== master.id) throw new IntegrityError(`wrong encryption key: the archive needs key ${id}, the configured key is ${master.id}`);
          chunkBytes = header.readUInt32BE(8);
          if (chunkBytes < 1 || chunkBytes > 16 * 1024 * 1024) throw new IntegrityError(`encrypted archive header names a bad chunk size ${chunkBytes}`);
          key = chunkKey(master.key, header.subarray(12, 28));
          buffered = buffered.subarray(HEADER_BYTES);
        }
        // A full chunk followed by more bytes cannot be the last one.
        const sealedBytes = chunkBytes + TAG_BYTES;
        while (buffered.length > sealedBytes) {
          this.push(open(buffered.subarray(0, sealedBytes), false));
          buffered = buffered.subarray(sealedBytes);
        }
        callback();
      } catch (err) {
        callback(err as Error);
      }
    },
    flush(callback: TransformCallback) {
      try {
        if (!header) throw new IntegrityError('encrypted archive is truncated (no complete header)');
        if (buffered.length < TAG_BYTES) throw new IntegrityError('encrypted archive is truncated (last chunk missing)');
        callback(null, open(buffered, true));
      } catch (err) {
        callback(err as Error);
      }
    },
  });
}
