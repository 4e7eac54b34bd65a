import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { watchIdle } from '../src/storage/idle-watchdog.js';

const IDLE_MS = 100;
const idleError = () => new Error('idle');

describe('watchIdle', () => {
  test('a consumer slower than the idle time never trips it; every byte passes in order', async () => {
    const source = new PassThrough({ highWaterMark: 4 });
    const watched = watchIdle(source, IDLE_MS, idleError);
    const sent = Array.from({ length: 5 }, (_, i) => Buffer.from(`chunk-${i};`));
    for (const chunk of sent) source.write(chunk);
    source.end();
    const received: Buffer[] = [];
    for await (const chunk of watched) {
      received.push(chunk as Buffer);
      await sleep(IDLE_MS * 2); // backpressure: the source waits on us, not we on it
    }
    assert.equal(Buffer.concat(received).toString(), Buffer.concat(sent).toString());
  });

  test('a source that stops sending while the consumer waits fails with the idle error and is destroyed', async () => {
    const source = new PassThrough();
    const watched = watchIdle(source, IDLE_MS, idleError);
    source.write('first');
    const started = Date.now();
    await assert.rejects(async () => {
      for await (const _ of watched);
    }, /^Error: idle$/);
    assert.ok(Date.now() - started >= IDLE_MS - 5);
    assert.ok(source.destroyed, 'the source (the HTTP body) is released');
  });

  test('a source error passes through', async () => {
    const source = new PassThrough();
    const watched = watchIdle(source, IDLE_MS, idleError);
    setImmediate(() => source.destroy(new Error('socket hang up')));
    await assert.rejects(async () => {
      for await (const _ of watched);
    }, /socket hang up/);
  });
});
