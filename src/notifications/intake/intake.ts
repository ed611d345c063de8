import { createHash } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { instanceToPlain } from 'class-transformer';
import { CapacityError } from '../../common/domain-error';
import { AudienceRepository } from '../audience/audience.repository';
import { fansOut, RecipientsSpec } from '../addressed-message';
import {
  CreateNotificationCommand,
  DEFAULT_GROUP_WINDOW_SECONDS,
} from './create-notification.command';
import { InboxEvents } from '../inbox-events';
import { isMuted } from '../audience/muting';
import { NotificationDraft, recipientKey } from '../notification';
import { NotificationsRepository, StoredDraft } from '../inbox/notifications.repository';
import { DeliveryPreferences, PreferencesRepository } from '../audience/preferences.repository';
import { ScheduledRepository } from '../scheduling/scheduled.repository';
import { canonicalLocale } from '../../common/locale';
import { TemplateError } from '../templates/template';
import { groupStart, Reader, TemplatedMessage } from '../templates/templated-message';
import { templateKeyOf, Templates } from '../templates/templates';

/**
 * Distinct recipients per transaction, however many messages share a batch: each transaction
 * takes an advisory lock per recipient (see NotificationsRepository.insertMany), and PostgreSQL's
 * lock table is shared by every connection and bounded (max_locks_per_transaction ×
 * max_connections: 6,400 by default). Two batches and two fan-out pages in flight hold at most
 * 2,000 of them per instance.
 */
export const TRANSACTION_RECIPIENTS = 500;
/** Recipients per page (one transaction) when a topic or a broadcast fans out. */
export const FAN_OUT_PAGE = TRANSACTION_RECIPIENTS;
/** Fan-out pages being stored at once, each in its own transaction. */
const FAN_OUT_IN_FLIGHT = 2;
/** A recipient who set no locale or time zone: the template's default, the server's zone. */
const NO_PREFERENCE: Reader = { locale: null, timeZone: null };

/** A command whose idempotency key was fixed when it arrived (NotificationBatcher.store). */
export type KeyedCommand = CreateNotificationCommand & { id: string };

export interface CreateResult {
  /** One id per recipient, whether stored now or earlier under the same idempotency key. */
  ids: string[];
  /** How many of them this call stored (duplicates are not counted). */
  created: number;
  /** Set when the notification is held until `deliverAt`: nothing is stored yet. */
  scheduled?: { id: string; deliverAt: Date };
  /** Set when its template is unknown or cannot render its `data`: nothing of it is stored. */
  refused?: TemplateError;
}

/**
 * Turns validated commands into stored notifications: drops what expired on arrival and what a
 * recipient muted (`critical` always goes through), holds what is scheduled for later, expands
 * topics and broadcasts page by page, and tells InboxEvents about each notification it stored.
 */
@Injectable()
export class Intake {
  private readonly logger = new Logger(Intake.name);

  constructor(
    private readonly repository: NotificationsRepository,
    private readonly preferences: PreferencesRepository,
    private readonly audience: AudienceRepository,
    private readonly scheduled: ScheduledRepository,
    private readonly templates: Templates,
    private readonly events: InboxEvents,
  ) {}

  /**
   * Stores the named recipients of every command, in command order, in transactions of at most
   * TRANSACTION_RECIPIENTS recipients, then fans each topic or broadcast out in pages of
   * FAN_OUT_PAGE recipients. Storing the same commands again stores nothing new (a redelivery
   * after a crash mid-fan-out completes it).
   */
  async create(keyed: KeyedCommand[], now = new Date()): Promise<CreateResult[]> {
    const templating = await this.templatingOf(keyed, now);
    const refused = (index: number) => templating[index] instanceof TemplateError;
    const later = keyed.filter((command, index) => this.isLater(command, now) && !refused(index));
    await this.scheduled.schedule(
      later.map((command) => ({
        tenantId: command.tenantId || null,
        id: command.id,
        recipientsKey: recipientsKeyOf(command.recipients),
        command: instanceToPlain(command),
        deliverAt: new Date(command.deliverAt!),
      })),
    );

    const current = keyed.map(
      (command, index) =>
        !this.isLater(command, now) && !this.expired(command, now) && !refused(index),
    );
    const rendering = templating.map((each) => (each instanceof TemplateError ? null : each));
    const direct = await this.store(
      keyed.map((command, index) =>
        current[index]
          ? (command.recipients.userIds ?? []).map((userId) => draftOf(command, userId, null))
          : [],
      ),
      rendering,
    );
    const results: CreateResult[] = [];
    for (const [index, command] of keyed.entries()) {
      const result: CreateResult = { ...direct[index] };
      const template = templating[index];
      if (template instanceof TemplateError) {
        result.refused = template;
      } else if (this.isLater(command, now)) {
        result.scheduled = { id: command.id, deliverAt: new Date(command.deliverAt!) };
      } else if (current[index] && fansOut(command.recipients)) {
        const fanned = await this.fanOut(command, template);
        result.ids = [...result.ids, ...fanned.ids];
        result.created += fanned.created;
      }
      results.push(result);
    }
    return results;
  }

