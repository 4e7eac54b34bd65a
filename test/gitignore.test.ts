import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { execFileAsync } from './support/snapshot.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Paths git ignores in this checkout (`git check-ignore` exits 1 when none is). */
async function ignored(paths: string[]): Promise<string[]> {
  const out = await execFileAsync('git', ['check-ignore', '--no-index', ...paths], { cwd: ROOT }).then(
    (r) => r.stdout,
    (e: { code: number; stdout: string }) => (e.code === 1 ? '' : Promise.reject(e)),
  );
  return out.split('\n').filter(Boolean);
}

test('local seeds and backups stay out of git, their manifest and LATEST_VERSION do not (seed 002)', async () => {
  const data = ['seeds/usdcop_m5_ohlcv.parquet', 'data/seeds/v2026.01.22/usdcop_m5_ohlcv.parquet', 'data/seeds/latest/trades_history.parquet', 'data/backups/usdcop_backup.sql.gz', 'data/backups/usdcop_m5_ohlcv_20260101.csv.gz'];
  const kept = ['seeds/manifest.json', 'seeds/LATEST_VERSION', 'data/seeds/LATEST_VERSION', 'data/seeds/latest/manifest.json', 'src/worker.ts'];
  assert.deepEqual(await ignored(data), data);
  assert.deepEqual(await ignored(kept), []);
});
