/** A value in a COPY text-format row; null becomes \N. */
export type CopyValue = string | number | boolean | null;

export interface CopyTable {
  table: string;
  columns: readonly string[];
  rows(): Iterable<CopyValue[]>;
}

/** One row in PostgreSQL's COPY text format, newline included. */
export function copyLine(values: readonly CopyValue[]): string {
  let line = '';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) line += '\t';
    line += copyField(values[i]!);
  }
  return `${line}\n`;
}

function copyField(value: CopyValue): string {
  if (value === null) return '\\N';
  if (typeof value === 'boolean') return value ? 't' : 'f';
  if (typeof value === 'number') return String(value);
  return SPECIAL.test(value) ? value.replace(SPECIAL_GLOBAL, (c) => ESCAPES[c]!) : value;
}

const SPECIAL = /[\\\t\n\r]/;
const SPECIAL_GLOBAL = /[\\\t\n\r]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

const MS_PER_DAY = 86_400_000;
const MINUTE_TEXT = Array.from({ length: 1440 }, (_, m) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}:00+00`);
let cachedDay = NaN;
let cachedDayText = '';

/**
 * A whole-minute UTC instant as timestamptz text ('2020-01-02 13:00:00+00'). Millions of bars
 * share a few thousand days, so the date part is reused: several times faster than toISOString.
 */
export function minuteTimestampText(utcMs: number): string {
  const day = Math.floor(utcMs / MS_PER_DAY);
  if (day !== cachedDay) {
    cachedDay = day;
    cachedDayText = new Date(day * MS_PER_DAY).toISOString().slice(0, 10);
  }
  return `${cachedDayText} ${MINUTE_TEXT[Math.floor((utcMs - day * MS_PER_DAY) / 60_000)]}`;
}
