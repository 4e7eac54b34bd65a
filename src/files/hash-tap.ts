import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';

/** A pass-through that hashes and counts what flows by, for pipelines that must not read twice. */
export function hashTap(onBytes?: (total: number) => void): { stream: Transform; result(): { sha256: string; bytes: number } } {
  const hash = createHash('sha256');
  let bytes = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      onBytes?.(bytes);
      callback(null, chunk);
    },
  });
  return { stream, result: () => ({ sha256: hash.digest('hex'), bytes }) };
}
