import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Pinned; pure reads of Parquet need neither numpy nor pandas. */
export const PYARROW = 'pyarrow==18.1.0';

/**
 * A folder to put on PYTHONPATH holding the pinned `packages` (`name==version`) and, when
 * `withDependencies`, what they require: installed once from PyPI into the user's cache
 * (outside the repo), the way the stack caches its binaries, and renamed into place complete.
 */
export async function pythonPackages(packages: string[], withDependencies = false): Promise<string> {
  const cache = process.env.SEEDVAULT_CACHE_DIR ?? join(homedir(), '.cache', 'seedvault');
  const name = packages.map((p) => p.replace('==', '-')).join('+');
  const dir = join(cache, `python-${name}${withDependencies ? '+deps' : ''}`);
  if (!existsSync(dir)) {
    const tmp = `${dir}.tmp-${process.pid}`;
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp, { recursive: true });
    const deps = withDependencies ? [] : ['--no-deps'];
    try {
      await execFileAsync('python3', ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', ...deps, '--target', tmp, ...packages]);
      await rm(dir, { recursive: true, force: true });
      await rename(tmp, dir);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }
  return dir;
}

/** Runs `use` with a python3 that can import pyarrow. */
export async function withPyarrow<T>(use: (python: (args: string[]) => Promise<string>) => Promise<T>): Promise<T> {
  const dir = await pythonPackages([PYARROW]);
  return use(async (args) => (await execFileAsync('python3', args, { env: { ...process.env, PYTHONPATH: dir } })).stdout);
}
