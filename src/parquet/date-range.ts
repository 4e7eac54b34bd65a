/**
 * Tracks the min/max of the date column while rows stream past, so the manifest gets a
 * date range without a second scan of the table.
 */
import type { FieldTap } from './copy-binary-decoder.js';
import { EPOCH_SHIFT_DAYS, isoDate, splitUnixMicros } from './pg-datetime.js';
import { Kind } from './pg-types.js';

export class DateRangeTap implements FieldTap {
  /** Values as (high, low) halves: int64 micros for timestamps, (days, 0) for dates. */
  private minHigh = 0;
  private minLow = 0;
  private maxHigh = 0;
  private maxLow = 0;
  private seen = false;

  constructor(
    readonly column: number,
    private readonly kind: Kind,
  ) {}

  observe(_bytes: Uint8Array, view: DataView, offset: number): void {
    const isDate = this.kind === Kind.Date;
    const high = view.getInt32(offset);
    const low = isDate ? 0 : view.getUint32(offset + 4);
    if (!this.seen) {
      this.seen = true;
      this.minHigh = this.maxHigh = high;
      this.minLow = this.maxLow = low;
      return;
    }
    if (high < this.minHigh || (high === this.minHigh && low < this.minLow)) {
      this.minHigh = high;
      this.minLow = low;
    }
    if (high > this.maxHigh || (high === this.maxHigh && low > this.maxLow)) {
      this.maxHigh = high;
      this.maxLow = low;
    }
  }

  /** UTC (or, for timestamp without time zone, wall-clock) dates of the extremes; null if no value was seen. */
  range(): [string, string] | null {
    if (!this.seen) return null;
    return [this.isoDate(this.minHigh, this.minLow), this.isoDate(this.maxHigh, this.maxLow)];
  }

  private isoDate(high: number, low: number): string {
    return isoDate(this.kind === Kind.Date ? high + EPOCH_SHIFT_DAYS : splitUnixMicros(high, low).days);
  }
}
