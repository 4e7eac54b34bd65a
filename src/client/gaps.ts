import { Command } from 'commander';
import { calendarFor } from '../config/calendars.js';
import { DEFAULT_TOLERANCE_MS, detectGaps, type Gap, type GapSeverity } from '../domain/gaps.js';
import { barTimes, firstBarTime } from '../db/ohlcv-bars.js';
import { instantFlag } from './backfill-start.js';
import { commandConfig } from './context.js';
import { withDatabase } from './database.js';
import { printJson, printTable } from './output.js';

const SEVERITIES: GapSeverity[] = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW'];
/** Gaps listed per symbol in the human output; --json has them all. */
const LISTED = 20;

export function gapsCommand(): Command {
  return new Command('gaps')
    .description('report missing bars by each symbol\'s market calendar (backfill.calendar, symbol_calendars), by severity')
    .option('--symbol <symbol>', 'one symbol (default: backfill.symbols from the config)')
    .option('--from <date>', "ISO date or instant (default: the symbol's first bar, or backfill.default_lookback_days ago)")
    .option('--to <date>', 'ISO date or instant (default: now)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { symbol?: string; from?: string; to?: string; json?: boolean }, command: Command) => {
      const config = await commandConfig(command);
      const fromFlag = instantFlag('--from', opts.from);
      const to = Date.parse(instantFlag('--to', opts.to) ?? new Date().toISOString());
      const symbols = opts.symbol ? [opts.symbol] : config.backfill.symbols;
      const reports = await withDatabase(config, (pool) =>
        Promise.all(
          symbols.map(async (symbol) => {
            const lookback = to - config.backfill.default_lookback_days * 86_400_000;
            const from = fromFlag ? Date.parse(fromFlag) : ((await firstBarTime(pool, symbol)) ?? lookback);
            const present = await barTimes(pool, symbol, from - DEFAULT_TOLERANCE_MS, to + DEFAULT_TOLERANCE_MS);
            const calendar = calendarFor(config, symbol);
            const report = detectGaps(calendar, present, from, to);
            const bySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, report.gaps.filter((g) => g.severity === s).length]));
            return { symbol, from: new Date(from).toISOString(), to: new Date(to).toISOString(), calendar: calendar.name, ...report, bySeverity };
          }),
        ),
      );
      if (opts.json) return printJson(reports.map((r) => ({ ...r, gaps: r.gaps.map(gapJson) })));
      for (const r of reports) {
        process.stdout.write(
          `${r.symbol} ${r.from} .. ${r.to}: ${r.completenessPct}% complete (${r.presentBars}/${r.expectedBars} bars); ` +
            `gaps: ${SEVERITIES.map((s) => `${s} ${r.bySeverity[s]}`).join(', ')}\n`,
        );
        const worst = [...r.gaps].sort((a, b) => b.minutes - a.minutes || a.start - b.start).slice(0, LISTED);
        printTable(worst.map(gapJson));
        if (r.gaps.length > LISTED) process.stdout.write(`... ${r.gaps.length - LISTED} smaller gaps not listed (use --json)\n`);
      }
    });
}

function gapJson(g: Gap) {
  return { severity: g.severity, start: new Date(g.start).toISOString(), last_bar: new Date(g.end).toISOString(), bars: g.missingBars, minutes: g.minutes };
}
