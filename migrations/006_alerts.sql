-- Up Migration

-- One row per alert and channel: the alert's stable dedupe key (kind + workflow run, or
-- symbol + streak start, ...) makes a retried delivery find the row and never notify twice.
-- A delivery that gave up is `failed` with its last error (never the URL), so doctor can
-- name the channel.
CREATE TABLE alert_deliveries (
  dedupe_key   text        NOT NULL,
  channel      text        NOT NULL,
  kind         text        NOT NULL,
  status       text        NOT NULL DEFAULT 'sending' CHECK (status IN ('sending', 'delivered', 'failed')),
  attempts     integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  last_error   text,
  delivered_at timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (dedupe_key, channel)
);
CREATE INDEX alert_deliveries_channel_idx ON alert_deliveries (channel, updated_at DESC);
CREATE INDEX alert_deliveries_updated_idx ON alert_deliveries (updated_at);
CREATE TRIGGER alert_deliveries_touch BEFORE UPDATE ON alert_deliveries
  FOR EACH ROW EXECUTE FUNCTION seedvault_touch_updated_at();

-- When the symbol's current run of consecutive failures began: part of its alert's dedupe key.
ALTER TABLE symbol_failure_tracking ADD COLUMN streak_started_at timestamptz;

-- Down Migration

ALTER TABLE symbol_failure_tracking DROP COLUMN streak_started_at;
DROP TABLE alert_deliveries;
