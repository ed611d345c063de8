import { UnavailableError } from '../common/domain-error';

/** SQLSTATE classes and codes that say "try again later", not "this input is wrong". */
const TRANSIENT_SQLSTATE = /^(08|53|57P|40001|40P01)/;
const TRANSIENT_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND']);
const TRANSIENT_MESSAGE =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Cannot use a pool after calling end/;

/** Storage is unreachable or overloaded; retrying later may succeed. */
export class StorageUnavailableError extends UnavailableError {
  constructor(override readonly cause: unknown) {
    super(`storage unavailable: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

/** Walks the cause chain (Drizzle wraps driver errors) looking for a connection-level failure. */
export function isTransientStorageError(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 5; depth += 1) {
    const candidate = current as { code?: unknown; message?: unknown; cause?: unknown };
    if (typeof candidate.code === 'string') {
      if (TRANSIENT_ERRNO.has(candidate.code) || TRANSIENT_SQLSTATE.test(candidate.code)) {
        return true;
      }
    }
    if (typeof candidate.message === 'string' && TRANSIENT_MESSAGE.test(candidate.message)) {
      return true;
    }
    current = candidate.cause;
  }
  return false;
}

/** Rethrows transient storage failures as StorageUnavailableError; others unchanged. */
export function translateStorageError(error: unknown): never {
  throw isTransientStorageError(error) ? new StorageUnavailableError(error) : error;
}
