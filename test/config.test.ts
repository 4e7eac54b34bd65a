import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { DEFAULT_CONFIG_PATH, loadConfig, parseConfig } from '../src/config/load.js';
import { redactConfig } from '../src/config/redact.js';
import { QUALITY_DEFAULTS } from '../src/domain/quality-settings.js';
import { ConfigError } from '../src/errors.js';

const shipped = readFileSync(DEFAULT_CONFIG_PATH, 'utf8');
const FILE = 'seed_config.yaml';

/** Parses the shipped config with one line replaced, expecting a ConfigError. */
function errorFor(edit: (text: string) => string, env: NodeJS.ProcessEnv = {}): string {
  try {
    parseConfig(edit(shipped), FILE, env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    assert.ok(!err.message.includes('\n'), 'error must be one line');
    return err.message;
  }
  assert.fail('config was accepted');
}

describe('config', () => {
  test('shipped config loads with embedded defaults', () => {
    const config = loadConfig(DEFAULT_CONFIG_PATH, {});
    assert.equal(config.storage.type, 'minio');
    assert.equal(config.storage.bucket, 'seeds');
    assert.equal(config.backup.schedule, '0 2 * * 0');
    assert.equal(config.backup.retention_count, 4);
    assert.equal(config.validation.max_null_ratio, 0.1);
    assert.deepEqual(
      Object.values(config.sources).map((s) => [s.table, s.required, s.min_rows]),
      [
        ['usdcop_m5_ohlcv', true, 50000],
        ['macro_indicators_daily', true, 5000],
        ['trades_history', false, 0],
      ],
    );
    assert.equal(config.sources.trades!.fallback, null);
    assert.equal(config.temporal.task_queue, 'seedvault');
  });

  test('environment variables override defaults', () => {
    const config = parseConfig(shipped, FILE, {
      S3_BUCKET: 'other-bucket',
      TEMPORAL_ADDRESS: 'temporal.internal:7233',
      DATABASE_URL: 'postgres://u:p@db:5432/x',
      SEEDVAULT_STORAGE_TYPE: 'local',
    });
    assert.equal(config.storage.bucket, 'other-bucket');
    assert.equal(config.storage.type, 'local');
    assert.equal(config.temporal.address, 'temporal.internal:7233');
    assert.equal(config.postgres.url, 'postgres://u:p@db:5432/x');
  });

  test('a required variable that is unset names the key and the variable', () => {
    const message = errorFor((t) => t.replace('${S3_SECRET_KEY:-}', '${MINIO_SECRET_KEY}'));
    assert.equal(message, `${FILE}: storage.secret_key: environment variable MINIO_SECRET_KEY is not set`);
  });

  test('bad values each give a one-line error naming the key', () => {
    const cases: [string, string, RegExp][] = [
      ['type: ${SEEDVAULT_STORAGE_TYPE:-minio}', 'type: ftp', /storage\.type: .*minio/],
      ['retention_count: 4 ', 'retention_count: -1 ', /backup\.retention_count: .*>0/],
      ['retention_count: 4 ', 'retention_count: four ', /backup\.retention_count: .*expected number/],
      ['format: ${SEEDVAULT_BACKUP_FORMAT:-parquet} ', 'format: xlsx ', /backup\.format: .*"csv\.gz"/],
      ['split_rows: ${SEEDVAULT_SPLIT_ROWS:-20000000} ', 'split_rows: 10 ', /backup\.split_rows: .*>=1000/],
      ['export_order: ${SEEDVAULT_EXPORT_ORDER:-}', 'export_order: symbol', /backup\.export_order: .*"key".*"time_first"/],
      ['use_ssl: false', 'use_ssl: maybe', /storage\.use_ssl: Invalid input/],
      ['compression: snappy', 'compression: lz77', /backup\.compression: /],
      ['compression_level: ${SEEDVAULT_COMPRESSION_LEVEL:-}', 'compression_level: 12', /backup\.compression_level: .*<=9/],
      ['compression_level: ${SEEDVAULT_COMPRESSION_LEVEL:-}', 'compression_level: 3', /backup\.compression_level: applies to format csv\.gz only: the Parquet writer has no codec levels/],
      ['prefix: ${SEEDVAULT_STORAGE_PREFIX:-}', 'prefix: ../up/', /storage\.prefix: must be empty or folder names each ending in "\/"/],
      ['max_null_ratio: 0.1', 'max_null_ratio: 1.5', /validation\.max_null_ratio: /],
      ['table: usdcop_m5_ohlcv', 'table: "usdcop; drop table x"', /sources\.ohlcv\.table: must be a lower-case SQL identifier/],
      ['table: trades_history', 'table: "trades\\"history"', /sources\.trades\.table: /],
      ['bucket: ${S3_BUCKET:-seeds}', 'bucket: Seeds_Bucket', /storage\.bucket: must be a valid S3 bucket name/],
      ['schedule: "0 2 * * 0"', 'schedule: "every sunday"', /backup\.schedule: must be a five-field cron/],
      ['address: ${TEMPORAL_ADDRESS:-127.0.0.1:7233}', 'address: localhost', /temporal\.address: must be host:port/],
      ['url: ${DATABASE_URL:-postgres://seedvault@127.0.0.1:5432/seedvault}', 'url: mysql://x', /postgres\.url: must be a postgres/],
      ['snapshot_warn_days: 8 ', 'snapshot_warn_days: 20 ', /quality\.snapshot_warn_days: must be below snapshot_critical_days/],
      ['anomaly_outlier_pct: 20 ', 'anomaly_outlier_pct: -5 ', /quality\.anomaly_outlier_pct: /],
      ['health_cron: "0 0,6,12,18 * * *"', 'health_cron: "hourly"', /quality\.health_cron: must be a five-field cron/],
      ['calendar: colombia-fx', 'calendar: lse', /backfill\.calendar: unknown calendar "lse" \(known: colombia-fx, fx-24x5, crypto-24x7\)/],
      ['symbol_calendars: {}', 'symbol_calendars: {"BTC/USD": crypto}', /backfill\.symbol_calendars\.BTC\/USD: unknown calendar "crypto"/],
      ['  calendars: {}', '  calendars: {x: {zone: Mars/Base, first_bar: "09:00", last_bar: "10:00", weekdays: [1]}}', /backfill\.calendars\.x\.zone: must be an IANA time zone/],
      ['  calendars: {}', '  calendars: {x: {zone: UTC, first_bar: "09:00", last_bar: "10:02", weekdays: [1]}}', /backfill\.calendars\.x\.last_bar: .*5-minute grid/],
      ['  calendars: {}', '  calendars: {x: {zone: UTC, first_bar: "09:00", last_bar: "10:00", weekdays: [1], holidays: XX}}', /backfill\.calendars\.x\.holidays: must be a country code/],
      ['run_at: "02:00"', 'run_at: "2am"', /file_backups\.run_at: must be HH:MM \(UTC\)/],
      ['weekly_retention_days: 90', 'weekly_retention_days: 30', /file_backups\.types\.portfolio\.weekly_retention_days: must be longer than retention_days/],
      ['  calendars: {}', '  calendars: {fx-24x5: {zone: UTC, first_bar: "09:00", last_bar: "10:00", weekdays: [1]}}', /backfill\.calendars\.fx-24x5: "fx-24x5" is a built-in calendar/],
    ];
    for (const [from, to, expected] of cases) {
      assert.ok(shipped.includes(from), `fixture line missing: ${from}`);
      assert.match(errorFor((t) => t.replace(from, to)), expected, `${from} -> ${to}`);
    }
  });

  test('the quality section is optional: its defaults are seed 004 thresholds', () => {
    const withSection = parseConfig(shipped, FILE, {});
    const without = parseConfig(shipped.replace(/^quality:[\s\S]*$/m, ''), FILE, {});
    assert.deepEqual(without.quality, withSection.quality);
    assert.deepEqual(without.quality, QUALITY_DEFAULTS);
  });

  test('unknown and missing keys are named', () => {
    assert.match(errorFor((t) => t.replace('  retention_count: 4', '  retention_count: 4\n  retension_days: 9')), /unknown key backup\.retension_days/);
    assert.match(errorFor((t) => t.replace(/^temporal:[\s\S]*?(?=^postgres:)/m, '')), /temporal: is required/);
  });

  test('YAML syntax errors and duplicate keys point at the line', () => {
    assert.match(errorFor((t) => `${t}\nbackup: [unclosed\n`), /seed_config\.yaml: line \d+ invalid YAML/);
    assert.match(errorFor((t) => `${t}\nversion: "3"\n`), /invalid YAML/);
    assert.match(errorFor(() => '- a\n- b\n'), /expected a mapping/);
  });

  test('a missing file is a clear error', () => {
    assert.throws(() => loadConfig('/nonexistent/seed.yaml', {}), /\/nonexistent\/seed\.yaml: cannot read config file \(ENOENT\)/);
  });

  test('errors never echo a secret value and redaction masks every credential', () => {
    const secret = 'hunter2-very-secret';
    const env = { S3_SECRET_KEY: secret, S3_ACCESS_KEY: 'AKIA-ID', TWELVEDATA_API_KEY: secret, DATABASE_URL: `postgres://app:${secret}@db/x` };
    const message = errorFor((t) => t.replace('use_ssl: false', `use_ssl: ${secret}`), env);
    assert.ok(!message.includes(secret), message);
    const redacted = JSON.stringify(redactConfig(parseConfig(shipped, FILE, env)));
    assert.ok(!redacted.includes(secret), redacted);
    assert.ok(!redacted.includes('AKIA-ID'));
    assert.match(redacted, /postgres:\/\/app:\*\*\*@db\/x/);
  });
});
