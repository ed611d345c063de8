import type { Socket } from 'node:net';
import { BeforeApplicationShutdown, Injectable, Logger, MessageEvent } from '@nestjs/common';
import { Observable } from 'rxjs';
import type { AuthenticatedUser } from '../auth/authenticated-user';
import { HeraldConfig } from '../config/herald-config';
import { HeraldMetrics } from '../metrics/herald-metrics';
import { compareIds } from '../notifications/notification';
import { Inbox } from '../notifications/inbox/inbox';
import type { SseEventName, SseFrame } from './sse-events';
import { RealtimeRouter, StreamSignal } from './realtime-router';
import { StreamRegistry } from './stream-registry';

/** Notifications replayed after Last-Event-ID before `resync` is sent instead. */
export const REPLAY_LIMIT = 500;
/** Browsers wait this long before reconnecting. */
const RETRY_MS = 3000;
/** At shutdown streams end with a retry between this and four times this. */
const SHUTDOWN_RETRY_MS = 500;
/** At shutdown, how long the last frames get to leave before connections are dropped. */
const SHUTDOWN_FLUSH_MS = 200;
/** How long a new stream waits for RabbitMQ to route its user's changes here. */
const BIND_TIMEOUT_MS = 2000;
/**
 * How long a notification waits for the one stored before it (on another instance, so it comes
 * over RabbitMQ) before the stream ends and the client replays both from storage.
 */
const GAP_MS = 5000;
/** The client's wait before it reconnects after such an end. */
const GAP_RETRY_MS = 250;
/** setTimeout's largest delay; longer-lived tokens are checked again then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

type Corkable = Pick<Socket, 'cork' | 'uncork'>;
type Created = Extract<StreamSignal, { kind: 'created' }>;

/** JSON of the frames made from a signal: one signal goes to every tab of its recipient. */
const serialized = new WeakMap<StreamSignal, string>();

/** Nest writes a string as it is; an object it serializes again for every stream. */
function serializedOnce(signal: StreamSignal, data: unknown): string {
  let json = serialized.get(signal);
  if (json === undefined) {
    json = JSON.stringify(data);
    serialized.set(signal, json);
  }
  return json;
}

/**
 * Per-user SSE streams. Each open stream registers in the StreamRegistry under its user, so what
 * the RealtimeRouter routes to that user reaches their tabs without looking at anyone else's. On
 * open it replays what the client missed after Last-Event-ID: it listens first and buffers,
 * replays from storage, then drains the buffer past the last replayed id — no gap, no duplicate.
 */
@Injectable()
export class Streams implements BeforeApplicationShutdown {
  private readonly logger = new Logger(Streams.name);
  /** How to end each open stream at shutdown. */
  private readonly open = new Set<() => void>();

  constructor(
    private readonly registry: StreamRegistry<StreamSignal>,
    private readonly router: RealtimeRouter,
    private readonly notifications: Inbox,
    private readonly config: HeraldConfig,
    private readonly metrics: HeraldMetrics,
  ) {
    const count = () => registry.count();
    metrics.gauge('herald_streams_open', 'SSE streams open here', () => count().connections);
    metrics.gauge('herald_users_online', 'Users with a stream open here', () => count().users);
  }

  /**
   * Ends every stream before the HTTP server closes (which waits for open responses); browsers
   * reconnect after `retry`, to another instance, and replay from their position.
   */
  async beforeApplicationShutdown(): Promise<void> {
    if (this.open.size === 0) return;
    for (const end of this.open) end();
    // The server drops its connections next: give the last frames a moment to leave.
    await new Promise((resolve) => setTimeout(resolve, SHUTDOWN_FLUSH_MS));
  }

  get connections(): number {
    return this.registry.connections;
  }

