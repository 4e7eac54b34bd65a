/**
 * COPY ... TO STDOUT as a Readable of the COPY data alone, for node-postgres (a Submittable).
 *
 * pg-copy-streams does the same job but cuts every CopyData message (one per row) into a Buffer
 * of its own and joins them again per socket read: on a 10M-row export that was 2-3 s of the
 * export thread's 14 s of CPU (docs/PERFORMANCE.md). Here each socket read is unwrapped in place:
 * the payloads are moved down over the 5-byte message headers between them, and the read goes on
 * as one Buffer. Like pg-copy-streams, it takes the connection's socket over for the COPY and
 * hands it back (with the bytes after CopyDone, or from an ErrorResponse on) to node-postgres,
 * which then completes or fails the query through the handlers below.
 */
import { Readable } from 'node:stream';
import type pg from 'pg';

const COPY_DATA = 0x64; // 'd'
const COPY_DONE = 0x63; // 'c'
const ERROR_RESPONSE = 0x45; // 'E'
const COPY_OUT_RESPONSE = 0x48; // 'H'
/** Messages the server may send in the middle of a COPY (protocol-flow "COPY Operations"); their content is not COPY data. */
const INTERSPERSED = new Set([COPY_OUT_RESPONSE, 0x4e /* N notice */, 0x53 /* S parameter status */, 0x41 /* A notification */]);
const HEADER_BYTES = 5;

/** What a chunk held: its COPY data (moved to the chunk's start), and where the COPY ended, if it did. */
export interface UnwrappedChunk {
  /** The COPY data of this chunk: a view of its first bytes. */
  data: Buffer;
  /** The bytes after the COPY's end (from an ErrorResponse's first byte, or after CopyDone); null while the COPY goes on. */
  rest: Buffer | null;
  /** True when it ended with an ErrorResponse (in `rest`), which node-postgres reports to the query. */
  failed: boolean;
}

/**
 * The protocol's message framing around COPY data, across chunks that split messages anywhere.
 * `unwrap` rewrites the chunk it is given: give it chunks nobody else reads.
 */
export class CopyDataUnwrapper {
  /** Header bytes of a message split across chunks. */
  private readonly header = Buffer.alloc(HEADER_BYTES);
  private headerFill = 0;
  /** Bytes of the current message's content still to come, and its type. */
  private contentLeft = 0;
  private type = 0;

  unwrap(chunk: Buffer): UnwrappedChunk {
    let read = 0;
    let written = 0;
    const end = chunk.length;
    while (read < end) {
      if (this.contentLeft > 0) {
        const n = Math.min(this.contentLeft, end - read);
        if (this.type === COPY_DATA) {
          if (written !== read) chunk.copyWithin(written, read, read + n);
          written += n;
        }
        read += n;
        this.contentLeft -= n;
        continue;
      }
      const headerStart = read;
      let type: number;
      let length: number;
      if (this.headerFill === 0 && end - read >= HEADER_BYTES) {
        type = chunk[read]!;
        length = chunk.readUInt32BE(read + 1);
        read += HEADER_BYTES;
      } else {
        const n = Math.min(HEADER_BYTES - this.headerFill, end - read);
        chunk.copy(this.header, this.headerFill, read, read + n);
        this.headerFill += n;
        read += n;
        if (this.headerFill < HEADER_BYTES) break;
        this.headerFill = 0;
        type = this.header[0]!;
        length = this.header.readUInt32BE(1);
      }
      if (type === ERROR_RESPONSE) {
        // node-postgres parses the error itself: it gets the message whole, the header included.
        const started = headerStart === read - HEADER_BYTES ? chunk.subarray(headerStart) : Buffer.concat([this.header, chunk.subarray(read)]);
        return { data: chunk.subarray(0, written), rest: started, failed: true };
      }
      if (type === COPY_DONE) return { data: chunk.subarray(0, written), rest: chunk.subarray(read + length - 4), failed: false };
      if (type !== COPY_DATA && !INTERSPERSED.has(type)) throw new Error(`unexpected message ${JSON.stringify(String.fromCharCode(type))} in a COPY from the server`);
      this.type = type;
      this.contentLeft = length - 4;
    }
    return { data: chunk.subarray(0, written), rest: null, failed: false };
  }
}

type DataHandler = (data: Buffer) => void;

export class CopyOutStream extends Readable implements pg.Submittable {
  private connection: pg.Connection | null = null;
  private pgDataHandler: DataHandler | null = null;
  /** The socket is ours: from submit until the COPY's end is handed back. */
  private attached = false;
  private readonly unwrapper = new CopyDataUnwrapper();
  /** The consumer wants more (set by _read, cleared when push says stop). */
  private wanted = false;
  private forwarding = false;
  private readonly onReadable = () => this.forward();

  constructor(private readonly text: string) {
    super();
  }

  submit(connection: pg.Connection): void {
    this.connection = connection;
    const listeners = connection.stream.listeners('data') as DataHandler[];
    if (listeners.length !== 1) throw new Error(`the connection has ${listeners.length} data listeners, expected node-postgres's one`);
    this.pgDataHandler = listeners[0]!;
    connection.stream.removeListener('data', this.pgDataHandler);
    connection.stream.pause();
    connection.stream.on('readable', this.onReadable);
    this.attached = true;
    connection.query(this.text);
  }

  override _read(): void {
    this.wanted = true;
    this.forward();
  }

  private forward(): void {
    const con = this.connection;
    if (this.forwarding || !this.wanted || !con || !this.attached) return;
    this.forwarding = true;
    try {
      let chunk: Buffer | null;
      while (this.wanted && this.attached && (chunk = con.stream.read() as Buffer | null) !== null) {
        const { data, rest, failed } = this.unwrapper.unwrap(chunk);
        if (data.length > 0) this.wanted = this.push(data);
        if (rest) {
          this.handBack(rest);
          // A failed COPY ends in handleError, from node-postgres's parse of `rest`.
          if (!failed) this.push(null);
        }
      }
    } catch (error) {
      this.destroy(error as Error);
    } finally {
      this.forwarding = false;
    }
  }

  /** Gives the socket back to node-postgres, with the bytes it has to parse first. */
  private handBack(rest: Buffer): void {
    const con = this.connection!;
    const handler = this.pgDataHandler!;
    this.attached = false;
    con.stream.removeListener('readable', this.onReadable);
    con.stream.addListener('data', handler);
    handler(rest);
    // The handler may pause the stream itself: resume once it has returned.
    process.nextTick(() => con.stream.resume());
  }

  handleError(error: Error): void {
    this.destroy(error);
  }

  handleCommandComplete(): void {}

  handleReadyForQuery(): void {}
}
