import { setTimeout as sleep } from 'node:timers/promises';
import { Command } from 'commander';
import { IntegrityError, ServiceError } from '../errors.js';
import { commandConfig } from './context.js';
import { parseDuration } from './duration.js';
import { printJson } from './output.js';
import { notInPlace, runSetup, type SetupItem, type SetupKind, type SetupState } from './setup-run.js';

const PLURAL: Record<SetupKind, string> = { migration: 'migrations', bucket: 'bucket', 'search attribute': 'search attributes', schedule: 'schedules' };
const VERB: Record<SetupState, string> = {
  ok: 'in place',
  created: 'created',
  updated: 'updated to the config',
  deleted: 'deleted (turned off in the config)',
  missing: 'missing',
  retired: 'to delete (turned off in the config)',
};
const CREATED: Partial<Record<SetupKind, string>> = { migration: 'applied', 'search attribute': 'registered' };

/** One line per kind and state: `schedules created: seed-snapshot-weekly, backfill-daily`. */
function printItems(items: SetupItem[]): void {
  const groups = new Map<string, string[]>();
  for (const item of items) {
    const verb = item.state === 'created' ? (CREATED[item.kind] ?? VERB.created) : VERB[item.state];
    const key = `${PLURAL[item.kind]} ${verb}`;
    groups.set(key, [...(groups.get(key) ?? []), item.name]);
  }
  for (const [key, names] of groups) process.stdout.write(`${key}: ${names.join(', ')}\n`);
}

/** Retries `work` while a service is unreachable (ServiceError), until `waitMs` has passed. */
async function retryWhileUnreachable<T>(waitMs: number, work: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + waitMs;
  let said = '';
  for (;;) {
    try {
      return await work();
    } catch (err) {
      if (!(err instanceof ServiceError) || Date.now() >= deadline) throw err;
      if (err.message !== said) process.stderr.write(`waiting: ${(said = err.message)}\n`);
      await sleep(Math.min(2000, deadline - Date.now()));
    }
  }
}

export function setupCommand(): Command {
  return new Command('setup')
    .description(
      'make a deployment ready, idempotently: migrations, the bucket, search attributes, every schedule the config asks for ' +
        '(safe on every start and from several processes at once)',
    )
    .option('--check', 'change nothing; exit 4 naming what is missing')
    .option('--wait <duration>', 'retry while PostgreSQL, the object store or Temporal is unreachable, up to this long (e.g. 2m; default: fail at once)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { check?: boolean; wait?: string; json?: boolean }, command: Command) => {
      const waitMs = opts.wait === undefined ? 0 : parseDuration(opts.wait, '--wait');
      const config = await commandConfig(command);
      const items = await retryWhileUnreachable(waitMs, () => runSetup(config, { check: opts.check }));
      const missing = notInPlace(items);
      const count = (state: SetupState) => items.filter((i) => i.state === state).length;
      if (opts.json) printJson({ check: opts.check ?? false, namespace: config.temporal.namespace, taskQueue: config.temporal.task_queue, items });
      else {
        printItems(items);
        if (!opts.check) {
          process.stdout.write(
            `setup done: ${count('created')} created, ${count('deleted')} deleted, ${count('updated')} schedule(s) set to the config; ` +
              `they start workflows on task queue "${config.temporal.task_queue}" in namespace "${config.temporal.namespace}"\n`,
          );
        } else if (missing.length === 0) process.stdout.write('setup check: everything is in place\n');
      }
      if (missing.length > 0) {
        throw new IntegrityError(`not set up: ${missing.map((i) => `${i.kind} ${i.name}`).join(', ')}; run: seedvault setup`);
      }
    });
}
