import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { Subscription } from 'rxjs';
import { ThrottledWarning } from '../common/throttled-warning';
import { HeraldMetrics } from '../metrics/herald-metrics';
import { Topics } from '../notifications/audience/topics';
import { InboxEvent, InboxEvents } from '../notifications/inbox-events';
import { Recipient, recipientKey } from '../notifications/notification';
import { LiveEvent } from './live-event.command';
import {
  BusMessage,
  EVERYONE_KEY,
  offTheWire,
  onTheWire,
  RealtimeBus,
  topicKey,
  userKey,
  WideBulkChange,
} from './realtime-bus';
import { StreamRegistry } from './stream-registry';
import type { StreamSignal } from './stream-signal';
import { TopicIndex } from './topic-index';
import { UnreadCounts } from './unread-counts';

/**
 * From this many inbox changes and live events in one turn (a fan-out page, a batch of stored
 * notifications, a burst of live events) on, they go to the other instances as one message to
 * all of them, rather than one message each: publishing (and receiving) costs far more per
 * message than skipping a recipient not connected here.
 */
const BUS_BATCH_MIN = 32;

/** What goes to the other instances, and under which routing keys when it goes alone. */
interface Outgoing {
  keys: string[];
  message: InboxEvent | LiveEvent | WideBulkChange;
}

function recipientOf(event: InboxEvent): Recipient {
  return event.kind === 'created' ? event.notification : event.recipient;
}

/**
 * Decides which streams here get what. Inbox changes go to the recipient's streams here (and
 * their unread count to UnreadCounts) and, over the RealtimeBus, to the instances holding their
 * other streams; live events go to the named users, the followers of the topics and (for a
 * broadcast) everyone of the tenant connected here, each recipient once.
 */
@Injectable()
export class RealtimeRouter implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(RealtimeRouter.name);
  private readonly failures = new ThrottledWarning(this.logger);
  private readonly topicIndex = new TopicIndex();
  /** Inbox changes and live events of this turn, for the other instances. */
  private outgoing: Outgoing[] = [];
  private subscription?: Subscription;

  constructor(
    private readonly registry: StreamRegistry,
    private readonly counts: UnreadCounts,
    private readonly topics: Topics,
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
        this.forward([userKey(recipientOf(event))], onTheWire(event));
      }),
    );
    this.subscription.add(
      this.bus.remote$.subscribe((message) => this.guarded(() => this.receive(message))),
    );
  }

  onModuleDestroy(): void {
    this.subscription?.unsubscribe();
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
   * once the bus has the bindings, or after `timeoutMs`: a stream outlives a broker outage.
   */
  async attach(recipient: Recipient, timeoutMs: number): Promise<void> {
    const topics = await this.topics.topicsOf(recipient);
    const keys = [userKey(recipient)];
    for (const topic of topics) {
      if (this.topicIndex.add(recipient, topic)) keys.push(topicKey(recipient.tenantId, topic));
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

  /** After the recipient's last stream here closed. */
  detach(recipient: Recipient): void {
    this.counts.forget(recipient);
    const keys = [
      userKey(recipient),
      ...this.topicIndex.removeAll(recipient).map((topic) => topicKey(recipient.tenantId, topic)),
    ];
    for (const key of keys) this.bus.unbind(key).catch(() => undefined);
  }

  /** A live event from this instance: to the recipients here, and to the other instances. */
  pushLive(event: LiveEvent): void {
    this.deliverLive(event);
    this.forward(
      [
        ...event.userIds.map((userId) => userKey({ userId, tenantId: event.tenantId })),
        ...event.topics.map((topic) => topicKey(event.tenantId, topic)),
        ...(event.broadcast ? [EVERYONE_KEY] : []),
      ],
      event,
    );
  }

  /**
   * Queues a change for the other instances; what one turn of the event loop produced leaves
   * together, in order: one message each, or one batch to every instance. Inbox changes and live
   * events batch apart: an instance older than live batches drops those only.
   */
  private forward(keys: string[], message: InboxEvent | LiveEvent | WideBulkChange): void {
    if (this.outgoing.push({ keys, message }) > 1) return;
    setImmediate(() => {
      const outgoing = this.outgoing;
      this.outgoing = [];
      const live = (each: Outgoing) => each.message.kind === 'live';
      this.publish(outgoing.filter((each) => !live(each)));
      this.publish(outgoing.filter(live));
    });
  }

  private publish(outgoing: Outgoing[]): void {
    if (outgoing.length >= BUS_BATCH_MIN) {
      const events = outgoing.map((each) => each.message);
      this.bus.publish([EVERYONE_KEY], { kind: 'batch', events });
      return;
    }
    for (const { keys, message } of outgoing) this.bus.publish(keys, message);
  }

  private receive(message: BusMessage): void {
    if (message.kind === 'batch') for (const event of message.events) this.receiveOne(event);
    else this.receiveOne(message);
  }

  private receiveOne(message: InboxEvent | LiveEvent | WideBulkChange): void {
    if (message.kind === 'live') this.deliverLive(message);
    else this.route(offTheWire(message));
  }

  private route(event: InboxEvent): void {
    const recipient = recipientOf(event);
    if (!this.registry.isConnected(recipient)) return;
    if (event.kind === 'subscription') {
      this.follow(recipient, event.topic, event.subscribed);
      return;
    }
    this.registry.deliver(recipient, event);
    this.counts.changed(recipient, event);
  }

  private follow(recipient: Recipient, topic: string, subscribed: boolean): void {
    const key = topicKey(recipient.tenantId, topic);
    if (subscribed && this.topicIndex.add(recipient, topic)) {
      this.bus.bind(key).catch(() => undefined);
    } else if (!subscribed && this.topicIndex.remove(recipient, topic)) {
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
      for (const recipient of this.topicIndex.followersOf(tenantId, topic)) add(recipient, topic);
    }
    if (event.broadcast) {
      for (const recipient of this.registry.recipientsOf(tenantId)) add(recipient);
    }
    // One signal per topic, shared by every recipient: its frame is serialized once for all.
    const signals = new Map<string | undefined, StreamSignal>();
    for (const { recipient, topic } of targets.values()) {
      let signal = signals.get(topic);
      if (!signal) {
        signal = { kind: 'live', type, data, ...(topic && { topic }) };
        signals.set(topic, signal);
      }
      this.registry.deliver(recipient, signal);
    }
  }
}
