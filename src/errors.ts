/**
 * Typed errors. Each carries a one-line message meant for a human and an exit code the
 * CLI returns, so scripts can tell a bad input (2) from an unavailable service (3) or a
 * failed integrity check (4).
 */
export class SeedvaultError extends Error {
  readonly exitCode: number = 1;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad user input: config key, CLI flag, version string, path. Never worth retrying. */
export class InputError extends SeedvaultError {
  override readonly exitCode = 2;
}

/** Config file problems; the message names the file and the key. */
export class ConfigError extends InputError {}

/** A service (PostgreSQL, MinIO, Temporal) could not be reached or started. */
export class ServiceError extends SeedvaultError {
  override readonly exitCode = 3;
}

/** The storage target has no space left (ENOSPC, EDQUOT): retrying cannot help until space is freed. */
export class StorageFullError extends ServiceError {}

/** Data failed an integrity or validation check (checksum, row count, schema). */
export class IntegrityError extends SeedvaultError {
  override readonly exitCode = 4;
}

/**
 * A validated staging table no longer holds the rows it was validated with (emptied by a
 * crash, cut short, dropped): the restore must stage it again before anything is swapped.
 */
export class StagingChangedError extends IntegrityError {
  constructor(readonly tables: { table: string; expected: number; found: number | null }[]) {
    super(
      `staging changed since validation, nothing was swapped: ${tables
        .map((t) => `${t.table} holds ${t.found === null ? 'no staging table' : `${t.found} rows`}, validated ${t.expected}`)
        .join('; ')}`,
    );
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** The message of the error an activity or child threw: Temporal wraps it once, as the failure's cause. */
export function causeMessage(err: unknown): string {
  return err instanceof Error && err.cause instanceof Error ? err.cause.message : errorMessage(err);
}

/** The innermost message of a chain of causes (Temporal wraps activity and child failures twice). */
export function rootCauseMessage(err: unknown): string {
  let e = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return errorMessage(e);
}
