import { crc32 } from 'node:zlib';

/** S3's minimum part size: each in-flight part is a buffer, so small parts keep memory flat. */
export const UPLOAD_PART_SIZE = 5 * 1024 * 1024;

/**
 * The CRC32 an S3 store reports for an object that S3Storage.put uploaded: lib-storage sends
 * each part's CRC32, the store checks it on arrival and answers HEAD (checksum mode) with the
 * CRC32 of the whole object when it went up in one part, else with the CRC32 of its parts'
 * CRC32s and "-<parts>". Computed over the bytes a writer hashes, it proves without a
 * download that the store holds those bytes.
 */
export class UploadCrc {
  private readonly closed: Buffer[] = [];
  private crc = 0;
  private inPart = 0;

  update(chunk: Uint8Array): void {
    let offset = 0;
    while (offset < chunk.length) {
      const take = Math.min(chunk.length - offset, UPLOAD_PART_SIZE - this.inPart);
      this.crc = crc32(chunk.subarray(offset, offset + take), this.crc);
      this.inPart += take;
      offset += take;
      if (this.inPart === UPLOAD_PART_SIZE) {
        this.closed.push(bigEndian(this.crc));
        this.crc = 0;
        this.inPart = 0;
      }
    }
  }

  /** x-amz-checksum-crc32 as the store reports it. */
  digest(): string {
    const parts = this.inPart > 0 || this.closed.length === 0 ? [...this.closed, bigEndian(this.crc)] : this.closed;
    if (parts.length === 1) return parts[0]!.toString('base64');
    return `${bigEndian(crc32(Buffer.concat(parts))).toString('base64')}-${parts.length}`;
  }
}

function bigEndian(crc: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(crc >>> 0);
  return bytes;
}
