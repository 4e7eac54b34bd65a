/**
 * Split-table benchmark: one N-row time-ordered bars table snapshotted and restored end to end
 * by the CLI (`snapshot create --wait`, `restore --mode replace --wait`) as a single file and
 * as `--parts` key-range parts (SEEDVAULT_SPLIT_ROWS = N / parts), each with two fresh worker
 * processes and backup.parallelism 2, alternated single, split, single, split. Prints the split
 * mode's time against the single file's from the same run, the part count and each worker's
 * VmHWM (a worker left at its idle memory took no part).
 *
 *   npm run bench:split -- --rows 10000000 [--parts 4] [--json]
 */
import { connectClient } from '../src/temporal/connection.js';
import { benchProvenance, CLI, flag, ohlcvBench, printResult, readyWorker, round, rowsFlag, rssMiB, run, stopProcess, timed } from './support.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const TABLE = 'usdcop_m5_ohlcv';
const ROUNDS = 2;
const rows = rowsFlag();
const parts = Number(flag('parts', '4'));
if (!Number.isInteger(parts) || parts < 2) throw new Error(`--parts must be an integer of at least 2, got ${flag('parts', '')}`);
const { env, config } = await ohlcvBench('bench_split', rows, 'time', { SEEDVAULT_EXPORT_PARALLELISM: '2' });
const client = await connectClient(config);

const modes = { single: {}, split: { SEEDVAULT_SPLIT_ROWS: String(Math.ceil(rows / parts)) } };
const seconds: Record<string, { snapshot: number[]; restore: number[] }> = { single: { snapshot: [], restore: [] }, split: { snapshot: [], restore: [] } };
const result: Record<string, number | string | null> = { ...(await benchProvenance()), rows };
const failures: string[] = [];
let n = 0;
for (let r = 1; r <= ROUNDS; r++) {
  for (const [mode, modeEnv] of Object.entries(modes)) {
    const version = `2031.01.${String(++n).padStart(2, '0')}`;
    const workerEnv = { ...env, ...modeEnv };
    const workers = [await readyWorker(client, workerEnv, config.temporal.task_queue), await readyWorker(client, workerEnv, config.temporal.task_queue)];
    const cli = (...args: string[]) => timed(() => run(process.execPath, [CLI, ...args, '--tables', TABLE, '--wait', '--json'], { ...process.env, ...workerEnv }));
    try {
      process.stderr.write(`round ${r}: ${mode}...\n`);
      const snapshot = await cli('snapshot', 'create', '--version', version);
      const restore = await cli('restore', '--version', version, '--mode', 'replace');
      const entry = (JSON.parse(snapshot.value) as { manifest: { tables: Record<string, { parts?: unknown[] }> } }).manifest.tables[TABLE]!;
      const got = entry.parts?.length ?? 1;
      if (got !== (mode === 'split' ? parts : 1)) failures.push(`${mode} round ${r}: ${got} parts`);
      seconds[mode]!.snapshot.push(snapshot.seconds);
      seconds[mode]!.restore.push(restore.seconds);
      result[`${mode}_r${r}_worker_vmhwm_mib`] = workers.map((w) => round(rssMiB(w.pid!, 'VmHWM'))).join(' / ');
    } finally {
      for (const worker of workers) await stopProcess(worker);
    }
  }
}
await client.connection.close();

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
for (const step of ['snapshot', 'restore'] as const) {
  result[`single_${step}_s`] = seconds.single![step].map(round).join(', ');
  result[`split_${step}_s`] = seconds.split![step].map(round).join(', ');
  result[`split_vs_single_${step}`] = round(mean(seconds.split![step]) / mean(seconds.single![step]));
}
printResult(
  result,
  {
    rows: `one time-ordered bars table (bench:scale's fill: indexes and constraints of the real table), split into ${parts} parts in split mode`,
    split_vs_single_snapshot: 'mean of the split runs / mean of the single-file runs, same table, same two workers, backup.parallelism 2',
    split_vs_single_restore: 'the parts load over 2 connections without COPY FREEZE; the single file through one COPY FREEZE',
  },
  failures,
);
