import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { test } from 'node:test';
import type { Command } from 'commander';
import { DEFAULT_CONFIG_PATH, parseConfig } from '../src/config/load.js';
import { buildProgram } from '../src/client/cli.js';
import { COMPOSE_PATH, composeVariables, dependencies, interpolate, readCompose, serviceCommand, serviceEnv, startOrder } from './support/compose.js';

/**
 * No container engine runs here, so this checks what can be checked without one: the
 * compose file parses, pins its images, starts things in a working order, and its
 * environment yields a valid config that points at its services; the commands it runs
 * exist in the CLI; .env.example documents every variable it reads. (compose-up.test.ts
 * replays its commands against the test stack.)
 */
const { services } = readCompose();
const SEEDVAULT_SERVICES = ['setup', 'worker', 'seeder'];
const version = (JSON.parse(readFileSync(resolve(dirname(COMPOSE_PATH), 'package.json'), 'utf8')) as { version: string }).version;
const envExample = Object.fromEntries(
  readFileSync(resolve(dirname(COMPOSE_PATH), '.env.example'), 'utf8')
    .split('\n')
    .filter((line) => /^[A-Z0-9_]+=/.test(line))
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
);

test('compose defines the whole deployment', () => {
  assert.deepEqual(Object.keys(services).sort(), [
    'grafana', 'minio', 'postgres', 'prometheus', 'seeder', 'setup', 'temporal', 'temporal-namespace', 'temporal-schema', 'temporal-ui', 'worker',
  ]);
  assert.ok(services.temporal!.ports!.includes('127.0.0.1:7233:7233'));
  assert.ok(services.minio!.ports!.includes('127.0.0.1:9000:9000'));
  for (const name of SEEDVAULT_SERVICES) assert.equal(services[name]!.build, '.', name);
  for (const [name, service] of Object.entries(services)) {
    for (const port of service.ports ?? []) assert.match(port, /^127\.0\.0\.1:/, `${name} publishes ${port} on loopback only`);
    for (const volume of service.volumes ?? []) {
      if (volume.startsWith('.')) assert.ok(existsSync(resolve(dirname(COMPOSE_PATH), volume.split(':')[0]!)), `${name} mounts ${volume}`);
    }
  }
});

test('every image is pinned to a version; Temporal server and admin-tools share one', () => {
  for (const [name, service] of Object.entries(services)) {
    const image = service.image ?? '';
    const tag = image.includes(':') ? image.slice(image.lastIndexOf(':') + 1) : '';
    assert.match(tag, /\d/, `${name}: image "${image}" has a version tag`);
    assert.notEqual(tag, 'latest', name);
    assert.doesNotMatch(image, /auto-setup/, `${name}: temporalio/auto-setup is deprecated`);
  }
  for (const name of SEEDVAULT_SERVICES) assert.equal(services[name]!.image, `seedvault:${version}`, `${name} runs this version's image`);
  const temporalTag = services.temporal!.image!.split(':')[1];
  assert.equal(services['temporal-schema']!.image, `temporalio/admin-tools:${temporalTag}`);
  assert.equal(services['temporal-namespace']!.image, `temporalio/admin-tools:${temporalTag}`);
});

test('setup runs once everything it needs is up; the worker and the seeder wait for it to succeed', () => {
  const order = startOrder(services);
  assert.ok(order.indexOf('temporal-schema') < order.indexOf('temporal'));
  assert.ok(order.indexOf('setup') < order.indexOf('worker') && order.indexOf('worker') < order.indexOf('seeder'), order.join(' -> '));
  assert.deepEqual(dependencies(services.setup!), {
    postgres: 'service_healthy', minio: 'service_healthy', 'temporal-namespace': 'service_completed_successfully',
  });
  assert.equal(dependencies(services.worker!).setup, 'service_completed_successfully');
  assert.equal(dependencies(services.seeder!).setup, 'service_completed_successfully');
  for (const [name, service] of Object.entries(services)) {
    for (const [dep, condition] of Object.entries(dependencies(service))) {
      if (condition === 'service_healthy') assert.ok(services[dep]!.healthcheck, `${name} waits for ${dep} to be healthy: it needs a healthcheck`);
      if (condition === 'service_completed_successfully') assert.equal(services[dep]!.restart, 'no', `${name} waits for ${dep} to finish: a one-shot`);
    }
  }
});

