import { BAR_MS, barSeries, demoSymbols, formatTicks } from './ohlcv.js';
import type { CopyTable, CopyValue } from './copy-text.js';
import { createRandom } from './random.js';

/** The production table holds 636 trades; each demo symbol gets as many. */
export const TRADES_PER_SYMBOL = 636;
/** The newest positions of each symbol are still open (no exit, no P&L yet). */
const OPEN_POSITIONS = 3;
/** Trades before this instant ran on the paper account. */
const LIVE_SINCE = Date.parse('2024-07-01T00:00:00Z');
const EXIT_REASONS = ['take_profit', 'stop_loss', 'signal_flip', 'timeout'] as const;

export function tradesTable(scale: number, seed: number): CopyTable {
  return {
    table: 'trades_history',
    columns: [
      'trade_id', 'symbol', 'side', 'quantity', 'price', 'exit_price', 'pnl', 'fees',
      'strategy', 'model_version', 'is_paper', 'opened_at', 'closed_at', 'metadata',
    ],
    rows: function* () {
      for (const symbol of demoSymbols(scale)) yield* symbolTrades(symbol, seed);
    },
  };
}

/**
 * Trades of one symbol at the closes of its demo bars: the series is cut into equal
 * segments, one trade each, so trades never overlap and always price at a real bar.
 */
function* symbolTrades(symbol: string, seed: number): Generator<CopyValue[]> {
  const times: number[] = [];
  const closes: number[] = [];
  for (const bar of barSeries(symbol, seed)) {
    times.push(bar.time);
    closes.push(bar.close);
  }
  const random = createRandom(seed, `trades:${symbol}`);
  const segment = Math.floor(times.length / TRADES_PER_SYMBOL);

  for (let k = 0; k < TRADES_PER_SYMBOL; k++) {
    const entry = k * segment + random.int(0, Math.floor(segment / 2));
    const exit = entry + random.int(1, Math.min(48, Math.floor(segment / 2)));
    const open = k >= TRADES_PER_SYMBOL - OPEN_POSITIONS;
    const side = random.next() < 0.5 ? 'buy' : 'sell';
    const quantity = 5_000 * random.int(2, 50); // USD notional, in 5k lots
    const openedAt = times[entry]! + BAR_MS; // filled at the bar's close
    const manual = random.next() < 0.05;
    const entryPrice = closes[entry]! / 10_000;
    const exitPrice = closes[exit]! / 10_000;
    const pnlUsd = ((side === 'buy' ? 1 : -1) * (exitPrice - entryPrice) * quantity) / exitPrice;

    yield [
      random.uuid(),
      symbol,
      side,
      `${quantity}.000000`,
      formatTicks(closes[entry]!),
      open ? null : formatTicks(closes[exit]!),
      open ? null : pnlUsd.toFixed(4),
      // Unconstrained numeric: a 0.50 USD ticket plus 0.25 bp of the notional, at whatever scale that takes.
      String((quantity * 25 + 500_000) / 1_000_000),
      manual ? 'manual' : 'ppo_rl',
      manual ? null : modelVersion(openedAt),
      openedAt < LIVE_SINCE,
      new Date(openedAt).toISOString(),
      open ? null : new Date(times[exit]! + BAR_MS).toISOString(),
      manual
        ? null
        : JSON.stringify({
            confidence: Number((0.5 + 0.5 * random.next()).toFixed(3)),
            bars_held: open ? null : exit - entry,
            exit_reason: open ? null : random.pick(EXIT_REASONS),
          }),
    ];
  }
}

/** The PPO model generation in production at a given time: v12 in 2020 up to v20 from 2025-07. */
function modelVersion(utcMs: number): string {
  const months = (new Date(utcMs).getUTCFullYear() - 2020) * 12 + new Date(utcMs).getUTCMonth();
  return `ppo_v${Math.min(20, 12 + Math.floor(months / 8))}`;
}
