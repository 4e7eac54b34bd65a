/**
 * A Parquet file read while it downloads. Its tail comes first (range reads): everything
 * after the last row group, i.e. the page indexes and the footer. The footer says where each
 * row group's bytes end, so the download is cut into segment files at those ends: segment i
 * holds the bytes from the end of row group i-1 to the end of row group i, so all of row
 * group i. A reader decodes it from a Blob with the file's own offsets: zeros standing in for
 * the bytes before and after (slices of a sparse file: nothing read, nothing held), segment
 * i, then the tail. Four parts, whatever the file's size.
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
  private readonly tail: Blob;
  private filler: Blob | null = null;

  constructor(private readonly file: ArrivingParquet) {
    this.tail = new Blob([file.tail]);
  }

  /** Zeros, then the tail: enough to read the schema, the row counts and the indexes. */
  async footerView(): Promise<Blob> {
    return new Blob([await this.zeros(0, tailStart(this.file.ends)), this.tail]);
  }

  /** A file that holds row group `index` where the real one does; waits for the download to bring it. */
  async rowGroup(index: number): Promise<Blob> {
    const path = segmentPath(this.file.dir, index);
    while (!(await exists(path))) await sleep(POLL_MS);
    const [start, end] = [this.file.ends[index - 1] ?? 0, this.file.ends[index]!];
    return new Blob([await this.zeros(0, start), await openAsBlob(path), await this.zeros(end, tailStart(this.file.ends)), this.tail]);
  }

  /** Zeros standing in for the file's bytes [from, to). */
  private async zeros(from: number, to: number): Promise<Blob> {
    this.filler ??= await openAsBlob(fillerPath(this.file.dir));
    return this.filler.slice(from, to);
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
