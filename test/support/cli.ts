import { CLI } from '../../bench/support.js';
import { runProcess, type Finished } from './process.js';

/**
 * `seedvault <args>` as a user runs it, with `env` over this process's environment. Resolves with
 * the exit code and both outputs, a failure included, so a test can assert on each.
 */
export function runCli(args: string[], env: NodeJS.ProcessEnv, opts: { timeoutMs?: number } = {}): Promise<Finished> {
  return runProcess([process.execPath, CLI, ...args], { env: { ...process.env, ...env }, timeoutMs: opts.timeoutMs });
}
