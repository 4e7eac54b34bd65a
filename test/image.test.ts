import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { DoctorReport } from '../src/domain/doctor.js';
import { versionPrefix } from '../src/domain/version.js';
import { createStorage } from '../src/storage/index.js';
import { freshDeployment, type FreshDeployment } from './support/deploy.js';
import { cleanEnv, replayImage, type ImageTree } from './support/image-tree.js';
import { runProcess, startProcess } from './support/process.js';
import { WORKER_ENV, WORKER_NODE_FLAGS } from '../src/worker-node-flags.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

/**
 * No container engine runs here, so the image is rebuilt as a file tree: only the paths the
 * Dockerfile's COPY lines name, its RUN lines (`npm ci`, served from the npm cache, the
 * build, `npm prune --omit=dev`), then the runtime stage's copies. What a container would
 * run (ENTRYPOINT, CMD, HEALTHCHECK) then runs from that tree against the test stack.
 */
describe('the image, rebuilt from what the Dockerfile copies', () => {
  let root: string;
  let image: ImageTree;
  let deployment: FreshDeployment;
  let buildSeconds: number;
  // The container's environment: the image's ENV, then the deployment's (compose's part).
  const containerEnv = () => cleanEnv({ ...image.env, ...deployment.env, SEEDVAULT_LOG_LEVEL: 'info' });
  const inContainer = (args: string[], extra: Record<string, string> = {}) => runProcess([...image.entrypoint, ...args], { cwd: image.workdir, env: { ...containerEnv(), ...extra } });

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'seedvault-image-'));
    const started = Date.now();
    image = await replayImage(REPO, root, { npm_config_prefer_offline: 'true', npm_config_update_notifier: 'false' });
    buildSeconds = (Date.now() - started) / 1000;
    process.stderr.write(`image tree built in ${buildSeconds.toFixed(0)} s\n`);
    deployment = await freshDeployment('image');
  });
  after(async () => {
    await deployment?.drop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  test('the runtime tree holds the CLI, production dependencies and no test, bench or chaos code; it runs as a user', () => {
    for (const path of ['bin/seedvault.js', 'dist/src/client/cli.js', 'dist/workflow-bundle.js', 'config/seed_config.yaml', 'migrations/001_critical_tables.sql', 'node_modules/@temporalio/worker']) {
      assert.ok(existsSync(join(image.workdir, path)), `${path} is in the image`);
    }
    for (const path of ['test', 'bench', 'chaos', 'src', 'dist/test', 'dist/bench', 'dist/chaos', 'node_modules/typescript', 'node_modules/hyparquet', 'node_modules/@types/luxon']) {
      assert.ok(!existsSync(join(image.workdir, path)), `${path} is not in the image`);
    }
    assert.ok(image.user && !['root', '0'].includes(image.user.split(':')[0]!), `USER ${image.user}`);
    assert.deepEqual(image.entrypoint, ['node', ...WORKER_NODE_FLAGS, 'bin/seedvault.js'], 'the entrypoint is the CLI with the worker\'s node flags: compose passes worker, setup, seed init, doctor');
    for (const [key, value] of Object.entries(WORKER_ENV)) assert.equal(image.env[key], value, `the image sets the worker's ${key}`);
    assert.deepEqual(image.cmd, ['worker']);
  });

  test('.dockerignore leaves out none of the paths the Dockerfile copies', () => {
    const ignored = readFileSync(join(REPO, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    const matches = (pattern: string, path: string) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}(/|$)`).test(path);
    for (const source of image.contextSources) {
      assert.ok(!ignored.some((pattern) => matches(pattern, source)), `${source} is excluded by .dockerignore`);
    }
  });

  test('its HEALTHCHECK passes; setup, then a worker from the tree complete a snapshot, and doctor from the tree is green', async () => {
    assert.ok(image.healthcheck, 'the image has a HEALTHCHECK');
    const health = await runProcess(image.healthcheck, { cwd: image.workdir, env: containerEnv() });
    assert.equal(health.code, 0, health.stderr);

    const setup = await inContainer(['setup', '--json']);
    assert.equal(setup.code, 0, setup.stderr);
    const created = (JSON.parse(setup.stdout) as { items: { kind: string; state: string }[] }).items.filter((i) => i.state === 'created').map((i) => i.kind);
    assert.ok(created.includes('migration') && created.includes('bucket') && created.includes('schedule'), setup.stdout);

    const worker = startProcess([...image.entrypoint, ...image.cmd], { cwd: image.workdir, env: containerEnv() });
    try {
      await worker.waitForLine(/"msg":"worker started"/);
      const snapshot = await inContainer(['snapshot', 'create', '--wait', '--json']);
      assert.equal(snapshot.code, 0, snapshot.stderr);
      const { version } = JSON.parse(snapshot.stdout) as { version: string };
      assert.ok(await createStorage(deployment.config.storage).head(`${versionPrefix(version)}manifest.json`), 'the manifest is in the bucket setup created');
      // The deployment's provider key is the operator's to add; with it, every check of the image's doctor is green.
      const doctor = await inContainer(['doctor', '--json'], { TWELVEDATA_API_KEY: 'image-test-key' });
      const notGreen = (JSON.parse(doctor.stdout) as DoctorReport).checks.filter((c) => c.status !== 'green').map((c) => `${c.check}: ${c.status}: ${c.details}`);
      assert.deepEqual(notGreen, [], 'doctor run from the image tree, with a worker of the tree polling');
      assert.equal(doctor.code, 0);
    } finally {
      assert.equal(await worker.stop(), 0, 'SIGTERM drains the worker and it exits 0');
    }
    const lines = worker.stderr().trim().split('\n');
    assert.ok(lines.every((line) => JSON.parse(line).app === 'seedvault'), 'a worker without a terminal logs JSON lines only');
  });
});
