/**
 * PostgreSQL counts timestamps in microseconds and dates in days from 2000-01-01; Arrow,
 * Parquet and ISO text count from 1970-01-01. Timestamps are handled as two 32-bit halves
 * so the hot loop never creates a BigInt.
 */

/** 2000-01-01 − 1970-01-01. */
export const EPOCH_SHIFT_DAYS = 10957;
/** EPOCH_SHIFT_DAYS × 86400e6 split into 32-bit halves: 220417 × 2^32 + 993517568. */
export const EPOCH_SHIFT_MICROS_HIGH = 220417;
export const EPOCH_SHIFT_MICROS_LOW = 993517568;
const TWO_32 = 4294967296;
const MICROS_PER_DAY = 86_400_000_000;

/** PostgreSQL's 'infinity' / '-infinity' are the extreme int64 / int32 values. */
export function isInfiniteTimestamp(high: number, low: number): boolean {
  return (high === 0x7fffffff && low === 0xffffffff) || (high === -0x80000000 && low === 0);
}
export function isInfiniteDate(days: number): boolean {
  return days === 0x7fffffff || days === -0x80000000;
}

/** Days and microseconds-of-day since 1970-01-01 for a PostgreSQL timestamp given as halves. */
export function splitUnixMicros(pgHigh: number, pgLow: number): { days: number; micros: number } {
  const micros = pgHigh * TWO_32 + pgLow + (EPOCH_SHIFT_MICROS_HIGH * TWO_32 + EPOCH_SHIFT_MICROS_LOW);
  if (Number.isSafeInteger(micros)) {
    const days = Math.floor(micros / MICROS_PER_DAY);
    return { days, micros: micros - days * MICROS_PER_DAY };
  }
  // Beyond ±285 years of 1970 a double is no longer exact; this is rare enough for BigInt.
  const exact = (BigInt(pgHigh) << 32n) + BigInt(pgLow) + BigInt(EPOCH_SHIFT_DAYS) * BigInt(MICROS_PER_DAY);
  let days = exact / BigInt(MICROS_PER_DAY);
  if (days * BigInt(MICROS_PER_DAY) > exact) days -= 1n;
  return { days: Number(days), micros: Number(exact - days * BigInt(MICROS_PER_DAY)) };
}

/** Proleptic Gregorian civil date from days since 1970-01-01 (H. Hinnant's algorithm). */
function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const dayOfEra = z - era * 146097;
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36524) - Math.floor(dayOfEra / 146096)) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const shiftedMonth = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * shiftedMonth + 2) / 5) + 1;
  const month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9;
  return { year: yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

/** ISO 8601 date; years outside 0..9999 use the expanded ±YYYYYY form, as JavaScript does. */
export function isoDate(unixDays: number): string {
  const { year, month, day } = civilFromDays(unixDays);
  const yearText = year >= 0 && year <= 9999 ? pad(year, 4) : `${year < 0 ? '-' : '+'}${pad(Math.abs(year), 6)}`;
  return `${yearText}-${pad(month, 2)}-${pad(day, 2)}`;
}

/** ISO 8601 timestamp with microseconds, e.g. 2024-01-02T03:04:05.000006 (caller adds Z for UTC). */
export function isoTimestamp(pgHigh: number, pgLow: number): string {
  const { days, micros } = splitUnixMicros(pgHigh, pgLow);
  const seconds = Math.floor(micros / 1_000_000);
  const time = `${pad(Math.floor(seconds / 3600), 2)}:${pad(Math.floor(seconds / 60) % 60, 2)}:${pad(seconds % 60, 2)}`;
  return `${isoDate(days)}T${time}.${pad(micros % 1_000_000, 6)}`;
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}
