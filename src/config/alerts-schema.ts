import { z } from 'zod';
import { envVarName } from './file-backups-schema.js';

/** Delivery retries with backoff for this long by default (then the failure is recorded and logged). */
export const DEFAULT_ALERT_RETRY_SECONDS = 120;

const channelSchema = z.strictObject({
  /** `webhook`: a JSON document with the alert's fields; `slack`: a Slack-compatible incoming webhook (`{"text": ...}`). */
  type: z.enum(['webhook', 'slack']),
  /** The environment variable holding the URL: the URL itself is a secret and never enters the config. */
  url_env: envVarName,
});

/** The `alerts` config section: where failures and recoveries are sent. */
export const alertsSchema = z
  .strictObject({
    channels: z.record(z.string().regex(/^[a-z][a-z0-9_-]{0,39}$/, 'channel names: a-z, 0-9, _ and -, starting with a letter, at most 40'), channelSchema).default({}),
    retry_seconds: z.coerce.number().int().positive().max(3600).default(DEFAULT_ALERT_RETRY_SECONDS),
  })
  .prefault({});

export type AlertChannelConfig = z.infer<typeof channelSchema>;