  /**
   * Each command's TemplatedMessage (null without `template`, or when it expired before it
   * arrived and is dropped anyway), the templates of all of them looked up in one query; a
   * TemplateError for a command whose template does not exist or cannot render its `data`, which
   * then stores nothing (and fails alone, not its batch).
   */
  private async templatingOf(
    keyed: KeyedCommand[],
    now: Date,
  ): Promise<(TemplatedMessage | TemplateError | null)[]> {
    const templated = (command: KeyedCommand) =>
      command.template != null && !this.expired(command, now);
    const keyOf = (command: KeyedCommand) => ({
      tenantId: command.tenantId || null,
      name: command.template!,
    });
    const named = keyed.filter(templated);
    if (named.length === 0) return keyed.map(() => null);
    const compiled = await this.templates.compiledFor(named.map(keyOf));
    return keyed.map((command) => {
      if (!templated(command)) return null;
      const { tenantId, name } = keyOf(command);
      const template = compiled.get(templateKeyOf({ tenantId, name }));
      if (!template) {
        const tenant = tenantId === null ? '' : ` for tenant ${JSON.stringify(tenantId)}`;
        return new TemplateError([`template ${JSON.stringify(name)} does not exist${tenant}`]);
      }
      const data = command.data ?? {};
      const unlabelled = (command.actions ?? [])
        .filter((action) => action.label === undefined)
        .map((action) => action.id);
      const problems = template.problemsWith(
        data,
        command.group ? groupStart(command.group.actor) : null,
        unlabelled,
      );
      if (problems.length > 0) {
        return new TemplateError(
          problems.map((problem) => `template ${JSON.stringify(name)}: ${problem}`),
        );
      }
      return new TemplatedMessage(template, data, canonicalLocale(command.locale));
    });
  }

  private isLater(command: CreateNotificationCommand, now: Date): boolean {
    return !!command.deliverAt && new Date(command.deliverAt) > now;
  }

  private expired(command: CreateNotificationCommand, now: Date): boolean {
    return !!command.expiresAt && new Date(command.expiresAt) <= now;
  }

  /**
   * Topic subscribers or every known user, a page (one transaction) at a time; the next page is
   * read and stored while the previous one commits (pages have distinct users: per-user order
   * holds).
   */
  private async fanOut(
    command: KeyedCommand,
    templated: TemplatedMessage | null,
  ): Promise<{ ids: string[]; created: number }> {
    const { recipients } = command;
    const named = new Set(recipients.userIds ?? []);
    const audience = {
      tenantId: command.tenantId || null,
      topics: recipients.topics ?? [],
      broadcast: recipients.broadcast === true,
    };
    const pages: Promise<CreateResult>[] = [];
    try {
      for (let after: string | undefined; ;) {
        const page = await this.audience.page(audience, after, FAN_OUT_PAGE);
        const drafts = page
          .filter((member) => !named.has(member.userId))
          .map((member) => draftOf(command, member.userId, member.topic));
        const storing = this.store([drafts], [templated]).then(([stored]) => stored);
        // Handled below; without this, a page failing while the loop awaits another would be an
        // unhandled rejection, which ends the process.
        storing.catch(() => undefined);
        pages.push(storing);
        if (pages.length >= FAN_OUT_IN_FLIGHT) await pages[pages.length - FAN_OUT_IN_FLIGHT];
        if (page.length < FAN_OUT_PAGE) break;
        after = page[page.length - 1].userId;
      }
    } finally {
      await Promise.allSettled(pages); // none left running when the message is answered or retried
    }
    const stored = await Promise.all(pages);
    return {
      ids: stored.flatMap((page) => page.ids),
      created: stored.reduce((sum, page) => sum + page.created, 0),
    };
  }

