-- Up Migration

-- The market-data provider's credit budget, shared by every backfill activity on every
-- worker: one row per provider and window (a clock minute, a UTC day), incremented under
-- an advisory lock so concurrent callers never spend more than the quota.
CREATE TABLE provider_rate_budget (
  provider     text        NOT NULL,
  window_kind  text        NOT NULL CHECK (window_kind IN ('minute', 'day')),
  window_start timestamptz NOT NULL,
  used         integer     NOT NULL DEFAULT 0 CHECK (used >= 0),
  PRIMARY KEY (provider, window_kind, window_start)
);

-- The range a symbol is backfilled over, fixed when first planned: a resumed run or
-- `backfill retry-failed` covers the same bars as the original attempt.
ALTER TABLE backfill_state_persistent
  ADD COLUMN range_from timestamptz,
  ADD COLUMN range_to   timestamptz,
  ADD CONSTRAINT backfill_state_persistent_range_check CHECK (range_to > range_from);

-- Down Migration

ALTER TABLE backfill_state_persistent
  DROP CONSTRAINT backfill_state_persistent_range_check,
  DROP COLUMN range_to,
  DROP COLUMN range_from;
DROP TABLE provider_rate_budget;
