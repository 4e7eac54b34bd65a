/** The CLI loads the one subcommand argv names, and every subcommand when it names none it knows. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildProgram } from '../src/client/cli.js';

const names = async (args: string[]) => (await buildProgram(args)).commands.map((c) => c.name());

test('each subcommand word loads exactly that subcommand, global options before it skipped', async () => {
  const all = await names([]);
  assert.ok(all.length > 20, `${all.length} commands`);
  assert.equal(new Set(all).size, all.length);
  for (const name of all) assert.deepEqual(await names([name, '--help']), [name]);
  assert.deepEqual(await names(['-c', 'config/seed_config.yaml', 'restore', '--tables', 'ohlcv']), ['restore']);
  assert.deepEqual(await names(['--config', 'snapshot', 'verify']), ['verify']);
});

test('help, no command or an unknown word get every subcommand', async () => {
  const all = await names([]);
  assert.deepEqual(await names(['--help']), all);
  assert.deepEqual(await names(['help', 'restore']), all);
  assert.deepEqual(await names(['restor']), all);
});
