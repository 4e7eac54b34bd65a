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

/** Hands a batch to wasm memory; the Arrow IPC stream format is the one door parquet-wasm offers. */
function toWasmBatch(batch: arrow.RecordBatch): parquet.RecordBatch {
  const table = parquet.Table.fromIPCStream(arrow.tableToIPC(new arrow.Table(batch), 'stream'));
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
  /** The footer arrives with the last write; two chunks are enough to hold it. */
  private previous: Uint8Array | null = null;
  private last: Uint8Array | null = null;

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
        this.previous = this.last;
        this.last = value;
        this.push(value);
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
      if (!next || next.done || this.stopped) return controller.close();
      this.rowsIn += next.value.numRows;
      controller.enqueue(toWasmBatch(next.value));
    } catch (error) {
      this.inputError = { error };
      controller.close();
    }
  }

  private checkFooter(): void {
    const footerRows = footerRowCount(Buffer.concat([this.previous ?? new Uint8Array(0), this.last ?? new Uint8Array(0)]));
    if (footerRows !== this.rowsIn) {
      throw new IntegrityError(`Parquet writer lost rows: the footer says ${footerRows}, ${this.rowsIn} were written`);
    }
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
