-- Up Migration

-- Backup bookkeeping, ready signals, gap tracking and pipeline health (seed 001; signal
-- types, statuses and gap severities from seed 000). Retention (seed 001) deletes by the
-- indexed timestamps: backup_metadata 7 days after deactivation, ready_signals 7 days after
-- completion, data_gaps 30 days after resolution, pipeline_health after 30 days.

CREATE FUNCTION seedvault_touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END;
$$;

CREATE TABLE backup_metadata (
  backup_id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  file_path         text        NOT NULL,
  storage_location  text        NOT NULL DEFAULT 'local' CHECK (storage_location IN ('local', 's3', 'minio')),
  table_name        text,
  snapshot_version  text,
  snapshot_status   text        CHECK (snapshot_status IN ('in_progress', 'completed', 'failed', 'pruned')),
  data_start_date   timestamptz,
  data_end_date     timestamptz,
  record_count      bigint      NOT NULL DEFAULT 0 CHECK (record_count >= 0),
  file_size_bytes   bigint      CHECK (file_size_bytes >= 0),
  checksum_sha256   text        CHECK (checksum_sha256 ~ '^[0-9a-f]{64}$'),
  compression       text        CHECK (compression IN ('snappy', 'gzip', 'zstd', 'none')),
  completeness_pct  numeric(5,2) CHECK (completeness_pct BETWEEN 0 AND 100),
  quality_score     numeric(5,2) CHECK (quality_score BETWEEN 0 AND 100),
  validation_status text        NOT NULL DEFAULT 'pending' CHECK (validation_status IN ('pending', 'validated', 'failed')),
  validated_at      timestamptz,
  is_active         boolean     NOT NULL DEFAULT true,
  deactivated_at    timestamptz,
  retention_until   timestamptz,
  pipeline_run_id   text,
  metadata          jsonb       NOT NULL DEFAULT '{}',
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  CHECK (data_end_date >= data_start_date)
);
COMMENT ON COLUMN backup_metadata.snapshot_version IS 'Seed snapshot version (e.g. 2026.01.22); NULL for other backups';
COMMENT ON COLUMN backup_metadata.table_name IS 'Table the file holds, for seed snapshots';
-- One row per table and snapshot version, so a retried snapshot updates instead of duplicating.
CREATE UNIQUE INDEX backup_metadata_snapshot_table_key ON backup_metadata (snapshot_version, table_name)
  WHERE snapshot_version IS NOT NULL;
CREATE INDEX backup_metadata_active_created_idx ON backup_metadata (created_at DESC) WHERE is_active;
CREATE INDEX backup_metadata_deactivated_idx ON backup_metadata (deactivated_at) WHERE NOT is_active;
CREATE INDEX backup_metadata_metadata_gin ON backup_metadata USING gin (metadata);
CREATE TRIGGER backup_metadata_touch BEFORE UPDATE ON backup_metadata
  FOR EACH ROW EXECUTE FUNCTION seedvault_touch_updated_at();

CREATE TABLE ready_signals (
  signal_id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  pipeline_run_id    text        NOT NULL,
  signal_type        text        NOT NULL CHECK (signal_type IN (
                       'DATA_READY', 'PROCESSED_READY', 'FEATURES_READY', 'MODEL_READY', 'WEBSOCKET_READY', 'BACKUP_READY')),
  status             text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'processing', 'completed', 'failed', 'expired')),
  priority           integer     NOT NULL DEFAULT 5 CHECK (priority >= 0),
  data_start_time    timestamptz,
  data_end_time      timestamptz,
  records_available  bigint      CHECK (records_available >= 0),
  completeness_pct   numeric(5,2) CHECK (completeness_pct BETWEEN 0 AND 100),
  dependencies       uuid[]      NOT NULL DEFAULT '{}',
  acknowledged_by    text,
  acknowledged_at    timestamptz,
  completed_at       timestamptz,
  processing_time_ms integer     CHECK (processing_time_ms >= 0),
  error_message      text,
  -- Seed 000: signals expire after 60 minutes unless told otherwise.
  expires_at         timestamptz NOT NULL DEFAULT now() + interval '60 minutes',
  metadata           jsonb       NOT NULL DEFAULT '{}',
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  CHECK (data_end_time >= data_start_time)
);
COMMENT ON COLUMN ready_signals.priority IS 'Lower is handled first';
COMMENT ON COLUMN ready_signals.dependencies IS 'signal_id of each signal that must complete first';
CREATE INDEX ready_signals_type_status_priority_idx ON ready_signals (signal_type, status, priority, created_at);
CREATE INDEX ready_signals_pipeline_run_idx ON ready_signals (pipeline_run_id);
CREATE INDEX ready_signals_open_expires_idx ON ready_signals (expires_at) WHERE status IN ('active', 'processing');
CREATE INDEX ready_signals_completed_idx ON ready_signals (completed_at) WHERE completed_at IS NOT NULL;
-- Finds the signals waiting on a given one: dependencies @> ARRAY[id].
CREATE INDEX ready_signals_dependencies_gin ON ready_signals USING gin (dependencies);
CREATE INDEX ready_signals_metadata_gin ON ready_signals USING gin (metadata);
CREATE TRIGGER ready_signals_touch BEFORE UPDATE ON ready_signals
  FOR EACH ROW EXECUTE FUNCTION seedvault_touch_updated_at();

