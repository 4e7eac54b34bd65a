/** The secrets set for the run must not appear in worker logs, CLI output or any workflow history. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectClient } from '../../src/temporal/connection.js';
import { connectionAnswer } from '../../test/support/db.js';
import { testConfig } from '../../test/support/stack.js';
import { recordedCliRuns, type Scenario } from '../support.js';

/** History JSON with every payload's bytes as text (payload data is bytes, else invisible to grep). */
function historyText(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : v));
}

export const secretScenario: Scenario = {
  name: 'secrets: no leak in logs, CLI output or workflow histories',
  injected:
    'distinctive S3 secret key (MinIO root password of the run), provider api key and PostgreSQL password (scram-sha-256 required on TCP) set for every worker and CLI of the suite',
  expected: 'no value (nor its base64) appears in any worker log, any CLI output, or any workflow history of the namespace; PostgreSQL refuses a wrong password',
  async run(ctx) {
    const needles = ctx.secrets.flatMap((s) => [s, Buffer.from(s).toString('base64')]);
    const leaks: string[] = [];
    const logDir = join(ctx.workDir, 'logs');
    const logs = readdirSync(logDir);
    for (const f of logs) {
      const text = readFileSync(join(logDir, f), 'utf8');
      for (const n of needles) if (text.includes(n)) leaks.push(`log ${f}`);
    }
    for (const run of recordedCliRuns) for (const n of needles) if (run.output.includes(n)) leaks.push('CLI output');
    const withSecrets = recordedCliRuns.filter((r) => ctx.secrets.some((s) => r.credentials.some((c) => c.includes(s)))).length;
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
    const wrong = new URL(process.env.DATABASE_URL!);
    wrong.password = 'not-the-password';
    const wrongPassword = await connectionAnswer(wrong.toString());
    return {
      observed:
        `PostgreSQL answered a wrong password with ${wrongPassword === '28P01' ? '28P01 (invalid_password): the password is in force' : `${wrongPassword}: NO PASSWORD IN FORCE`}; ` +
        `searched ${logs.length} worker logs, ${recordedCliRuns.length} CLI runs (${withSecrets} given the real credentials), ${histories} workflow histories: ` +
        (leaks.length ? `LEAKS in ${[...new Set(leaks)].join(', ')}` : 'no secret found'),
      passed: leaks.length === 0 && histories > 0 && logs.length > 0 && withSecrets > 0 && wrongPassword === '28P01',
      dataLost: false,
    };
  },
};
