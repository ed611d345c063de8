import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { Subscription } from 'rxjs';
import { InboxEvent, InboxEvents } from '../notifications/inbox-events';
import { Recipient, recipientKey } from '../notifications/notification';
import { NotificationsService } from '../notifications/notifications.service';
import { TopicsService } from '../notifications/topics.service';
import { LiveEvent } from './live-event.command';
import { BusMessage, EVERYONE_KEY, RealtimeBus, topicKey, userKey } from './realtime-bus';
import { StreamRegistry } from './stream-registry';
import { TopicIndex } from './topic-index';

/** What a stream is told: an inbox change, the new unread count, or a live event. */
export type StreamSignal =
  | Extract<InboxEvent, { kind: 'created' | 'updated' }>
  | { kind: 'unread-count'; count: number }
  | { kind: 'live'; type: string; data: Record<string, unknown>; topic?: string };

/** Unread counts are recomputed once per burst of changes, for all recipients at once. */
const COUNT_DEBOUNCE_MS = 20;
/** Recipients per unread-count query. */
const COUNT_BATCH = 1000;

function recipientOf(event: InboxEvent): Recipient {
  return event.kind === 'created' ? event.notification : event.recipient;
}

/**
 * Decides which streams here get what. Inbox changes go to the recipient's streams here and, over
 * the RealtimeBus, to the instances holding their other streams; live events go to the named
 * users, the followers of the topics and (for a broadcast) everyone of the tenant connected
 * here, each recipient once. An unread count follows every burst of changes: counted in the
 * database for all recipients of the burst at once, and sent when it differs from the last one
 * sent; a new notification's count goes out with it (the last count plus one), then is checked.
 */
