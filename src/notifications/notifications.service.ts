import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InvalidInputError } from '../common/domain-error';
import { CreateNotificationCommand } from './create-notification.command';
import type {
  InboxPage,
  InboxQuery,
  Notification,
  NotificationDraft,
  Recipient,
  StateChange,
} from './notification';
import { NotificationNotFoundError } from './notification.errors';
import { NotificationsRepository } from './notifications.repository';

export interface CreateResult {
  /** One id per recipient, whether stored now or earlier under the same idempotency key. */
  ids: string[];
  /** Only the notifications this call stored (duplicates are left out). */
  created: Notification[];
}

@Injectable()
export class NotificationsService {
  constructor(private readonly repository: NotificationsRepository) {}

  /**
   * Stores validated commands in one transaction, one row per recipient. A command without `id`
   * gets a random idempotency key: it cannot be deduplicated, as the producer gave no key.
   */
  async create(commands: CreateNotificationCommand[]): Promise<CreateResult[]> {
    const perCommand = commands.map((command) => this.draftsOf(command));
    const stored = await this.repository.insertMany(perCommand.flat());
    let next = 0;
    return perCommand.map((drafts) => {
      const mine = stored.slice(next, (next += drafts.length));
      return {
        ids: mine.map((entry) => entry.notification.id),
        created: mine.filter((entry) => entry.created).map((entry) => entry.notification),
      };
    });
  }

  list(recipient: Recipient, query: InboxQuery): Promise<InboxPage> {
    return this.repository.list(recipient, query);
  }

  unreadCount(recipient: Recipient): Promise<number> {
    return this.repository.countUnread(recipient);
  }

  async changeState(recipient: Recipient, id: string, change: StateChange): Promise<Notification> {
    if (change.read === undefined && change.archived === undefined) {
      throw new InvalidInputError(['the body must set read or archived']);
    }
    const notification = await this.repository.changeState(recipient, id, change);
    if (!notification) throw new NotificationNotFoundError(id);
    return notification;
  }

  markAllRead(recipient: Recipient): Promise<number> {
    return this.repository.markAllRead(recipient);
  }

  async delete(recipient: Recipient, id: string): Promise<void> {
    if (!(await this.repository.delete(recipient, id))) throw new NotificationNotFoundError(id);
  }

  private draftsOf(command: CreateNotificationCommand): NotificationDraft[] {
    const idempotencyKey = command.id ?? randomUUID();
    return command.recipients.userIds.map((userId) => ({
      recipient: { userId, tenantId: command.tenantId || null },
      idempotencyKey,
      type: command.type,
      title: command.title,
      body: command.body ?? null,
      data: command.data ?? {},
      priority: command.priority ?? 'normal',
      topic: null,
      expiresAt: command.expiresAt ? new Date(command.expiresAt) : null,
    }));
  }
}
