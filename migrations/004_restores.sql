-- Up Migration

-- Restores (issue 5): one row per table and restore run, and a schema for the staging
-- tables a restore loads and validates before it swaps the data into the live table.

CREATE SCHEMA seedvault_staging;
COMMENT ON SCHEMA seedvault_staging IS 'Unlogged staging tables of running restores and verifies; safe to empty when none runs';

CREATE TABLE restore_history (
  restore_id        uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workflow_id       text        NOT NULL,
  run_id            text        NOT NULL,
  table_name        text        NOT NULL,
  mode              text        NOT NULL CHECK (mode IN ('replace', 'if-empty', 'merge')),
  status            text        NOT NULL CHECK (status IN ('restored', 'skipped', 'empty', 'failed')),
  -- The source that won: 'minio', 's3', 'local' or 'fallback'; NULL when none did.
  source            text,
  location          text,
  snapshot_version  text,
  rows_loaded       bigint      CHECK (rows_loaded >= 0),
  rows_after        bigint      CHECK (rows_after >= 0),
  data_start_date   date,
  data_end_date     date,
  -- Every source tried before the winner, with why it was rejected: [{source, location, reason}].
  rejected          jsonb       NOT NULL DEFAULT '[]',
  message           text,
  created_at        timestamptz NOT NULL DEFAULT now(),
  -- A retried swap finds its own row and does nothing twice.
  CONSTRAINT restore_history_run_table_key UNIQUE (workflow_id, run_id, table_name)
);
CREATE INDEX restore_history_table_created_idx ON restore_history (table_name, created_at DESC);

-- Down Migration

DROP TABLE restore_history;
DROP SCHEMA seedvault_staging CASCADE;
