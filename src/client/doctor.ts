import { Command } from 'commander';
import { resolveConfigPath } from '../config/load.js';
import type { SeedvaultConfig } from '../config/schema.js';
import { runDoctor } from '../doctor/index.js';
import { doctorExitCode, doctorReport, red, type DoctorReport } from '../domain/doctor.js';
import { ConfigError, IntegrityError, ServiceError } from '../errors.js';
import { commandConfig } from './context.js';
import { paintStatus, printJson, printTable } from './output.js';

const EXIT_ERRORS: Record<number, new (message: string) => Error> = { 2: ConfigError, 3: ServiceError, 4: IntegrityError };

export function doctorCommand(): Command {
  return new Command('doctor')
    .description(
      'check the deployment in seconds, one line per check (green/yellow/red, and what to do): config, PostgreSQL and migrations, ' +
        'bucket probe, latest snapshot, Temporal namespace and search attributes, worker, schedules and their last runs, keys ' +
        '(exit 3 when a service does not answer, 2 for a config value, 4 for another red line)',
    )
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }, command: Command) => {
      const file = resolveConfigPath(command.optsWithGlobals<{ config?: string }>().config);
      let config: SeedvaultConfig | undefined;
      let report: DoctorReport;
      try {
        config = await commandConfig(command);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        report = doctorReport([red('config', err.message, `fix that key in ${file}, then run: seedvault config check`, 'config')], new Date());
      }
      if (config) report = await runDoctor(config, file);
      if (opts.json) printJson(report!);
      else {
        process.stdout.write(`doctor: ${paintStatus(report!.status)} (${report!.checked_at})\n`);
        printTable(
          report!.checks.map((c) => ({ status: c.status, check: c.check, details: c.details, fix: c.fix })),
          (column, text, row) => (column === 'status' ? paintStatus(row.status, text) : text),
        );
      }
      const code = doctorExitCode(report!.checks);
      if (code !== 0) {
        const reds = report!.checks.filter((c) => c.status === 'red').map((c) => c.check);
        throw new EXIT_ERRORS[code]!(`doctor: ${reds.length} red: ${reds.join(', ')}`);
      }
    });
}
