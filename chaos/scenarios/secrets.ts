/** The secrets set for the run must not appear in worker logs, CLI output or any workflow history. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectClient } from '../../src/temporal/connection.js';
import { testConfig } from '../../test/support/stack.js';
import { recordedCliOutput } from './bad-input.js';
import type { Scenario } from '../support.js';

/** History JSON with every payload's bytes as text (payload data is bytes, else invisible to grep). */
function historyText(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : v));
}

export const secretScenario: Scenario = {
  name: 'secrets: no leak in logs, CLI output or workflow histories',
  injected: 'distinctive S3 secret key (MinIO root password of the run) and provider api key set for every worker and CLI of the suite',
  expected: 'neither value (nor its base64) appears in any worker log, any recorded CLI output, or any workflow history of the namespace',
  async run(ctx) {
    const needles = ctx.secrets.flatMap((s) => [s, Buffer.from(s).toString('base64')]);
    const leaks: string[] = [];
    const logDir = join(ctx.workDir, 'logs');
    const logs = readdirSync(logDir);
    for (const f of logs) {
      const text = readFileSync(join(logDir, f), 'utf8');
      for (const n of needles) if (text.includes(n)) leaks.push(`log ${f}`);
    }
    for (const text of recordedCliOutput) for (const n of needles) if (text.includes(n)) leaks.push('CLI output');
    const client = await connectClient(testConfig({}));
    let histories = 0;
    try {
      for await (const w of client.workflow.list()) {
        const history = await client.workflow.getHandle(w.workflowId, w.runId).fetchHistory();
        histories += 1;
        const text = historyText(history);
        for (const n of needles) if (text.includes(n)) leaks.push(`history ${w.workflowId}`);
      }
    } finally {
      await client.connection.close();
    }
    return {
      observed: `searched ${logs.length} worker logs, ${recordedCliOutput.length / 2} CLI runs, ${histories} workflow histories: ${leaks.length ? `LEAKS in ${[...new Set(leaks)].join(', ')}` : 'no secret found'}`,
      passed: leaks.length === 0 && histories > 0,
      dataLost: false,
    };
  },
};
