/**
 * The test command: starts one real local stack (Temporal dev server, MinIO, PostgreSQL)
 * in a throwaway state folder, runs every compiled test file with node's test runner
 * against it, and tears the stack down. Arguments filter test files by a substring of their
 * path below the test folder (`restore` runs restore*.test.js and restore/...).
 *
 * SEEDVAULT_TEST_STATE_DIR=<dir> reuses (and keeps) a stack between runs while developing.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { routeLogs } from '../src/logging.js';
import { stackRemove, stackUp } from '../src/stack/index.js';

// The AWS SDK warns under Node 20 about its future minimum version; not actionable here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const testDir = fileURLToPath(new URL('.', import.meta.url));

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(path);
    return entry.name.endsWith('.test.js') ? [path] : [];
  });
}

async function main(): Promise<number> {
  routeLogs('human');
  const filters = process.argv.slice(2);
  const files = testFiles(testDir)
    // Matched below the test folder, so a checkout path that happens to contain a filter matches nothing.
    .filter((f) => filters.length === 0 || filters.some((s) => relative(testDir, f).includes(s)))
    .sort();
  if (files.length === 0) {
    process.stderr.write(`no test files match ${filters.join(' ')}\n`);
    return 1;
  }
  const keep = process.env.SEEDVAULT_TEST_STATE_DIR;
  const stateDir = keep ?? mkdtempSync(join(tmpdir(), 'seedvault-test-'));
  // Temporary files of tests and in-process workers go to a folder removed at the end;
  // world-writable like /tmp, for the unprivileged PostgreSQL user.
  const scratch = mkdtempSync(join(tmpdir(), 'seedvault-test-tmp-'));
  chmodSync(scratch, 0o1777);
  const started = Date.now();
  const env = await stackUp({ stateDir });
  process.stderr.write(`test stack up in ${((Date.now() - started) / 1000).toFixed(1)} s (${stateDir})\n`);
  try {
    return await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...files], {
        stdio: 'inherit',
        // Info logs of in-process workers would bury the test report; warnings still show.
        env: { SEEDVAULT_LOG_LEVEL: 'warn', ...process.env, ...env, SEEDVAULT_STATE_DIR: stateDir, TMPDIR: scratch },
      });
      child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    if (!keep) await stackRemove({ stateDir });
  }
}

process.exitCode = await main();
