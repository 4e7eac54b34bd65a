import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Pinned; pure reads of Parquet need neither numpy nor pandas. */
const PYARROW_VERSION = '18.1.0';

/**
 * Runs `use` with a python3 that can import pyarrow: installed once from PyPI into the
 * user's cache (outside the repo), the way the stack caches its binaries.
 */
export async function withPyarrow<T>(use: (python: (args: string[]) => Promise<string>) => Promise<T>): Promise<T> {
  const dir = join(process.env.SEEDVAULT_CACHE_DIR ?? join(homedir(), '.cache', 'seedvault'), `pyarrow-${PYARROW_VERSION}`);
  if (!existsSync(join(dir, 'pyarrow', '__init__.py'))) {
    const tmp = `${dir}.tmp-${process.pid}`;
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp, { recursive: true });
    await execFileAsync('python3', ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-deps', '--target', tmp, `pyarrow==${PYARROW_VERSION}`]);
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
  }
  return use(async (args) => (await execFileAsync('python3', args, { env: { ...process.env, PYTHONPATH: dir } })).stdout);
}
