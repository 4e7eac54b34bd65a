import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLI } from '../bench/support.js';
import { formatLogLine } from '../src/logging.js';
import { stackRemove } from '../src/stack/index.js';
import { runCli } from './support/cli.js';
import { startProcess, type Finished } from './support/process.js';
import { uniqueName } from './support/stack.js';

// The worker tests use the shared stack the test runner starts (SEEDVAULT_STATE_DIR).
const skip = process.env.SEEDVAULT_STATE_DIR ? false : 'needs the shared stack (SEEDVAULT_STATE_DIR unset)';

function isJsonLogLine(line: string): boolean {
  try {
    return typeof (JSON.parse(line) as { level?: unknown }).level === 'number';
  } catch {
    return false;
  }
}

/** `seedvault demo [flags]` in a state folder of its own: its snapshot takes today's version, which the shared stack leaves to snapshot.test.ts. */
async function demoRun(flags: string[], check: (run: Finished, stateDir: string) => void): Promise<void> {
  const stateDir = await mkdtemp(join(tmpdir(), 'seedvault-demo-'));
  try {
    const run = await runCli(['demo', ...flags], { SEEDVAULT_STATE_DIR: stateDir, SEEDVAULT_LOG_LEVEL: 'info' });
    assert.equal(run.code, 0, run.stderr);
    for (const line of [...run.stdout.split('\n'), ...run.stderr.split('\n')]) assert.ok(!isJsonLogLine(line), `a log line reached the terminal: ${line}`);
    assert.match(run.stdout, /^latest -> \d{4}\.\d{2}\.\d{2}/m);
    check(run, stateDir);
  } finally {
    await stackRemove({ stateDir });
  }
}

test('demo prints human lines only; the worker it hosts logs JSON to a file in the state folder', async () => {
  await demoRun([], (run, stateDir) => {
    assert.match(run.stderr, /^postgres started on port \d+$/m, 'the stack reports its progress in plain lines');
    assert.match(run.stdout, /^Web UI: http:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows\/seed-snapshot-/m);
    const file = join(stateDir, 'logs', 'demo-worker.log');
    assert.equal(run.stderr.split('\n').filter((line) => line === `worker log: ${file}`).length, 1, 'the log path, printed once');
    const logged = readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { msg: string });
    assert.ok(logged.some((entry) => entry.msg === 'worker started'), 'the worker logged to the file');
    assert.ok(logged.some((entry) => entry.msg === 'exporting from database snapshot'), "the snapshot activity's log line is there too");
  });
});

test('demo --verbose shows the hosted worker\'s log as pretty lines on stderr and writes no log file', async () => {
  await demoRun(['--verbose'], (run, stateDir) => {
    assert.match(run.stderr, /^\d\d:\d\d:\d\d\.\d{3} INFO  worker started /m);
    assert.match(run.stderr, /^\d\d:\d\d:\d\d\.\d{3} INFO  exporting from database snapshot /m);
    assert.ok(!run.stderr.includes('worker log: '), 'no log path is announced');
    assert.ok(!existsSync(join(stateDir, 'logs', 'demo-worker.log')), 'no log file is written');
  });
});

test('seedvault worker logs pretty lines in a terminal (SEEDVAULT_LOG_FORMAT=pretty stands in for one)', { skip }, async () => {
  // Without a terminal it logs JSON: image.test.ts and compose-up.test.ts read its JSON lines.
  const env = { ...process.env, SEEDVAULT_TASK_QUEUE: uniqueName('pretty'), SEEDVAULT_MAX_EXPORTS: '2', SEEDVAULT_LOG_LEVEL: 'info', SEEDVAULT_LOG_FORMAT: 'pretty' };
  const worker = startProcess([process.execPath, CLI, 'worker'], { env });
  await worker.waitForLine(/worker started/);
  assert.equal(await worker.stop(), 0);
  assert.match(worker.stderr(), /^\d\d:\d\d:\d\d\.\d{3} INFO  worker started taskQueue=(pretty-[0-9a-f]+) exportTaskQueue=\1-export exportSlots=2 namespace=default$/m);
  assert.ok(!worker.stderr().split('\n').some(isJsonLogLine));
});

test('log lines for people: pretty keeps the fields, human keeps the message', () => {
  const line = `${JSON.stringify({ level: 40, time: Date.UTC(2026, 0, 2, 3, 4, 5, 6), app: 'seedvault', err: { message: 'gone away' }, table: 'two words', msg: 'retrying' })}\n`;
  assert.equal(formatLogLine(line, 'pretty'), '03:04:05.006 WARN  retrying err="gone away" table="two words"\n');
  assert.equal(formatLogLine(line, 'human'), 'warn: retrying\n');
  assert.equal(formatLogLine('not json\n', 'human'), 'not json\n');
});
