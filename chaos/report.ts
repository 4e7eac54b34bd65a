import type { ScenarioResult } from './support.js';

const cell = (s: string) => s.replaceAll('|', '\\|').replaceAll('\n', ' ');

/** docs/RELIABILITY.md from one full run of the suite. */
export function renderReport(results: ScenarioResult[], seconds: number, merged = false): string {
  const passed = results.filter((r) => r.passed).length;
  const lost = results.filter((r) => r.dataLost).length;
  const rows = results.map(
    (r) => `| ${cell(r.name)} | ${cell(r.injected)} | ${cell(r.expected)} | ${r.passed ? 'PASS' : '**FAIL**'}: ${cell(r.observed)} | ${r.dataLost ? '**yes**' : 'none'} |`,
  );
  return `# Reliability report

Written by \`npm run chaos\` (chaos/run.ts) on ${new Date().toISOString().slice(0, 16)} UTC: each scenario is a real
fault or a hostile input on a real local stack (Temporal dev server, MinIO, PostgreSQL 15) started for the run, in
${Math.round(seconds)} s of scenarios on this machine${merged ? ' (assembled from a run and a filtered rerun of the scenarios after it, `SEEDVAULT_CHAOS_MERGE`)' : ''}. Snapshot scenarios read one scale-30 demo database and compare their
version with an undisturbed snapshot of it (manifest minus version, times, run ids, txid snapshot, WAL LSN and config fingerprints, which name the scenario's own bucket: so every file's sha256, size, rows, columns and date range must be equal; then
\`sha256sum -c\`); restore scenarios compare table content hashes (count + sum of md5 per row) with the source.
"Data lost" means data committed before the fault is missing or different afterwards, or a version made latest
while incomplete. Failures are shown as failures.

**Totals: ${results.length} scenarios run, ${passed} passed, ${results.length - passed} failed, data lost in ${lost}.**

| scenario | injected | expected | observed | data lost |
| --- | --- | --- | --- | --- |
${rows.join('\n')}

Rerun: \`npm run chaos\` (about ${Math.max(1, Math.round(seconds / 60))} min; \`npm run chaos -- <substring>\` runs some
scenarios without rewriting this file).
`;
}
