import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';

/** sha256 (hex) and size of a stream, read once, in constant memory. */
export async function hashStream(stream: Readable): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}
