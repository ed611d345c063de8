import { Injectable } from '@nestjs/common';
import { InvalidInputError } from '../../common/domain-error';
import { turnBatch } from '../../common/turn-batch';
import { InboxEvents } from '../inbox-events';
import {
  BulkFilter,
  BulkSet,
  InboxPage,
  InboxQuery,
  Notification,
  NotificationSearch,
  Recipient,
  recipientKey,
  StateChange,
  UnreadState,
} from '../notification';
import { ActionNotFoundError, NotificationNotFoundError } from '../notification.errors';
import { NotificationsRepository } from './notifications.repository';
import { Preferences, PreferencesRepository } from '../audience/preferences.repository';

/** How far ahead a notification may be snoozed. */
const MAX_SNOOZE_MS = 30 * 24 * 3600 * 1000;

/** A recipient's inbox: reading, read state, deletion, preferences. Intake creates. */
@Injectable()
export class Inbox {
  constructor(
    private readonly repository: NotificationsRepository,
    private readonly preferences: PreferencesRepository,
    private readonly events: InboxEvents,
  ) {}

  list(recipient: Recipient, query: InboxQuery): Promise<InboxPage> {
    return this.repository.list(recipient, query);
  }

  /** For admins: any user's notifications within a tenant. */
  search(query: NotificationSearch): Promise<InboxPage> {
    return this.repository.search(query);
  }

  /** Stored notifications of a tenant, or of every tenant when `tenantId` is undefined. */
  count(tenantId: string | null | undefined): Promise<number> {
    return this.repository.count(tenantId);
  }

  async unreadCount(recipient: Recipient): Promise<number> {
    return (await this.unreadState(recipient)).count;
  }

  /** Unread, and neither seen nor read: the bell. */
  async counts(recipient: Recipient): Promise<{ count: number; unseen: number }> {
    const { count, unseen } = await this.unreadState(recipient);
    return { count, unseen };
  }

  /** Batched per turn: streams opening together read their states in one query. */
  readonly unreadState: (recipient: Recipient) => Promise<UnreadState> = turnBatch(
    async (recipients) => {
      const states = await this.repository.unreadStates([...recipients]);
      return recipients.map(
        (recipient) =>
          states.get(recipientKey(recipient)) ?? { count: 0, unseen: 0, position: '0' },
      );
    },
  );

  /** Unread states of many recipients in one query, keyed by recipientKey. */
  unreadStates(recipients: Recipient[]): Promise<Map<string, UnreadState>> {
    return this.repository.unreadStates(recipients);
  }

  async changeState(recipient: Recipient, id: string, change: StateChange): Promise<Notification> {
    if (Object.values(change).every((value) => value === undefined)) {
      throw new InvalidInputError(['the body must set read, archived, seen or snoozedUntil']);
    }
    const until = change.snoozedUntil?.getTime();
    if (until !== undefined && (until <= Date.now() || until > Date.now() + MAX_SNOOZE_MS)) {
      throw new InvalidInputError(['snoozedUntil must be in the future, at most 30 days ahead']);
    }
    const notification = await this.repository.changeState(recipient, id, change);
    if (!notification) throw new NotificationNotFoundError(id);
    this.emitUpdated(notification);
    return notification;
  }

  /** The user took one of the notification's actions: recorded, and it is read. */
  async interact(recipient: Recipient, id: string, actionId: string): Promise<Notification> {
    const result = await this.repository.interact(recipient, id, actionId);
    if (result === 'no-notification') throw new NotificationNotFoundError(id);
    if (result === 'no-action') throw new ActionNotFoundError(id, actionId);
    this.emitUpdated(result);
    return result;
  }

  markAllRead(recipient: Recipient): Promise<number> {
    return this.bulk(recipient, { status: 'unread' }, { read: true });
  }

  /** Marks the given notifications seen, or all of them. */
  markSeen(recipient: Recipient, ids: string[] | undefined): Promise<number> {
    return this.bulk(recipient, ids ? { ids } : { status: 'unseen' }, { seen: true });
  }

  /** A change to every notification that matches: one `bulk-updated` event, never one per row. */
  async bulk(recipient: Recipient, filter: BulkFilter, set: BulkSet): Promise<number> {
    if (Object.values(set).every((value) => value === undefined)) {
      throw new InvalidInputError(['set must hold read, seen or archived']);
    }
    const { updated, upTo, at } = await this.repository.bulkUpdate(recipient, filter, set);
    if (upTo !== null) this.events.emit({ kind: 'bulk-updated', recipient, upTo, filter, set, at });
    return updated;
  }

  /**
   * Wakes notifications whose snooze is over: every tab of their user hears of those still in
   * the inbox (not deleted, archived or expired).
   */
  async wakeSnoozed(limit: number): Promise<number> {
    const { woken, inInbox } = await this.repository.wakeSnoozed(limit);
    for (const notification of inInbox) this.emitUpdated(notification);
    return woken;
  }

  private emitUpdated(notification: Notification): void {
    const { id, userId, tenantId, readAt, archivedAt, seenAt, interactedAt, interaction } =
      notification;
    this.events.emit({
      kind: 'updated',
      recipient: { userId, tenantId },
      id,
      readAt,
      archivedAt,
      seenAt,
      interactedAt,
      interaction,
      snoozedUntil: notification.snoozedUntil,
    });
  }

  async delete(recipient: Recipient, id: string): Promise<void> {
    if (!(await this.repository.delete(recipient, id))) throw new NotificationNotFoundError(id);
    this.events.emit({
      kind: 'updated',
      recipient,
      id,
      readAt: null,
      archivedAt: null,
      deleted: true,
    });
  }

  /** Stream replay: what the recipient has after `afterId`, oldest first. */
  listAfter(recipient: Recipient, afterId: string, limit: number): Promise<Notification[]> {
    return this.repository.listAfter(recipient, afterId, limit);
  }

  /** Whether `id` is a position the recipient's stored notifications have reached. */
  reached(recipient: Recipient, id: string): Promise<boolean> {
    return this.repository.reached(recipient, id);
  }

  getPreferences(recipient: Recipient): Promise<Preferences> {
    return this.preferences.get(recipient);
  }

  setPreferences(recipient: Recipient, preferences: Preferences): Promise<Preferences> {
    return this.preferences.set(recipient, preferences);
  }
}
