/**
 * Per group of rows (e.g. per symbol): how many rows and the first and last value of a
 * timestamp column, tracked while the rows stream past, so the export yields what
 * `select key, min(time), max(time), count(*) ... group by key` would without a second scan.
 * State is per group, none per row; the hot path compares the key's bytes with the previous
 * row's group, then with the group that followed that one last time, and decodes a key only
 * when both miss: once per group for rows sorted by group (symbol, time) or by time with the
 * groups in the same order at each step (time, symbol).
 */
import { InputError } from '../errors.js';
import type { FieldTap } from './copy-binary-decoder.js';
import { EPOCH_SHIFT_MICROS_HIGH, EPOCH_SHIFT_MICROS_LOW } from './pg-datetime.js';
import { Kind } from './pg-types.js';
import type { TableLayout } from './table-catalog.js';

/** Which columns group the rows and which timestamp spans each group. */
export interface GroupSpanColumns {
  groupColumn: string;
  timeColumn: string;
}

export interface GroupSpan {
  group: string;
  /**
   * Earliest and latest time as epoch milliseconds, exactly as PostgreSQL's
   * `(extract(epoch from t) * 1000)::bigint` gives them (sub-millisecond rounded half away from zero).
   */
  first: number;
  last: number;
  rows: number;
}

interface GroupState {
  readonly group: string;
  /** The key's UTF-8 bytes as COPY sends them, to recognise the group without decoding. */
  readonly key: Uint8Array;
  /** The group whose row came after this group's last time. */
  next: GroupState | null;
  rows: number;
  /** Timestamps as PostgreSQL's int64 microseconds in (high, low) halves: no BigInt per row. */
  minHigh: number;
  minLow: number;
  maxHigh: number;
  maxLow: number;
}

const utf8 = new TextDecoder();

/** A tracker for `columns` of `layout`; both must be NOT NULL, the group a text and the time a timestamp column. */
export function groupSpanTracker(layout: TableLayout, columns: GroupSpanColumns): GroupSpanTracker {
  const find = (name: string, role: string, kinds: Kind[], expected: string): number => {
    const index = layout.columns.findIndex((column) => column.name === name);
    if (index < 0) throw new InputError(`${role} "${name}" is not a column of table ${layout.label}`);
    const column = layout.columns[index]!;
    if (!kinds.includes(column.kind) || column.nullable) {
      throw new InputError(`${role} "${name}" of table ${layout.label} is ${column.pgType}${column.nullable ? ' (nullable)' : ''}; expected ${expected} NOT NULL`);
    }
    return index;
  };
  const group = find(columns.groupColumn, 'groupColumn', [Kind.Text], 'text');
  const time = find(columns.timeColumn, 'timeColumn', [Kind.Timestamp, Kind.TimestampTz], 'timestamp or timestamptz');
  return new GroupSpanTracker(group, time);
}

/**
 * Feeds on two NOT NULL columns of every row, a text key and a timestamp: add `taps` to the
 * decoder. Whichever of the two comes later in the row records it. Infinite timestamps never
 * get this far: both writers refuse them.
 */
export class GroupSpanTracker {
  readonly taps: readonly FieldTap[];
  private readonly groups = new Map<string, GroupState>();
  private current: GroupState | null = null;
  private high = 0;
  private low = 0;

  constructor(groupColumn: number, timeColumn: number) {
    const groupLast = groupColumn > timeColumn;
    this.taps = [
      {
        column: groupColumn,
        observe: (bytes: Uint8Array, _view: DataView, offset: number, length: number) => {
          this.enter(bytes, offset, length);
          if (groupLast) this.record();
        },
      },
      {
        column: timeColumn,
        observe: (_bytes: Uint8Array, view: DataView, offset: number) => {
          this.high = view.getInt32(offset);
          this.low = view.getUint32(offset + 4);
          if (!groupLast) this.record();
        },
      },
    ];
  }

  /** The groups in order of first appearance. */
  spans(): GroupSpan[] {
    return [...this.groups.values()].map((state) => ({
      group: state.group,
      first: epochMillis(state.minHigh, state.minLow),
      last: epochMillis(state.maxHigh, state.maxLow),
      rows: state.rows,
    }));
  }

  /** Makes the group whose key is at bytes[offset, offset + length) current. */
  private enter(bytes: Uint8Array, offset: number, length: number): void {
    const current = this.current;
    if (current !== null && sameKey(current, bytes, offset, length)) return;
    const expected = current?.next ?? null;
    let state: GroupState | undefined;
    if (expected !== null && sameKey(expected, bytes, offset, length)) {
      state = expected;
    } else {
      const raw = bytes.subarray(offset, offset + length);
      const group = utf8.decode(raw);
      state = this.groups.get(group);
      if (state === undefined) {
        state = { group, key: raw.slice(), next: null, rows: 0, minHigh: 0, minLow: 0, maxHigh: 0, maxLow: 0 };
        this.groups.set(group, state);
      }
      if (current !== null) current.next = state;
    }
    this.current = state;
  }

  private record(): void {
    const state = this.current!;
    const { high, low } = this;
    if (state.rows === 0) {
      state.minHigh = state.maxHigh = high;
      state.minLow = state.maxLow = low;
    } else if (high > state.maxHigh || (high === state.maxHigh && low > state.maxLow)) {
      state.maxHigh = high;
      state.maxLow = low;
    } else if (high < state.minHigh || (high === state.minHigh && low < state.minLow)) {
      state.minHigh = high;
      state.minLow = low;
    }
    state.rows++;
  }
}

function sameKey(state: GroupState, bytes: Uint8Array, offset: number, length: number): boolean {
  const key = state.key;
  if (key.length !== length) return false;
  let i = 0;
  while (i < length && key[i] === bytes[offset + i]) i++;
  return i === length;
}

const PG_EPOCH_UNIX_MICROS = (BigInt(EPOCH_SHIFT_MICROS_HIGH) << 32n) + BigInt(EPOCH_SHIFT_MICROS_LOW);

/** Epoch milliseconds of a PostgreSQL timestamp given as halves, as `(extract(epoch from t) * 1000)::bigint`. */
function epochMillis(high: number, low: number): number {
  const micros = (BigInt(high) << 32n) + BigInt(low) + PG_EPOCH_UNIX_MICROS;
  // BigInt division truncates towards zero and the remainder keeps the sign: round half away from zero.
  const remainder = micros % 1000n;
  return Number(micros / 1000n + (remainder >= 500n ? 1n : remainder <= -500n ? -1n : 0n));
}
