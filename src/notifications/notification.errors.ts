import { DomainError } from '../common/domain-error';

/** The id is unknown, deleted, expired, malformed, or another user's: all look the same. */
export class NotificationNotFoundError extends DomainError {
  readonly kind = 'not-found';

  constructor(id: string) {
    super(`Notification ${JSON.stringify(id.slice(0, 64))} not found`);
  }
}
