import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Custom search attributes, so runs can be filtered in the Web UI and with
 * `temporal workflow list --query`. The local stack registers every key listed here.
 */
export const SnapshotVersion = defineSearchAttributeKey('SnapshotVersion', SearchAttributeType.KEYWORD);
export const SnapshotStatus = defineSearchAttributeKey('SnapshotStatus', SearchAttributeType.KEYWORD);
export const SeedvaultJob = defineSearchAttributeKey('SeedvaultJob', SearchAttributeType.KEYWORD);
export const BackfillSymbol = defineSearchAttributeKey('BackfillSymbol', SearchAttributeType.KEYWORD);
export const FailureAlert = defineSearchAttributeKey('FailureAlert', SearchAttributeType.BOOL);
export const HealthStatus = defineSearchAttributeKey('HealthStatus', SearchAttributeType.KEYWORD);
export const RestoreStatus = defineSearchAttributeKey('RestoreStatus', SearchAttributeType.KEYWORD);
/** File backups: the type(s) a run covers (comma-separated) and where it stands. */
export const FileBackupType = defineSearchAttributeKey('FileBackupType', SearchAttributeType.KEYWORD);
export const FileBackupStatus = defineSearchAttributeKey('FileBackupStatus', SearchAttributeType.KEYWORD);

export const ALL_SEARCH_ATTRIBUTES = [
  SnapshotVersion,
  SnapshotStatus,
  SeedvaultJob,
  BackfillSymbol,
  FailureAlert,
  HealthStatus,
  RestoreStatus,
  FileBackupType,
  FileBackupStatus,
] as const;
