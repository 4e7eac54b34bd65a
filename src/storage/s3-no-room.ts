import { S3ServiceException } from '@aws-sdk/client-s3';
import { StorageFullError } from '../errors.js';

/**
 * Error codes with which S3-compatible stores refuse a write for lack of room; retrying
 * cannot help until space or quota is freed. Sources: MinIO `cmd/api-errors.go`, Ceph RGW
 * `rgw_common.cc`, Huawei OBS bucket quota docs, the Amazon S3 error code list.
 */
const NO_ROOM_CODES = new Set([
  'XMinioStorageFull', // MinIO (507): the drives are below their free-space threshold
  'XMinioAdminBucketQuotaExceeded', // MinIO (400): the bucket's hard quota is reached
  'QuotaExceeded', // Ceph RGW (403): user or bucket quota
  'InsufficientStorageSpace', // Huawei OBS (403): bucket storage quota
  'EntityTooLarge', // S3, MinIO, RGW (400): the object is larger than the store accepts
]);

/** 507 Insufficient Storage, whatever code (or unparsable body) comes with it. */
const INSUFFICIENT_STORAGE = 507;

/**
 * MinIO answers a drive's ENOSPC/EDQUOT met mid-write (e.g. in a multipart part) as a
 * plain `InternalError` whose message ends in `cause(<Go error text>)`.
 */
const NO_SPACE_TEXT = /no space left on device|disk quota exceeded|drive path full/i;

/**
 * MinIO answers the parts of a multipart upload whose state it could not keep on a drive that
 * filled mid-write with NoSuchUpload (seen in CI on a full tmpfs, racing the 507 of another
 * part). A write of ours never sees it otherwise: the upload is aborted only after its parts end.
 */
const LOST_UPLOAD = 'NoSuchUpload';

/**
 * The StorageFullError an S3 write failure means, naming the store and the object, or null
 * when `err` is anything else (network faults and 5xx outages stay retryable).
 */
export function s3NoRoomError(err: unknown, location: string, key: string): StorageFullError | null {
  if (!(err instanceof S3ServiceException)) return null;
  const status = err.$metadata?.httpStatusCode;
  if (!NO_ROOM_CODES.has(err.name) && err.name !== LOST_UPLOAD && status !== INSUFFICIENT_STORAGE && !NO_SPACE_TEXT.test(err.message)) return null;
  const said = err.name === LOST_UPLOAD ? 'the store dropped the multipart upload while its parts were written' : err.message.replace(/\s+/g, ' ').trim().slice(0, 200);
  return new StorageFullError(`${location}: no room left writing ${key} (${err.name}, HTTP ${status ?? '?'}${said ? `: ${said}` : ''})`, { cause: err });
}
