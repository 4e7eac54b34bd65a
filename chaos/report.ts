import { execFile } from 'node:child_process';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { promisify } from 'node:util';
import type { ScenarioResult } from './support.js';

/** The code and the machine a run is on, for the report's header. */
export interface RunFacts {
  /** HEAD, or null outside a git checkout. */
  commit: string | null;
  /** Files that differ from the commit (git status --porcelain) when the run started. */
  dirtyFiles: number | null;
  nproc: number;
  memoryGiB: number;
  cpu: string;
}

export async function runFacts(): Promise<RunFacts> {
  // GIT_OPTIONAL_LOCKS=0: a status that never writes the index.
  const git = (...args: string[]) =>
    promisify(execFile)('git', args, { cwd: new URL('..', import.meta.url), env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' } }).then(
      (r) => r.stdout.trim(),
      () => null,
    );
  const status = await git('status', '--porcelain');
  return {
    commit: await git('rev-parse', 'HEAD'),
    dirtyFiles: status === null ? null : status.split('\n').filter(Boolean).length,
    nproc: availableParallelism(),
    memoryGiB: totalmem() / 2 ** 30,
    cpu: cpus()[0]?.model.trim() ?? 'unknown CPU',
  };
}

function describeCode(facts: RunFacts): string {
  if (facts.commit === null) return 'code outside a git checkout (commit unknown)';
  const tree = facts.dirtyFiles ? `**dirty tree: ${facts.dirtyFiles} files differed from the commit**` : 'clean tree';
  return `commit \`${facts.commit}\` (${tree})`;
}

const cell = (s: string) => s.replaceAll('|', '\\|').replaceAll('\n', ' ');

/** docs/RELIABILITY.md from one full run of the suite. */
export function renderReport(results: ScenarioResult[], seconds: number, facts: RunFacts, merged = false): string {
  const passed = results.filter((r) => r.passed).length;
  const lost = results.filter((r) => r.dataLost).length;
  const rows = results.map(
    (r) => `| ${cell(r.name)} | ${cell(r.injected)} | ${cell(r.expected)} | ${r.passed ? 'PASS' : '**FAIL**'}: ${cell(r.observed)} | ${r.dataLost ? '**yes**' : 'none'} |`,
  );
  return `# Reliability report

Written by \`npm run chaos\` (chaos/run.ts) on ${new Date().toISOString().slice(0, 16)} UTC on ${describeCode(facts)}, on a machine
with ${facts.nproc} CPUs (${facts.cpu}) and ${facts.memoryGiB.toFixed(1)} GiB of memory: each scenario is a real
fault or a hostile input on a real local stack (Temporal dev server, MinIO, PostgreSQL 15) started for the run, in
${Math.round(seconds)} s of scenarios on this machine${merged ? ' (assembled from a run and a filtered rerun of the scenarios after it, `SEEDVAULT_CHAOS_MERGE`)' : ''}. Snapshot scenarios read one scale-30 demo database and compare their
version with an undisturbed snapshot of it (manifest minus version, times, run ids, txid snapshot, WAL LSN and config fingerprints, which name the scenario's own bucket: so every file's sha256, size, rows, columns and date range must be equal; then
\`sha256sum -c\`); restore scenarios compare table content hashes (count + sum of md5 per row) with the source.
"Data lost" means data committed before the fault is missing or different afterwards, or a version made latest
while incomplete. A fault scenario passes only when the fault demonstrably hit the work: the history shows the
step retried (or a commit refused with StagingChanged), or, for a fault that costs no retry, the step running across
it; a fault that missed its window is a failure. Failures are shown as failures.

**Totals: ${results.length} scenarios run, ${passed} passed, ${results.length - passed} failed, data lost in ${lost}.**

| scenario | injected | expected | observed | data lost |
| --- | --- | --- | --- | --- |
${rows.join('\n')}

Rerun: \`npm run chaos\` (about ${Math.max(1, Math.round(seconds / 60))} min; \`npm run chaos -- <substring>\` runs some
scenarios without rewriting this file).
`;
}
