/**
 * Gathers what validate.ts checks (date range, share of empty rows) from the Arrow batches a
 * Parquet load sends to COPY, so the staging table needs no second scan: a COPY takes all of
 * its rows or none, so once it succeeds the table holds exactly these. The date range is
 * computed as the export's DateRangeTap computes the manifest's, from the same values.
 */
import * as arrow from 'apache-arrow';
import { Int64Extent } from '../parquet/extent.js';
import { EPOCH_SHIFT_MICROS_HIGH, EPOCH_SHIFT_MICROS_LOW, isoDate, splitUnixMicros } from '../parquet/pg-datetime.js';
import type { TableLayout } from '../parquet/table-catalog.js';
import { dataColumns, type StagedFacts } from './validate.js';

const TWO_32 = 4294967296;

export class StreamedFacts {
  private readonly dateColumn: string | null;
  private readonly dataColumns: string[];
  /** Extremes as (high, low) 32-bit halves of int64 micros, or (days, 0) for a date column. */
  private readonly extent = new Int64Extent();
  private isDate = false;
  private emptyRows = 0;

  constructor(layout: TableLayout, defaults: Set<string>) {
    this.dateColumn = layout.dateColumnIndex >= 0 ? layout.columns[layout.dateColumnIndex]!.name : null;
    this.dataColumns = dataColumns(layout, defaults);
  }

  add(batch: arrow.RecordBatch): void {
    const child = (name: string) => {
      const at = batch.schema.fields.findIndex((f) => f.name === name);
      return at < 0 ? null : (batch.data.children[at] as arrow.Data);
    };
    if (this.dateColumn) {
      const dates = child(this.dateColumn);
      if (dates) this.observeDates(dates);
    }
    this.emptyRows += this.countEmpty(this.dataColumns.map(child), batch.numRows);
  }

  facts(rows: number): StagedFacts {
    const extremes = this.extent.extremes();
    const range: [string, string] | null = extremes && [this.day(extremes.min), this.day(extremes.max)];
    return { rows, dateRange: range, emptyRowRatio: rows === 0 ? 0 : this.emptyRows / rows };
  }

  private observeDates(data: arrow.Data): void {
    this.isDate = arrow.DataType.isDate(data.type);
    const values = data.values as Int32Array | BigInt64Array;
    // Days (int32), or int64 micros read as (low, high) int32 pairs so no BigInt is made per row.
    const words = this.isDate ? (values as Int32Array) : new Int32Array(values.buffer, values.byteOffset, 2 * values.length);
    const step = this.isDate ? 1 : 2;
    const validity = data.nullCount > 0 ? data.nullBitmap : null;
    for (let row = 0; row < data.length; row++) {
      if (validity) {
        const bit = data.offset + row;
        if ((validity[bit >> 3]! & (1 << (bit & 7))) === 0) continue;
      }
      if (this.isDate) this.extent.observe(words[row]!, 0);
      else this.extent.observe(words[step * row + 1]!, words[step * row]! >>> 0);
    }
  }

  /** Rows of the batch whose data columns are all NULL (a column absent from the file is NULL in every row). */
  private countEmpty(columns: (arrow.Data | null)[], rows: number): number {
    if (columns.length === 0) return 0;
    const present = columns.filter((c): c is arrow.Data => c !== null);
    if (present.some((c) => c.nullCount === 0)) return 0;
    let empty = 0;
    for (let row = 0; row < rows; row++) {
      if (present.every((c) => (c.nullBitmap![(c.offset + row) >> 3]! & (1 << ((c.offset + row) & 7))) === 0)) empty++;
    }
    return empty;
  }

  private day([high, low]: [number, number]): string {
    if (this.isDate) return isoDate(high);
    // Unix micros -> PostgreSQL's halves (with a borrow), which splitUnixMicros turns into Unix days exactly.
    const pgLow = low - EPOCH_SHIFT_MICROS_LOW;
    const borrow = pgLow < 0 ? 1 : 0;
    return isoDate(splitUnixMicros(high - EPOCH_SHIFT_MICROS_HIGH - borrow, pgLow + borrow * TWO_32).days);
  }
}
