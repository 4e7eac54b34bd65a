import type pg from 'pg';
import type { Alert } from '../domain/alerts.js';
import type { DeliveryHistory } from '../domain/doctor.js';

/**
 * alert_deliveries (migration 006): one row per alert key and channel. `claimDelivery` makes
 * the row (or finds it) before a request is sent; a delivered row is never sent again.
 */
export async function claimDelivery(pool: pg.Pool, alert: Pick<Alert, 'key' | 'kind'>, channel: string): Promise<'send' | 'already delivered'> {
  const { rows } = await pool.query<{ status: string }>(
    `insert into alert_deliveries (dedupe_key, channel, kind) values ($1, $2, $3)
     on conflict (dedupe_key, channel) do update set status = case when alert_deliveries.status = 'delivered' then 'delivered' else 'sending' end
     returning status`,
    [alert.key, channel, alert.kind],
  );
  return rows[0]!.status === 'delivered' ? 'already delivered' : 'send';
}

export async function recordDelivered(pool: pg.Pool, key: string, channel: string): Promise<void> {
  await pool.query(
    `update alert_deliveries set status = 'delivered', attempts = attempts + 1, last_error = null, delivered_at = now() where dedupe_key = $1 and channel = $2`,
    [key, channel],
  );
}

/** A failed attempt; with `final`, the delivery gave up (doctor shows the channel red). */
export async function recordFailedAttempt(pool: pg.Pool, alert: Pick<Alert, 'key' | 'kind'>, channel: string, error: string, final: boolean): Promise<void> {
  await pool.query(
    `insert into alert_deliveries (dedupe_key, channel, kind, status, attempts, last_error) values ($1, $2, $3, $5, $6, $4)
     on conflict (dedupe_key, channel) do update set
       status = case when alert_deliveries.status = 'delivered' then 'delivered' else excluded.status end,
       attempts = alert_deliveries.attempts + excluded.attempts,
       last_error = excluded.last_error`,
    [alert.key, channel, alert.kind, error.slice(0, 500), final ? 'failed' : 'sending', final ? 0 : 1],
  );
}

/** Per channel: its newest finished delivery and how many gave up in the last 24 h. */
export async function channelDeliveries(pool: pg.Pool, channels: string[]): Promise<Map<string, DeliveryHistory>> {
  const { rows } = await pool.query<{ channel: string; kind: string | null; status: 'delivered' | 'failed' | null; at: Date | null; error: string | null; failed: number }>(
    `select c.channel, l.kind, l.status, l.updated_at as at, l.last_error as error,
            (select count(*)::int from alert_deliveries f where f.channel = c.channel and f.status = 'failed' and f.updated_at > now() - interval '1 day') as failed
     from unnest($1::text[]) as c(channel)
     left join lateral (select * from alert_deliveries d where d.channel = c.channel and d.status <> 'sending' order by d.updated_at desc limit 1) l on true`,
    [channels],
  );
  return new Map(rows.map((r) => [r.channel, { last: r.status ? { kind: r.kind!, status: r.status, at: r.at!, error: r.error } : null, failedLastDay: r.failed }]));
}
