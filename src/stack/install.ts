import { accessSync, constants, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { log } from '../logging.js';
import { cleanEnv, run } from './process.js';

/** Per-target promises, so parallel callers in one process share one install. */
const inFlight = new Map<string, Promise<string>>();

/**
 * Returns `<dir>/<binary>`, installing it first when missing. `install` writes into a
 * temporary sibling dir that is renamed into place, so an interrupted install never
 * leaves a half-written binary that looks complete.
 */
export function ensureInstalled(dir: string, binary: string, what: string, install: (tmpDir: string) => Promise<void>): Promise<string> {
  const target = join(dir, binary);
  if (isExecutable(target)) return Promise.resolve(target);
  let pending = inFlight.get(target);
  if (!pending) {
    pending = (async () => {
      const tmpDir = `${dir}.tmp-${process.pid}`;
      rmSync(tmpDir, { recursive: true, force: true });
      mkdirSync(dirname(dir), { recursive: true });
      const started = Date.now();
      log.info({ what, dir }, `installing ${what}`);
      try {
        await install(tmpDir);
        if (!isExecutable(join(tmpDir, binary))) throw new Error(`${what}: install finished but ${binary} is missing in ${tmpDir}`);
        // Another process may have finished the same install meanwhile: keep its copy.
        if (!isExecutable(target)) {
          rmSync(dir, { recursive: true, force: true });
          renameSync(tmpDir, dir);
        }
      } finally {
        rmSync(tmpDir, { recursive: true, force: true });
        inFlight.delete(target);
      }
      log.info({ what, seconds: secondsSince(started) }, `installed ${what}`);
      return target;
    })();
    inFlight.set(target, pending);
  }
  return pending;
}

export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function secondsSince(startMs: number): number {
  return Math.round((Date.now() - startMs) / 100) / 10;
}

/** `go install module@version` into `gobin`; the module cache stays writable so it can be cleaned. */
export async function goInstall(gobin: string, moduleAtVersion: string, cwd: string): Promise<void> {
  mkdirSync(cwd, { recursive: true });
  const go = isExecutable('/usr/local/go/bin/go') && !onPath('go') ? '/usr/local/go/bin/go' : 'go';
  await run(go, ['install', moduleAtVersion], {
    env: cleanEnv({ GOBIN: gobin, GOFLAGS: '-modcacherw' }),
    timeoutMs: 30 * 60_000,
    cwd,
  });
}

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => dir && isExecutable(join(dir, command)));
}
