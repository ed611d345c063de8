import type {
  InboxPage,
  InboxQuery,
  Notification,
  NotificationDraft,
  Recipient,
  StateChange,
} from './notification';

export interface StoredDraft {
  notification: Notification;
  /** False when the recipient already had this idempotency key: `notification` is that one. */
  created: boolean;
}

/**
 * Storage of notifications; the abstract class is the injection token. Every method but
 * `insertMany` is scoped to one recipient and treats unknown, foreign, deleted or expired ids
 * alike (null / false). Implemented over Drizzle in notifications-drizzle.repository.ts.
 */
export abstract class NotificationsRepository {
  /**
   * Stores the drafts in one transaction and answers in draft order. Per recipient, ids are
   * assigned in commit order: once an id is visible, no smaller id of that recipient can appear.
   */
  abstract insertMany(drafts: NotificationDraft[]): Promise<StoredDraft[]>;

  abstract list(recipient: Recipient, query: InboxQuery): Promise<InboxPage>;

  abstract countUnread(recipient: Recipient): Promise<number>;

  abstract changeState(
    recipient: Recipient,
    id: string,
    change: StateChange,
  ): Promise<Notification | null>;

  /** Marks every unread notification read; answers how many changed. */
  abstract markAllRead(recipient: Recipient): Promise<number>;

  abstract delete(recipient: Recipient, id: string): Promise<boolean>;
}
