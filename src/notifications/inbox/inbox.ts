import { Injectable } from '@nestjs/common';
import { InvalidInputError } from '../../common/domain-error';
import { turnBatch } from '../../common/turn-batch';
import { InboxEvents } from '../inbox-events';
import {
  InboxPage,
  InboxQuery,
  Notification,
  NotificationSearch,
  Recipient,
  recipientKey,
  StateChange,
  UnreadState,
} from '../notification';
import { NotificationNotFoundError } from '../notification.errors';
import { NotificationsRepository } from './notifications.repository';
import { Preferences, PreferencesRepository } from '../audience/preferences.repository';

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

  /** Batched per turn: streams opening together read their states in one query. */
  readonly unreadState: (recipient: Recipient) => Promise<UnreadState> = turnBatch(
    async (recipients) => {
      const states = await this.repository.unreadStates([...recipients]);
      return recipients.map(
        (recipient) => states.get(recipientKey(recipient)) ?? { count: 0, position: '0' },
      );
    },
  );

  /** Unread states of many recipients in one query, keyed by recipientKey. */
  unreadStates(recipients: Recipient[]): Promise<Map<string, UnreadState>> {
    return this.repository.unreadStates(recipients);
  }

  async changeState(recipient: Recipient, id: string, change: StateChange): Promise<Notification> {
    if (change.read === undefined && change.archived === undefined) {
      throw new InvalidInputError(['the body must set read or archived']);
    }
    const notification = await this.repository.changeState(recipient, id, change);
    if (!notification) throw new NotificationNotFoundError(id);
    const { readAt, archivedAt } = notification;
    this.events.emit({ kind: 'updated', recipient, id, readAt, archivedAt });
    return notification;
  }

  async markAllRead(recipient: Recipient): Promise<number> {
    const { updated, upTo, at } = await this.repository.markAllRead(recipient);
    if (upTo !== null) {
      const filter = { status: 'unread' as const };
      this.events.emit({ kind: 'bulk-updated', recipient, upTo, filter, set: { read: true }, at });
    }
    return updated;
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
