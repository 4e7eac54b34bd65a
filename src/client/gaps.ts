import { Command } from 'commander';
import type pg from 'pg';
import type { SeedvaultConfig } from '../config/schema.js';
import type { GapPatterns, GapSeverity } from '../domain/gaps.js';
import { InputError } from '../errors.js';
import { recordedGapPatterns, recordGaps, symbolGapReport, symbolsWithRecordedGaps, type ScoredGap } from '../quality/gaps.js';
import { instantFlag } from './backfill-start.js';
import { commandConfig } from './context.js';
import { withDatabase } from './database.js';
import { integerFlag } from './demo-data.js';
import { printJson, printTable } from './output.js';

const SEVERITIES: GapSeverity[] = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW'];
/** Gaps listed per symbol in the human output; --json has them all. */
const LISTED = 20;
const DEFAULT_PATTERN_DAYS = 30;
const MAX_PATTERN_DAYS = 3650;

interface GapsOptions {
  symbol?: string;
  from?: string;
  to?: string;
  record?: boolean;
  patterns?: boolean;
  lookbackDays?: string;
  json?: boolean;
}

export function gapsCommand(): Command {
  return new Command('gaps')
    .description('report missing bars by each symbol\'s market calendar (backfill.calendar, symbol_calendars), by severity, type and impact')
    .option('--symbol <symbol>', 'one symbol (default: backfill.symbols from the config; with --patterns: every symbol with recorded gaps)')
    .option('--from <date>', "ISO date or instant (default: the symbol's first bar, or backfill.default_lookback_days ago)")
    .option('--to <date>', 'ISO date or instant (default: now)')
    .option('--record', "also upsert the closed gaps into data_gaps as 'detected' (default: read-only)")
    .option('--patterns', 'analyse the gaps recorded in data_gaps: by weekday and hour (market zone), by type, by week')
    .option('--lookback-days <n>', `with --patterns: gaps that started in the last n days (default ${DEFAULT_PATTERN_DAYS})`)
    .option('--json', 'machine-readable output')
    .action(async (opts: GapsOptions, command: Command) => {
      if (opts.lookbackDays !== undefined && !opts.patterns) throw new InputError('--lookback-days: only with --patterns');
      if (opts.patterns) {
        const clash = (['from', 'to', 'record'] as const).find((k) => opts[k] !== undefined);
        if (clash) throw new InputError(`--patterns reads recorded gaps: --${clash} does not apply`);
        const days = opts.lookbackDays === undefined ? DEFAULT_PATTERN_DAYS : integerFlag('--lookback-days', opts.lookbackDays, 1, MAX_PATTERN_DAYS);
        return patterns(await commandConfig(command), opts.symbol, days, Boolean(opts.json));
      }
      return report(await commandConfig(command), opts);
    });
}

async function report(config: SeedvaultConfig, opts: GapsOptions): Promise<void> {
  const fromFlag = instantFlag('--from', opts.from);
  const to = Date.parse(instantFlag('--to', opts.to) ?? new Date().toISOString());
  const symbols = opts.symbol ? [opts.symbol] : config.backfill.symbols;
  const reports = await withDatabase(config, (pool: pg.Pool) =>
    Promise.all(
      symbols.map(async (symbol) => {
        const r = await symbolGapReport(pool, config, symbol, { from: fromFlag ? Date.parse(fromFlag) : undefined, to, lookbackDays: config.backfill.default_lookback_days });
        const recorded = opts.record ? await recordGaps(pool, r, 'seedvault gaps') : undefined;
        const bySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, r.gaps.filter((g) => g.severity === s).length]));
        const { calendar, from, gaps, ...counts } = r;
        return { ...counts, from: new Date(from).toISOString(), to: new Date(to).toISOString(), calendar: calendar.name, gaps, bySeverity, recorded };
      }),
    ),
  );
  if (opts.json) return printJson(reports.map((r) => ({ ...r, gaps: r.gaps.map(gapJson) })));
  for (const r of reports) {
    process.stdout.write(
      `${r.symbol} ${r.from} .. ${r.to}: ${r.completenessPct}% complete (${r.presentBars}/${r.expectedBars} bars); ` +
        `gaps: ${SEVERITIES.map((s) => `${s} ${r.bySeverity[s]}`).join(', ')}` +
        `${r.recorded ? `; data_gaps: ${r.recorded.inserted} new, ${r.recorded.updated} already recorded` : ''}\n`,
    );
    const worst = [...r.gaps].sort((a, b) => b.impactScore - a.impactScore || a.start - b.start).slice(0, LISTED);
    printTable(worst.map(gapJson));
    if (r.gaps.length > LISTED) process.stdout.write(`... ${r.gaps.length - LISTED} less important gaps not listed (use --json)\n`);
  }
}

function gapJson(g: ScoredGap) {
  return {
    severity: g.severity,
    type: g.type,
    start: new Date(g.start).toISOString(),
    last_bar: new Date(g.end).toISOString(),
    bars: g.missingBars,
    minutes: g.minutes,
    impact_score: g.impactScore,
    closed: g.closed,
  };
}

async function patterns(config: SeedvaultConfig, symbol: string | undefined, lookbackDays: number, json: boolean): Promise<void> {
  const now = Date.now();
  const results = await withDatabase(config, async (pool) => {
    const symbols = symbol ? [symbol] : await symbolsWithRecordedGaps(pool, now - lookbackDays * 86_400_000);
    const out: ({ symbol: string; lookbackDays: number } & GapPatterns)[] = [];
    for (const s of symbols) out.push({ symbol: s, lookbackDays, ...(await recordedGapPatterns(pool, config, s, now, lookbackDays)) });
    return out;
  });
  if (json) return printJson(results);
  if (results.length === 0) return void process.stdout.write(`no gaps recorded in the last ${lookbackDays} days\n`);
  for (const p of results) {
    process.stdout.write(
      `${p.symbol}: ${p.gaps} gaps, ${p.minutes} business minutes missing in the last ${p.lookbackDays} days; ` +
        `trend ${p.trendMinutesPerWeek >= 0 ? '+' : ''}${p.trendMinutesPerWeek} min/week; weekdays and hours in ${p.zone}\n`,
    );
    const rows = (buckets: Record<string, { gaps: number; minutes: number }>, key: string) =>
      Object.entries(buckets).filter(([, b]) => b.gaps > 0 || b.minutes > 0).map(([k, b]) => ({ [key]: k, gaps: b.gaps, minutes: b.minutes }));
    printTable(rows(p.byType, 'type'));
    printTable(rows(p.byWeekday, 'weekday'));
    printTable(rows(p.byHour, 'hour'));
    printTable(p.byWeek.map((w) => ({ week: w.week, gaps: w.gaps, minutes: w.minutes })));
  }
}
