import type { ConnectionLike } from '@temporalio/client';
import proto from '@temporalio/proto';
import { ServiceError } from '../errors.js';
import { ALL_SEARCH_ATTRIBUTES } from '../workflows/search-attributes.js';

const { IndexedValueType } = proto.temporal.api.enums.v1;

const INDEXED: Record<string, proto.temporal.api.enums.v1.IndexedValueType> = {
  KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  BOOL: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  INT: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  TEXT: IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  DATETIME: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  DOUBLE: IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
};

/** gRPC NOT_FOUND: the namespace does not exist. */
const GRPC_NOT_FOUND = 5;

/** The names of seedvault's search attributes the namespace lacks. */
export async function missingSearchAttributes(connection: ConnectionLike, namespace: string): Promise<string[]> {
  let existing;
  try {
    existing = await connection.operatorService.listSearchAttributes({ namespace });
  } catch (err) {
    if ((err as { code?: number }).code !== GRPC_NOT_FOUND) throw err;
    throw new ServiceError(`Temporal has no namespace "${namespace}"; create it: temporal operator namespace create -n ${namespace}`);
  }
  const known = new Set(Object.keys(existing.customAttributes ?? {}));
  return ALL_SEARCH_ATTRIBUTES.filter((key) => !known.has(key.name)).map((key) => key.name);
}

/**
 * Registers seedvault's missing search attributes on any Temporal server (the local dev
 * server gets them at start; a deployed cluster here, from `setup` or a worker's start) and
 * returns the names this call added. Safe when several processes register at once.
 */
export async function ensureSearchAttributes(connection: ConnectionLike, namespace: string): Promise<string[]> {
  const missing = await missingSearchAttributes(connection, namespace);
  if (missing.length === 0) return [];
  const types = new Map(ALL_SEARCH_ATTRIBUTES.map((key) => [key.name, INDEXED[key.type]!]));
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((name) => [name, types.get(name)!])),
    });
  } catch (err) {
    // A racing process registered them first: nothing left to do is success, not a conflict.
    if ((await missingSearchAttributes(connection, namespace)).length === 0) return [];
    throw err;
  }
  return missing;
}
