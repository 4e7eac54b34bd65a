import { Command } from 'commander';
import { InputError, SeedvaultError, ServiceError } from '../errors.js';
import { type ComponentStatus, readStackEnv, stackDown, type StackOptions, stackRemove, stackStatus, stackUp } from '../stack/index.js';
import { printJson, printTable } from './output.js';

function stackOptions(command: Command): StackOptions {
  const { stateDir, cacheDir } = command.optsWithGlobals<{ stateDir?: string; cacheDir?: string }>();
  return { stateDir, cacheDir };
}

function printComponents(status: ComponentStatus[]): void {
  printTable(
    status.map((s) => ({
      component: s.name,
      state: s.running ? 'running' : 'down',
      pid: s.pid === null ? null : String(s.pid),
      endpoint: s.url,
      ui: s.uiUrl,
    })),
  );
}

/** POSIX single quotes: safe for any value, including quotes and `$`. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export function stackCommand(): Command {
  const stack = new Command('stack')
    .description('Run the local Temporal + MinIO + PostgreSQL stack (installed and started on demand, no Docker)')
    .option('--state-dir <dir>', 'pids, ports, credentials, logs, data (default: $SEEDVAULT_STATE_DIR or ~/.local/state/seedvault)')
    .option('--cache-dir <dir>', 'installed binaries (default: $SEEDVAULT_CACHE_DIR or ~/.cache/seedvault)');

  stack
    .command('up')
    .description('Install what is missing and start every component; reuses running ones (idempotent)')
    .action(async (_opts: unknown, command: Command) => {
      const opts = stackOptions(command);
      await stackUp(opts);
      printComponents(await stackStatus(opts));
      process.stdout.write(`\nexport the endpoints and credentials with: eval "$(seedvault stack env)"\n`);
    });

  stack
    .command('down')
    .description('Stop the recorded processes; data, ports and credentials are kept for the next up')
    .action(async (_opts: unknown, command: Command) => {
      await stackDown(stackOptions(command));
    });

  stack
    .command('remove')
    .description('Stop everything and delete the stack\'s data (databases, buckets, Temporal history) and state folder')
    .option('--yes', 'required: this deletes every local database, bucket and workflow history of the stack')
    .action(async (opts: { yes?: boolean }, command: Command) => {
      if (!opts.yes) throw new InputError('stack remove deletes all local stack data; pass --yes to confirm');
      await stackRemove(stackOptions(command));
      process.stdout.write('stack removed\n');
    });

  stack
    .command('status')
    .description('Show each component, its pid and URLs; exits 1 when any component is down')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, command: Command) => {
      const status = await stackStatus(stackOptions(command));
      if (opts.json) printJson(status);
      else printComponents(status);
      const down = status.filter((s) => !s.running).map((s) => s.name);
      if (down.length > 0) throw new SeedvaultError(`not running: ${down.join(', ')}`);
    });

  stack
    .command('env')
    .description('Print endpoints and credentials as shell exports (eval "$(seedvault stack env)"), or --json')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, command: Command) => {
      const env = await readStackEnv(stackOptions(command));
      if (!env) throw new ServiceError('no local stack is running; start one with: seedvault stack up');
      if (opts.json) printJson(env);
      else process.stdout.write(Object.entries(env).map(([k, v]) => `export ${k}=${shellQuote(v)}\n`).join(''));
    });

  return stack;
}
