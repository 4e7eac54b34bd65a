-- Up Migration

-- Ready-signal tracking (seed 000): which consumer completed a signal (seed 001's
-- complete_ready_signal(signal_id, consumer, ...)) and when a consumer last processed it
-- (seed 000's update_last_processed).
ALTER TABLE ready_signals
  ADD COLUMN completed_by      text,
  ADD COLUMN last_processed_at timestamptz;

-- Down Migration

ALTER TABLE ready_signals
  DROP COLUMN last_processed_at,
  DROP COLUMN completed_by;
