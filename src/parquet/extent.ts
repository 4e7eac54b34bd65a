/**
 * The least and greatest of int64 values seen as (high, low) 32-bit halves, so no BigInt is made
 * per value; kept in plain fields, as a time-ordered column has a new greatest on nearly every row.
 */
export class Int64Extent {
  private minHigh = 0;
  private minLow = 0;
  private maxHigh = 0;
  private maxLow = 0;
  private seen = false;

  /** `high` signed, `low` unsigned. */
  observe(high: number, low: number): void {
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

  /** The extremes as [high, low] pairs, or null if no value was seen. */
  extremes(): { min: [number, number]; max: [number, number] } | null {
    return this.seen ? { min: [this.minHigh, this.minLow], max: [this.maxHigh, this.maxLow] } : null;
  }
}
