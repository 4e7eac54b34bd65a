import { Command } from 'commander';
import { InputError } from '../errors.js';
import { connectClient } from '../temporal/connection.js';
import { applySchedules, describeSchedules, desiredSchedules } from '../temporal/schedules.js';
import { commandConfig } from './context.js';
import { printJson, printTable } from './output.js';

/** A schedule id named on the command line must be one seedvault manages. */
function knownScheduleId(config: Parameters<typeof desiredSchedules>[0], id: string): string {
  const ids = desiredSchedules(config).map((s) => s.scheduleId);
  if (!ids.includes(id)) throw new InputError(`unknown schedule "${id.slice(0, 80)}" (seedvault schedules: ${ids.join(', ')})`);
  return id;
}

export function scheduleCommand(): Command {
  const schedule = new Command('schedule').description('manage the Temporal schedules seedvault owns (times in UTC)');

  schedule
    .command('apply')
    .description('create or update every schedule from the config (snapshot: backup.schedule)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }, command: Command) => {
      const config = await commandConfig(command);
      const results = await applySchedules(await connectClient(config), config);
      if (opts.json) printJson(results);
      else for (const r of results) process.stdout.write(`${r.action} ${r.scheduleId}\n`);
    });

  schedule
    .command('list')
    .description('list the schedules with their next run times and pause state')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }, command: Command) => {
      const config = await commandConfig(command);
      const rows = (await describeSchedules(await connectClient(config), config)).map(({ scheduleId, description: d }) => ({
        scheduleId,
        exists: d !== null,
        paused: d?.state.paused ?? null,
        cron: typeof d?.memo?.cron === 'string' ? d.memo.cron : null,
        nextRun: d?.info.nextActionTimes[0]?.toISOString() ?? null,
        lastRun: d?.info.recentActions.at(-1)?.takenAt.toISOString() ?? null,
      }));
      if (opts.json) printJson(rows);
      else printTable(rows.map((r) => ({ ...r, exists: r.exists ? 'yes' : 'no (run: seedvault setup)' })));
    });

  schedule
    .command('trigger')
    .description('run a schedule now (its overlap policy still applies)')
    .argument('<id>', 'schedule id, e.g. seed-snapshot-weekly')
    .action(async (id: string, _opts, command: Command) => {
      const config = await commandConfig(command);
      await (await connectClient(config)).schedule.getHandle(knownScheduleId(config, id)).trigger();
      process.stdout.write(`triggered ${id}\n`);
    });

  for (const [name, pause] of [['pause', true], ['unpause', false]] as const) {
    schedule
      .command(name)
      .description(pause ? 'stop a schedule from firing' : 'let a paused schedule fire again')
      .argument('<id>', 'schedule id')
      .option('--note <text>', 'reason, shown in the Web UI')
      .action(async (id: string, opts: { note?: string }, command: Command) => {
        const config = await commandConfig(command);
        const handle = (await connectClient(config)).schedule.getHandle(knownScheduleId(config, id));
        if (pause) await handle.pause(opts.note ?? 'paused with seedvault schedule pause');
        else await handle.unpause(opts.note ?? 'unpaused with seedvault schedule unpause');
        process.stdout.write(`${pause ? 'paused' : 'unpaused'} ${id}\n`);
      });
  }
  return schedule;
}