  /**
   * `connection`: the client's socket. The frames of one turn (a notification and its unread
   * count, a replay) are written while it is corked, so they leave in one write: Nest writes the
   * next frame of a stream only after the previous one went out, which is otherwise a write each.
   * `reserved`: gives back the place StreamRegistry.reserve held for it, once it is added.
   */
  stream(
    user: AuthenticatedUser,
    lastEventId: string | undefined,
    connection?: Corkable,
    reserved?: () => void,
  ): Observable<MessageEvent> {
    return new Observable<MessageEvent>((subscriber) => {
      /**
       * The newest notification id sent (set from storage once the stream opens). Notifications
       * are sent in stored order, so every one at or below it was sent or came before the stream.
       */
      let position = '0';
      let live = false;
      let corked = false;
      const buffered: StreamSignal[] = [];

      /** `signal`: what the frame was made from, so its JSON is made once for all its streams. */
      const send = <K extends SseEventName>(frame: SseFrame<K>, signal?: StreamSignal) => {
        if (connection && !corked) {
          corked = true;
          connection.cork();
          setImmediate(() => {
            corked = false;
            connection.uncork();
          });
        }
        this.metrics.deliveries.inc({ event: frame.type });
        subscriber.next(signal ? { ...frame, data: serializedOnce(signal, frame.data) } : frame);
      };
      const sendCreated = (signal: Created) => {
        if (compareIds(signal.notification.id, position) <= 0) return; // replayed or sent already
        position = signal.notification.id;
        send({ type: 'notification', id: position, data: signal.notification }, signal);
        if (signal.sentAt) this.metrics.latency.observe((Date.now() - signal.sentAt) / 1000);
      };
      // Notifications whose predecessor has not come yet, by the predecessor's id, oldest first.
      let waiting: Map<string, { signal: Created; since: number }> | undefined;
      let gapTimer: NodeJS.Timeout | undefined;
      const endAtGap = () => {
        const [oldest] = waiting?.values() ?? [];
        const left = oldest ? oldest.since + GAP_MS - Date.now() : 0;
        if (left > 0) {
          gapTimer = setTimeout(endAtGap, left);
          return;
        }
        // Lost between instances: everything not sent is above the position, so a reconnect
        // replays it from storage, in order.
        this.logger.warn(
          `A stream ends: the notification before ${oldest?.signal.notification.id} did not arrive within ${GAP_MS} ms`,
        );
        subscriber.next({ id: position, retry: GAP_RETRY_MS, comment: 'gap: reconnect' });
        subscriber.complete();
      };
      /**
       * In the order they were stored: each one after its predecessor. They arrive out of order
       * when another instance stored the predecessor (it comes over RabbitMQ), and only then wait.
       * So the position never passes one not sent yet, and a reconnect misses nothing.
       */
      const forwardCreated = (signal: Created) => {
        const { previousId } = signal;
        if (previousId && compareIds(previousId, position) > 0) {
          waiting ??= new Map();
          // The same one twice (delivered again) keeps its first wait.
          if (!waiting.has(previousId)) waiting.set(previousId, { signal, since: Date.now() });
          gapTimer ??= setTimeout(endAtGap, GAP_MS);
          return;
        }
        for (let next: Created | undefined = signal; next;) {
          sendCreated(next);
          const id: string = next.notification.id;
          next = waiting?.get(id)?.signal;
          waiting?.delete(id);
        }
        if (waiting?.size === 0) {
          waiting = undefined;
          clearTimeout(gapTimer);
          gapTimer = undefined;
        }
      };
      const forward = (signal: StreamSignal) => {
        if (signal.kind === 'created') {
          forwardCreated(signal);
        } else if (signal.kind === 'updated') {
          const { id, readAt, archivedAt, deleted } = signal;
          const data = { id, readAt, archivedAt, ...(deleted && { deleted }) };
          send({ type: 'notification.updated', id: position, data }, signal);
        } else if (signal.kind === 'bulk-updated') {
          const { upTo, filter, set, at } = signal;
          send(
            { type: 'notification.bulk-updated', id: position, data: { upTo, filter, set, at } },
            signal,
          );
        } else if (signal.kind === 'live') {
          const { type, data, topic } = signal;
          const payload = { type, data, ...(topic && { topic }) };
          send({ type: 'live', id: position, data: payload }, signal);
        } else {
          send({ type: 'unread-count', id: position, data: { count: signal.count } }, signal);
        }
      };

      const unregister = this.registry.add(user, (signal) =>
        live ? forward(signal) : buffered.push(signal),
      );
      reserved?.();
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
      const endForShutdown = () => {
        // Spread the reconnections over a couple of seconds instead of all at `retry`. A stream
        // still opening has no position to give yet: an `id:` now would reset the client's.
        if (live) {
          const retry = SHUTDOWN_RETRY_MS + Math.floor(Math.random() * SHUTDOWN_RETRY_MS * 3);
          subscriber.next({ id: position, retry, comment: 'shutting down: reconnect' });
        }
        subscriber.complete();
      };
      this.open.add(endForShutdown);

      void (async () => {
        // Listen across instances before reading storage, as locally: no gap between the two.
        await this.router.attach(user, BIND_TIMEOUT_MS);
        const state = await this.notifications.unreadState(user);
        const { count } = state;
        this.router.opened(user, state);
        const replay = lastEventId
          ? await this.notifications.listAfter(user, lastEventId, REPLAY_LIMIT + 1)
          : [];
        // A position the user's notifications never reached (a restored database, another
        // environment's id) would hold back everything stored from now on.
        const ahead =
          lastEventId !== undefined &&
          replay.length === 0 &&
          compareIds(lastEventId, state.position) > 0 &&
          !(await this.notifications.reached(user, lastEventId));
        if (replay.length > REPLAY_LIMIT || ahead) {
          position = state.position;
          send({ type: 'unread-count', id: position, data: { count }, retry: RETRY_MS });
          const reason = ahead ? 'ahead-of-storage' : 'replay-limit';
          send({ type: 'resync', id: position, data: { reason } });
        } else {
          position = lastEventId ?? state.position;
          send({ type: 'unread-count', id: position, data: { count }, retry: RETRY_MS });
          for (const notification of replay) forward({ kind: 'created', notification });
          this.metrics.replayed.inc(replay.length);
          // The rest up to what storage held at open is expired: nothing to wait for.
          if (compareIds(state.position, position) > 0) position = state.position;
        }
        for (const signal of buffered.splice(0)) forward(signal);
        live = true;
      })().catch((error: unknown) => subscriber.error(error));

      return () => {
        unregister();
        if (!this.registry.isConnected(user)) this.router.detach(user);
        clearInterval(heartbeat);
        clearTimeout(expiry);
        clearTimeout(gapTimer);
        this.open.delete(endForShutdown);
      };
    });
  }
}
