import { DomainError } from '../common/domain-error';

/** A token that cannot be trusted; the message is a short, safe reason ("expired"). */
export class InvalidTokenError extends DomainError {
  readonly kind = 'unauthenticated';

  constructor(reason: string) {
    super(`Invalid token: ${reason}`);
  }
}
