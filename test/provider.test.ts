import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { fetchTimeSeries, ProviderError, type ProviderSettings } from '../src/activities/backfill/provider.js';
import { startProviderFake, type FakeProvider } from './support/provider-fake.js';

const at = (iso: string) => Date.parse(iso);

describe('provider client', () => {
  let fake: FakeProvider;
  let settings: ProviderSettings;
  before(async () => {
    fake = await startProviderFake({ apiKey: 'sekret-key-123' });
    settings = { baseUrl: fake.url, apiKey: fake.apiKey, interval: '5min', timeoutMs: 500 };
  });
  after(() => fake.close());

  const failure = (promise: Promise<unknown>) =>
    promise.then(
      () => assert.fail('expected a ProviderError'),
      (err: unknown) => {
        assert.ok(err instanceof ProviderError, String(err));
        assert.doesNotMatch(err.message, /sekret/, 'the api key never appears in a message');
        return err;
      },
    );

  test('returns string-valued bars in UTC for a session', async () => {
    const bars = await fetchTimeSeries(settings, { symbol: 'USD/COP', start: at('2026-01-06T13:00:00Z'), end: at('2026-01-06T13:10:00Z'), bars: 3 });
    assert.deepEqual(bars.map((b) => b.datetime), ['2026-01-06 13:00:00', '2026-01-06 13:05:00', '2026-01-06 13:10:00']);
    assert.equal(typeof bars[0]!.open, 'string');
  });

  test('classifies failures', async () => {
    const weekend = { symbol: 'USD/COP', start: at('2026-01-10T13:00:00Z'), end: at('2026-01-10T17:55:00Z'), bars: 60 };
    const session = { symbol: 'USD/COP', start: at('2026-01-06T13:00:00Z'), end: at('2026-01-06T13:10:00Z'), bars: 3 };
    assert.equal((await failure(fetchTimeSeries(settings, weekend))).failureClass, 'market_closed');
    fake.badSymbols.add('NOPE');
    assert.equal((await failure(fetchTimeSeries(settings, { ...session, symbol: 'NOPE' }))).failureClass, 'bad_symbol');
    const faults = [
      ['http-429', 'rate_limited'], ['credits-body', 'rate_limited'], ['error-body', 'provider_error'], ['timeout', 'timeout'], ['slow-body', 'timeout'], ['huge-body', 'provider_error'],
    ] as const;
    for (const [fault, failureClass] of faults) {
      fake.failNext('USD/COP', fault);
      // Reading 16 MiB can take longer than 500 ms on a busy machine: that case must not race the timeout.
      const err = await failure(fetchTimeSeries(fault === 'huge-body' ? { ...settings, timeoutMs: 30_000 } : settings, session));
      assert.equal(err.failureClass, failureClass, fault);
      if (fault === 'http-429') assert.equal(err.retryAfterMs, 1000);
      if (fault === 'huge-body') assert.match(err.message, /larger than 16 MiB, refused/);
    }
    const wrongKey = await failure(fetchTimeSeries({ ...settings, apiKey: 'wrong' }, session));
    assert.equal(wrongKey.failureClass, 'provider_error');
  });

  test('the fake with a quota answers HTTP 429 past it in a clock minute, like the real API', async () => {
    const limited = await startProviderFake({ apiKey: 'sekret-key-123', quotaPerMinute: 2 });
    try {
      const session = { symbol: 'USD/COP', start: at('2026-01-06T13:00:00Z'), end: at('2026-01-06T13:10:00Z'), bars: 3 };
      const quota = { ...settings, baseUrl: limited.url };
      // Three loopback requests take milliseconds: 2 s before a minute ends, wait for the next one.
      if (60_000 - (Date.now() % 60_000) < 2_000) await sleep(2_000);
      for (let i = 0; i < 2; i += 1) assert.equal((await fetchTimeSeries(quota, session)).length, 3);
      const err = await failure(fetchTimeSeries(quota, session));
      assert.deepEqual([err.failureClass, err.retryAfterMs], ['rate_limited', undefined]);
      assert.deepEqual([limited.overQuota, [...limited.perMinute.values()]], [1, [2]]);
    } finally {
      await limited.close();
    }
  });
});
