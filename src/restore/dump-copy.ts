/**
 * Seed 002's last file fallback is a SQL dump (`data/backups/usdcop_backup.sql.gz`). A dump
 * is a script, and a restore must never run a script it found on disk: this reads only the
 * data of one `COPY <table> (...) FROM stdin;` block (pg_dump's text COPY format) and
 * streams those rows, untouched, into the staging table's own COPY. Every other statement,
 * and every other table's block, is skipped unread by PostgreSQL.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { IntegrityError } from '../errors.js';

/** A line this long without a newline means the file is no SQL script. */
const MAX_LINE_BYTES = 64 << 20;

const IDENT = String.raw`(?:"(?:[^"]|"")+"|[^\s.",()]+)`;
const COPY_HEADER = new RegExp(String.raw`^COPY\s+(${IDENT})(?:\.(${IDENT}))?\s*\(([^)]*)\)\s+FROM\s+stdin;\s*$`);

function unquote(identifier: string): string {
  return identifier.startsWith('"') ? identifier.slice(1, -1).replaceAll('""', '"') : identifier;
}

/** The columns of a `COPY` header line for `schema.table`, or null for any other line. */
export function copyHeaderColumns(line: string, schema: string, table: string): string[] | null {
  const match = COPY_HEADER.exec(line.replace(/\r$/, ''));
  if (!match) return null;
  const [first, second] = [unquote(match[1]!), match[2] ? unquote(match[2]) : null];
  const [lineSchema, lineTable] = second === null ? [null, first] : [first, second];
  if (lineTable !== table || (lineSchema !== null && lineSchema !== schema)) return null;
  return [...match[3]!.matchAll(new RegExp(IDENT, 'g'))].map((m) => unquote(m[0]));
}

/** Offset of the `\.` line that ends a COPY block, searching from a line start at `pos`; -1 when not in `data`. */
function blockEnd(data: Buffer, pos: number): number {
  for (let at = pos; at < data.length; ) {
    if (data[at] === 0x5c && data[at + 1] === 0x2e && (data[at + 2] === 0x0a || (data[at + 2] === 0x0d && data[at + 3] === 0x0a))) return at;
    const nl = data.indexOf(0x0a, at);
    if (nl < 0) return -1;
    at = nl + 1;
  }
  return -1;
}

/**
 * Yields the columns of `schema.table`'s COPY block first, then its data as buffers of
 * whole lines. Ends without yielding when the script has no such block; throws when the
 * block is cut short (a truncated dump) or the input is not a script.
 */
export async function* dumpCopyBlock(script: AsyncIterable<Buffer>, schema: string, table: string, location: string): AsyncGenerator<string[] | Buffer> {
  let carry: Buffer = Buffer.alloc(0);
  let state: 'statements' | 'other-block' | 'block' = 'statements';
  for await (const chunk of script) {
    const data: Buffer = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    let pos = 0;
    while (pos < data.length) {
      if (state === 'statements') {
        const nl = data.indexOf(0x0a, pos);
        if (nl < 0) break;
        const line = data.toString('utf8', pos, nl);
        pos = nl + 1;
        const columns = copyHeaderColumns(line, schema, table);
        if (columns) {
          state = 'block';
          yield columns;
        } else if (/^COPY\s.*\sFROM\s+stdin;\s*$/.test(line)) state = 'other-block';
        continue;
      }
      const end = blockEnd(data, pos);
      if (end >= 0) {
        if (state === 'block') {
          if (end > pos) yield data.subarray(pos, end);
          return;
        }
        pos = data.indexOf(0x0a, end) + 1;
        state = 'statements';
        continue;
      }
      // Rows up to the last whole line go on; a partial line waits for the next chunk.
      const last = data.lastIndexOf(0x0a);
      if (last >= pos) {
        if (state === 'block') yield data.subarray(pos, last + 1);
        pos = last + 1;
      }
      break;
    }
    carry = data.subarray(pos);
    if (carry.length > MAX_LINE_BYTES) throw new IntegrityError(`${location}: not a SQL script (a line longer than ${MAX_LINE_BYTES >> 20} MiB)`);
  }
  if (state === 'block' && !/^\\\.\r?$/.test(carry.toString('utf8'))) throw new IntegrityError(`${location}: the dump ends inside the COPY block of ${schema}.${table} (truncated)`);
}

/**
 * The data of one table from a custom-format dump (`pg_dump -Fc`), as the plain script
 * `pg_restore --data-only` prints for it (nothing is restored by pg_restore itself).
 */
export function customDumpScript(path: string, schema: string, table: string): Readable {
  const binary = pgRestoreBinary();
  if (!binary) throw new IntegrityError(`${path}: a custom-format dump needs pg_restore, found neither on PATH nor in /usr/lib/postgresql/*/bin`);
  const child = spawn(binary, ['--data-only', '--no-owner', '--file=-', `--schema=${schema}`, `--table=${table}`, path], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const out = child.stdout;
  child.on('exit', (code) => {
    if (code !== 0) out.destroy(new IntegrityError(`${path}: pg_restore exited ${code}: ${stderr.trim().split('\n')[0] ?? ''}`));
  });
  return out;
}

function pgRestoreBinary(): string | null {
  for (const dir of (process.env.PATH ?? '').split(':').filter(Boolean)) if (existsSync(join(dir, 'pg_restore'))) return join(dir, 'pg_restore');
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const version of versions) if (existsSync(join(root, version, 'bin', 'pg_restore'))) return join(root, version, 'bin', 'pg_restore');
  return null;
}