@Injectable()
export class RealtimeRouter implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(RealtimeRouter.name);
  private readonly topics = new TopicIndex();
  private readonly countsDue = new Map<string, Recipient>();
  /** The unread count last sent to every stream of a recipient here, when all got the same. */
  private readonly countsSent = new Map<string, number>();
  private countTimer?: NodeJS.Timeout;
  private subscription?: Subscription;

  constructor(
    private readonly registry: StreamRegistry<StreamSignal>,
    private readonly notifications: NotificationsService,
    private readonly topicsService: TopicsService,
    private readonly events: InboxEvents,
    private readonly bus: RealtimeBus,
  ) {}

  onModuleInit(): void {
    this.subscription = this.events.events$.subscribe((event) => {
      this.route(event);
      this.bus.publish([userKey(recipientOf(event))], event);
    });
    this.subscription.add(
      this.bus.remote$.subscribe((message: BusMessage) =>
        message.kind === 'live' ? this.deliverLive(message) : this.route(message),
      ),
    );
  }

  onModuleDestroy(): void {
    this.subscription?.unsubscribe();
    clearTimeout(this.countTimer);
  }

  /**
   * Starts routing the recipient's changes and topics here (on their first stream here); resolves
   * once the broker has the bindings, or after `timeoutMs`: a stream outlives a broker outage.
   */
  async attach(recipient: Recipient, timeoutMs: number): Promise<void> {
    const topics = await this.topicsService.topicsOf(recipient);
    const keys = [userKey(recipient)];
    for (const topic of topics) {
      if (this.topics.add(recipient, topic)) keys.push(topicKey(recipient.tenantId, topic));
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    const bound = Promise.all(keys.map((key) => this.bus.bind(key))).catch(() => undefined);
    try {
      await Promise.race([bound, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** A new stream of the recipient sent `count` as its first unread count. */
  opened(recipient: Recipient, count: number): void {
    const key = recipientKey(recipient);
    if (this.registry.streamsOf(recipient) === 1) this.countsSent.set(key, count);
    else if (this.countsSent.get(key) !== count) this.countsSent.delete(key);
  }

  /** After the recipient's last stream here closed. */
  detach(recipient: Recipient): void {
    this.countsSent.delete(recipientKey(recipient));
    const keys = [
      userKey(recipient),
      ...this.topics.removeAll(recipient).map((topic) => topicKey(recipient.tenantId, topic)),
    ];
    for (const key of keys) this.bus.unbind(key).catch(() => undefined);
  }

  /** A live event from this instance: to the recipients here, and to the other instances. */
  pushLive(event: LiveEvent): void {
    this.deliverLive(event);
    this.bus.publish(
      [
        ...event.userIds.map((userId) => userKey({ userId, tenantId: event.tenantId })),
        ...event.topics.map((topic) => topicKey(event.tenantId, topic)),
        ...(event.broadcast ? [EVERYONE_KEY] : []),
      ],
      event,
    );
  }

  private route(event: InboxEvent): void {
    const recipient = recipientOf(event);
    if (!this.registry.isConnected(recipient)) return;
    if (event.kind === 'subscription') {
      this.follow(recipient, event.topic, event.subscribed);
      return;
    }
    this.registry.deliver(recipient, event);
    const key = recipientKey(recipient);
    const sent = this.countsSent.get(key);
    if (event.kind === 'created' && sent !== undefined) {
      // Sent in the same tick as the notification, so both leave in one write per stream; the
      // recount below corrects it if anything else changed meanwhile.
      this.countsSent.set(key, sent + 1);
      this.registry.deliver(recipient, { kind: 'unread-count', count: sent + 1 });
    }
    this.countSoon(recipient);
  }

  private follow(recipient: Recipient, topic: string, subscribed: boolean): void {
    const key = topicKey(recipient.tenantId, topic);
    if (subscribed && this.topics.add(recipient, topic)) {
      this.bus.bind(key).catch(() => undefined);
    } else if (!subscribed && this.topics.remove(recipient, topic)) {
      this.bus.unbind(key).catch(() => undefined);
    }
  }

  /** Each connected recipient once: named first, then by topic, then everyone of the tenant. */
  private deliverLive(event: LiveEvent): void {
    const { tenantId, type, data } = event;
    const targets = new Map<string, { recipient: Recipient; topic?: string }>();
    const add = (recipient: Recipient, topic?: string) => {
      const key = recipientKey(recipient);
      if (!targets.has(key) && this.registry.isConnected(recipient)) {
        targets.set(key, { recipient, topic });
      }
    };
    for (const userId of event.userIds) add({ userId, tenantId });
    for (const topic of event.topics) {
      for (const recipient of this.topics.followersOf(tenantId, topic)) add(recipient, topic);
    }
    if (event.broadcast)
      for (const recipient of this.registry.recipientsOf(tenantId)) add(recipient);
    for (const { recipient, topic } of targets.values()) {
      this.registry.deliver(recipient, { kind: 'live', type, data, ...(topic && { topic }) });
    }
  }

  private countSoon(recipient: Recipient): void {
    this.countsDue.set(recipientKey(recipient), recipient);
    this.countTimer ??= setTimeout(() => {
      this.countTimer = undefined;
      void this.sendCounts();
    }, COUNT_DEBOUNCE_MS);
  }

  private async sendCounts(): Promise<void> {
    const due = [...this.countsDue.values()];
    this.countsDue.clear();
    for (let start = 0; start < due.length; start += COUNT_BATCH) {
      const batch = due.slice(start, start + COUNT_BATCH);
      try {
        const counts = await this.notifications.unreadCounts(batch);
        for (const recipient of batch) {
          const key = recipientKey(recipient);
          const count = counts.get(key) ?? 0;
          if (this.countsSent.get(key) === count || !this.registry.isConnected(recipient)) continue;
          this.countsSent.set(key, count);
          this.registry.deliver(recipient, { kind: 'unread-count', count });
        }
      } catch (error) {
        this.logger.warn(`Unread counts failed: ${String(error)}`);
      }
    }
  }
}
