/**
 * `npm run chaos`: starts its own local stack in a temporary state folder, drives it through
 * faults and bad inputs one scenario at a time, and writes docs/RELIABILITY.md.
 * Not part of `npm test` (it takes several minutes). Arguments filter scenarios by substring.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDemoData } from '../src/db/demo-data.js';
import { readStackEnv, setPostgresPassword, stackRemove, stackUp } from '../src/stack/index.js';
import { freshDatabase } from '../test/support/db.js';
import { tableDigests } from '../test/support/restore.js';
import { startSnapshot } from '../src/client/snapshot-create.js';
import { withWorker } from '../test/support/stack.js';
import { renderReport, runFacts } from './report.js';
import { SCENARIOS } from './scenarios/index.js';
import { crashes, fingerprint, kill, liveWorkers, stopWorker, freshVersion, readManifest, scenarioEnv, sqlQuery, type ChaosContext, type ScenarioResult } from './support.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** Scale 10 exports in about 2 s here, too short to aim at; scale 30 takes a few seconds. */
const SCALE = 30;
const REPORT = fileURLToPath(new URL('../../docs/RELIABILITY.md', import.meta.url));

async function main(): Promise<number> {
  const filters = process.argv.slice(2);
  const scenarios = SCENARIOS.filter((s) => filters.length === 0 || filters.some((f) => s.name.includes(f)));
  const keep = process.env.SEEDVAULT_CHAOS_STATE_DIR;
  const stateDir = keep ?? mkdtempSync(join(tmpdir(), 'seedvault-chaos-'));
  const workDir = mkdtempSync(join(tmpdir(), 'seedvault-chaos-work-'));
  const started = Date.now();
  // Ctrl-C still removes the stack (and its PostgreSQL data).
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`chaos: ${signal}, removing the stack\n`);
      for (const w of liveWorkers) void kill(w);
      void (keep ? Promise.resolve() : stackRemove({ stateDir })).finally(() => process.exit(130));
    });
  }
  const facts = await runFacts();
  await stackUp({ stateDir });
  // Every worker and CLI of the suite connects with a password (the secret scan looks for it).
  const postgresPassword = `chaos-pgpw-${randomBytes(8).toString('hex')}`;
  await setPostgresPassword(postgresPassword, { stateDir });
  const stack = (await readStackEnv({ stateDir }))!;
  Object.assign(process.env, stack, { SEEDVAULT_STATE_DIR: stateDir, TWELVEDATA_API_KEY: 'chaos-provider-key-7f3a9c1e5b' });
  process.stderr.write(`chaos: stack up in ${((Date.now() - started) / 1000).toFixed(1)} s (${stateDir}); logs in ${workDir}\n`);
  const results: ScenarioResult[] = [];
  try {
    const db = await freshDatabase('chaos_source');
    await loadDemoData(db.url, { scale: SCALE });
    const { rows } = await sqlQuery(db.url, `select (select count(*) from usdcop_m5_ohlcv) + (select count(*) from macro_indicators_daily) + (select count(*) from trades_history) as n`);
    const base = await scenarioEnv('baseline', db.url);
    const worker = await withWorker(base.config);
    const baseVersion = freshVersion();
    const t0 = Date.now();
    try {
      await (await startSnapshot(base.config, { version: baseVersion })).result();
    } finally {
      await worker.stop();
    }
    process.stderr.write(`chaos: undisturbed scale-${SCALE} snapshot (${rows[0].n} rows) in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    const ctx: ChaosContext = {
      stateDir,
      stack,
      workDir,
      sourceDb: db.url,
      baseline: fingerprint((await readManifest(base.config, baseVersion))!),
      sourceRows: Number(rows[0].n),
      sourceDigests: await tableDigests(db.url),
      baseBucket: base.bucket,
      baseVersion,
      secrets: [stack.S3_SECRET_KEY, process.env.TWELVEDATA_API_KEY!, postgresPassword],
    };
    for (const scenario of scenarios) {
      const t = Date.now();
      process.stderr.write(`chaos: ${scenario.name} ...\n`);
      let outcome: { observed: string; passed: boolean; dataLost: boolean };
      const crashesBefore = crashes.length;
      try {
        outcome = await scenario.run(ctx);
      } catch (err) {
        outcome = { observed: `scenario error: ${(err as Error).message.split('\n')[0]}`, passed: false, dataLost: false };
      }
      const crashed = crashes.slice(crashesBefore);
      if (crashed.length) outcome = { ...outcome, passed: false, observed: `${outcome.observed}; WORKER CRASHED (replaced like a supervisor would): ${crashed.join('; ')}` };
      // Replacement workers of crashed ones outlive their scenario: stop them here.
      await Promise.all([...liveWorkers].map((w) => stopWorker(w)));
      const seconds = (Date.now() - t) / 1000;
      results.push({ name: scenario.name, injected: scenario.injected, expected: scenario.expected, ...outcome, seconds });
      process.stderr.write(`chaos: ${scenario.name}: ${outcome.passed ? 'PASS' : 'FAIL'} in ${seconds.toFixed(1)} s: ${outcome.observed}\n`);
    }
  } finally {
    for (const w of liveWorkers) await kill(w);
    if (!keep) await stackRemove({ stateDir }).catch((e) => process.stderr.write(`chaos: stack remove: ${(e as Error).message}\n`));
  }
  const total = (Date.now() - started) / 1000;
  writeFileSync(join(workDir, 'results.jsonl'), results.map((r) => JSON.stringify(r)).join('\n') + '\n');
  // SEEDVAULT_CHAOS_MERGE=<results.jsonl of an earlier run>: a filtered rerun completes that run's report.
  const merge = process.env.SEEDVAULT_CHAOS_MERGE;
  const earlier: ScenarioResult[] = merge ? readFileSync(merge, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as ScenarioResult) : [];
  const byName = new Map([...earlier, ...results].map((r) => [r.name, r]));
  const all = SCENARIOS.flatMap((s) => (byName.has(s.name) ? [byName.get(s.name)!] : []));
  if (all.length === SCENARIOS.length) writeFileSync(REPORT, renderReport(all, all.reduce((sum, r) => sum + (r.seconds ?? 0), 0), facts, earlier.length > 0));
  else process.stderr.write(`chaos: ${all.length}/${SCENARIOS.length} scenarios have results, docs/RELIABILITY.md not rewritten (results: ${join(workDir, 'results.jsonl')})\n`);
  const passed = results.filter((r) => r.passed).length;
  const lost = results.filter((r) => r.dataLost).length;
  process.stderr.write(`chaos: ${results.length} scenarios run, ${passed} passed, ${lost} with data lost, ${total.toFixed(0)} s\n`);
  return passed === results.length && lost === 0 ? 0 : 1;
}

process.exitCode = await main();
