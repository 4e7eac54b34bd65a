/**
 * Tracks the min/max of the date column while rows stream past, so the manifest gets a
 * date range without a second scan of the table.
 */
import type { FieldTap } from './copy-binary-decoder.js';
import { Int64Extent } from './extent.js';
import { EPOCH_SHIFT_DAYS, isoDate, splitUnixMicros } from './pg-datetime.js';
import { Kind } from './pg-types.js';

export class DateRangeTap implements FieldTap {
  /** Values as (high, low) halves: int64 micros for timestamps, (days, 0) for dates. */
  private readonly extent = new Int64Extent();

  constructor(
    readonly column: number,
    private readonly kind: Kind,
  ) {}

  observe(_bytes: Uint8Array, view: DataView, offset: number): void {
    const isDate = this.kind === Kind.Date;
    this.extent.observe(view.getInt32(offset), isDate ? 0 : view.getUint32(offset + 4));
  }

  /** UTC (or, for timestamp without time zone, wall-clock) dates of the extremes; null if no value was seen. */
  range(): [string, string] | null {
    const extremes = this.extent.extremes();
    return extremes && [this.isoDate(extremes.min), this.isoDate(extremes.max)];
  }

  private isoDate([high, low]: [number, number]): string {
    return isoDate(this.kind === Kind.Date ? high + EPOCH_SHIFT_DAYS : splitUnixMicros(high, low).days);
  }
}
