/**
 * Splitting a large table's export into key ranges (backup.split_rows): how many parts, where
 * they start, and how the parts' figures add up to the table's. Pure, so the workflow, the
 * activities and the tests share it.
 */
import type { SymbolSpan } from './coverage.js';
import type { ManifestPart } from './manifest.js';

/** The signal by which the snapshot's holder hands the workflow the snapshot and the planned ranges. */
export const SNAPSHOT_HELD_SIGNAL = 'databaseSnapshotHeld';

/** The failure type of an export whose exported database snapshot is gone (its holder ended): only a new snapshot helps. */
export const SNAPSHOT_LOST = 'DatabaseSnapshotLost';

/** Key values as PostgreSQL prints them, in the order of the table's key columns. */
export type KeyValues = string[];

export interface KeyRange {
  /** Inclusive; null: from the first row. */
  from: KeyValues | null;
  /** Exclusive; null: to the last row. */
  to: KeyValues | null;
}

/** How many parts a table of about `rows` rows is split into: 1 means not split. */
export function partCount(rows: number, splitRows: number): number {
  return rows > splitRows ? Math.ceil(rows / splitRows) : 1;
}

/**
 * Cuts `sample` (keys sampled from the table, sorted by key) into `parts` ranges of about
 * equal rows: the bounds are the sample's quantiles. Equal neighbouring bounds collapse, so
 * a small or skewed sample gives fewer parts, never an empty range by construction.
 */
export function keyRanges(sample: readonly KeyValues[], parts: number): KeyRange[] {
  const bounds: KeyValues[] = [];
  for (let i = 1; i < parts; i++) {
    const bound = sample[Math.floor((i * sample.length) / parts)];
    if (bound && !bounds.some((b) => sameKey(b, bound)) && !sameKey(bound, sample[0]!)) bounds.push(bound);
  }
  return [null, ...bounds].map((from, i) => ({ from, to: bounds[i] ?? null }));
}

function sameKey(a: KeyValues, b: KeyValues): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** The SHA-256 input that stands for a split table's data: its parts' checksum lines, in part order. */
export function partsDigestInput(parts: readonly Pick<ManifestPart, 'file' | 'sha256'>[]): string {
  return parts.map((p) => `${p.sha256}  ${p.file}\n`).join('');
}

/** The table's date range from its parts' (dates as YYYY-MM-DD compare as strings). */
export function mergedDateRange(ranges: readonly ([string, string] | null)[]): [string, string] | null {
  const present = ranges.filter((r): r is [string, string] => r !== null);
  if (present.length === 0) return null;
  return [present.map((r) => r[0]).sort()[0]!, present.map((r) => r[1]).sort().at(-1)!];
}

/** One span per symbol from spans of several parts (a symbol can straddle a part bound). */
export function mergedSpans(spans: readonly SymbolSpan[]): SymbolSpan[] {
  const bySymbol = new Map<string, SymbolSpan>();
  for (const span of spans) {
    const seen = bySymbol.get(span.symbol);
    bySymbol.set(
      span.symbol,
      seen ? { symbol: span.symbol, first: Math.min(seen.first, span.first), last: Math.max(seen.last, span.last), bars: seen.bars + span.bars } : { ...span },
    );
  }
  return [...bySymbol.values()].sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
}
