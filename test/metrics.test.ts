import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import parsePrometheusTextFormat, { type MetricFamily, type Sample } from 'parse-prometheus-text-format';
import { CLI } from '../bench/support.js';
import { startBackfill } from '../src/client/backfill-start.js';
import { startSnapshot } from '../src/client/snapshot-create.js';
import { loadDemoData } from '../src/db/demo-data.js';
import { HEALTH_LEVEL_VALUE } from '../src/metrics.js';
import type { HealthReport } from '../src/quality/health.js';
import { pickPort } from '../src/stack/ports.js';
import { connectClient } from '../src/temporal/connection.js';
import { parse } from 'yaml';
import { readCompose, serviceEnv } from './support/compose.js';
import { freshDatabase, type FreshDatabase } from './support/db.js';
import { versionsOf } from './support/snapshot.js';
import { startProcess, type Background } from './support/process.js';
import { startProviderFake, type FakeProvider } from './support/provider-fake.js';
import { createBucket, testConfig, uniqueName } from './support/stack.js';

/**
 * The worker in its own process with `metrics.bind_address` set (the SDK runtime, and so
 * its Prometheus exporter, is installed once per process): /metrics is scraped during and
 * after real runs and read with a third-party parser of the Prometheus text format.
 */

/** The one sample of `name` whose labels include `labels`; undefined when there is none. */
function sample(families: MetricFamily[], name: string, labels: Record<string, string> = {}): Sample | undefined {
  const matching = (families.find((f) => f.name === name)?.metrics ?? []).filter((m) =>
    Object.entries(labels).every(([k, v]) => m.labels?.[k] === v),
  );
  assert.ok(matching.length <= 1, `${name} ${JSON.stringify(labels)}: ${matching.length} series`);
  return matching[0];
}

/**
 * One histogram series' count and sum. The parser merges every labelled series of a histogram
 * into one, so it is given only the lines of this series, with its labels taken out.
 */
function histogram(text: string, name: string, labels: Record<string, string>): { count: number; sum: number } {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const lines = text
    .split('\n')
    .filter((line) => line.startsWith(`${name}_`) && pairs.every((p) => line.includes(p)))
    .map((line) => pairs.reduce((l, p) => l.replace(new RegExp(`${p},?`), ''), line).replace(/\{\}/, ''));
  const [family] = parsePrometheusTextFormat([`# TYPE ${name} histogram`, ...lines, ''].join('\n'));
  assert.equal(family?.type, 'HISTOGRAM');
  return { count: Number(family!.metrics[0]?.count ?? 0), sum: Number(family!.metrics[0]?.sum ?? 0) };
}

/** A counter or gauge's value (0 for a series not exported yet). */
function value(families: MetricFamily[], name: string, labels: Record<string, string> = {}): number {
  return Number(sample(families, name, labels)?.value ?? 0);
}

