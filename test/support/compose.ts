import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export interface ComposeService {
  image?: string;
  build?: string;
  command?: string | string[];
  entrypoint?: string[];
  environment?: Record<string, string | number>;
  depends_on?: Record<string, { condition: string }> | string[];
  ports?: string[];
  volumes?: string[];
  restart?: string;
  healthcheck?: { test: string[] };
}

export const COMPOSE_PATH = fileURLToPath(new URL('../../../docker-compose.yml', import.meta.url));

/** docker-compose.yml with its `<<: *anchor` merges applied. */
export function readCompose(): { services: Record<string, ComposeService> } {
  return parse(readFileSync(COMPOSE_PATH, 'utf8'), { merge: true }) as { services: Record<string, ComposeService> };
}

/** Compose's `${VAR}` / `${VAR:-default}` substitution (`$$` is a literal `$`), from `vars`. */
export function interpolate(value: string, vars: Record<string, string> = {}): string {
  return value.replace(/\$\$|\$\{([A-Z0-9_]+)(?::-([^}]*))?\}/g, (whole, name?: string, fallback?: string) => {
    if (whole === '$$') return '$';
    return vars[name!] || fallback || '';
  });
}

/** Every variable compose reads from the environment (`${NAME...}`). */
export function composeVariables(): string[] {
  return [...new Set([...readFileSync(COMPOSE_PATH, 'utf8').matchAll(/\$\{([A-Z0-9_]+)/g)].map((m) => m[1]!))].sort();
}

/** A service's environment after substitution. */
export function serviceEnv(service: ComposeService, vars: Record<string, string> = {}): Record<string, string> {
  return Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, interpolate(String(v), vars)]));
}

/** A service's command as argv: an exec-form list, or a string split like compose splits it. */
export function serviceCommand(service: ComposeService, vars: Record<string, string> = {}): string[] {
  const command = service.command ?? [];
  return Array.isArray(command) ? command.map((c) => interpolate(c, vars)) : interpolate(command, vars).split(/\s+/).filter(Boolean);
}

export function dependencies(service: ComposeService): Record<string, string> {
  const deps = service.depends_on ?? {};
  return Array.isArray(deps) ? Object.fromEntries(deps.map((d) => [d, 'service_started'])) : Object.fromEntries(Object.entries(deps).map(([k, v]) => [k, v.condition]));
}

/** Service names in an order that starts each after everything it depends on (ties: file order). */
export function startOrder(services: Record<string, ComposeService>): string[] {
  const order: string[] = [];
  const visiting = new Set<string>();
  const visit = (name: string) => {
    if (order.includes(name)) return;
    if (visiting.has(name)) throw new Error(`depends_on cycle through ${name}`);
    if (!services[name]) throw new Error(`depends_on names an unknown service ${name}`);
    visiting.add(name);
    for (const dep of Object.keys(dependencies(services[name]!))) visit(dep);
    visiting.delete(name);
    order.push(name);
  };
  Object.keys(services).forEach(visit);
  return order;
}
