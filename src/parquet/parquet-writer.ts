/**
 * Streams Arrow record batches through parquet-wasm's transformParquetStream: a web
 * ReadableStream of wasm RecordBatches in, a ReadableStream of Parquet bytes out, written
 * one row group at a time. Both sides are pulled, so a slow consumer of the bytes stops
 * the pulling of batches (and with it the COPY).
 *
 * The `parquet-wasm` Node entry is CommonJS and instantiates its wasm synchronously on
 * import, so there is no init step.
 */
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
 * Parquet bytes for the batches. `batches` must yield at least one batch (an empty one for
 * an empty table) because the writer learns the schema from the first.
 */
export async function* encodeParquet(batches: AsyncIterable<arrow.RecordBatch>, schema: arrow.Schema, compression: Compression): AsyncGenerator<Uint8Array> {
  const source = batches[Symbol.asyncIterator]();
  // parquet-wasm panics when its input stream errors, so a failure closes the input
  // (the writer then finishes a file nobody will use) and is rethrown on the output side.
  const input = { rows: 0, failed: false, error: undefined as unknown, stopped: false };
  const batchStream = new ReadableStream<parquet.RecordBatch>(
    {
      async pull(controller) {
        if (input.stopped) return controller.close();
        try {
          const next = await source.next();
          if (next.done) return controller.close();
          input.rows += next.value.numRows;
          controller.enqueue(toWasmBatch(next.value));
        } catch (error) {
          Object.assign(input, { failed: true, error });
          controller.close();
        }
      },
    },
    { highWaterMark: 0 },
  );
  const output = await parquet.transformParquetStream(batchStream, writerProperties(schema, compression)).catch((error: unknown) => {
    throw input.failed ? input.error : error;
  });
  const reader = output.getReader() as ReadableStreamDefaultReader<Uint8Array>;
  // The footer arrives with the last write; keeping two chunks is enough to read it.
  let previous: Uint8Array | null = null;
  let last: Uint8Array | null = null;
  let complete = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (input.failed) throw input.error;
      if (done) break;
      previous = last;
      last = value;
      yield value;
    }
    const footerRows = footerRowCount(Buffer.concat([previous ?? new Uint8Array(0), last ?? new Uint8Array(0)]));
    if (footerRows !== input.rows) {
      throw new IntegrityError(`Parquet writer lost rows: footer says ${footerRows}, ${input.rows} were written`);
    }
    complete = true;
  } finally {
    if (!complete) {
      // Stops the wasm writer: its next pull finds the input stopped and it winds down.
      input.stopped = true;
      void reader.cancel().catch(() => undefined);
      void source.return?.().catch(() => undefined);
    }
  }
}
