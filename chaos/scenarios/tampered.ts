/** Lying manifests, truncated and mismatched Parquet files, a path-traversing tar.gz. */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { restoreInput, startRestore } from '../../src/client/restore-run.js';
import { loadDemoData } from '../../src/db/demo-data.js';
import type { Manifest } from '../../src/domain/manifest.js';
import { createStorage } from '../../src/storage/index.js';
import { PrefixedStorage } from '../../src/storage/prefixed.js';
import { freshDatabase } from '../../test/support/db.js';
import { craftBackup, ESCAPING_ARCHIVES, tempDir } from '../../test/support/file-backups.js';
import { tableDigests } from '../../test/support/restore.js';
import { withDownloadedVersion } from '../../test/support/snapshot.js';
import { testConfig, withWorker } from '../../test/support/stack.js';
import { cli, diff, scenarioEnv, type ChaosContext, type Scenario } from '../support.js';

type Tamper = (files: Map<string, Buffer>, manifest: Manifest) => void;

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const OHLCV = 'usdcop_m5_ohlcv';

/** Makes the manifest agree with a replaced file, so only deeper checks can catch it. */
function consistent(files: Map<string, Buffer>, manifest: Manifest, table: string, bytes: Buffer, rows?: number) {
  files.set(`${table}.parquet`, bytes);
  const entry = manifest.tables[table]!;
  entry.sha256 = sha(bytes);
  entry.size_bytes = bytes.length;
  if (rows !== undefined) entry.rows = rows;
}

const CASES: [string, string, Tamper][] = [
  ['manifest sha256 lies', `${OHLCV}'s sha256 in manifest.json replaced`, (_f, m) => void (m.tables[OHLCV]!.sha256 = '0'.repeat(64))],
  ['manifest row count lies', `${OHLCV}'s rows in manifest.json +1 (sha256 and size true)`, (_f, m) => void (m.tables[OHLCV]!.rows += 1)],
  ['truncated Parquet', `${OHLCV}.parquet cut to 60%, manifest sha256/size updated to match`, (f, m) => consistent(f, m, OHLCV, f.get(`${OHLCV}.parquet`)!.subarray(0, Math.floor(f.get(`${OHLCV}.parquet`)!.length * 0.6)))],
  [
    'Parquet schema does not match the table',
    `${OHLCV}.parquet replaced by the macro table's file, manifest sha256/size/rows updated to match`,
    (f, m) => consistent(f, m, OHLCV, f.get('macro_indicators_daily.parquet')!, m.tables.macro_indicators_daily!.rows),
  ],
];

async function tamperedCase(ctx: ChaosContext, name: string, tamper: Tamper) {
  const base = createStorage(testConfig({ S3_BUCKET: ctx.baseBucket }).storage);
  const files = new Map<string, Buffer>();
  await withDownloadedVersion(base, ctx.baseVersion, async (dir) => {
    for (const f of await readdir(dir)) files.set(f, await readFile(join(dir, f)));
  });
  const manifest = JSON.parse(files.get('manifest.json')!.toString()) as Manifest;
  tamper(files, manifest);
  files.set('manifest.json', Buffer.from(JSON.stringify(manifest, null, 2)));

  const db = await freshDatabase(`chaos_${name}`);
  await loadDemoData(db.url, { scale: 1 });
  const { env, config } = await scenarioEnv(name, db.url);
  const storage = createStorage(config.storage);
  for (const [f, bytes] of files) await storage.put(`v${ctx.baseVersion}/${f}`, Readable.from([bytes]));
  await storage.put('LATEST_VERSION', `${ctx.baseVersion}\n`);
  const before = await tableDigests(db.url);
  const worker = await withWorker(config);
  try {
    const verify = await cli(['verify', '--version', ctx.baseVersion], env);
    let restoreError = '';
    try {
      await (await startRestore(config, restoreInput(config, { version: ctx.baseVersion, source: 'minio' }))).result();
    } catch (err) {
      restoreError = ((err as Error).cause as Error | undefined)?.message ?? (err as Error).message;
    }
    const changed = diff(await tableDigests(db.url), before);
    const verifyLine = verify.stderr.trim().split('\n')[0] ?? '';
    const passed = verify.code === 4 && restoreError !== '' && changed.length === 0;
    return {
      observed:
        `verify exit ${verify.code} (${verifyLine.slice(0, 140)}); restore ${restoreError ? `failed: ${restoreError.slice(0, 180)}` : 'SUCCEEDED'}; ` +
        (changed.length ? `LIVE TABLES CHANGED: ${changed.join('; ')}` : 'live tables unchanged (content hashes)'),
      passed,
      dataLost: changed.length > 0,
    };
  } finally {
    await worker.stop();
    await db.drop().catch(() => {});
  }
}

const tarTraversal: Scenario = {
  name: 'bad input: tar.gz with path traversal',
  injected: `file backups whose archive (sha256 and metadata consistent) holds ${ESCAPING_ARCHIVES.map(([w]) => w).join(', ')} entries, restored with \`seedvault files restore --overwrite\``,
  expected: 'exit 4 naming the refused entry; nothing written at all, inside or outside the destination',
  async run(ctx) {
    const { env, config } = await scenarioEnv('tar', ctx.sourceDb);
    const worker = await withWorker(config);
    const problems: string[] = [];
    const lines: string[] = [];
    try {
      const storage = new PrefixedStorage(createStorage(config.storage), config.file_backups.prefix);
      for (const [i, [what, entries]] of ESCAPING_ARCHIVES.entries()) {
        const id = `data_20251217_16204${i}`;
        await craftBackup(storage, id, entries);
        const parent = await tempDir('chaos-tar');
        const outcome = await cli(['files', 'restore', '--id', id, '--dest', join(parent, 'dest'), '--overwrite'], env);
        const written = await readdir(parent);
        if (outcome.code !== 4) problems.push(`${what}: exit ${outcome.code} ${outcome.stderr.trim().slice(0, 120)}`);
        if (written.length) problems.push(`${what}: wrote ${written.join(', ')}`);
        lines.push(`${what}: exit ${outcome.code}`);
      }
    } finally {
      await worker.stop();
    }
    return { observed: `${lines.join('; ')}${problems.length ? `; PROBLEMS: ${problems.join('; ')}` : '; nothing written'}`, passed: problems.length === 0, dataLost: false };
  },
};

export const tamperedScenarios: Scenario[] = [
  ...CASES.map(
    ([name, injected, tamper]): Scenario => ({
      name: `bad input: ${name}`,
      injected,
      expected: '`seedvault verify` exits 4 naming the object; the restore fails before the swap; live tables unchanged',
      run: (ctx) => tamperedCase(ctx, name.replace(/\W+/g, '_').slice(0, 20), tamper),
    }),
  ),
  tarTraversal,
];
