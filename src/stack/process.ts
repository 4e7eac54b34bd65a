import { execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ServiceError } from '../errors.js';

/**
 * True when `pid` runs and is not a zombie. With `expect`, its command line must also
 * contain that text, so a pid recycled by an unrelated process is not mistaken for ours.
 */
export function isAlive(pid: number, expect?: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (!existsSync(`/proc/${pid}`)) return true; // not Linux: kill(0) is all we have
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // A zombie is gone, unless it is a thread-group leader whose other threads still exit
    // (and still hold its sockets).
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z') && liveThreads(pid) <= 1) return false;
    if (expect && !readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(expect)) return false;
    return true;
  } catch {
    return false;
  }
}

function liveThreads(pid: number): number {
  try {
    return Number(/^Threads:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Child env without variables that would silently redirect our servers or CLIs. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(TEMPORAL_|MINIO_|PG[A-Z]*$)/.test(k)) env[k] = v;
  }
  return { ...env, ...extra };
}

/**
 * Starts a server that outlives us: own process group (so stop can signal the whole group),
 * output appended to `logFile`, not waited for.
 */
export function spawnDetached(command: string, args: string[], logFile: string, env: NodeJS.ProcessEnv): number {
  mkdirSync(dirname(logFile), { recursive: true });
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(command, args, { detached: true, stdio: ['ignore', fd, fd], env });
    if (!child.pid) throw new ServiceError(`cannot start ${command} (log: ${logFile})`);
    child.on('error', () => {}); // reported through the readiness check and the log
    child.unref();
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/** SIGTERM to the process group, SIGKILL after `graceMs`; resolves once the pid is gone. */
export async function stopProcessGroup(pid: number, graceMs = 15_000): Promise<void> {
  signalGroup(pid, 'SIGTERM');
  if (await waitGone(pid, graceMs)) return;
  signalGroup(pid, 'SIGKILL');
  if (!(await waitGone(pid, 5000))) throw new ServiceError(`process ${pid} survived SIGKILL`);
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, signal);
    } catch {
      // already gone, or not a group leader
    }
  }
}

export async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; the error names the command and carries its stderr. */
export function run(
  command: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { env: opts.env ?? cleanEnv(), timeout: opts.timeoutMs ?? 60_000, cwd: opts.cwd, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) {
          const detail = (stderr || stdout || err.message).trim().split('\n').slice(-15).join('\n');
          reject(new ServiceError(`${command} ${args.join(' ')} failed: ${detail}`, { cause: err }));
        } else resolve({ stdout, stderr });
      },
    );
  });
}

/** Prefix that runs a command as `user` (via runuser), or nothing when that is already us. */
export function asUser(user: string | null, command: string, args: string[]): [string, string[]] {
  return user ? ['runuser', ['-u', user, '--', command, ...args]] : [command, args];
}

/** Last lines of a log, for error messages. */
export function tailFile(path: string, lines = 20): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log yet)';
  }
}

/** A ServiceError naming the component and its log, with the log's last lines. */
export function startFailure(component: string, what: string, logFile: string): ServiceError {
  return new ServiceError(`${component}: ${what} (log: ${logFile})\n--- last lines of ${logFile} ---\n${tailFile(logFile)}`);
}
