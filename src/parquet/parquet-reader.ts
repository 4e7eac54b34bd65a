/**
 * Reads a Parquet file on disk, or one still downloading (arriving-file.ts), one row group
 * at a time: parquet-wasm decodes the row group (reading only its byte ranges through a
 * file-backed Blob), hands it over as Arrow IPC, and the previous one is freed first, so
 * memory holds about one row group whatever the file size.
 */
import { openAsBlob } from 'node:fs';
import * as arrow from 'apache-arrow';
import * as parquet from 'parquet-wasm';
import { ArrivingBlobs, type ArrivingParquet } from './arriving-file.js';

/** A file's path, or a file that is still arriving. */
export type ParquetSource = string | ArrivingParquet;

export interface ParquetFileInfo {
  rows: number;
  rowGroups: number;
  fields: arrow.Field[];
}

/** Rows per Arrow batch handed out; a row group (131072 rows from our writer) gives a few. */
const BATCH_ROWS = 65_536;

async function open(source: ParquetSource, blob: () => Promise<Blob>): Promise<parquet.ParquetFile> {
  try {
    return await parquet.ParquetFile.fromFile(await blob());
  } catch (err) {
    // openAsBlob's own message does not say which file.
    const name = typeof source === 'string' ? source : `the download in ${source.dir}`;
    throw new Error(`cannot read ${name} as Parquet: ${(err as Error).message}`, { cause: err });
  }
}

/** Row count, row groups and the Arrow schema, from the footer only. */
export async function parquetFileInfo(source: ParquetSource): Promise<ParquetFileInfo> {
  const file = await open(source, () => (typeof source === 'string' ? openAsBlob(source) : new ArrivingBlobs(source).footerView()));
  try {
    const metadata = file.metadata();
    const schema = arrow.tableFromIPC(file.schema().intoIPCStream()).schema;
    return { rows: metadata.fileMetadata().numRows(), rowGroups: metadata.numRowGroups(), fields: schema.fields };
  } finally {
    file.free();
  }
}

/** Every record batch of the file, in order, with the given columns only (in that order). */
export async function* readParquetBatches(source: ParquetSource, columns: string[]): AsyncGenerator<arrow.RecordBatch> {
  for await (const [file, rowGroup] of rowGroups(source)) {
    const wasmTable = await file.read({ rowGroups: [rowGroup], columns, batchSize: BATCH_ROWS });
    const table = arrow.tableFromIPC(wasmTable.intoIPCStream());
    // Column order of the read follows the file; select puts it in the caller's order.
    yield* table.select(columns).batches;
  }
}

/** Each row group index with a file able to read it: the whole file, or the part of an arriving one that holds it. */
async function* rowGroups(source: ParquetSource): AsyncGenerator<[parquet.ParquetFile, number]> {
  if (typeof source === 'string') {
    const file = await open(source, () => openAsBlob(source));
    try {
      const count = file.metadata().numRowGroups();
      for (let i = 0; i < count; i++) yield [file, i];
    } finally {
      file.free();
    }
    return;
  }
  const blobs = new ArrivingBlobs(source);
  for (let i = 0; i < source.ends.length; i++) {
    const file = await open(source, () => blobs.rowGroup(i));
    try {
      yield [file, i];
    } finally {
      file.free();
    }
  }
}