describe('worker metrics', () => {
  let db: FreshDatabase;
  let fake: FakeProvider;
  let env: Record<string, string>;
  let worker: Background;
  let url: string;
  before(async () => {
    db = await freshDatabase('metrics');
    await loadDemoData(db.url, {});
    const bucket = uniqueName('metrics');
    await createBucket(bucket);
    fake = await startProviderFake();
    const address = `127.0.0.1:${await pickPort()}`;
    url = `http://${address}/metrics`;
    env = {
      DATABASE_URL: db.url,
      S3_BUCKET: bucket,
      SEEDVAULT_TASK_QUEUE: uniqueName('metrics'),
      SEEDVAULT_METRICS_BIND_ADDRESS: address,
      TWELVEDATA_BASE_URL: fake.url,
      TWELVEDATA_API_KEY: fake.apiKey,
      TWELVEDATA_CREDITS_PER_MINUTE: '100000',
      TWELVEDATA_CREDITS_PER_DAY: '1000000',
      TWELVEDATA_TIMEOUT_SECONDS: '1',
    };
    worker = startProcess([process.execPath, CLI, 'worker'], { env: { ...process.env, ...env, SEEDVAULT_LOG_LEVEL: 'info' } });
    await worker.waitForLine(/worker started/);
  });
  after(async () => {
    await worker?.stop();
    await fake?.close();
    await db?.drop();
  });

  let lastScrape = '';
  /** Every sample name any scrape has shown (with _total, _bucket... as exported). */
  const scraped = new Set<string>();
  const scrape = async (): Promise<MetricFamily[]> => {
    const response = await fetch(url);
    assert.equal(response.status, 200);
    lastScrape = await response.text();
    for (const line of lastScrape.split('\n')) if (/^[a-z]/.test(line)) scraped.add(line.split(/[{ ]/)[0]!);
    return parsePrometheusTextFormat(lastScrape);
  };
  const runWorkflow = async <T>(type: string, input: object): Promise<{ result: Promise<T>; started: number }> => {
    const config = testConfig(env);
    const client = await connectClient(config);
    const started = Date.now();
    const handle = await client.workflow.start(type, { taskQueue: config.temporal.task_queue, workflowId: uniqueName(type), args: [input] });
    return { result: handle.result() as Promise<T>, started };
  };

  test("a snapshot: rows and bytes per table as in its manifest, its outcome, duration and time; the SDK's metrics beside", async () => {
    const started = Date.now();
    // A version of its own: today's would take the date another test expects to be free.
    const handle = await startSnapshot(testConfig(env), { version: versionsOf(['05.01'])[0]! });
    let finished = false;
    const result = handle.result().finally(() => (finished = true));
    const during: { at: number; successes: number }[] = [];
    while (!finished) {
      const families = await scrape();
      // The SDK's own metrics (workflow tasks, pollers, ...) share the endpoint.
      assert.ok(families.some((f) => f.name.startsWith('temporal_')), families.map((f) => f.name).join(', '));
      during.push({ at: Date.now(), successes: value(families, 'seedvault_job_runs_total', { job: 'snapshot', outcome: 'success' }) });
      await sleep(100);
    }
    const { manifest } = await result;
    // The worker counts the run as its completion goes out, a moment before the client hears of it:
    // only scrapes answered clearly before the server closed the run must show nothing yet.
    const closed = (await handle.describe()).closeTime!.getTime();
    const whileRunning = during.filter((d) => d.at < closed - 250);
    assert.ok(whileRunning.length > 0, 'scraped while the snapshot ran');
    assert.deepEqual(whileRunning.filter((d) => d.successes !== 0), [], 'not counted before it ends');
    const ended = Date.now();
    const m = await scrape();
    assert.ok(Object.keys(manifest.tables).length > 0);
    for (const [table, entry] of Object.entries(manifest.tables)) {
      assert.equal(value(m, 'seedvault_snapshot_rows_exported_total', { table }), entry.rows, table);
      assert.equal(value(m, 'seedvault_snapshot_bytes_exported_total', { table }), entry.size_bytes, table);
    }
    assert.equal(value(m, 'seedvault_job_runs_total', { job: 'snapshot', outcome: 'success' }), 1);
    assert.equal(value(m, 'seedvault_job_runs_total', { job: 'snapshot', outcome: 'failure' }), 0);
    const duration = histogram(lastScrape, 'seedvault_job_duration_seconds', { job: 'snapshot', outcome: 'success' });
    assert.equal(duration.count, 1);
    assert.ok(duration.sum > 0 && duration.sum <= (ended - started) / 1000, `duration ${duration.sum}`);
    const at = value(m, 'seedvault_job_last_success_timestamp_seconds', { job: 'snapshot' }) * 1000;
    assert.ok(at >= started && at <= ended, `last success ${new Date(at).toISOString()}`);
    const family = m.find((f) => f.name === 'seedvault_job_runs_total');
    assert.equal(family?.type, 'COUNTER');
    for (const labels of family!.metrics.map((s) => s.labels ?? {})) {
      assert.deepEqual(Object.keys(labels).sort(), ['job', 'outcome'], 'bounded labels only: no ids');
    }
  });

  test('a failed snapshot counts as a failure and sets the last failure time; a success is not undone', async () => {
    const before = await scrape();
    const { result, started } = await runWorkflow('seedSnapshot', { sources: ['no_such_source'] });
    await assert.rejects(result);
    const m = await scrape();
    assert.equal(value(m, 'seedvault_job_runs_total', { job: 'snapshot', outcome: 'failure' }), value(before, 'seedvault_job_runs_total', { job: 'snapshot', outcome: 'failure' }) + 1);
    assert.equal(value(m, 'seedvault_job_runs_total', { job: 'snapshot', outcome: 'success' }), value(before, 'seedvault_job_runs_total', { job: 'snapshot', outcome: 'success' }));
    assert.ok(value(m, 'seedvault_job_last_failure_timestamp_seconds', { job: 'snapshot' }) * 1000 >= started);
    assert.equal(histogram(lastScrape, 'seedvault_job_duration_seconds', { job: 'snapshot', outcome: 'failure' }).count, 1);
  });

  test('a backfill: bars inserted, provider requests by outcome, credits spent, as the run reports them', async () => {
    fake.failNext('M1/COP', 'error-body');
    const before = await scrape();
    const handle = await startBackfill(testConfig(env), { symbols: ['M1/COP', 'M2/COP'], from: '2026-01-05T00:00:00Z', to: '2026-01-08T00:00:00Z' });
    const summary = await handle.result();
    assert.equal(summary.completed, 2);
    const m = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) => value(m, name, labels) - value(before, name, labels);
    assert.ok(summary.barsInserted > 0);
    assert.equal(delta('seedvault_backfill_bars_inserted_total'), summary.barsInserted);
    assert.equal(delta('seedvault_provider_requests_total', { outcome: 'ok' }), summary.requests);
    assert.equal(delta('seedvault_provider_requests_total', { outcome: 'provider_error' }), 1);
    const received = [...fake.requests.values()].reduce((a, b) => a + b, 0);
    assert.equal(delta('seedvault_provider_credits_used_total'), received, 'one credit per request the provider saw');
    assert.equal(delta('seedvault_job_runs_total', { job: 'backfill', outcome: 'success' }), 1);
  });

  test('a health check: a level per component, the snapshot age it measured, its run', async () => {
    const { result } = await runWorkflow('healthCheck', {});
    const report = await result as HealthReport;
    const m = await scrape();
    for (const c of report.components) {
      assert.equal(value(m, 'seedvault_health_status', { component: c.component }), HEALTH_LEVEL_VALUE[c.status], c.component);
    }
    const age = report.components.find((c) => c.component === 'snapshot.age')?.age_seconds;
    assert.ok(age !== undefined && age > 0 && age < 600, `snapshot age ${age}`);
    assert.equal(value(m, 'seedvault_snapshot_age_seconds'), age);
    assert.equal(value(m, 'seedvault_job_runs_total', { job: 'health', outcome: 'success' }), 1);
  });

  test('the Grafana dashboard queries only metrics the worker exports; Prometheus scrapes the compose worker', async () => {
    const deploy = (path: string) => readFileSync(fileURLToPath(new URL(`../../deploy/${path}`, import.meta.url)), 'utf8');
    const dashboard = JSON.parse(deploy('grafana/seedvault.json')) as { uid: string; panels: { title: string; targets: { expr: string }[] }[] };
    const queried = new Set(dashboard.panels.flatMap((p) => p.targets.flatMap((t) => t.expr.match(/\b(seedvault|temporal)_\w+/g) ?? [])));
    assert.ok(queried.size >= 10, [...queried].join(' '));
    // seedvault's metrics as declared (some only appear once their event happened), with the exporter's suffixes.
    const declared = new Set(
      [...readFileSync(fileURLToPath(new URL('../../src/metrics.ts', import.meta.url)), 'utf8').matchAll(/create(Counter|Histogram|Gauge)\('(\w+)'/g)].flatMap(
        ([, kind, name]) => (kind === 'Counter' ? [`${name}_total`] : kind === 'Histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name!]),
      ),
    );
    for (const name of queried) {
      if (name.startsWith('seedvault_')) assert.ok(declared.has(name), `the dashboard queries ${name}, which the worker does not declare`);
      else assert.ok(scraped.has(name), `the dashboard queries ${name}; the SDK exported: ${[...scraped].filter((n) => n.startsWith('temporal_')).join(' ')}`);
    }
    assert.ok([...queried].filter((n) => n.startsWith('seedvault_')).some((n) => scraped.has(n)), 'the runs above exported what the dashboard shows');

    const prometheus = parse(deploy('prometheus/prometheus.yml')) as { scrape_configs: { static_configs: { targets: string[] }[] }[] };
    const worker = readCompose().services.worker!;
    const port = serviceEnv(worker).SEEDVAULT_METRICS_BIND_ADDRESS!.split(':')[1];
    assert.deepEqual(prometheus.scrape_configs.flatMap((c) => c.static_configs.flatMap((t) => t.targets)), [`worker:${port}`]);
    const datasource = parse(deploy('grafana/provisioning/datasources/prometheus.yml')) as { datasources: { uid: string; url: string }[] };
    const uids = new Set(dashboard.panels.flatMap((p) => (p as unknown as { datasource: { uid: string } }).datasource.uid));
    assert.deepEqual([...uids], [datasource.datasources[0]!.uid]);
  });
});
