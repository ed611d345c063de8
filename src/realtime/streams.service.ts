import {
  Injectable,
  Logger,
  MessageEvent,
  BeforeApplicationShutdown,
  OnModuleDestroy,
  OnModuleInit,
} from '@nestjs/common';
import { Observable, Subscriber, Subscription } from 'rxjs';
import type { AuthenticatedUser } from '../auth/authenticated-user';
import { HeraldConfig } from '../config/herald-config';
import { InboxEvent, InboxEvents } from '../notifications/inbox-events';
import { Recipient, recipientKey } from '../notifications/notification';
import { NotificationsService } from '../notifications/notifications.service';
import type { SseEventName, SseFrame } from './sse-events';
import { RealtimeBus } from './realtime-bus';
import { StreamRegistry } from './stream-registry';

/** What a stream is told: an inbox change, or the recipient's new unread count. */
export type StreamSignal = InboxEvent | { kind: 'unread-count'; count: number };

/** Notifications replayed after Last-Event-ID before `resync` is sent instead. */
export const REPLAY_LIMIT = 500;
/** Browsers wait this long before reconnecting. */
const RETRY_MS = 3000;
/** Unread counts are recomputed once per burst of changes, not once per change. */
const COUNT_DEBOUNCE_MS = 20;
/** How long a new stream waits for RabbitMQ to route its user's changes here. */
const BIND_TIMEOUT_MS = 2000;
/** setTimeout's largest delay; longer-lived tokens are checked again then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Per-user SSE streams. Each open stream registers in the StreamRegistry under its user, so a
 * change reaches that user's tabs without looking at anyone else's; changes made on other
 * instances arrive through the RealtimeBus, which this instance subscribes to per connected user. On open it replays what the
 * client missed after Last-Event-ID: it listens first and buffers, replays from storage, then
 * drains the buffer past the last replayed id — no gap, no duplicate.
 */
function recipientOf(event: InboxEvent): Recipient {
  return event.kind === 'created' ? event.notification : event.recipient;
}

@Injectable()
export class StreamsService implements OnModuleInit, OnModuleDestroy, BeforeApplicationShutdown {
  private readonly logger = new Logger(StreamsService.name);
  private subscription?: Subscription;
  private readonly countTimers = new Map<string, NodeJS.Timeout>();
  private readonly open = new Set<Subscriber<MessageEvent>>();

  constructor(
    private readonly registry: StreamRegistry<StreamSignal>,
    private readonly notifications: NotificationsService,
    private readonly events: InboxEvents,
    private readonly bus: RealtimeBus,
    private readonly config: HeraldConfig,
  ) {}

  onModuleInit(): void {
    this.subscription = this.events.events$.subscribe((event) => {
      this.deliver(event);
      this.bus.publish(recipientOf(event), event);
    });
    this.subscription.add(this.bus.remote$.subscribe((event) => this.deliver(event)));
  }

  onModuleDestroy(): void {
    this.subscription?.unsubscribe();
    for (const timer of this.countTimers.values()) clearTimeout(timer);
  }

  /**
   * Ends every stream before the HTTP server closes (which waits for open responses); browsers
   * reconnect after `retry`, to another instance, and replay from their position.
   */
  beforeApplicationShutdown(): void {
    for (const subscriber of this.open) subscriber.complete();
  }

  get connections(): number {
    return this.registry.connections;
  }

  stream(user: AuthenticatedUser, lastEventId: string | undefined): Observable<MessageEvent> {
    return new Observable<MessageEvent>((subscriber) => {
      let position = '0';
      let live = false;
      const buffered: StreamSignal[] = [];

      const send = <K extends SseEventName>(frame: SseFrame<K>) => subscriber.next(frame);
      const forward = (signal: StreamSignal) => {
        if (signal.kind === 'created') {
          if (BigInt(signal.notification.id) <= BigInt(position)) return; // replayed already
          position = signal.notification.id;
          send({ type: 'notification', id: position, data: signal.notification });
        } else if (signal.kind === 'updated') {
          const { id, readAt, archivedAt, deleted } = signal;
          const data = { id, readAt, archivedAt, ...(deleted && { deleted }) };
          send({ type: 'notification.updated', id: position, data });
        } else {
          send({ type: 'unread-count', id: position, data: { count: signal.count } });
        }
      };

      const unregister = this.registry.add(user, (signal) =>
        live ? forward(signal) : buffered.push(signal),
      );
      const heartbeat = setInterval(
        () => subscriber.next({ comment: 'ping' }),
        this.config.sse.heartbeatMs,
      );
      let expiry: NodeJS.Timeout;
      const expireAtTokenEnd = () => {
        const left = user.expiresAt.getTime() - Date.now();
        if (left > 0) {
          expiry = setTimeout(expireAtTokenEnd, Math.min(left, MAX_TIMER_MS));
          return;
        }
        send({ type: 'auth-expired', id: position, data: {} });
        subscriber.complete();
      };
      expireAtTokenEnd();
      this.open.add(subscriber);

      void (async () => {
        // Listen across instances before reading storage, as locally: no gap between the two.
        await this.bindWithin(user, BIND_TIMEOUT_MS);
        const count = await this.notifications.unreadCount(user);
        const replay = lastEventId
          ? await this.notifications.listAfter(user, lastEventId, REPLAY_LIMIT + 1)
          : [];
        if (replay.length > REPLAY_LIMIT) {
          position = await this.notifications.position(user);
          send({ type: 'unread-count', id: position, data: { count }, retry: RETRY_MS });
          send({ type: 'resync', id: position, data: { reason: 'replay-limit' } });
        } else {
          position = lastEventId ?? (await this.notifications.position(user));
          send({ type: 'unread-count', id: position, data: { count }, retry: RETRY_MS });
          for (const notification of replay) forward({ kind: 'created', notification });
        }
        for (const signal of buffered.splice(0)) forward(signal);
        live = true;
      })().catch((error: unknown) => subscriber.error(error));

      return () => {
        unregister();
        if (!this.registry.isConnected(user)) {
          this.bus.unbind(user).catch(() => undefined);
        }
        clearInterval(heartbeat);
        clearTimeout(expiry);
        this.open.delete(subscriber);
      };
    });
  }

  /** Waits for the cross-instance binding, but not forever: a stream outlives a broker outage. */
  private async bindWithin(user: Recipient, ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
    try {
      await Promise.race([this.bus.bind(user).catch(() => undefined), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** To this instance's streams of the recipient, if any, with a fresh unread count after. */
  private deliver(event: InboxEvent): void {
    const recipient = recipientOf(event);
    if (!this.registry.isConnected(recipient)) return;
    this.registry.deliver(recipient, event);
    this.scheduleCount(recipient);
  }

  private scheduleCount(recipient: Recipient): void {
    const key = recipientKey(recipient);
    if (this.countTimers.has(key)) return;
    this.countTimers.set(
      key,
      setTimeout(() => {
        this.countTimers.delete(key);
        this.notifications.unreadCount(recipient).then(
          (count) => this.registry.deliver(recipient, { kind: 'unread-count', count }),
          (error: unknown) => this.logger.warn(`Unread count failed: ${String(error)}`),
        );
      }, COUNT_DEBOUNCE_MS),
    );
  }
}
