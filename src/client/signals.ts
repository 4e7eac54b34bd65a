import { hostname, userInfo } from 'node:os';
import { Command } from 'commander';
import type { SeedvaultConfig } from '../config/schema.js';
import type { HandoverStatus } from '../domain/ready-signals.js';
import { InputError, IntegrityError, SeedvaultError } from '../errors.js';
import { notifySignalWaiters } from '../quality/notify.js';
import {
  acknowledgeSignal,
  createSignal,
  getSignal,
  isSignalId,
  listSignals,
  parseSignalType,
  SIGNAL_STATUSES,
  touchSignal,
  transitionSignal,
  websocketHandoverStatus,
  type ReadySignal,
  type SignalStatus,
  type SignalType,
  type SignalTransition,
} from '../quality/signals.js';
import { connectClient } from '../temporal/connection.js';
import { instantFlag } from './backfill-start.js';
import { commandConfig } from './context.js';
import { withDatabase } from './database.js';
import { printJson, printTable } from './output.js';
import { parseDuration } from './duration.js';
import { waitForReadySignal, waitForSignalOutcome } from './signal-wait.js';

function row(s: ReadySignal) {
  return {
    id: s.signal_id,
    type: s.signal_type,
    status: s.status,
    priority: s.priority,
    run: s.pipeline_run_id,
    records: s.records_available,
    range: s.data_start_time ? `${s.data_start_time}..${s.data_end_time}` : null,
    complete_pct: s.completeness_pct,
    blocked_by: s.blocked_by.length ? s.blocked_by.join(',') : null,
    completed: s.completed_at,
    completed_by: s.completed_by,
    acked_by: s.acknowledged_by,
    last_processed: s.last_processed_at,
    expires: s.expires_at,
    metadata: Object.keys(s.metadata).length ? JSON.stringify(s.metadata) : null,
  };
}

function show(s: ReadySignal, json?: boolean): void {
  if (json) printJson(s);
  else printTable([row(s)]);
}

/** `--range FROM..TO`: two ISO dates or instants, FROM <= TO. */
function parseRange(value: string): { from: string; to: string } {
  const parts = value.split('..');
  if (parts.length !== 2) throw new InputError(`--range: expected FROM..TO (ISO dates or instants), got "${value.slice(0, 60)}"`);
  const from = instantFlag('--range', parts[0]!.trim())!;
  const to = instantFlag('--range', parts[1]!.trim())!;
  if (Date.parse(from) > Date.parse(to)) throw new InputError(`--range: ${parts[0]} is after ${parts[1]}`);
  return { from, to };
}

