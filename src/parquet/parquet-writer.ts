/**
 * Streams Arrow record batches through parquet-wasm's transformParquetStream: a web
 * ReadableStream of wasm RecordBatches in, a ReadableStream of Parquet bytes out, written
 * one row group at a time. Both sides are pulled, so a slow consumer of the bytes stops
 * the pulling of batches (and with it the COPY).
 *
 * The `parquet-wasm` Node entry is CommonJS and instantiates its wasm synchronously on
 * import, so there is no init step.
 */
import { Readable } from 'node:stream';
import * as arrow from 'apache-arrow';
import * as parquet from 'parquet-wasm';
import { IntegrityError } from '../errors.js';
import { footerRowCount } from './parquet-footer.js';

export type Compression = 'snappy' | 'gzip' | 'none';

/**
 * Rows per row group. The writer holds the encoded row group in wasm memory (which never
 * shrinks) until it is complete, once per concurrent export, so this bounds memory; 128k
 * rows is about DuckDB's own row group size, still large enough to scan efficiently.
 */
const ROW_GROUP_ROWS = 131_072;

/**
 * A row group comes out as one array of several MB. Handed on in views this size, it lets the
 * multipart upload gather each part close to the part size: given whole row groups, it
 * concatenates part + row group and every part in flight holds on to that.
 */
const PUSH_BYTES = 1 << 20;

const CODEC: Record<Compression, parquet.Compression> = {
  snappy: parquet.Compression.SNAPPY,
  gzip: parquet.Compression.GZIP,
  none: parquet.Compression.UNCOMPRESSED,
};

/**
 * Output is deterministic: the writer stamps no time, and created_by is the constant
 * "parquet-rs version …" of the bundled writer. Dictionary encoding only pays off for
 * strings (symbols, sources); on prices and timestamps it mostly costs time.
 */
function writerProperties(schema: arrow.Schema, compression: Compression): parquet.WriterProperties {
  let builder = new parquet.WriterPropertiesBuilder()
    .setCompression(CODEC[compression])
    .setMaxRowGroupSize(ROW_GROUP_ROWS)
    .setStatisticsEnabled(parquet.EnabledStatistics.Chunk)
    .setDictionaryEnabled(false);
  for (const field of schema.fields) {
    if (arrow.DataType.isUtf8(field.type) || arrow.DataType.isBinary(field.type)) builder = builder.setColumnDictionaryEnabled(field.name, true);
  }
  return builder.build();
}

/**
 * Serialises record batches as Arrow IPC streams into one buffer reused from batch to batch.
 * `tableToIPC` allocates a fresh batch-sized array each time; at hundreds of MB/s that garbage
 * piles up faster than V8 collects it and shows as tens of MB of worker RSS.
 */
export class ReusedIpcBuffer {
  private bytes = new Uint8Array(1 << 20);
  private length = 0;

  /** The batch's IPC stream, valid until the next call. */
  serialize(batch: arrow.RecordBatch): Uint8Array {
    this.length = 0;
    new IpcStreamInto(this).writeAll([batch]);
    return this.bytes.subarray(0, this.length);
  }

  append(chunk: Uint8Array): void {
    const end = this.length + chunk.byteLength;
    if (end > this.bytes.length) {
      const grown = new Uint8Array(Math.max(end, 2 * this.bytes.length));
      grown.set(this.bytes.subarray(0, this.length));
      this.bytes = grown;
    }
    this.bytes.set(chunk, this.length);
    this.length = end;
  }
}

/** Arrow's stream writer, its every write copied into a ReusedIpcBuffer instead of queued. */
class IpcStreamInto extends arrow.RecordBatchStreamWriter {
  constructor(private readonly target: ReusedIpcBuffer) {
    super();
  }

