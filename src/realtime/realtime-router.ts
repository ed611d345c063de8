import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { Subscription } from 'rxjs';
import { ThrottledWarning } from '../common/throttled-warning';
import { HeraldMetrics } from '../metrics/herald-metrics';
import { InboxEvent, InboxEvents } from '../notifications/inbox-events';
import { Recipient, recipientKey, UnreadState } from '../notifications/notification';
import { Inbox } from '../notifications/inbox/inbox';
import { Topics } from '../notifications/audience/topics';
import { LiveEvent } from './live-event.command';
import { BusMessage, EVERYONE_KEY, RealtimeBus, topicKey, userKey } from './realtime-bus';
import { SeenIds } from './seen-ids';
import { StreamRegistry } from './stream-registry';
import { TopicIndex } from './topic-index';

/** What a stream is told: an inbox change, the new unread count, or a live event. */
export type StreamSignal =
  | Extract<InboxEvent, { kind: 'created' | 'updated' | 'bulk-updated' }>
  | { kind: 'unread-count'; count: number }
  | { kind: 'live'; type: string; data: Record<string, unknown>; topic?: string };

/** Unread counts are recomputed once per burst of changes, for all recipients at once. */
const COUNT_DEBOUNCE_MS = 20;
/** Recipients per unread-count query. */
const COUNT_BATCH = 1000;
/**
 * From this many inbox changes in one tick (a fan-out page, a batch of stored notifications) on,
 * they go to the other instances as one message to all of them, rather than one message per
 * recipient: publishing costs far more per message than skipping a recipient not connected here.
 */
const BUS_BATCH_MIN = 32;
/** How often counts that take in a notification due to expire are looked at. */
const EXPIRY_SWEEP_MS = 1000;

/** An unread count sent, the notifications it takes in, and when it last went up by one. */
interface CountSent {
  count: number;
  counted: SeenIds;
  /** `RealtimeRouter.increments` at its last +1; 0 for a count read from storage. */
  incremented: number;
}

/** A count read from storage: it takes in every notification up to the newest it saw. */
function countOf(state: UnreadState): CountSent {
  return { count: state.count, counted: new SeenIds(state.position), incremented: 0 };
}

function recipientOf(event: InboxEvent): Recipient {
  return event.kind === 'created' ? event.notification : event.recipient;
}

/**
 * Decides which streams here get what. Inbox changes go to the recipient's streams here and, over
 * the RealtimeBus, to the instances holding their other streams; live events go to the named
 * users, the followers of the topics and (for a broadcast) everyone of the tenant connected
 * here, each recipient once. A new notification's unread count goes out with it: the last count
 * sent plus one when that count does not take it in yet, unchanged otherwise (a count read from
 * storage takes in every id up to the newest it saw, as ids of a recipient grow in commit order;
 * one counted since is remembered by id, as they may arrive out of order: SeenIds). Other changes
 * (read, archived, deleted) are recounted in the database once per burst, for all recipients of
 * the burst at once, and sent when the count differs from the last one sent.
 */
