import type pg from 'pg';
import { inTransaction } from '../../db/pool.js';

/**
 * The provider's credit quota (per clock minute and per UTC day) as rows in PostgreSQL,
 * so every activity on every worker draws from one budget. An advisory lock per provider
 * serialises the check-and-spend; windows follow the database clock, not the workers'.
 */

export interface Quota {
  perMinute: number;
  perDay: number;
}

export type BudgetAnswer = { granted: true } | { granted: false; retryAfterMs: number; window: 'minute' | 'day' };

export async function trySpendCredits(pool: pg.Pool, provider: string, quota: Quota, credits = 1): Promise<BudgetAnswer> {
  return inTransaction(pool, async (client) => {
    await client.query(`select pg_advisory_xact_lock(hashtext('seedvault provider budget ' || $1))`, [provider]);
    // clock_timestamp(), not now(): the lock wait must not leave us in a past window.
    const { rows } = await client.query<{ minute: Date; day: Date; minute_used: number; day_used: number; to_next_minute_ms: number; to_next_day_ms: number }>(
      `with w as (select clock_timestamp() as t, date_trunc('minute', clock_timestamp(), 'UTC') as minute, date_trunc('day', clock_timestamp(), 'UTC') as day)
       select w.minute, w.day,
              coalesce((select used from provider_rate_budget where provider = $1 and window_kind = 'minute' and window_start = w.minute), 0) as minute_used,
              coalesce((select used from provider_rate_budget where provider = $1 and window_kind = 'day' and window_start = w.day), 0) as day_used,
              ceil(extract(epoch from w.minute + interval '1 minute' - w.t) * 1000)::int as to_next_minute_ms,
              ceil(extract(epoch from w.day + interval '1 day' - w.t) * 1000)::int as to_next_day_ms
       from w`,
      [provider],
    );
    const now = rows[0]!;
    let answer: BudgetAnswer = { granted: true };
    if (now.day_used + credits > quota.perDay) answer = { granted: false, retryAfterMs: now.to_next_day_ms, window: 'day' };
    else if (now.minute_used + credits > quota.perMinute) answer = { granted: false, retryAfterMs: now.to_next_minute_ms, window: 'minute' };
    else {
      await client.query(
        `insert into provider_rate_budget (provider, window_kind, window_start, used)
         values ($1, 'minute', $2, $4), ($1, 'day', $3, $4)
         on conflict (provider, window_kind, window_start) do update set used = provider_rate_budget.used + excluded.used`,
        [provider, now.minute, now.day, credits],
      );
      await client.query(`delete from provider_rate_budget where provider = $1 and window_start < $2::timestamptz - interval '2 days'`, [provider, now.day]);
    }
    return answer;
  });
}

/** The provider said the minute's credits are gone (another client used them): spend the rest of the window for everyone. */
export async function exhaustMinute(pool: pg.Pool, provider: string, quota: Quota): Promise<void> {
  await pool.query(
    `insert into provider_rate_budget (provider, window_kind, window_start, used)
     values ($1, 'minute', date_trunc('minute', clock_timestamp(), 'UTC'), $2)
     on conflict (provider, window_kind, window_start) do update set used = greatest(provider_rate_budget.used, excluded.used)`,
    [provider, quota.perMinute],
  );
}
