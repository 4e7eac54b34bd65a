import { Command } from 'commander';
import { DEFAULT_DEMO_SEED, loadDemoData, MAX_DEMO_SCALE, type DemoDataCounts } from '../db/demo-data.js';
import { migrate } from '../db/migrate.js';
import { errorMessage, InputError, ServiceError } from '../errors.js';
import { commandConfig } from './context.js';
import { printJson } from './output.js';
import { ProgressLine } from './progress.js';

export function demoDataCommand(): Command {
  return new Command('demo-data')
    .description('replace the critical tables with deterministic demo data (scale 1 = production sizes)')
    .option('--scale <n>', `OHLCV symbols and trade books to generate, 1-${MAX_DEMO_SCALE}`, '1')
    .option('--seed <n>', 'random seed; the same scale and seed give identical tables', String(DEFAULT_DEMO_SEED))
    .option('--json', 'print the row counts as JSON')
    .action(async (opts: { scale: string; seed: string; json?: boolean }, command: Command) => {
      const scale = integerFlag('--scale', opts.scale, 1, MAX_DEMO_SCALE);
      const seed = integerFlag('--seed', opts.seed, 0, 0xffffffff);
      const databaseUrl = (await commandConfig(command)).postgres.url;
      await migrate(databaseUrl).catch((err: unknown) => {
        throw new ServiceError(`cannot migrate the database: ${errorMessage(err)}`, { cause: err });
      });

      const started = Date.now();
      const progress = new ProgressLine();
      const counts = await loadDemoData(databaseUrl, {
        scale,
        seed,
        onProgress: (table, rows) => progress.update(`${table}: ${rows.toLocaleString('en-US')} rows`),
      });
      progress.done();
      const seconds = (Date.now() - started) / 1000;

      if (opts.json) {
        printJson({ scale, seed, rows: counts, seconds });
      } else {
        process.stdout.write(
          `loaded demo data (scale ${scale}, seed ${seed}) in ${seconds.toFixed(1)} s: ${describeDemoCounts(counts)}\n`,
        );
      }
    });
}

/** `usdcop_m5_ohlcv 88,699, macro_indicators_daily 10,771, trades_history 636 rows` */
export function describeDemoCounts(counts: DemoDataCounts): string {
  const n = (value: number) => value.toLocaleString('en-US');
  return `usdcop_m5_ohlcv ${n(counts.ohlcv)}, macro_indicators_daily ${n(counts.macro)}, trades_history ${n(counts.trades)} rows`;
}

export function integerFlag(flag: string, raw: string, min: number, max: number): number {
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new InputError(`${flag} must be an integer from ${min} to ${max}, got "${raw.slice(0, 40)}"`);
  }
  return value;
}
