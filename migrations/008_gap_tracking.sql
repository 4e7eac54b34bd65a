-- Up Migration

-- Gap tracking (issue 16): each recorded gap's kind against its market session and its
-- impact (missing business minutes weighted by recency, as of its last detection).
ALTER TABLE data_gaps
  ADD COLUMN gap_type     text CHECK (gap_type IN ('open-of-session', 'close-of-session', 'intraday', 'whole-day', 'multi-day')),
  ADD COLUMN impact_score numeric(12,2) CHECK (impact_score >= 0);
COMMENT ON COLUMN data_gaps.impact_score IS 'Missing business minutes x 0.5^(age in days / 7) at the last detection';
-- `gaps --patterns` reads the gaps of a period.
CREATE INDEX data_gaps_start_idx ON data_gaps (gap_start);

-- One backfill per symbol at a time across executions: the in_progress row is the claim.
-- The child workflow holding it is recorded so another execution can tell a live claim
-- from one left by an execution that ended without releasing it.
ALTER TABLE backfill_state_persistent
  ADD COLUMN workflow_id  text,
  ADD COLUMN bars_planned integer CHECK (bars_planned >= 0),
  DROP CONSTRAINT backfill_state_persistent_status_check,
  ADD CONSTRAINT backfill_state_persistent_status_check CHECK (status IN ('pending', 'in_progress', 'completed', 'failed', 'skipped'));
COMMENT ON COLUMN backfill_state_persistent.workflow_id IS 'backfillSymbol workflow that claimed the symbol';
COMMENT ON COLUMN backfill_state_persistent.bars_planned IS 'Bars missing in the range when the symbol was planned';
-- Rows left in progress by earlier versions cannot all keep their claim: the newest one per symbol does.
UPDATE backfill_state_persistent b SET status = 'failed', error_message = 'internal: superseded by a newer in-progress backfill (migration 008)', completed_at = now()
WHERE status = 'in_progress' AND EXISTS (
  SELECT 1 FROM backfill_state_persistent n
  WHERE n.symbol = b.symbol AND n.timeframe = b.timeframe AND n.status = 'in_progress' AND (n.created_at, n.id) > (b.created_at, b.id));
CREATE UNIQUE INDEX backfill_state_persistent_claim_key ON backfill_state_persistent (symbol, timeframe) WHERE status = 'in_progress';

-- Down Migration

DROP INDEX backfill_state_persistent_claim_key;
UPDATE backfill_state_persistent SET status = 'failed' WHERE status = 'skipped';
ALTER TABLE backfill_state_persistent
  DROP CONSTRAINT backfill_state_persistent_status_check,
  ADD CONSTRAINT backfill_state_persistent_status_check CHECK (status IN ('pending', 'in_progress', 'completed', 'failed')),
  DROP COLUMN bars_planned,
  DROP COLUMN workflow_id;
DROP INDEX data_gaps_start_idx;
ALTER TABLE data_gaps DROP COLUMN impact_score, DROP COLUMN gap_type;
