import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { DEFAULT_CONFIG_PATH, parseConfig } from '../src/config/load.js';
import { buildProgram } from '../src/client/cli.js';

/**
 * No container engine runs here, so this checks what can be checked without one: the
 * compose file parses, has every service, and its environment yields a valid config that
 * points at those services; the commands it runs exist in the CLI.
 */
const compose = parse(readFileSync(fileURLToPath(new URL('../../docker-compose.yml', import.meta.url)), 'utf8')) as {
  services: Record<string, { environment?: Record<string, string>; command?: string[]; ports?: string[]; build?: string }>;
};

/** Compose's own `${VAR:-default}` substitution, with nothing set. */
function composeDefaults(value: string): string {
  return value.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1');
}

test('compose defines the whole deployment', () => {
  assert.deepEqual(Object.keys(compose.services).sort(), ['minio', 'postgres', 'seeder', 'temporal', 'temporal-ui', 'worker']);
  assert.ok(compose.services.temporal!.ports!.includes('7233:7233'));
  assert.ok(compose.services.minio!.ports!.includes('9000:9000'));
  assert.equal(compose.services.worker!.build, '.');
});

test("the worker's environment gives a valid config aimed at the compose services", () => {
  for (const service of ['worker', 'seeder']) {
    const env = Object.fromEntries(Object.entries(compose.services[service]!.environment!).map(([k, v]) => [k, composeDefaults(String(v))]));
    const config = parseConfig(readFileSync(DEFAULT_CONFIG_PATH, 'utf8'), 'seed_config.yaml', env);
    assert.equal(config.temporal.address, 'temporal:7233');
    assert.equal(config.storage.type, 'minio');
    assert.equal(config.storage.endpoint, 'http://minio:9000');
    assert.equal(config.storage.bucket, 'seeds');
    assert.match(config.postgres.url, /@postgres:5432\//);
    assert.equal(config.storage.access_key, composeDefaults(compose.services.minio!.environment!.MINIO_ROOT_USER!));
    assert.equal(config.storage.secret_key, composeDefaults(compose.services.minio!.environment!.MINIO_ROOT_PASSWORD!));
  }
});

test('the commands compose runs exist in the CLI', () => {
  const commands = buildProgram().commands.map((c) => c.name());
  for (const service of ['worker', 'seeder']) {
    assert.ok(commands.includes(compose.services[service]!.command![0]!), `${service}: ${compose.services[service]!.command}`);
  }
});
