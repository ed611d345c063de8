/**
 * Errors the domain throws on purpose. Each says what kind of failure it is; the HTTP exception
 * filter (and later the message consumer) turns the kind into a status code or a dead-letter
 * reason, so the domain never imports HTTP or AMQP types.
 */
export type DomainErrorKind =
  'invalid' | 'not-found' | 'unauthenticated' | 'forbidden' | 'conflict' | 'unavailable';

export abstract class DomainError extends Error {
  abstract readonly kind: DomainErrorKind;

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Input that can never be accepted; `problems` name each field ("recipients.userIds must …"). */
export class InvalidInputError extends DomainError {
  readonly kind = 'invalid';

  constructor(readonly problems: string[]) {
    super(problems.join('; '));
  }
}

/** A dependency (storage, broker) is down for now; the same request may succeed later. */
export class UnavailableError extends DomainError {
  readonly kind = 'unavailable';
}

/**
 * The work was too big for one transaction of the store (PostgreSQL's shared lock table or memory
 * ran out under it): the same work in smaller parts may succeed, now.
 */
export class CapacityError extends UnavailableError {}

/** The caller is known but may not do this. */
export class ForbiddenError extends DomainError {
  readonly kind = 'forbidden';
}
