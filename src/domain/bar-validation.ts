/**
 * Checks an incoming OHLC bar before it may be stored: the same rules the table's CHECK
 * constraints enforce, tested first so one bad bar is skipped instead of failing the
 * whole insert.
 */

export interface OhlcBar {
  time: number;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
}

/** numeric(12,4) holds values below 10^8. */
const MAX_PRICE = 1e8;

/** Why the bar cannot be stored, or null when it is valid. */
export function barProblem(bar: OhlcBar): string | null {
  if (!Number.isFinite(bar.time)) return 'unreadable datetime';
  const [open, high, low, close, volume] = [bar.open, bar.high, bar.low, bar.close, bar.volume].map(Number) as [number, number, number, number, number];
  for (const [name, value] of [['open', open], ['high', high], ['low', low], ['close', close]] as const) {
    if (!Number.isFinite(value)) return `${name} is not a number`;
    if (value <= 0) return `${name} is not positive`;
    if (value >= MAX_PRICE) return `${name} is too large`;
  }
  if (high < low) return 'high below low';
  if (open < low || open > high) return 'open outside [low, high]';
  if (close < low || close > high) return 'close outside [low, high]';
  if (!Number.isInteger(volume) || volume < 0) return 'volume is not a non-negative integer';
  return null;
}
