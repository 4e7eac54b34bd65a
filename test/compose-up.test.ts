import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CLI } from '../bench/support.js';
import type { DoctorReport } from '../src/domain/doctor.js';
import { pickPort } from '../src/stack/ports.js';
import { createStorage } from '../src/storage/index.js';
import { desiredSchedules } from '../src/temporal/schedules.js';
import { readCompose, serviceCommand, serviceEnv, startOrder, type ComposeService } from './support/compose.js';
import { freshDeployment, registerNamespace, type FreshDeployment } from './support/deploy.js';
import { runProcess, startProcess, type Background, type Finished } from './support/process.js';

/**
 * `docker compose up`, replayed without a container engine: the services in depends_on
 * order, the infrastructure stood in for by the test stack (a new database, a bucket name
 * nothing created, a namespace of its own), each seedvault service's command run with the
 * CLI and the environment compose gives it, its hostnames mapped to the stack's endpoints.
 */
describe('docker compose up, replayed against the test stack', () => {
  let deployment: FreshDeployment;
  const workers: Background[] = [];
  const finished = new Map<string, Finished>();

  before(async () => {
    deployment = await freshDeployment('compose', { namespace: false });
  });
  after(async () => {
    for (const worker of workers) await worker.stop();
    await deployment.drop();
  });

  test('afterwards every schedule of the config and the bucket exist; setup, the worker and the seeder ran; doctor is green after the first snapshot', async () => {
    const stack = new URL(process.env.DATABASE_URL!);
    const database = new URL(deployment.db.url);
    // The .env of this deployment: what compose substitutes into the file.
    const vars: Record<string, string> = {
      POSTGRES_USER: database.username,
      POSTGRES_PASSWORD: database.password, // as it stands in a URL; empty (no password): compose's default, which trust ignores
      POSTGRES_DB: database.pathname.slice(1),
      MINIO_ROOT_USER: process.env.S3_ACCESS_KEY!,
      MINIO_ROOT_PASSWORD: process.env.S3_SECRET_KEY!,
      S3_BUCKET: deployment.bucket,
      TEMPORAL_NAMESPACE: deployment.namespace,
      SEEDVAULT_SEED_INIT_FLAGS: '--allow-empty', // a first deployment: no snapshot anywhere yet
    };
    // The worker's metrics endpoint on a free loopback port instead of the container's 0.0.0.0:9464.
    const metricsPort = await pickPort();
    const hosts: [string, string][] = [
      ['0.0.0.0:9464', `127.0.0.1:${metricsPort}`],
      ['postgres:5432', stack.host],
      ['temporal:7233', process.env.TEMPORAL_ADDRESS!],
      ['http://minio:9000', process.env.S3_ENDPOINT!],
    ];
    const toStack = (env: Record<string, string>) =>
      Object.fromEntries(Object.entries(env).map(([k, v]) => [k, hosts.reduce((value, [from, to]) => value.replaceAll(from, to), v)]));
    // SEEDVAULT_NO_LOCAL_STACK is the image's ENV; the log level makes the worker say when it polls.
    const containerEnv = (service: ComposeService) => ({
      ...process.env, ...toStack(serviceEnv(service, vars)), SEEDVAULT_NO_LOCAL_STACK: '1', SEEDVAULT_LOG_LEVEL: 'info',
    });

    // What each infrastructure service leaves behind, provided by the test stack.
    const standIns: Record<string, (service: ComposeService) => Promise<void>> = {
      postgres: async () => {}, // the stack's server; freshDeployment created POSTGRES_DB, empty
      minio: async () => {},
      'temporal-schema': async () => {}, // the dev server keeps its own schema
      temporal: async () => {},
      'temporal-namespace': (service) => registerNamespace(serviceEnv(service, vars).NAMESPACE!),
      'temporal-ui': async () => {},
      prometheus: async () => {}, // its scrape target is checked with the dashboard in metrics.test
      grafana: async () => {},
    };
    const { services } = readCompose();
    const order = startOrder(services);
    for (const name of order) {
      const service = services[name]!;
      if (service.build !== '.') {
        assert.ok(standIns[name], `no stand-in for the compose service ${name}`);
        await standIns[name]!(service);
        continue;
      }
      const argv = [process.execPath, CLI, ...serviceCommand(service, vars)];
      const env = containerEnv(service);
      if (service.restart === 'no') {
        const run = await runProcess(argv, { env });
        assert.equal(run.code, 0, `${name} (${argv.slice(2).join(' ')}) exited ${run.code}: ${run.stderr}`);
        finished.set(name, run);
      } else {
        const worker = startProcess(argv, { env });
        workers.push(worker);
        await worker.waitForLine(/"msg":"worker started"/);
        if (name === 'worker') {
          const scrape = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
          assert.equal(scrape.status, 200, 'compose turns the worker\'s metrics endpoint on');
          assert.match(await scrape.text(), /^# TYPE temporal_\w+ /m);
        }
      }
    }
    assert.deepEqual(order.filter((n) => services[n]!.build === '.'), ['setup', 'worker', 'seeder']);

    // What setup guarantees, checked by setup itself (--check changes nothing, exit 4 when anything is missing).
    const check = await runProcess([process.execPath, CLI, 'setup', '--check', '--json'], { env: containerEnv(services.setup!) });
    assert.equal(check.code, 0, check.stdout + check.stderr);

    const client = await deployment.client();
    const listed: string[] = [];
    for await (const s of client.schedule.list()) listed.push(s.scheduleId);
    assert.deepEqual(listed.sort(), desiredSchedules(deployment.config).map((s) => s.scheduleId).sort());
    assert.equal(await createStorage(deployment.config.storage).bucketExists(), true);

    assert.match(finished.get('setup')!.stdout, /^bucket created: s3:\/\/compose-/m);
    assert.match(finished.get('seeder')!.stdout, /catch-up backfill not started: no provider api key/);

    // doctor, run as `docker compose run --rm setup doctor --json` would, while the worker runs.
    const inSetup = (args: string[], extra: Record<string, string> = {}) =>
      runProcess([process.execPath, CLI, ...args], { env: { ...containerEnv(services.setup!), ...extra } });
    const doctor = async (extra: Record<string, string> = {}) => {
      const run = await inSetup(['doctor', '--json'], extra);
      const { checks } = JSON.parse(run.stdout) as DoctorReport;
      return { code: run.code, notGreen: checks.filter((c) => c.status !== 'green').map((c) => `${c.check}: ${c.status}: ${c.details}`) };
    };
    // A first deployment: no snapshot yet, and this .env sets no provider key. Nothing else is wrong.
    const first = await doctor();
    assert.deepEqual(first.notGreen.map((l) => l.split(':')[0]), ['latest snapshot', 'provider api key'], first.notGreen.join('\n'));
    assert.match(first.notGreen[1]!, /: red: not set, but backfill\.symbols lists \d+ symbol/);
    assert.notEqual(first.code, 0);
    const snapshot = await inSetup(['snapshot', 'create', '--wait', '--json']);
    assert.equal(snapshot.code, 0, snapshot.stderr);
    const green = await doctor({ TWELVEDATA_API_KEY: 'compose-test-key' });
    assert.deepEqual(green.notGreen, [], 'doctor is green once the first snapshot exists and the provider key is set');
    assert.equal(green.code, 0);

    assert.equal(await workers[0]!.stop(), 0, 'the worker drains on SIGTERM');
  });
});
