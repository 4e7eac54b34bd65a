import type { Command } from 'commander';
import { loadConfig, resolveConfigPath } from '../config/load.js';
import type { SeedvaultConfig } from '../config/schema.js';
import { readStackEnv } from '../stack/index.js';

/**
 * The config for a command. When the local stack is running, its endpoints fill every
 * variable the environment leaves unset, so `seedvault ...` works right after
 * `seedvault stack up` without `eval $(seedvault stack env)`.
 */
export async function commandConfig(command: Command): Promise<SeedvaultConfig> {
  const { config } = command.optsWithGlobals<{ config?: string }>();
  await adoptLocalStackEnv();
  return loadConfig(resolveConfigPath(config));
}

export async function adoptLocalStackEnv(): Promise<void> {
  if (process.env.SEEDVAULT_NO_LOCAL_STACK === '1') return;
  const env = await readStackEnv();
  if (!env) return;
  for (const [key, value] of Object.entries(env)) {
    if (process.env[key] === undefined || process.env[key] === '') process.env[key] = value;
  }
}
