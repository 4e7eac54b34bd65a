/**
 * CopyOutStream (src/parquet/copy-out.ts): the COPY data of COPY ... TO STDOUT, unwrapped from
 * the protocol's messages in place. The framing is checked on hand-built message streams cut at
 * every byte; the stream against pg-copy-streams on the real server, its errors, and the
 * connection afterwards.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { CopyDataUnwrapper, CopyOutStream } from '../src/parquet/copy-out.js';

function message(type: string, content: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeUInt32BE(content.length + 4, 1);
  return Buffer.concat([header, content]);
}

/** Payloads of several sizes (empty and one byte included), with a notice and a parameter status between them. */
const PAYLOADS = [3, 0, 1, 200, 7, 5, 64].map((size, i) => Buffer.alloc(size, i + 1));
const COPY_DATA = Buffer.concat(PAYLOADS);
const AFTER_COPY = Buffer.concat([message('C', Buffer.from('COPY 7\0')), message('Z', Buffer.from('T'))]);

function serverBytes(end: Buffer): Buffer {
  return Buffer.concat([
    message('H', Buffer.from([1, 0, 0])),
    ...PAYLOADS.slice(0, 3).map((p) => message('d', p)),
    message('N', Buffer.from('Snotice\0\0')),
    ...PAYLOADS.slice(3, 5).map((p) => message('d', p)),
    message('S', Buffer.from('a\0b\0')),
    ...PAYLOADS.slice(5).map((p) => message('d', p)),
    end,
  ]);
}

/** Feeds copies of `bytes` cut at `cuts`; returns the COPY data, the rest handed back and whether it failed. */
function unwrapInChunks(bytes: Buffer, cuts: number[]): { data: Buffer; rest: Buffer | null; failed: boolean } {
  const unwrapper = new CopyDataUnwrapper();
  const data: Buffer[] = [];
  const bounds = [0, ...cuts, bytes.length];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const out = unwrapper.unwrap(Buffer.from(bytes.subarray(bounds[i], bounds[i + 1])));
    data.push(Buffer.from(out.data));
    if (out.rest) {
      const rest = Buffer.concat([out.rest, bytes.subarray(bounds[i + 1])]);
      return { data: Buffer.concat(data), rest, failed: out.failed };
    }
  }
  return { data: Buffer.concat(data), rest: null, failed: false };
}

describe('CopyDataUnwrapper', () => {
  it('returns exactly the COPY data and hands back what follows CopyDone, however the messages are cut', () => {
    const bytes = serverBytes(Buffer.concat([message('c', Buffer.alloc(0)), AFTER_COPY]));
    for (let cut = 0; cut <= bytes.length; cut++) {
      for (const cuts of [[cut], [cut, Math.min(bytes.length, cut + 3)], Array.from({ length: Math.floor(bytes.length / Math.max(cut, 1)) }, (_, i) => (i + 1) * Math.max(cut, 1)).filter((c) => c < bytes.length)]) {
        const out = unwrapInChunks(bytes, cuts);
        assert.deepEqual(out.data, COPY_DATA, `cuts ${cuts.slice(0, 5).join(',')}`);
        assert.deepEqual(out.rest, AFTER_COPY, `cuts ${cuts.slice(0, 5).join(',')}`);
        assert.equal(out.failed, false);
      }
    }
  });

  it('hands an ErrorResponse back whole, its header included, even when it was cut inside the header', () => {
    const error = message('E', Buffer.from('SERROR\0C22012\0Mdivision by zero\0\0'));
    const bytes = serverBytes(Buffer.concat([error, message('Z', Buffer.from('E'))]));
    const errorAt = bytes.length - error.length - 6;
    for (let cut = errorAt - 2; cut <= errorAt + 6; cut++) {
      const out = unwrapInChunks(bytes, [cut]);
      assert.deepEqual(out.data, COPY_DATA, `cut ${cut}`);
      assert.equal(out.failed, true);
      assert.deepEqual(out.rest, bytes.subarray(errorAt), `cut ${cut}`);
    }
  });

  it('refuses a message that has no place in a COPY', () => {
    const unwrapper = new CopyDataUnwrapper();
    assert.throws(() => unwrapper.unwrap(message('D', Buffer.from([0, 0]))), /unexpected message "D" in a COPY/);
  });
});

describe('CopyOutStream on the real server', () => {
  let client: pg.Client;

  before(async () => {
    const url = process.env.DATABASE_URL;
    if (!url) throw new Error('DATABASE_URL is not set');
    client = new pg.Client({ connectionString: url });
    await client.connect();
  });

  after(async () => {
    await client?.end();
  });

  const rowsSql = (format: string) =>
    `COPY (SELECT i, repeat(md5(i::text), i % 5) AS t, now() AS at FROM generate_series(1, 50000) AS i) TO STDOUT (FORMAT ${format})`;

  for (const format of ['binary', 'text']) {
    it(`gives the same bytes as pg-copy-streams (${format}) and leaves the client ready`, async () => {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ'); // one now() for both
      try {
        const ours = await buffer(client.query(new CopyOutStream(rowsSql(format))));
        const theirs = await buffer(client.query(copyTo(rowsSql(format))) as Readable);
        assert.ok(ours.length > 1_000_000, `${ours.length} bytes`);
        assert.ok(ours.equals(theirs), `${ours.length} bytes against ${theirs.length}`);
      } finally {
        await client.query('ROLLBACK');
      }
      assert.equal((await client.query('SELECT 41 + 1 AS answer')).rows[0].answer, 42);
    });
  }

  it('fails with the server error when the COPY fails half-way, and the client runs the next query', async () => {
    const copy = client.query(new CopyOutStream('COPY (SELECT 1 / (20000 - i) FROM generate_series(1, 30000) AS i) TO STDOUT (FORMAT binary)'));
    let received = 0;
    copy.on('data', (chunk: Buffer) => (received += chunk.length));
    await assert.rejects(buffer(copy), /division by zero/);
    assert.ok(received > 0, 'rows before the failing one arrived');
    assert.equal((await client.query('SELECT 1 AS one')).rows[0].one, 1);
  });

  it('fails with the server error when the COPY cannot start', async () => {
    await assert.rejects(buffer(client.query(new CopyOutStream('COPY no_such_table TO STDOUT'))), /relation "no_such_table" does not exist/);
    assert.equal((await client.query('SELECT 1 AS one')).rows[0].one, 1);
  });
});
