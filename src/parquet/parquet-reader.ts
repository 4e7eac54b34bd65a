/**
 * Reads a Parquet file on disk one row group at a time: parquet-wasm decodes the row group
 * (reading only its byte ranges through a file-backed Blob), hands it over as Arrow IPC,
 * and the previous one is freed first, so memory holds about one row group whatever the
 * file size.
 */
import { openAsBlob } from 'node:fs';
import * as arrow from 'apache-arrow';
import * as parquet from 'parquet-wasm';

export interface ParquetFileInfo {
  rows: number;
  rowGroups: number;
  fields: arrow.Field[];
}

/** Rows per Arrow batch handed out; a row group (131072 rows from our writer) gives a few. */
const BATCH_ROWS = 65_536;

async function open(path: string): Promise<parquet.ParquetFile> {
  try {
    return await parquet.ParquetFile.fromFile(await openAsBlob(path));
  } catch (err) {
    // openAsBlob's own message does not say which file.
    throw new Error(`cannot read ${path} as Parquet: ${(err as Error).message}`, { cause: err });
  }
}

/** Row count, row groups and the Arrow schema, from the footer only. */
export async function parquetFileInfo(path: string): Promise<ParquetFileInfo> {
  const file = await open(path);
  try {
    const metadata = file.metadata();
    const schema = arrow.tableFromIPC(file.schema().intoIPCStream()).schema;
    return { rows: metadata.fileMetadata().numRows(), rowGroups: metadata.numRowGroups(), fields: schema.fields };
  } finally {
    file.free();
  }
}

/** Every record batch of the file, in order, with the given columns only (in that order). */
export async function* readParquetBatches(path: string, columns: string[]): AsyncGenerator<arrow.RecordBatch> {
  const file = await open(path);
  try {
    const rowGroups = file.metadata().numRowGroups();
    for (let i = 0; i < rowGroups; i++) {
      const wasmTable = await file.read({ rowGroups: [i], columns, batchSize: BATCH_ROWS });
      const table = arrow.tableFromIPC(wasmTable.intoIPCStream());
      // Column order of the read follows the file; select puts it in the caller's order.
      yield* table.select(columns).batches;
    }
  } finally {
    file.free();
  }
}