/** `--metadata JSON`: a JSON object. */
function parseMetadata(value: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (err) {
    throw new InputError(`--metadata: not valid JSON (${(err as Error).message.split('\n')[0]})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new InputError(`--metadata: expected a JSON object such as '{"source":"l0"}'`);
  return parsed as Record<string, unknown>;
}

function parseCompleteness(value: string): number {
  const pct = /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
  if (!(pct >= 0 && pct <= 100)) throw new InputError(`--completeness: a percentage from 0 to 100, got "${value.slice(0, 40)}"`);
  return pct;
}

function parseRecords(value: string): number {
  const records = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(records)) throw new InputError(`--records: a non-negative integer, got "${value.slice(0, 40)}"`);
  return records;
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
    .option('--run-id <id>', 'only signals of this pipeline run')
    .option('--limit <n>', 'at most this many', '50')
    .option('--json', 'machine-readable output')
    .action(async (opts: { type?: string; status?: string; runId?: string; limit: string; json?: boolean }, command: Command) => {
      const config = await commandConfig(command);
      const type = opts.type ? parseSignalType(opts.type) : undefined;
      if (opts.status && !(SIGNAL_STATUSES as readonly string[]).includes(opts.status)) throw new InputError(`--status: one of ${SIGNAL_STATUSES.join(', ')}`);
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new InputError('--limit: a positive integer');
      const rows = await withDatabase(config, (pool) => listSignals(pool, { type, status: opts.status as SignalStatus | undefined, pipelineRunId: opts.runId, limit }));
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
    .command('wait [type]')
    .description(
      'wait (a workflow; needs a worker) for a completed, unblocked, unacknowledged signal of the type, or with --id for that signal to complete ' +
        '(exit 4 when it failed or expired); exit 5 on timeout',
    )
    .option('--id <signal-id>', 'wait for this one signal instead of a type')
    .option('--timeout <duration>', 'e.g. 30s, 5m, 2h', '60m')
    .option('--ack', 'acknowledge the signal once it arrives')
    .option('--by <consumer>', 'who acknowledges (with --ack)')
    .option('--json', 'machine-readable output')
    .action(async (typeArg: string | undefined, opts: { id?: string; timeout: string; ack?: boolean; by?: string; json?: boolean }, command: Command) => {
      if ((typeArg === undefined) === (opts.id === undefined)) throw new InputError('signals wait: give exactly one of <type> and --id <signal-id>');
      if (opts.id !== undefined && !isSignalId(opts.id)) throw new InputError(`--id: '${opts.id.slice(0, 60)}' is not a signal id (a uuid)`);
      const type = typeArg === undefined ? undefined : parseSignalType(typeArg);
      const timeoutMs = parseDuration(opts.timeout, '--timeout');
      const config = await commandConfig(command);
      let signal = type ? await waitForReadySignal(config, type, timeoutMs) : await waitForSignalById(config, opts.id!, timeoutMs);
      if (!signal) throw new TimeoutError(type ? `no ${type} signal within ${opts.timeout}` : `signal ${opts.id} did not complete within ${opts.timeout}`);
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
    .option('--records <n>', 'records available')
    .option('--range <from..to>', 'the data it announces: ISO dates or instants, e.g. 2026-01-20T08:00Z..2026-01-20T08:05Z')
    .option('--completeness <pct>', 'completeness of that data, 0 to 100')
    .option('--metadata <json>', 'a JSON object kept with the signal')
    .option('--completed', 'raise it completed')
    .option('--json', 'machine-readable output')
    .action(
      async (
        typeArg: string,
        opts: {
          runId: string;
          dependsOn?: string;
          priority: string;
          expiresIn: string;
          records?: string;
          range?: string;
          completeness?: string;
          metadata?: string;
          completed?: boolean;
          json?: boolean;
        },
        command: Command,
      ) => {
        const config = await commandConfig(command);
        const type = parseSignalType(typeArg);
        const priority = Number(opts.priority);
        const expires = Number(opts.expiresIn);
        if (!Number.isInteger(priority) || priority < 0) throw new InputError('--priority: a non-negative integer');
        if (!(expires > 0)) throw new InputError('--expires-in: minutes, positive');
        const dependencies = opts.dependsOn ? opts.dependsOn.split(',').map((s) => s.trim()).filter(Boolean) : [];
        for (const d of dependencies) if (!isSignalId(d)) throw new InputError(`--depends-on: '${d}' is not a signal id`);
        const range = opts.range === undefined ? undefined : parseRange(opts.range);
        const s = await withDatabase(config, (pool) =>
          createSignal(pool, {
            type,
            pipelineRunId: opts.runId,
            priority,
            dependencies,
            expiresInMinutes: expires,
            status: opts.completed ? 'completed' : 'active',
            recordsAvailable: opts.records === undefined ? undefined : parseRecords(opts.records),
            dataStartTime: range?.from,
            dataEndTime: range?.to,
            completenessPct: opts.completeness === undefined ? undefined : parseCompleteness(opts.completeness),
            metadata: opts.metadata === undefined ? undefined : parseMetadata(opts.metadata),
          }),
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
    const transition = signals
      .command(`${name} <id>`)
      .description(description)
      .option('--json', 'machine-readable output')
      .action(async (id: string, opts: { error?: string; by?: string; json?: boolean }, command: Command) => {
        const config = await commandConfig(command);
        const completedBy = to === 'completed' ? (opts.by ?? defaultConsumer()) : undefined;
        const { signal, notify: types } = await withDatabase(config, (pool) =>
          transitionSignal(pool, id, to as SignalTransition, { error: opts.error, completedBy }),
        );
        await notify(config, types, [id]);
        show(signal, opts.json);
      });
    if (to === 'failed') transition.option('--error <message>', 'why');
    if (to === 'completed') transition.option('--by <consumer>', 'who completed it (default user@host)');
  }

  signals
    .command('touch <id>')
    .description("record that a consumer processed the signal now (seed 000's update_last_processed)")
    .option('--json', 'machine-readable output')
    .action(async (id: string, opts: { json?: boolean }, command: Command) => {
      const config = await commandConfig(command);
      show(await withDatabase(config, (pool) => touchSignal(pool, id)), opts.json);
    });

  signals
    .command('handover <run-id>')
    .description(
      "WebSocket handover status of a pipeline run (seed 000): its WEBSOCKET_READY signal and that signal's dependencies; " +
        'exit 0 ready, 4 not ready, 2 no signal carries the run id',
    )
    .option('--json', 'machine-readable output')
    .action(async (runId: string, opts: { json?: boolean }, command: Command) => {
      const config = await commandConfig(command);
      const status = await withDatabase(config, (pool) => websocketHandoverStatus(pool, runId));
      if (!status) throw new InputError(`no ready signals for run ${runId}`);
      if (opts.json) printJson(status);
      else printHandover(status);
      if (!status.ready) throw new IntegrityError(`handover of run ${runId} not ready: ${status.reason}`);
    });

  return signals;
}

function printHandover(status: HandoverStatus): void {
  process.stdout.write(`handover of run ${status.pipeline_run_id}: ${status.ready ? 'ready' : 'not ready'} (${status.reason})\n`);
  const signals = [...(status.websocket ? [{ role: 'websocket', ...status.websocket }] : []), ...status.dependencies.map((d) => ({ role: 'dependency', ...d }))];
  printTable(signals.map((s) => ({ role: s.role, type: s.signal_type, id: s.signal_id, status: s.status ?? 'missing', completed: s.completed_at })));
}

/** `wait --id`: the signal once completed, null after the timeout; a failed or expired one is an error (exit 4). */
async function waitForSignalById(config: SeedvaultConfig, id: string, timeoutMs: number): Promise<ReadySignal | null> {
  if (!(await withDatabase(config, (pool) => getSignal(pool, id)))) throw new InputError(`--id: no ready signal ${id}`);
  const signal = await waitForSignalOutcome(config, id, timeoutMs);
  if (signal && signal.status !== 'completed') throw new IntegrityError(`signal ${id} is ${signal.status}${signal.error_message ? `: ${signal.error_message}` : ''}`);
  return signal;
}

async function notify(config: SeedvaultConfig, types: SignalType[], signalIds: string[] = []): Promise<void> {
  const client = await connectClient(config);
  await notifySignalWaiters(client, config.temporal.task_queue, types, signalIds);
}

/** A wait that ran out (exit 5). */
class TimeoutError extends SeedvaultError {
  override readonly exitCode = 5;
}