test("the seedvault services' environment gives a valid config aimed at the compose services", () => {
  for (const name of SEEDVAULT_SERVICES) {
    const env = serviceEnv(services[name]!);
    const config = parseConfig(readFileSync(DEFAULT_CONFIG_PATH, 'utf8'), 'seed_config.yaml', env);
    assert.equal(config.temporal.address, 'temporal:7233');
    assert.equal(config.temporal.namespace, serviceEnv(services['temporal-namespace']!).NAMESPACE, 'the namespace the job creates');
    assert.equal(config.storage.type, 'minio');
    assert.equal(config.storage.endpoint, 'http://minio:9000');
    assert.equal(config.storage.bucket, 'seeds');
    const db = new URL(config.postgres.url);
    assert.equal(db.host, 'postgres:5432');
    const postgres = serviceEnv(services.postgres!);
    assert.deepEqual([db.username, db.password, db.pathname], [postgres.POSTGRES_USER, postgres.POSTGRES_PASSWORD, `/${postgres.POSTGRES_DB}`]);
    assert.equal(config.storage.access_key, serviceEnv(services.minio!).MINIO_ROOT_USER);
    assert.equal(config.storage.secret_key, serviceEnv(services.minio!).MINIO_ROOT_PASSWORD);
  }
});

test("the alert channels' URL variables the shipped config names (its examples included) reach every seedvault service", () => {
  const urlEnvs = [...readFileSync(DEFAULT_CONFIG_PATH, 'utf8').matchAll(/url_env: ([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]!);
  assert.ok(urlEnvs.length >= 2, 'the config shows a Slack and a webhook channel');
  for (const name of SEEDVAULT_SERVICES) {
    const env = serviceEnv(services[name]!, Object.fromEntries(urlEnvs.map((v) => [v, `https://hooks.example/${v}`])));
    for (const variable of urlEnvs) assert.equal(env[variable], `https://hooks.example/${variable}`, `${name} gets ${variable} from the environment`);
  }
});

/** The CLI command an argv names, after checking every --flag is one of its options. */
async function resolveCommand(argv: string[]): Promise<Command> {
  let command: Command = await buildProgram(argv);
  const args = [...argv];
  while (args.length > 0 && command.commands.some((c) => c.name() === args[0])) {
    const name = args.shift();
    command = command.commands.find((c) => c.name() === name)!;
  }
  assert.notEqual(command.name(), 'seedvault', `${argv.join(' ')}: no such command`);
  for (const flag of args.filter((a) => a.startsWith('--'))) {
    assert.ok(command.options.some((o) => o.long === flag), `${argv.join(' ')}: ${command.name()} has no ${flag}`);
  }
  return command;
}

test('the commands compose runs exist in the CLI, with the flags they pass', async () => {
  assert.equal((await resolveCommand(serviceCommand(services.setup!))).name(), 'setup');
  assert.equal((await resolveCommand(serviceCommand(services.worker!))).name(), 'worker');
  assert.equal((await resolveCommand(serviceCommand(services.seeder!))).name(), 'init');
  await resolveCommand(serviceCommand(services.seeder!, { SEEDVAULT_SEED_INIT_FLAGS: '--allow-empty' }));
});

test('.env.example lists every variable compose reads, with the defaults compose uses', () => {
  assert.deepEqual(Object.keys(envExample).sort(), composeVariables());
  const text = readFileSync(COMPOSE_PATH, 'utf8');
  for (const [name, value] of Object.entries(envExample)) {
    for (const [whole] of text.matchAll(new RegExp(`\\$\\{${name}(:-[^}]*)?\\}`, 'g'))) {
      assert.equal(interpolate(whole), value, `${name}: compose falls back to "${interpolate(whole)}"`);
    }
  }
});
