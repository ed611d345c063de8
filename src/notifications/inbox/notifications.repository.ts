import type {
  BulkFilter,
  BulkSet,
  InboxPage,
  InboxQuery,
  Notification,
  NotificationDraft,
  NotificationSearch,
  Recipient,
  StateChange,
  UnreadState,
} from '../notification';

export interface StoredDraft {
  notification: Notification;
  /** False when the recipient already had this idempotency key: `notification` is that one. */
  created: boolean;
  /**
   * When created: the id of the recipient's notification stored just before it (null for their
   * first). Deliveries between instances may arrive out of order; this tells a stream what to wait
   * for.
   */
  previousId?: string | null;
  /**
   * When created: the notification it replaced (same `collapseKey`) or took into its group; that
   * one is deleted in the same transaction.
   */
  replaced?: string;
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

  /** For admins: a tenant's notifications (of one user, of one type), newest first. */
  abstract search(query: NotificationSearch): Promise<InboxPage>;

  /** Stored notifications of a tenant (`null`: users without one), or of all when undefined. */
  abstract count(tenantId: string | null | undefined): Promise<number>;

  /** Unread counts of many recipients at once, with what they count, keyed by recipientKey. */
  abstract unreadStates(recipients: Recipient[]): Promise<Map<string, UnreadState>>;

  abstract changeState(
    recipient: Recipient,
    id: string,
    change: StateChange,
  ): Promise<Notification | null>;

  /**
   * Sets or clears a flag on the recipient's notifications that match `filter` (one who has it as
   * `set` says already is left alone, so a flag keeps its first time); answers how many changed,
   * the newest of them (null when none did) and the time it set.
   */
  abstract bulkUpdate(
    recipient: Recipient,
    filter: BulkFilter,
    set: BulkSet,
  ): Promise<{ updated: number; upTo: string | null; at: Date }>;

  /**
   * Records that the user took the action `actionId` (and read it); says which was unknown
   * otherwise.
   */
  abstract interact(
    recipient: Recipient,
    id: string,
    actionId: string,
  ): Promise<Notification | 'no-notification' | 'no-action'>;

  /**
   * Wakes up to `limit` notifications whose snooze is over (any recipient's, deleted and expired
   * ones too, so none stays due), clearing `snoozedUntil`; each is woken once, by one instance.
   * `inInbox`: those neither deleted, archived nor expired, whose users hear of it.
   */
  abstract wakeSnoozed(limit: number): Promise<{ woken: number; inInbox: Notification[] }>;

  /** Stored notifications with an id above `afterId`, oldest first, not snoozed (stream replay). */
  abstract listAfter(recipient: Recipient, afterId: string, limit: number): Promise<Notification[]>;

  /**
   * Whether the recipient has, or had, a notification at or above `id` (deleted and expired ones
   * count): false means a position from elsewhere, such as a restored backup.
   */
  abstract reached(recipient: Recipient, id: string): Promise<boolean>;

  /** Deletes up to `limit` notifications that expired before `before`; answers how many. */
  abstract purgeExpired(before: Date, limit: number): Promise<number>;

  abstract delete(recipient: Recipient, id: string): Promise<boolean>;
}
