import { hostname, userInfo } from 'node:os';
import { Command } from 'commander';
import type { SeedvaultConfig } from '../config/schema.js';
import { InputError, SeedvaultError } from '../errors.js';
import { notifySignalWaiters } from '../quality/notify.js';
import {
  acknowledgeSignal,
  createSignal,
  getSignal,
  listSignals,
  parseSignalType,
  SIGNAL_STATUSES,
  transitionSignal,
  type ReadySignal,
  type SignalStatus,
  type SignalType,
  type SignalTransition,
} from '../quality/signals.js';
import { connectClient } from '../temporal/connection.js';
import { commandConfig } from './context.js';
import { withDatabase } from './database.js';
import { printJson, printTable } from './output.js';
import { parseDuration } from './duration.js';
import { waitForReadySignal } from './signal-wait.js';

function row(s: ReadySignal) {
  return {
    id: s.signal_id,
    type: s.signal_type,
    status: s.status,
    priority: s.priority,
    run: s.pipeline_run_id,
    blocked_by: s.blocked_by.length ? s.blocked_by.join(',') : null,
    completed: s.completed_at,
    acked_by: s.acknowledged_by,
    expires: s.expires_at,
  };
}

function show(s: ReadySignal, json?: boolean): void {
  if (json) printJson(s);
  else printTable([row(s)]);
}

function defaultConsumer(): string {
  return `${userInfo().username}@${hostname()}`;
}

export function signalsCommand(): Command {
  const signals = new Command('signals').description('ready signals (seed 000): list, wait for, acknowledge, and move them through their statuses');

  signals
    .command('list')
    .description('newest first; overdue active/processing signals are moved to expired first')
    .option('--type <type>', 'DATA_READY, PROCESSED_READY, FEATURES_READY, MODEL_READY, WEBSOCKET_READY or BACKUP_READY')
    .option('--status <status>', SIGNAL_STATUSES.join(', '))
    .option('--limit <n>', 'at most this many', '50')
    .option('--json', 'machine-readable output')
    .action(async (opts: { type?: string; status?: string; limit: string; json?: boolean }, command: Command) => {
      const config = await commandConfig(command);
      const type = opts.type ? parseSignalType(opts.type) : undefined;
      if (opts.status && !(SIGNAL_STATUSES as readonly string[]).includes(opts.status)) throw new InputError(`--status: one of ${SIGNAL_STATUSES.join(', ')}`);
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new InputError('--limit: a positive integer');
      const rows = await withDatabase(config, (pool) => listSignals(pool, { type, status: opts.status as SignalStatus | undefined, limit }));
      if (opts.json) return printJson(rows);
      if (rows.length === 0) process.stdout.write('no ready signals\n');
      printTable(rows.map(row));
    });

  signals
    .command('show <id>')
    .option('--json', 'machine-readable output')
    .action(async (id: string, opts: { json?: boolean }, command: Command) => {
      const config = await commandConfig(command);
      const s = await withDatabase(config, (pool) => getSignal(pool, id));
      if (!s) throw new InputError(`no ready signal ${id}`);
      show(s, opts.json);
    });

  signals
    .command('wait <type>')
    .description('wait (a waitForSignal workflow; needs a worker) for a completed, unblocked, unacknowledged signal of the type; exit 5 on timeout')
    .option('--timeout <duration>', 'e.g. 30s, 5m, 2h', '60m')
    .option('--ack', 'acknowledge the signal once it arrives')
    .option('--by <consumer>', 'who acknowledges (with --ack)')
    .option('--json', 'machine-readable output')
    .action(async (typeArg: string, opts: { timeout: string; ack?: boolean; by?: string; json?: boolean }, command: Command) => {
      const config = await commandConfig(command);
      const type = parseSignalType(typeArg);
      const timeoutMs = parseDuration(opts.timeout, '--timeout');
      let signal = await waitForReadySignal(config, type, timeoutMs);
      if (!signal) throw new TimeoutError(`no ${type} signal within ${opts.timeout}`);
      if (opts.ack) signal = await withDatabase(config, (pool) => acknowledgeSignal(pool, signal!.signal_id, opts.by ?? defaultConsumer()));
      show(signal, opts.json);
    });

  signals
    .command('ack <id>')
    .description('acknowledge a signal: this consumer took it (waiters skip it from now on)')
    .option('--by <consumer>', 'who acknowledges (default user@host)')
    .option('--json', 'machine-readable output')
    .action(async (id: string, opts: { by?: string; json?: boolean }, command: Command) => {
      const config = await commandConfig(command);
      show(await withDatabase(config, (pool) => acknowledgeSignal(pool, id, opts.by ?? defaultConsumer())), opts.json);
    });

  signals
    .command('create <type>')
    .description('raise a signal (active, or --completed); --depends-on blocks it until those signals complete')
    .requiredOption('--run-id <id>', 'pipeline run id')
    .option('--depends-on <ids>', 'comma-separated signal ids')
    .option('--priority <n>', 'lower is handled first', '5')
    .option('--expires-in <minutes>', 'active signals expire after this', '60')
    .option('--completed', 'raise it completed')
    .option('--json', 'machine-readable output')
    .action(
      async (
        typeArg: string,
        opts: { runId: string; dependsOn?: string; priority: string; expiresIn: string; completed?: boolean; json?: boolean },
        command: Command,
      ) => {
        const config = await commandConfig(command);
        const type = parseSignalType(typeArg);
        const priority = Number(opts.priority);
        const expires = Number(opts.expiresIn);
        if (!Number.isInteger(priority) || priority < 0) throw new InputError('--priority: a non-negative integer');
        if (!(expires > 0)) throw new InputError('--expires-in: minutes, positive');
        const dependencies = opts.dependsOn ? opts.dependsOn.split(',').map((s) => s.trim()).filter(Boolean) : [];
        for (const d of dependencies) if (!/^[0-9a-f-]{36}$/i.test(d)) throw new InputError(`--depends-on: '${d}' is not a signal id`);
        const s = await withDatabase(config, (pool) =>
          createSignal(pool, { type, pipelineRunId: opts.runId, priority, dependencies, expiresInMinutes: expires, status: opts.completed ? 'completed' : 'active' }),
        );
        if (s.status === 'completed') await notify(config, [type]);
        show(s, opts.json);
      },
    );

  for (const [name, to, description] of [
    ['start', 'processing', 'active -> processing'],
    ['complete', 'completed', 'active/processing -> completed (refused while a dependency has not completed); wakes waiters'],
    ['fail', 'failed', 'active/processing -> failed'],
  ] as const) {
    signals
      .command(`${name} <id>`)
      .description(description)
      .option('--error <message>', 'why (fail)')
      .option('--json', 'machine-readable output')
      .action(async (id: string, opts: { error?: string; json?: boolean }, command: Command) => {
        const config = await commandConfig(command);
        const { signal, notify: types } = await withDatabase(config, (pool) => transitionSignal(pool, id, to as SignalTransition, opts.error));
        await notify(config, types);
        show(signal, opts.json);
      });
  }

  return signals;
}

async function notify(config: SeedvaultConfig, types: SignalType[]): Promise<void> {
  const client = await connectClient(config);
  await notifySignalWaiters(client, config.temporal.task_queue, types);
}

/** A wait that ran out (exit 5). */
class TimeoutError extends SeedvaultError {
  override readonly exitCode = 5;
}
