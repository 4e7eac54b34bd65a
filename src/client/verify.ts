import { Command } from 'commander';
import { createPool } from '../db/pool.js';
import { IntegrityError, InputError } from '../errors.js';
import { verifyInStores, type VersionVerification } from '../restore/verify.js';
import { createMirrorStorage, createStorage } from '../storage/index.js';
import { listVersions } from '../storage/seed-catalog.js';
import { commandConfig } from './context.js';
import { printJson, printTable } from './output.js';
import { validateVersionFlag } from './snapshot-create.js';

export function verifyCommand(): Command {
  return new Command('verify')
    .description('check a snapshot: objects present, sha256 and Parquet footer row counts as in the manifest (in storage.mirror too)')
    .option('--version <version>', 'latest or YYYY.MM.DD[-suffix]', 'latest')
    .option('--all', 'every complete version')
    .option('--against-db', 'also compare row counts, date ranges and a content hash with the live tables')
    .option('--json', 'machine-readable output')
    .action(async (opts: { version: string; all?: boolean; againstDb?: boolean; json?: boolean }, command: Command) => {
      if (opts.version !== 'latest') validateVersionFlag(opts.version);
      if (opts.all && opts.version !== 'latest') throw new InputError('--all and --version exclude each other');
      const config = await commandConfig(command);
      const storage = createStorage(config.storage);
      const mirror = createMirrorStorage(config.storage);
      const versions = opts.all ? (await listVersions(storage)).filter((v) => v.complete).map((v) => v.version) : [opts.version];
      const pool = opts.againstDb ? createPool(config.postgres.url, 2) : undefined;
      const dateColumns = Object.fromEntries(Object.values(config.sources).map((s) => [s.table, s.date_column]));
      const results: VersionVerification[] = [];
      try {
        for (const version of versions) results.push(await verifyInStores({ storage, mirror, version, pool, dateColumns }));
      } finally {
        await pool?.end();
      }
      if (opts.json) printJson({ ok: results.every((r) => r.ok), versions: results });
      else {
        printTable(results.flatMap((r) => r.tables.map((t) => ({ version: r.version, table: t.table, ok: t.ok ? 'ok' : 'FAILED', rows: t.file_facts?.rows ?? null, hash: t.file_facts?.contentHash.slice(0, 12) ?? null }))));
        for (const r of results) for (const p of r.problems) process.stderr.write(`${r.version}: ${p}\n`);
      }
      const failed = results.filter((r) => !r.ok);
      if (failed.length > 0) throw new IntegrityError(`verify failed for ${failed.map((r) => `${r.version} (${r.problems.length} problem${r.problems.length === 1 ? '' : 's'})`).join(', ')}`);
    });
}
