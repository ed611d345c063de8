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
import { NotificationDraft, recipientKey, RenderedText } from '../notification';
import { NotificationsRepository, StoredDraft } from '../inbox/notifications.repository';
import { DeliveryPreferences, PreferencesRepository } from '../audience/preferences.repository';
import { ScheduledRepository } from '../scheduling/scheduled.repository';
import { canonicalLocale } from '../../common/locale';
import { CompiledTemplate, GroupValues, RENDERED_LIMITS } from '../templates/compiled-template';
import { TemplateError } from '../templates/template';
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

/** A command whose idempotency key was fixed when it arrived (NotificationBatcher.store). */
export type KeyedCommand = CreateNotificationCommand & { id: string };

/** How a templated command's drafts are rendered: its template, arguments and forced locale. */
interface Templating {
  template: CompiledTemplate;
  data: Record<string, unknown>;
  /** The message's `locale`, which wins over the recipient's. */
  locale: string | null;
  /** What each locale rendered for a recipient's first (ungrouped) text: the same for all. */
  rendered: Map<string, RenderedText>;
}

export interface CreateResult {
  /** One id per recipient, whether stored now or earlier under the same idempotency key. */
  ids: string[];
  /** How many of them this call stored (duplicates are not counted). */
  created: number;
  /** Set when the notification is held until `deliverAt`: nothing is stored yet. */
  scheduled?: { id: string; deliverAt: Date };
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
    const templating = await this.templatingOf(keyed);
    const later = keyed.filter((command) => this.isLater(command, now));
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
      (command) => !this.isLater(command, now) && !this.expired(command, now),
    );
    const direct = await this.store(
      keyed.map((command, index) =>
        current[index]
          ? (command.recipients.userIds ?? []).map((userId) => draftOf(command, userId, null))
          : [],
      ),
      templating,
    );
    const results: CreateResult[] = [];
    for (const [index, command] of keyed.entries()) {
      const result = { ...direct[index] };
      if (this.isLater(command, now)) {
        result.scheduled = { id: command.id, deliverAt: new Date(command.deliverAt!) };
      } else if (current[index] && fansOut(command.recipients)) {
        const fanned = await this.fanOut(command, templating[index]);
        result.ids = [...result.ids, ...fanned.ids];
        result.created += fanned.created;
      }
      results.push(result);
    }
    return results;
  }

  /**
   * Each command's Templating (null without `template`), its template looked up with those of
   * the other commands in one query. TemplateError when a template does not exist or the
   * command's `data` cannot render it, before anything of the batch is stored.
   */
  private async templatingOf(keyed: KeyedCommand[]): Promise<(Templating | null)[]> {
    const named = keyed.filter((command) => command.template !== undefined);
    if (named.length === 0) return keyed.map(() => null);
    const keyOf = (command: KeyedCommand) => ({
      tenantId: command.tenantId || null,
      name: command.template!,
    });
    const compiled = await this.templates.compiledFor(named.map(keyOf));
    return keyed.map((command) => {
      if (command.template === undefined) return null;
      const template = compiled.get(templateKeyOf(keyOf(command)))!;
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
        throw new TemplateError(
          problems.map((problem) => `template ${JSON.stringify(template.name)}: ${problem}`),
        );
      }
      return { template, data, locale: canonicalLocale(command.locale), rendered: new Map() };
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
    templating: Templating | null,
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
        const storing = this.store([drafts], [templating]).then(([stored]) => stored);
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
   * ones in each recipient's locale, in order, a transaction of at most TRANSACTION_RECIPIENTS
   * recipients after the other.
   */
  private async store(
    perCommand: NotificationDraft[][],
    templating: (Templating | null)[],
  ): Promise<CreateResult[]> {
    const delivery = await this.preferences.deliveryOf(
      perCommand.flat().map((draft) => draft.recipient),
    );
    const wanted = perCommand.map((drafts, index) => {
      const kept = drafts.filter((draft) => wantedBy(draft, delivery));
      const rendering = templating[index];
      if (!rendering) return kept;
      return kept.map((draft) =>
        rendered(draft, rendering, delivery.get(recipientKey(draft.recipient))?.locale ?? null),
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

/** A group as its first message makes it, before storing finds the one it may join. */
function groupStart(actor: string | null | undefined): GroupValues {
  return { count: 1, actors: actor === null || actor === undefined ? [] : [actor] };
}

/**
 * The draft with its title, body and action labels rendered in the template's locale nearest
 * the message's `locale`, else the recipient's; a draft of a group renders again once storing
 * knows the group's count and actors. Templating checked the default locale renders
 * (problemsWith); another is cut to the limits, and where its title renders blank the default
 * locale's is taken.
 */
function rendered(
  draft: NotificationDraft,
  { template, data, locale, rendered: first }: Templating,
  recipientLocale: string | null,
): NotificationDraft {
  const chosen = template.localeFor(locale ?? recipientLocale);
  const text = (group: GroupValues | null): RenderedText => {
    const own = template.render(chosen, data, group);
    // Blank in this locale (its title is only arguments): the default locale's, which was checked.
    const { title, body, labels } = /\S/.test(own.title)
      ? own
      : template.render(template.defaultLocale, data, group);
    return {
      title: title.slice(0, RENDERED_LIMITS.title),
      body: body === null ? draft.body : body.slice(0, RENDERED_LIMITS.body),
      actions: draft.actions.map((action) => ({
        ...action,
        label: (labels[action.id] ?? action.label).slice(0, RENDERED_LIMITS.label),
      })),
    };
  };
  let start = first.get(chosen);
  if (!start) first.set(chosen, (start = text(draft.group && groupStart(draft.group.actor))));
  return {
    ...draft,
    ...start,
    locale: chosen,
    ...(draft.group && { regroup: text }),
  };
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
