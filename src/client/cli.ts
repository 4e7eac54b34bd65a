import { Command, CommanderError } from 'commander';
import { SeedvaultError } from '../errors.js';
import { routeLogs } from '../logging.js';
import { alertsCommand } from './alerts.js';
import { analyticsCommand } from './analytics.js';
import { backfillCommand } from './backfill.js';
import { configCommand } from './config.js';
import { demoCommand } from './demo.js';
import { demoDataCommand } from './demo-data.js';
import { doctorCommand } from './doctor.js';
import { gapsCommand } from './gaps.js';
import { healthCommand } from './health.js';
import { maintenanceCommand } from './maintenance.js';
import { qualityCommand } from './quality.js';
import { reportCommand } from './report.js';
import { signalsCommand } from './signals.js';
import { filesCommand } from './files.js';
import { migrateCommand } from './migrate.js';
import { restoreCommand } from './restore.js';
import { scheduleCommand } from './schedule.js';
import { seedCommand } from './seed.js';
import { setupCommand } from './setup.js';
import { snapshotCommand } from './snapshot.js';
import { stackCommand } from './stack.js';
import { verifyCommand } from './verify.js';
import { workerCommand } from './worker.js';

export function buildProgram(): Command {
  const program = new Command('seedvault')
    .description('Versioned, verified snapshots, restores and backfills of critical PostgreSQL data, run on Temporal')
    .option('-c, --config <file>', 'config file (default: $SEEDVAULT_CONFIG or config/seed_config.yaml)')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  for (const command of [
    stackCommand(),
    configCommand(),
    doctorCommand(),
    alertsCommand(),
    migrateCommand(),
    setupCommand(),
    demoDataCommand(),
    workerCommand(),
    snapshotCommand(),
    filesCommand(),
    scheduleCommand(),
    backfillCommand(),
    gapsCommand(),
    demoCommand(),
    restoreCommand(),
    verifyCommand(),
    seedCommand(),
    healthCommand(),
    qualityCommand(),
    signalsCommand(),
    maintenanceCommand(),
    analyticsCommand(),
    reportCommand(),
  ]) {
    program.addCommand(command);
  }
  // Every subcommand reports usage errors the same way (exit 2) instead of exiting on its own.
  const exitOverride = (command: Command) => {
    command.exitOverride();
    command.commands.forEach(exitOverride);
  };
  exitOverride(program);
  return program;
}

/** Runs the CLI; returns the exit code: 0 ok, 1 failure, 2 bad input, 3 service down, 4 integrity. */
export async function main(argv: string[]): Promise<number> {
  // A command a person types reports progress in plain lines; `worker` and hosted workers reroute.
  routeLogs('human');
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with code 0; usage errors were already printed.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof SeedvaultError) {
      process.stderr.write(`seedvault: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`seedvault: ${(err as Error)?.message ?? String(err)}\n`);
    if (process.env.SEEDVAULT_DEBUG) process.stderr.write(`${(err as Error)?.stack}\n`);
    return 1;
  }
}
