/**
 * A Parquet file read while it downloads. Its tail comes first (range reads): everything
 * after the last row group, i.e. the page indexes and the footer. The footer says where each
 * row group's bytes end, so the download is cut into segment files at those ends: segment i
 * completes the file up to the end of row group i. A reader decodes row group i from a Blob
 * with the file's own offsets: segments 0..i, zeros standing in for the bytes still to come
 * (a slice of a sparse file: nothing read, nothing held), then the tail.
 *
 * Segments are renamed into place once written and closed: a file-backed Blob must not
 * change under it, and a segment that exists is complete.
 */
import { openAsBlob } from 'node:fs';
import { access, open, rename, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ArrivingParquet {
  /** The folder the download writes its segments into. */
  dir: string;
  /** Where each row group's bytes end, in order: segment i holds the file's bytes up to ends[i]. */
  ends: number[];
  /** The file's bytes after the last row group (page indexes, footer, its length, PAR1), read before the rest. */
  tail: Uint8Array;
}

/** Where the tail starts: the end of the last row group (the whole file when there is none). */
export function tailStart(ends: number[]): number {
  return ends.at(-1) ?? 0;
}

/** The stand-in for bytes not yet arrived: a sparse file of zeros as long as the bytes before the tail. */
function fillerPath(dir: string): string {
  return join(dir, 'not-yet-arrived');
}

/** Prepares `dir` for a file arriving into it; `ends` and `tail` come from the object's tail. */
export async function prepareArriving(dir: string, ends: number[], tail: Uint8Array): Promise<ArrivingParquet> {
  await writeFile(fillerPath(dir), '');
  await truncate(fillerPath(dir), tailStart(ends));
  return { dir, ends, tail };
}

/** How often a reader looks for the segment it waits for. */
const POLL_MS = 5;

function segmentPath(dir: string, index: number): string {
  return join(dir, `segment-${String(index).padStart(5, '0')}`);
}

/**
 * Writes `body` into segment files cut at `ends` (row group ends, ascending), then one last
 * segment with the rest; returns the path of that last one (it holds the footer).
 */
export async function writeSegments(body: AsyncIterable<Buffer>, dir: string, ends: number[]): Promise<string> {
  let index = 0;
  let written = 0;
  let handle = await open(`${segmentPath(dir, 0)}.partial`, 'w');
  const complete = async () => {
    await handle.close();
    await rename(`${segmentPath(dir, index)}.partial`, segmentPath(dir, index));
    index++;
    handle = await open(`${segmentPath(dir, index)}.partial`, 'w');
  };
  try {
    for await (const chunk of body) {
      let offset = 0;
      while (offset < chunk.length) {
        // Empty row groups end where the previous one did: their segments are empty.
        while (index < ends.length && written === ends[index]) await complete();
        const room = index < ends.length ? ends[index]! - written : Infinity;
        const piece = chunk.subarray(offset, offset + Math.min(room, chunk.length - offset));
        await handle.write(piece);
        written += piece.length;
        offset += piece.length;
      }
    }
    while (index < ends.length && written === ends[index]) await complete();
    if (index < ends.length) throw new Error(`the download ended at byte ${written}, before row group ${index} ends (byte ${ends[index]})`);
    const last = segmentPath(dir, index);
    await handle.close();
    await rename(`${last}.partial`, last);
    return last;
  } finally {
    await handle.close().catch(() => {});
  }
}

/** Blobs of the arriving file: its footer's view at once, each row group's once its segment is in place. */
export class ArrivingBlobs {
  private readonly segments: Blob[] = [];
  private readonly tail: Blob;
  private filler: Blob | null = null;

  constructor(private readonly file: ArrivingParquet) {
    this.tail = new Blob([file.tail]);
  }

  /** Zeros, then the tail: enough to read the schema, the row counts and the indexes. */
  async footerView(): Promise<Blob> {
    return new Blob([await this.zeros(0), this.tail]);
  }

  /** The file's bytes through row group `index`, zeros, then the tail; waits for the download to bring them. */
  async through(index: number): Promise<Blob> {
    while (this.segments.length <= index) {
      const path = segmentPath(this.file.dir, this.segments.length);
      while (!(await exists(path))) await sleep(POLL_MS);
      this.segments.push(await openAsBlob(path));
    }
    return new Blob([...this.segments.slice(0, index + 1), await this.zeros(this.file.ends[index]!), this.tail]);
  }

  /** Zeros from file offset `from` up to the tail. */
  private async zeros(from: number): Promise<Blob> {
    this.filler ??= await openAsBlob(fillerPath(this.file.dir));
    return this.filler.slice(from);
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
