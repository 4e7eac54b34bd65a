import { Command } from 'commander';
import { calendarFor } from '../config/calendars.js';
import { detectAnomalies } from '../quality/anomalies.js';
import { cleanupDuplicates } from '../quality/duplicates.js';
import { instantFlag } from './backfill-start.js';
import { commandConfig } from './context.js';
import { withDatabase } from './database.js';
import { printJson, printTable } from './output.js';

export function qualityCommand(): Command {
  const quality = new Command('quality').description('data quality: anomalies (gaps, outliers, staleness) and duplicate candles');

  quality
    .command('anomalies')
    .description('detect gaps > 24 h of open market, close-to-close moves > 20 % and staleness; log them in data_anomalies (deduplicated)')
    .option('--symbol <symbol>', 'one symbol (default: backfill.symbols from the config)')
    .option('--from <date>', 'only bars from this ISO date or instant')
    .option('--json', 'machine-readable output')
    .action(async (opts: { symbol?: string; from?: string; json?: boolean }, command: Command) => {
      const config = await commandConfig(command);
      const from = instantFlag('--from', opts.from);
      const symbols = opts.symbol ? [opts.symbol] : config.backfill.symbols;
      const results = await withDatabase(config, async (pool) => {
        const out = [];
        for (const symbol of symbols) out.push(await detectAnomalies(pool, { symbol, from: from ? new Date(from) : undefined, settings: config.quality, calendar: calendarFor(config, symbol) }));
        return out;
      });
      if (opts.json) return printJson(results);
      for (const r of results) {
        process.stdout.write(`${r.symbol}: ${r.found.length} anomaly(ies), ${r.inserted} new\n`);
        printTable(r.found.map((a) => ({ type: a.type, severity: a.severity, time: a.time, details: JSON.stringify(a.details) })));
      }
    });

  quality
    .command('duplicates')
    .description('remove duplicate candles (same symbol and time), keeping the newest written row; log each in duplicate_records_log')
    .requiredOption('--symbol <symbol>', 'the symbol')
    .option('--table <table>', 'a candle table keyed by (symbol, time)', 'usdcop_m5_ohlcv')
    .option('--dry-run', 'report and log what would be removed; change nothing')
    .option('--json', 'machine-readable output')
    .action(async (opts: { symbol: string; table: string; dryRun?: boolean; json?: boolean }, command: Command) => {
      const config = await commandConfig(command);
      const result = await withDatabase(config, (pool) => cleanupDuplicates(pool, { symbol: opts.symbol, table: opts.table, dryRun: Boolean(opts.dryRun) }));
      if (opts.json) return printJson(result);
      process.stdout.write(
        `${result.symbol} in ${result.table}: ${result.groups.length} duplicated bar(s), ${result.removed} row(s) ${result.dryRun ? 'would be removed (dry run)' : 'removed'}; kept: ${result.keptRule}\n`,
      );
      printTable(result.groups.slice(0, 20).map((g) => ({ time: g.time, copies: g.copies, removed: g.removed })));
    });

  return quality;
}
