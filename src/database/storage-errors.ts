import { CapacityError, UnavailableError } from '../common/domain-error';

/** SQLSTATE classes and codes that say "try again later", not "this input is wrong". */
const TRANSIENT_SQLSTATE = /^(08|53|57P|40001|40P01)/;
/**
 * Out of (shared) memory, a program limit: what one transaction asked for was too much, as with
 * one advisory lock per recipient for thousands of recipients ("out of shared memory", whose
 * hint is max_locks_per_transaction).
 */
const CAPACITY_SQLSTATE = /^(53200|54)/;
const TRANSIENT_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND']);
const TRANSIENT_MESSAGE =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Cannot use a pool after calling end/;
/** A log line names the failure, never the statement (Drizzle's message has it, with every parameter). */
const SUMMARY_LIMIT = 200;

/** Storage is unreachable or overloaded; retrying later may succeed. */
export class StorageUnavailableError extends UnavailableError {
  constructor(override readonly cause: unknown) {
    super(`storage unavailable: ${describeStorageError(cause)}`);
  }
}

/** One transaction asked for more than the database could hold: split it and go on. */
export class StorageCapacityError extends CapacityError {
  constructor(override readonly cause: unknown) {
    super(`too much for one transaction: ${describeStorageError(cause)}`);
  }
}

/** Any other failure of a statement, with the driver's code and a bounded message. */
export class StorageError extends Error {
  readonly code?: string;

  constructor(override readonly cause: unknown) {
    super(`storage error: ${describeStorageError(cause)}`);
    this.name = 'StorageError';
    this.code = codeOf(cause);
  }
}

interface Candidate {
  code?: unknown;
  message?: unknown;
  cause?: unknown;
}

/** The errors of the cause chain (Drizzle wraps driver errors), outermost first. */
function* causes(error: unknown): Generator<Candidate> {
  for (let current = error, depth = 0; current && depth < 5; depth += 1) {
    const candidate = current as Candidate;
    yield candidate;
    current = candidate.cause;
  }
}

/** The driver's SQLSTATE or errno, if any error of the chain has one. */
function codeOf(error: unknown): string | undefined {
  for (const candidate of causes(error)) {
    if (typeof candidate.code === 'string') return candidate.code;
  }
  return undefined;
}

/**
 * One bounded line for a log: the innermost error's code and the first line of its message, never
 * the SQL text or its parameters.
 */
function describeStorageError(error: unknown): string {
  let innermost: Candidate | undefined;
  for (const candidate of causes(error)) innermost = candidate;
  const code = codeOf(error);
  const message =
    typeof innermost?.message === 'string' ? innermost.message : String(innermost ?? error);
  const line = message.split('\n', 1)[0].slice(0, SUMMARY_LIMIT);
  return code && !line.startsWith(code) ? `${code} ${line}` : line;
}

/** Walks the cause chain looking for a connection-level failure. */
export function isTransientStorageError(error: unknown): boolean {
  for (const candidate of causes(error)) {
    if (typeof candidate.code === 'string') {
      if (TRANSIENT_ERRNO.has(candidate.code) || TRANSIENT_SQLSTATE.test(candidate.code)) {
        return true;
      }
    }
    if (typeof candidate.message === 'string' && TRANSIENT_MESSAGE.test(candidate.message)) {
      return true;
    }
  }
  return false;
}

/**
 * Rethrows what one transaction was too big for as StorageCapacityError, transient failures as
 * StorageUnavailableError, and any other as StorageError: each with one bounded line.
 */
export function translateStorageError(error: unknown): never {
  if (error instanceof UnavailableError || error instanceof StorageError) throw error;
  const code = codeOf(error);
  if (code !== undefined && CAPACITY_SQLSTATE.test(code)) throw new StorageCapacityError(error);
  throw isTransientStorageError(error)
    ? new StorageUnavailableError(error)
    : new StorageError(error);
}