  /**
   * Stores drafts (grouped per command), leaving out muted recipients and rendering templated
   * ones in each recipient's locale and time zone, in order, a transaction of at most TRANSACTION_RECIPIENTS
   * recipients after the other.
   */
  private async store(
    perCommand: NotificationDraft[][],
    templated: (TemplatedMessage | null)[],
  ): Promise<CreateResult[]> {
    const delivery = await this.preferences.deliveryOf(
      perCommand.flat().map((draft) => draft.recipient),
    );
    const wanted = perCommand.map((drafts, index) => {
      const kept = drafts.filter((draft) => wantedBy(draft, delivery));
      const message = templated[index];
      if (!message) return kept;
      return kept.map((draft) =>
        message.render(draft, delivery.get(recipientKey(draft.recipient)) ?? NO_PREFERENCE),
      );
    });
    const stored: StoredDraft[] = [];
    for (const part of byRecipients(wanted.flat(), TRANSACTION_RECIPIENTS)) {
      stored.push(...(await this.insert(part)));
    }
    let next = 0;
    return wanted.map((drafts) => {
      const mine = stored.slice(next, (next += drafts.length));
      return {
        ids: mine.map((entry) => entry.notification.id),
        created: mine.filter((entry) => entry.created).length,
      };
    });
  }

  /**
   * One transaction, and the events of what it created once it committed. When the database
   * could not hold it (its lock table is shared with every other transaction), the two halves go
   * one after the other: a batch's own size never makes valid messages fail.
   */
  private async insert(drafts: NotificationDraft[]): Promise<StoredDraft[]> {
    let stored: StoredDraft[];
    try {
      stored = await this.repository.insertMany(drafts);
    } catch (error) {
      if (!(error instanceof CapacityError) || drafts.length < 2) throw error;
      const half = Math.ceil(drafts.length / 2);
      this.logger.warn(`${error.message}; storing ${drafts.length} drafts in two halves`);
      return [
        ...(await this.insert(drafts.slice(0, half))),
        ...(await this.insert(drafts.slice(half))),
      ];
    }
    for (const [index, { created, notification, previousId, replaced }] of stored.entries()) {
      if (created && replaced) {
        // Before the new one, as in storage: a tab never holds both.
        this.events.emit({
          kind: 'updated',
          recipient: drafts[index].recipient,
          id: replaced,
          readAt: null,
          archivedAt: null,
          deleted: true,
          replacedBy: notification.id,
        });
      }
      if (created) {
        this.events.emit({
          kind: 'created',
          notification,
          sentAt: drafts[index].sentAt,
          previousId,
        });
      }
    }
    return stored;
  }
}

/** Whether its recipient gets it: they did not mute its type or category, or it is `critical`. */
function wantedBy(draft: NotificationDraft, delivery: Map<string, DeliveryPreferences>): boolean {
  const muting = delivery.get(recipientKey(draft.recipient));
  return draft.priority === 'critical' || !muting || !isMuted(draft, muting);
}

/** Who a command names, as a digest that does not depend on the order they were named in. */
function recipientsKeyOf(recipients: RecipientsSpec): string {
  const named = {
    userIds: [...(recipients.userIds ?? [])].sort(),
    topics: [...(recipients.topics ?? [])].sort(),
    broadcast: recipients.broadcast === true,
  };
  return createHash('sha256').update(JSON.stringify(named)).digest('base64url');
}

/** Consecutive runs of drafts with at most `limit` distinct recipients each. */
export function* byRecipients(
  drafts: NotificationDraft[],
  limit: number,
): Generator<NotificationDraft[]> {
  let part: NotificationDraft[] = [];
  const recipients = new Set<string>();
  for (const draft of drafts) {
    const key = recipientKey(draft.recipient);
    if (!recipients.has(key) && recipients.size >= limit) {
      yield part;
      part = [];
      recipients.clear();
    }
    recipients.add(key);
    part.push(draft);
  }
  if (part.length > 0) yield part;
}

function draftOf(command: KeyedCommand, userId: string, topic: string | null): NotificationDraft {
  return {
    recipient: { userId, tenantId: command.tenantId || null },
    idempotencyKey: command.id,
    type: command.type,
    // A templated one's are rendered per recipient (see rendered()).
    title: command.title ?? '',
    body: command.body ?? null,
    data: command.data ?? {},
    priority: command.priority ?? 'normal',
    topic,
    expiresAt: command.expiresAt ? new Date(command.expiresAt) : null,
    url: command.url ?? null,
    actions: (command.actions ?? []).map(({ id, label, url }) => ({
      id,
      label: label ?? '',
      ...(url !== undefined && { url }),
    })),
    category: command.category ?? null,
    collapseKey: command.collapseKey ?? null,
    group: command.group
      ? {
          key: command.group.key,
          windowSeconds: command.group.windowSeconds ?? DEFAULT_GROUP_WINDOW_SECONDS,
          actor: command.group.actor ?? null,
        }
      : null,
    locale: null,
    sentAt: command.sentAt,
  };
}
