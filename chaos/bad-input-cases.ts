/**
 * Hostile configs and identifiers for the real CLI. Shared by the chaos suite and
 * test/bad-input.test.ts: every case must exit 2 with one line on stderr, before any I/O
 * (the endpoints point at closed ports, so reaching one would give exit 3 instead).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const SHIPPED_CONFIG = readFileSync(fileURLToPath(new URL('../../config/seed_config.yaml', import.meta.url)), 'utf8');

/** Endpoints nothing listens on: a case that gets past validation fails with exit 3, not 2. */
export const DEAD_ENDPOINTS = {
  TEMPORAL_ADDRESS: '127.0.0.1:9',
  DATABASE_URL: 'postgres://seedvault@127.0.0.1:9/seedvault',
  S3_ENDPOINT: 'http://127.0.0.1:9',
  S3_ACCESS_KEY: 'chaos',
  S3_SECRET_KEY: 'chaos-s3-secret-e81b44d2a9',
  SEEDVAULT_NO_LOCAL_STACK: '1',
};

function edit(from: RegExp, to: string): string {
  if (!from.test(SHIPPED_CONFIG)) throw new Error(`bad-input case: ${from} not in the shipped config`);
  return SHIPPED_CONFIG.replace(from, to);
}

/** [what, config text] pairs, each checked with `seedvault config check`. */
export const BAD_CONFIGS: [string, string][] = [
  ['retention_count negative', edit(/retention_count: 4/, 'retention_count: -1')],
  ['retention_count a string', edit(/retention_count: 4/, 'retention_count: "four"')],
  ['parallelism a list', edit(/parallelism: \$\{SEEDVAULT_EXPORT_PARALLELISM:-2\} /, 'parallelism: [1, 2] ')],
  ['unknown top-level key', `${SHIPPED_CONFIG}\nbackups_everywhere: true\n`],
  ['unknown key in backup', edit(/retention_count: 4/, 'retention_count: 4\n  retention_days: 30')],
  ['missing required env var', edit(/bucket: \$\{S3_BUCKET:-seeds\}/, 'bucket: ${SEEDVAULT_CHAOS_UNSET_VAR}')],
  ['table name with a quote and semicolon', edit(/table: trades_history/, `table: 'trades"; drop table usdcop_m5_ohlcv; --'`)],
  ['table name with a dot (schema hop)', edit(/table: trades_history/, 'table: pg_catalog.pg_authid')],
  ['bucket name with ../', edit(/bucket: \$\{S3_BUCKET:-seeds\}/, 'bucket: ../etc')],
  ['bucket name with uppercase and !', edit(/bucket: \$\{S3_BUCKET:-seeds\}/, 'bucket: Bad_Bucket!')],
  ['storage.type unknown', edit(/type: \$\{SEEDVAULT_STORAGE_TYPE:-minio\}/, 'type: ftp')],
  ['cron garbage', edit(/schedule: "0 2 \* \* 0"/, 'schedule: "every sunday; rm -rf /"')],
  ['max_null_ratio above 1', edit(/max_null_ratio: 0.1/, 'max_null_ratio: 7')],
  ['not YAML', 'storage: [unclosed\n  : : :\n'],
  ['YAML but a list', '- a\n- b\n'],
  ['empty file', ''],
];

const LONG = 'x'.repeat(5000);

/** CLI argument lists carrying a hostile version or backup id. */
export const BAD_IDENTIFIERS: [string, string[]][] = [
  ['snapshot create --version ../..', ['snapshot', 'create', '--version', '../../etc']],
  ['snapshot create --version absolute path', ['snapshot', 'create', '--version', '/etc/passwd']],
  ['snapshot create --version unicode digits', ['snapshot', 'create', '--version', '２０２６.01.22']],
  ['snapshot create --version 5000 chars', ['snapshot', 'create', '--version', `2026.01.22-${LONG}`]],
  ['snapshot show ../', ['snapshot', 'show', '../latest']],
  ['snapshot show 5000 chars', ['snapshot', 'show', LONG]],
  ['snapshot pin absolute', ['snapshot', 'pin', '/tmp/2026.01.22']],
  ['restore --version ../', ['restore', '--version', '2026.01.22/../../x']],
  ['restore --version unicode', ['restore', '--version', '2026.01.22-ünï']],
  ['verify --version 5000 chars', ['verify', '--version', LONG]],
  ['snapshot diff ../ as the newer version', ['snapshot', 'diff', '2026.01.22', '../latest']],
  ['snapshot diff 5000 chars as the older version', ['snapshot', 'diff', LONG, 'db']],
  ['snapshot diff --limit garbage', ['snapshot', 'diff', 'latest', 'db', '--limit', '1e9;x']],
  ['files restore --id ../', ['files', 'restore', '--id', '../portfolio_20251217_162039', '--dest', '/tmp/seedvault-chaos-x']],
  ['files restore --id absolute', ['files', 'restore', '--id', '/etc/portfolio_20251217_162039', '--dest', '/tmp/seedvault-chaos-x']],
  ['files verify --id unicode', ['files', 'verify', '--id', 'portfolio_20251217_16203９']],
  ['files delete --id 5000 chars', ['files', 'delete', '--id', `portfolio_${LONG}`]],
  ['files restore --at garbage', ['files', 'restore', '--at', '../../2026', '--dest', '/tmp/seedvault-chaos-x']],
  ['restore --tables with a semicolon', ['restore', '--tables', 'usdcop_m5_ohlcv;drop table x']],
  ['snapshot create --tables with a quote', ['snapshot', 'create', '--tables', 'trades"history']],
];

export interface CliOutcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** Why a CLI outcome is not a clean bad-input refusal, or null. */
export function refusalProblem(outcome: CliOutcome, secrets: string[] = []): string | null {
  const lines = outcome.stderr.trim().split('\n').filter(Boolean);
  if (outcome.code !== 2) return `exit ${outcome.code}: ${lines[0]?.slice(0, 140) ?? ''}`;
  if (lines.length !== 1) return `${lines.length} stderr lines`;
  if (!lines[0]!.startsWith('seedvault: ')) return `stderr not "seedvault: ...": ${lines[0]!.slice(0, 100)}`;
  if (lines[0]!.length > 400) return `message of ${lines[0]!.length} chars`;
  for (const s of secrets) if ((outcome.stdout + outcome.stderr).includes(s)) return 'a secret appears in the output';
  return null;
}
