import { DomainError } from '../common/domain-error';

/** The id is unknown, deleted, expired, malformed, or another user's: all look the same. */
export class NotificationNotFoundError extends DomainError {
  readonly kind = 'not-found';

  constructor(id: string) {
    super(`Notification ${JSON.stringify(id.slice(0, 64))} not found`);
  }
}

/** The notification has no action of that id. */
export class ActionNotFoundError extends DomainError {
  readonly kind = 'not-found';

  constructor(id: string, actionId: string) {
    super(
      `Notification ${JSON.stringify(id.slice(0, 64))} has no action ${JSON.stringify(actionId.slice(0, 64))}`,
    );
  }
}

/** Subscribing would take the user past TOPICS_MAX_PER_USER; re-subscribing never does. */
export class TopicLimitError extends DomainError {
  readonly kind = 'conflict';

  constructor(readonly limit: number) {
    super(
      `A user may hold at most ${limit} topic subscriptions (TOPICS_MAX_PER_USER); ` +
        'unsubscribe from one first',
    );
  }
}
