import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import { interpolate } from './interpolate.js';
import { configSchema, type SeedvaultConfig } from './schema.js';

/** The config shipped with the repo, used when neither --config nor SEEDVAULT_CONFIG is given. */
export const DEFAULT_CONFIG_PATH = fileURLToPath(new URL('../../../config/seed_config.yaml', import.meta.url));

export function resolveConfigPath(explicit?: string): string {
  return explicit ?? process.env.SEEDVAULT_CONFIG ?? DEFAULT_CONFIG_PATH;
}

/** Loads, interpolates and validates a config file; any problem is one ConfigError line naming file and key. */
export function loadConfig(path = resolveConfigPath(), env: NodeJS.ProcessEnv = process.env): SeedvaultConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${path}: cannot read config file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  return parseConfig(text, path, env);
}

export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): SeedvaultConfig {
  let raw: unknown;
  try {
    raw = parse(text, { uniqueKeys: true });
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` line ${err.linePos[0].line}` : '';
    const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new ConfigError(`${file}:${where} invalid YAML: ${reason}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(`${file}: expected a mapping at the top level`);
  }
  const result = configSchema.safeParse(interpolate(raw, env, file));
  if (!result.success) throw new ConfigError(`${file}: ${describeIssue(result.error.issues[0]!)}`);
  return result.data;
}

/** "storage.type: expected one of minio|s3|local" — never echoes the offending value (it may be a secret). */
function describeIssue(issue: z.core.$ZodIssue): string {
  const key = issue.path.map(String).join('.') || '(root)';
  if (issue.code === 'unrecognized_keys') {
    const prefix = issue.path.length ? `${key}.` : '';
    return `unknown key ${issue.keys.map((k) => prefix + k).join(', ')}`;
  }
  if (issue.code === 'invalid_type' && issue.message.endsWith('received undefined')) return `${key}: is required`;
  return `${key}: ${issue.message}`;
}
