/** Hostile configs and identifiers through the real CLI (the same cases as test/bad-input.test.ts). */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BAD_CONFIGS, BAD_IDENTIFIERS, DEAD_ENDPOINTS, refusalProblem } from '../bad-input-cases.js';
import { cli, type Scenario } from '../support.js';

const run = (args: string[], env: Record<string, string>) => cli(args, { ...DEAD_ENDPOINTS, ...env });

const badConfigs: Scenario = {
  name: 'bad input: hostile config values',
  injected: `${BAD_CONFIGS.length} configs via SEEDVAULT_CONFIG: ${BAD_CONFIGS.map(([w]) => w).join(', ')}`,
  expected: '`seedvault config check` exits 2 with one line naming the file and key, no secret printed',
  async run(ctx) {
    const failures: string[] = [];
    const samples: string[] = [];
    for (const [i, [what, text]] of BAD_CONFIGS.entries()) {
      const path = join(ctx.workDir, `bad-config-${i}.yaml`);
      await writeFile(path, text);
      const outcome = await run(['config', 'check'], { SEEDVAULT_CONFIG: path });
      const problem = refusalProblem(outcome, [DEAD_ENDPOINTS.S3_SECRET_KEY, ...ctx.secrets]);
      if (problem) failures.push(`${what}: ${problem}`);
      else if (samples.length < 2) samples.push(outcome.stderr.trim().slice(0, 120));
    }
    return {
      observed: `${BAD_CONFIGS.length - failures.length}/${BAD_CONFIGS.length} refused cleanly` + (failures.length ? `; NOT REFUSED: ${failures.join('; ')}` : `; e.g. "${samples.join('", "')}"`),
      passed: failures.length === 0,
      dataLost: false,
    };
  },
};

const badIds: Scenario = {
  name: 'bad input: hostile versions and backup ids',
  injected: `${BAD_IDENTIFIERS.length} commands with ../, absolute paths, unicode digits, 5000-char versions/ids, quotes and semicolons in --tables; all endpoints closed`,
  expected: 'exit 2 with one short line before any I/O (a closed endpoint would give exit 3)',
  async run(ctx) {
    const failures: string[] = [];
    for (const [what, args] of BAD_IDENTIFIERS) {
      const problem = refusalProblem(await run(args, {}), [DEAD_ENDPOINTS.S3_SECRET_KEY, ...ctx.secrets]);
      if (problem) failures.push(`${what}: ${problem}`);
    }
    return {
      observed: `${BAD_IDENTIFIERS.length - failures.length}/${BAD_IDENTIFIERS.length} refused with exit 2 before any I/O` + (failures.length ? `; NOT REFUSED: ${failures.join('; ')}` : ''),
      passed: failures.length === 0,
      dataLost: false,
    };
  },
};

export const badInputScenarios: Scenario[] = [badConfigs, badIds];
