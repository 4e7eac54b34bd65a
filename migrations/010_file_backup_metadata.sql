-- Up Migration

-- File backups (seed 003) recorded in backup_metadata beside the snapshots (issue 16): one row
-- per backup, keyed by its id so a retried activity updates its row instead of adding one.

ALTER TABLE backup_metadata
  ADD COLUMN backup_type text,
  ADD COLUMN backup_name text;
COMMENT ON COLUMN backup_metadata.backup_type IS 'File backup type (portfolio, config, ...); NULL for seed snapshots';
COMMENT ON COLUMN backup_metadata.backup_name IS 'File backup id, <type>_<YYYYMMDD_HHMMSS>[-n]; NULL for seed snapshots';
CREATE UNIQUE INDEX backup_metadata_backup_name_key ON backup_metadata (backup_name) WHERE backup_name IS NOT NULL;

-- Down Migration

DROP INDEX backup_metadata_backup_name_key;
ALTER TABLE backup_metadata DROP COLUMN backup_name, DROP COLUMN backup_type;