CREATE TABLE data_gaps (
  gap_id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  symbol           text        NOT NULL,
  gap_start        timestamptz NOT NULL,
  gap_end          timestamptz NOT NULL,
  missing_points   integer     NOT NULL CHECK (missing_points > 0),
  detected_by      text        NOT NULL,
  detection_method text        NOT NULL DEFAULT 'missing_sequence',
  severity         text        NOT NULL CHECK (severity IN ('LOW', 'MEDIUM', 'HIGH', 'CRITICAL')),
  fill_status      text        NOT NULL DEFAULT 'detected' CHECK (fill_status IN ('detected', 'filling', 'filled', 'failed', 'ignored')),
  fill_method      text,
  filled_points    integer     NOT NULL DEFAULT 0 CHECK (filled_points >= 0),
  fill_quality     text,
  fill_attempts    integer     NOT NULL DEFAULT 0 CHECK (fill_attempts >= 0),
  last_attempt_at  timestamptz,
  last_error       text,
  resolved_at      timestamptz,
  metadata         jsonb       NOT NULL DEFAULT '{}',
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  -- Detecting the same gap again finds the existing row.
  CONSTRAINT data_gaps_symbol_range_key UNIQUE (symbol, gap_start, gap_end),
  CHECK (gap_end >= gap_start)
);
CREATE INDEX data_gaps_detected_idx ON data_gaps (symbol, gap_start) WHERE fill_status = 'detected';
CREATE INDEX data_gaps_resolved_idx ON data_gaps (resolved_at) WHERE resolved_at IS NOT NULL;
CREATE TRIGGER data_gaps_touch BEFORE UPDATE ON data_gaps
  FOR EACH ROW EXECUTE FUNCTION seedvault_touch_updated_at();

CREATE TABLE pipeline_health (
  health_id        bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  pipeline_name    text        NOT NULL,
  component        text        NOT NULL,
  status           text        NOT NULL CHECK (status IN ('green', 'yellow', 'red')),
  health_score     numeric(5,2) CHECK (health_score BETWEEN 0 AND 100),
  response_time_ms integer     CHECK (response_time_ms >= 0),
  error_rate       numeric(5,2) CHECK (error_rate BETWEEN 0 AND 100),
  cpu_usage_pct    numeric(5,2) CHECK (cpu_usage_pct BETWEEN 0 AND 100),
  memory_usage_pct numeric(5,2) CHECK (memory_usage_pct BETWEEN 0 AND 100),
  details          jsonb       NOT NULL DEFAULT '{}',
  alert_level      text        NOT NULL DEFAULT 'none' CHECK (alert_level IN ('none', 'info', 'warning', 'critical')),
  measured_at      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON COLUMN pipeline_health.error_rate IS 'Percent of failed calls';
CREATE INDEX pipeline_health_measured_brin ON pipeline_health USING brin (measured_at);
CREATE INDEX pipeline_health_component_idx ON pipeline_health (pipeline_name, component, measured_at DESC);

-- Down Migration

DROP TABLE pipeline_health;
DROP TABLE data_gaps;
DROP TABLE ready_signals;
DROP TABLE backup_metadata;
DROP FUNCTION seedvault_touch_updated_at();
