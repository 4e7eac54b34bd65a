/** storage.mirror without a stack: the config rules and the restore chain's order. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseConfig } from '../src/config/load.js';
import { redactConfig } from '../src/config/redact.js';
import { describeCandidate, restoreChain, type ChainSettings } from '../src/domain/restore.js';
import { ConfigError } from '../src/errors.js';
import { SHIPPED_CONFIG, withMirror } from './support/mirror.js';

const ENV = { S3_BUCKET: 'seeds', S3_ENDPOINT: 'http://127.0.0.1:9000' };
const parse = (mirror: string) => parseConfig(withMirror(mirror), 'seed_config.yaml', ENV);
const refusal = (mirror: string): string => {
  try {
    parse(mirror);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
  return assert.fail(`accepted: ${mirror}`);
};

describe('storage.mirror config', () => {
  test('absent by default; a local folder or another bucket (keys, prefix and credentials of its own) is accepted', () => {
    assert.equal(parseConfig(SHIPPED_CONFIG, 'seed_config.yaml', ENV).storage.mirror, undefined);
    assert.deepEqual(parse('type: local\nlocal_path: /srv/offsite/seeds').storage.mirror, {
      type: 'local', endpoint: '', bucket: '', region: 'us-east-1', access_key: '', secret_key: '', use_ssl: false, local_path: '/srv/offsite/seeds', prefix: '', idle_timeout_seconds: 120,
    });
    const s3 = parse('type: s3\nendpoint: https://s3.eu-west-1.amazonaws.com\nbucket: seeds-dr\nregion: eu-west-1\naccess_key: AK\nsecret_key: SK\nprefix: dr/').storage.mirror;
    assert.deepEqual([s3?.type, s3?.bucket, s3?.region, s3?.prefix, s3?.secret_key], ['s3', 'seeds-dr', 'eu-west-1', 'dr/', 'SK']);
    // The same bucket under another prefix is another store.
    assert.equal(parse('type: minio\nendpoint: http://127.0.0.1:9000\nbucket: seeds\nprefix: copy/').storage.mirror?.prefix, 'copy/');
  });

  test('values come from environment variables like the primary', () => {
    const config = parseConfig(withMirror('type: minio\nendpoint: ${MIRROR_ENDPOINT}\nbucket: ${MIRROR_BUCKET:-seeds-mirror}'), 'seed_config.yaml', { ...ENV, MIRROR_ENDPOINT: 'http://10.0.0.9:9000' });
    assert.deepEqual([config.storage.mirror?.endpoint, config.storage.mirror?.bucket], ['http://10.0.0.9:9000', 'seeds-mirror']);
  });

  test('bad values are one-line config errors naming the key', () => {
    const cases: [string, RegExp][] = [
      ['type: minio\nendpoint: http://10.0.0.9:9000', /^seed_config\.yaml: storage\.mirror\.bucket: is required for type minio or s3$/],
      ['type: ftp\nlocal_path: /x', /^seed_config\.yaml: storage\.mirror\.type: /],
      ['type: minio\nbucket: Not_A_Bucket', /^seed_config\.yaml: storage\.mirror\.bucket: must be a valid S3 bucket name/],
      ['type: local\nlocal_path: /x\nprefix: ../up/', /^seed_config\.yaml: storage\.mirror\.prefix: must be empty or folder names/],
      ['type: local\nlocal_path: /x\ncolour: red', /^seed_config\.yaml: unknown key storage\.mirror\.colour$/],
      ['type: local\nlocal_path: /x\nmirror:\n  type: local', /^seed_config\.yaml: unknown key storage\.mirror\.mirror$/],
      // The primary itself, however its endpoint is spelled.
      ['type: minio\nendpoint: 127.0.0.1:9000/\nbucket: seeds', /^seed_config\.yaml: storage\.mirror: names the primary store itself/],
    ];
    for (const [mirror, expected] of cases) {
      const message = refusal(mirror);
      assert.match(message, expected, mirror);
      assert.doesNotMatch(message, /\n/, mirror);
    }
  });

  test("the mirror's credentials are masked like the primary's", () => {
    const redacted = redactConfig(parse('type: minio\nendpoint: http://10.0.0.9:9000\nbucket: seeds-dr\naccess_key: AK\nsecret_key: SK'));
    assert.deepEqual([redacted.storage.mirror?.access_key, redacted.storage.mirror?.secret_key, redacted.storage.mirror?.bucket], ['***', '***', 'seeds-dr']);
  });
});

describe('restore chain with a mirror', () => {
  const settings = (over: Partial<ChainSettings>): ChainSettings => ({ storageType: 'minio', localPath: '/srv/seeds', mirror: true, fallback: ['backups/*.csv.gz'], ...over });
  const chain = (source: Parameters<typeof restoreChain>[0], over: Partial<ChainSettings> = {}) => restoreChain(source, 'latest', settings(over)).map(describeCandidate);

  test('auto tries the mirror right after the primary store', () => {
    assert.deepEqual(chain('auto'), ['minio latest', 'mirror latest', 'local /srv/seeds (latest)', 'fallback backups/*.csv.gz']);
    // With storage.type local, the folder is the primary store.
    assert.deepEqual(chain('auto', { storageType: 'local' }), ['local /srv/seeds (latest)', 'mirror latest', 'fallback backups/*.csv.gz']);
    assert.deepEqual(chain('auto', { mirror: false }), ['minio latest', 'local /srv/seeds (latest)', 'fallback backups/*.csv.gz']);
  });

  test('--source mirror is the mirror alone; without one it names no source', () => {
    assert.deepEqual(chain('mirror'), ['mirror latest']);
    assert.deepEqual(chain('mirror', { mirror: false }), []);
    assert.deepEqual(chain('minio'), ['minio latest']);
  });
});