@Injectable()
export class RealtimeRouter implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(RealtimeRouter.name);
  private readonly failures = new ThrottledWarning(this.logger);
  private readonly topics = new TopicIndex();
  private readonly countsDue = new Map<string, Recipient>();
  /**
   * The unread count last sent to every stream of a recipient here, when all got the same, and
   * the notifications it takes in.
   */
  private readonly countsSent = new Map<string, CountSent>();
  /** Every +1 of any count: a recount read before a count's last +1 may not take it in. */
  private increments = 0;
  private countTimer?: NodeJS.Timeout;
  /**
   * When each count sent here next loses a notification to expiry (the earliest `expiresAt` it
   * takes in): it is read again then, as an expiry is a change no event announces.
   */
  private readonly expiries = new Map<string, { recipient: Recipient; at: number }>();
  private expiryTimer?: NodeJS.Timeout;
  /** Inbox changes of this tick, for the other instances. */
  private outgoing: InboxEvent[] = [];
  private subscription?: Subscription;

  constructor(
    private readonly registry: StreamRegistry<StreamSignal>,
    private readonly notifications: Inbox,
    private readonly topicsService: Topics,
    private readonly events: InboxEvents,
    private readonly bus: RealtimeBus,
    private readonly metrics: HeraldMetrics,
  ) {}

  onModuleInit(): void {
    // A subscriber that throws ends the process (RxJS rethrows it asynchronously): whatever goes
    // wrong with one change is that change's loss only, and its streams replay it on reconnect.
    this.subscription = this.events.events$.subscribe((event) =>
      this.guarded(() => {
        this.route(event);
        this.forward(event);
      }),
    );
    this.subscription.add(
      this.bus.remote$.subscribe((message) => this.guarded(() => this.receive(message))),
    );
  }

  onModuleDestroy(): void {
    this.subscription?.unsubscribe();
    clearTimeout(this.countTimer);
    clearInterval(this.expiryTimer);
  }

  private guarded(work: () => void): void {
    try {
      work();
    } catch (error) {
      this.metrics.busDropped.inc({ reason: 'unroutable' });
      this.failures.warn(`Could not route a change: ${String(error).slice(0, 200)}`);
    }
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

  /** A new stream of the recipient sent `state.count` as its first unread count. */
  opened(recipient: Recipient, state: UnreadState): void {
    const key = recipientKey(recipient);
    const sent = this.countsSent.get(key);
    if (this.registry.streamsOf(recipient) === 1) this.countRead(recipient, state);
    else if (sent?.count !== state.count || sent.counted.newest !== state.position) {
      // Its tabs started from different counts: a recount tells them all the same one.
      this.countsSent.delete(key);
      this.countSoon(recipient);
    }
  }

  /** After the recipient's last stream here closed. */
  detach(recipient: Recipient): void {
    this.countsSent.delete(recipientKey(recipient));
    this.expiries.delete(recipientKey(recipient));
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

  /** Queues an inbox change for the other instances; what one tick changed leaves together. */
  private forward(event: InboxEvent): void {
    if (this.outgoing.push(event) > 1) return;
    queueMicrotask(() => {
      const events = this.outgoing;
      this.outgoing = [];
      if (events.length >= BUS_BATCH_MIN) {
        this.bus.publish([EVERYONE_KEY], { kind: 'batch', events });
        return;
      }
      for (const each of events) this.bus.publish([userKey(recipientOf(each))], each);
    });
  }

  private receive(message: BusMessage): void {
    if (message.kind === 'live') this.deliverLive(message);
    else if (message.kind === 'batch') for (const event of message.events) this.route(event);
    else this.route(message);
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
    if (event.kind !== 'created' || sent === undefined) {
      this.countSoon(recipient);
    } else {
      const seen = sent.counted.add(event.notification.id);
      if (seen === 'new') {
        // Sent in the same tick as the notification, so both leave in one write per stream.
        sent.count += 1;
        sent.incremented = ++this.increments;
        this.expiresAt(recipient, event.notification.expiresAt);
        this.registry.deliver(recipient, { kind: 'unread-count', count: sent.count });
      } else if (seen === 'unknown') {
        this.countSoon(recipient); // too late to tell whether the count took it in
      } // else the count sent takes it in already
    }
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
    // One signal per topic, shared by every recipient: its frame is serialized once for all.
    const signals = new Map<string | undefined, StreamSignal>();
    for (const { recipient, topic } of targets.values()) {
      let signal = signals.get(topic);
      if (!signal)
        signals.set(topic, (signal = { kind: 'live', type, data, ...(topic && { topic }) }));
      this.registry.deliver(recipient, signal);
    }
  }

  /** The count read from storage is now the one sent to the recipient's streams here. */
  private countRead(recipient: Recipient, state: UnreadState): void {
    const key = recipientKey(recipient);
    this.countsSent.set(key, countOf(state));
    this.expiries.delete(key);
    this.expiresAt(recipient, state.nextExpiry);
  }

  /** The count sent takes in a notification that expires at `at` (a Date, or its JSON). */
  private expiresAt(recipient: Recipient, at: Date | string | null | undefined): void {
    if (!at) return;
    const time = new Date(at).getTime();
    const key = recipientKey(recipient);
    const known = this.expiries.get(key);
    if (known && known.at <= time) return;
    this.expiries.set(key, { recipient, at: time });
    this.expiryTimer ??= setInterval(() => this.sweepExpiries(), EXPIRY_SWEEP_MS).unref();
  }

  private sweepExpiries(): void {
    const now = Date.now();
    for (const [key, { recipient, at }] of this.expiries) {
      if (at > now) continue;
      this.expiries.delete(key);
      this.countSoon(recipient);
    }
    if (this.expiries.size === 0) {
      clearInterval(this.expiryTimer);
      this.expiryTimer = undefined;
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
        const readFrom = this.increments;
        const states = await this.notifications.unreadStates(batch);
        for (const recipient of batch) {
          if (!this.registry.isConnected(recipient)) continue;
          const key = recipientKey(recipient);
          const state = states.get(key) ?? { count: 0, position: '0' };
          const sent = this.countsSent.get(key);
          if (sent && sent.incremented > readFrom) {
            // A notification was counted while this count was read: it may be behind, count again.
            this.countSoon(recipient);
            continue;
          }
          this.countRead(recipient, state);
          if (sent?.count !== state.count) {
            this.registry.deliver(recipient, { kind: 'unread-count', count: state.count });
          }
        }
      } catch (error) {
        this.logger.warn(`Unread counts failed: ${String(error)}`);
      }
    }
  }
}