  protected override _write(chunk: ArrayBufferView): this {
    if (this._started && chunk.byteLength > 0) {
      this.target.append(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      this._position += chunk.byteLength;
    }
    return this;
  }
}

/** Hands a batch to wasm memory; the Arrow IPC stream format is the one door parquet-wasm offers. */
function toWasmBatch(batch: arrow.RecordBatch, ipc: ReusedIpcBuffer): parquet.RecordBatch {
  const table = parquet.Table.fromIPCStream(ipc.serialize(batch));
  try {
    const wasmBatch = table.recordBatch(0);
    if (!wasmBatch) throw new Error('Arrow IPC round trip lost the record batch');
    return wasmBatch;
  } finally {
    table.free();
  }
}

/**
 * Parquet bytes for the batches, as a Node stream. `batches` must yield at least one batch
 * (an empty one for an empty table) because the writer learns the schema from the first.
 * Destroying the stream (failure or abort downstream) stops the wasm writer at once.
 */
export class ParquetStream extends Readable {
  private readonly source: AsyncIterator<arrow.RecordBatch>;
  private reader!: ReadableStreamDefaultReader<Uint8Array>;
  private rowsIn = 0;
  /** parquet-wasm panics when its input stream errors, so a failure closes the input instead and is raised here. */
  private inputError: { error: unknown } | null = null;
  private stopped = false;
  private complete = false;
  private readonly ipc = new ReusedIpcBuffer();
  /** Set once the input is closed: only the writer's closing output (last row group, footer) follows. */
  private inputEnded = false;
  /** What came out after the input ended, which holds the whole footer; nothing before it is kept. */
  private closingChunks: Uint8Array[] = [];

  constructor(
    batches: AsyncIterable<arrow.RecordBatch>,
    private readonly schema: arrow.Schema,
    private readonly compression: Compression,
  ) {
    super();
    this.source = batches[Symbol.asyncIterator]();
  }

  override _construct(callback: (error?: Error | null) => void): void {
    const batchStream = new ReadableStream<parquet.RecordBatch>({ pull: (controller) => this.pullBatch(controller) }, { highWaterMark: 0 });
    parquet.transformParquetStream(batchStream, writerProperties(this.schema, this.compression)).then(
      (output) => {
        this.reader = output.getReader() as ReadableStreamDefaultReader<Uint8Array>;
        callback();
      },
      (error: unknown) => callback(asError(this.inputError ? this.inputError.error : error)),
    );
  }

  override _read(): void {
    this.reader.read().then(({ done, value }) => {
      if (this.inputError) return this.destroy(asError(this.inputError.error));
      if (!done) {
        if (this.inputEnded) this.closingChunks.push(value);
        for (let at = 0; at < value.length; at += PUSH_BYTES) this.push(value.subarray(at, at + PUSH_BYTES));
        return;
      }
      this.checkFooter();
      this.complete = true;
      this.push(null);
    }).catch((error: unknown) => this.destroy(asError(error)));
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.complete) {
      // The wasm writer's next pull finds the input stopped and winds down.
      this.stopped = true;
      void this.reader?.cancel().catch(() => undefined);
      void this.source.return?.().catch(() => undefined);
    }
    callback(error);
  }

  private async pullBatch(controller: ReadableStreamDefaultController<parquet.RecordBatch>): Promise<void> {
    try {
      const next = this.stopped ? null : await this.source.next();
      if (!next || next.done || this.stopped) return this.closeInput(controller);
      this.rowsIn += next.value.numRows;
      controller.enqueue(toWasmBatch(next.value, this.ipc));
    } catch (error) {
      this.inputError = { error };
      this.closeInput(controller);
    }
  }

  /** The footer is written only after this, so every chunk holding part of it is kept. */
  private closeInput(controller: ReadableStreamDefaultController<parquet.RecordBatch>): void {
    this.inputEnded = true;
    controller.close();
  }

  private checkFooter(): void {
    const footerRows = footerRowCount(Buffer.concat(this.closingChunks));
    if (footerRows !== this.rowsIn) {
      throw new IntegrityError(`Parquet writer lost rows: the footer says ${footerRows}, ${this.rowsIn} were written`);
    }
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
