import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BAD_CONFIGS, BAD_IDENTIFIERS, DEAD_ENDPOINTS, refusalProblem } from '../chaos/bad-input-cases.js';
import { mapWithConcurrency } from '../src/domain/concurrency.js';
import { runCli } from './support/cli.js';
import { tempDir } from './support/file-backups.js';

/** Hostile configs and identifiers through the real CLI: exit 2, one line, before any I/O, no secret. */

/** CLI processes at once: dozens started together on two busy cores overran the 30 s limit. */
const CLI_LANES = 4;

const cli = (args: string[], env: Record<string, string>) => runCli(args, { ...DEAD_ENDPOINTS, ...env }, { timeoutMs: 30_000 });

describe('bad inputs through the CLI', () => {
  test('hostile config values: exit 2, one line naming the problem', async () => {
    const dir = await tempDir('bad-config');
    const failures: string[] = [];
    await mapWithConcurrency(BAD_CONFIGS, CLI_LANES, async ([what, text], i) => {
      const path = join(dir, `config-${i}.yaml`);
      await writeFile(path, text);
      const problem = refusalProblem(await cli(['config', 'check'], { SEEDVAULT_CONFIG: path }), [DEAD_ENDPOINTS.S3_SECRET_KEY]);
      if (problem) failures.push(`${what}: ${problem}`);
    });
    assert.deepEqual(failures.sort(), []);
  });

  test('hostile versions and backup ids: exit 2 before any I/O', async () => {
    const failures: string[] = [];
    await mapWithConcurrency(BAD_IDENTIFIERS, CLI_LANES, async ([what, args]) => {
      const problem = refusalProblem(await cli(args, {}), [DEAD_ENDPOINTS.S3_SECRET_KEY]);
      if (problem) failures.push(`${what}: ${problem}`);
    });
    assert.deepEqual(failures.sort(), []);
  });
});
