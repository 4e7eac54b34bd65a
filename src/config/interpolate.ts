import { ConfigError } from '../errors.js';

const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces `${VAR}` and `${VAR:-default}` in every string of a parsed YAML tree.
 * A `${VAR}` without default whose variable is unset is an error naming the key, so a
 * missing credential fails at load time rather than as an auth error later.
 */
export function interpolate(node: unknown, env: NodeJS.ProcessEnv, file: string, path: string[] = []): unknown {
  if (typeof node === 'string') {
    return node.replace(PLACEHOLDER, (_match, name: string, fallback: string | undefined) => {
      const value = env[name];
      if (value !== undefined && value !== '') return value;
      if (fallback !== undefined) return fallback;
      throw new ConfigError(`${file}: ${path.join('.') || '(root)'}: environment variable ${name} is not set`);
    });
  }
  if (Array.isArray(node)) return node.map((item, i) => interpolate(item, env, file, [...path, String(i)]));
  if (node !== null && typeof node === 'object') {
    return Object.fromEntries(
      Object.entries(node).map(([key, value]) => [key, interpolate(value, env, file, [...path, key])]),
    );
  }
  return node;
}
