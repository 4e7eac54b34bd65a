import { Command, CommanderError } from 'commander';
import { SeedvaultError } from '../errors.js';
import { routeLogs } from '../logging.js';

/**
 * Every subcommand, in the order help lists them, loaded only when needed: each module brings
 * its own dependencies (AWS SDK, Arrow, Parquet, Temporal), and loading them all took ~1.2 s
 * where one command takes ~0.6 s, at every command a person or a script runs.
 */
const COMMANDS: [name: string, load: () => Promise<Command>][] = [
  ['stack', async () => (await import('./stack.js')).stackCommand()],
  ['config', async () => (await import('./config.js')).configCommand()],
  ['doctor', async () => (await import('./doctor.js')).doctorCommand()],
  ['alerts', async () => (await import('./alerts.js')).alertsCommand()],
  ['migrate', async () => (await import('./migrate.js')).migrateCommand()],
  ['setup', async () => (await import('./setup.js')).setupCommand()],
  ['demo-data', async () => (await import('./demo-data.js')).demoDataCommand()],
  ['worker', async () => (await import('./worker.js')).workerCommand()],
  ['snapshot', async () => (await import('./snapshot.js')).snapshotCommand()],
  ['files', async () => (await import('./files.js')).filesCommand()],
  ['schedule', async () => (await import('./schedule.js')).scheduleCommand()],
  ['backfill', async () => (await import('./backfill.js')).backfillCommand()],
  ['gaps', async () => (await import('./gaps.js')).gapsCommand()],
  ['demo', async () => (await import('./demo.js')).demoCommand()],
  ['restore', async () => (await import('./restore.js')).restoreCommand()],
  ['verify', async () => (await import('./verify.js')).verifyCommand()],
  ['seed', async () => (await import('./seed.js')).seedCommand()],
  ['health', async () => (await import('./health.js')).healthCommand()],
  ['quality', async () => (await import('./quality.js')).qualityCommand()],
  ['signals', async () => (await import('./signals.js')).signalsCommand()],
  ['maintenance', async () => (await import('./maintenance.js')).maintenanceCommand()],
  ['analytics', async () => (await import('./analytics.js')).analyticsCommand()],
  ['report', async () => (await import('./report.js')).reportCommand()],
];

/** The first word of `args` (argv without node and the script) that is not a global option or its value. */
function commandWord(args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '-c' || arg === '--config') i++;
    else if (!arg.startsWith('-')) return arg;
  }
  return undefined;
}

/**
 * The CLI with the subcommand `args` names, or with all of them when it names none or one
 * that does not exist (help lists them all; a typo gets commander's suggestion).
 */
export async function buildProgram(args: string[] = []): Promise<Command> {
  const program = new Command('seedvault')
    .description('Versioned, verified snapshots, restores and backfills of critical PostgreSQL data, run on Temporal')
    .option('-c, --config <file>', 'config file (default: $SEEDVAULT_CONFIG or config/seed_config.yaml)')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  const word = commandWord(args);
  const wanted = COMMANDS.filter(([name]) => name === word);
  for (const command of await Promise.all((wanted.length > 0 ? wanted : COMMANDS).map(([, load]) => load()))) program.addCommand(command);
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
    await (await buildProgram(argv.slice(2))).parseAsync(argv);
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
