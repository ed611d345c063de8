import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InvalidInputError } from '../common/domain-error';
import { CreateNotificationCommand } from './create-notification.command';
import { InboxEvents } from './inbox-events';
import {
  InboxPage,
  InboxQuery,
  Notification,
  NotificationDraft,
  Recipient,
  recipientKey,
  StateChange,
} from './notification';
import { NotificationNotFoundError } from './notification.errors';
import { NotificationsRepository } from './notifications.repository';
import { isMuted } from './muting';
import { Preferences, PreferencesRepository } from './preferences.repository';

export interface CreateResult {
  /** One id per recipient, whether stored now or earlier under the same idempotency key. */
  ids: string[];
  /** Only the notifications this call stored (duplicates are left out). */
  created: Notification[];
}

@Injectable()
export class NotificationsService {
  constructor(
    private readonly repository: NotificationsRepository,
    private readonly preferences: PreferencesRepository,
    private readonly events: InboxEvents,
  ) {}

  /**
   * Stores validated commands in one transaction, one row per recipient, except recipients who
   * muted the type. A command without `id` gets a random idempotency key: it cannot be
   * deduplicated, as the producer gave no key.
   */
  async create(commands: CreateNotificationCommand[]): Promise<CreateResult[]> {
    const now = Date.now();
    const perCommand = await this.withoutMuted(
      commands.map((command) =>
        // Expired on arrival: never delivered, so not stored either.
        this.draftsOf(command).filter(
          (draft) => !draft.expiresAt || draft.expiresAt.getTime() > now,
        ),
      ),
    );
    const stored = await this.repository.insertMany(perCommand.flat());
    for (const entry of stored) {
      if (entry.created) this.events.emit({ kind: 'created', notification: entry.notification });
    }
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
    const { readAt, archivedAt } = notification;
    this.events.emit({ kind: 'updated', recipient, id, readAt, archivedAt });
    return notification;
  }

  async markAllRead(recipient: Recipient): Promise<number> {
    const ids = await this.repository.markAllRead(recipient);
    const readAt = new Date();
    for (const id of ids) {
      this.events.emit({ kind: 'updated', recipient, id, readAt, archivedAt: null });
    }
    return ids.length;
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

  /** A stream's opening position: the newest id stored now, or "0" when there is none. */
  async position(recipient: Recipient): Promise<string> {
    return (await this.repository.latestId(recipient)) ?? '0';
  }

  /** Drops drafts whose recipient muted their type; `critical` always goes through. */
  private async withoutMuted(perCommand: NotificationDraft[][]): Promise<NotificationDraft[][]> {
    const recipients = perCommand.flat().map((draft) => draft.recipient);
    const muted = await this.preferences.mutedTypesOf(recipients);
    if (muted.size === 0) return perCommand;
    return perCommand.map((drafts) =>
      drafts.filter(
        (draft) =>
          draft.priority === 'critical' ||
          !isMuted(draft.type, muted.get(recipientKey(draft.recipient)) ?? []),
      ),
    );
  }

  getPreferences(recipient: Recipient): Promise<Preferences> {
    return this.preferences.get(recipient);
  }

  setPreferences(recipient: Recipient, preferences: Preferences): Promise<Preferences> {
    return this.preferences.set(recipient, preferences);
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
