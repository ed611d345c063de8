import type { Socket } from 'node:net';
import type { Logger, MessageEvent } from '@nestjs/common';
import type { Counter, Histogram } from 'prom-client';
import type { Subscriber } from 'rxjs';
import type { AuthenticatedUser } from '../auth/authenticated-user';
import type { Inbox } from '../notifications/inbox/inbox';
import { compareIds } from '../notifications/notification';
import type { RealtimeRouter } from './realtime-router';
import type { SseEventName, SseFrame } from './sse-events';
import type { SignalReceiver, StreamSignal } from './stream-signal';
import type { UnreadCounts } from './unread-counts';

/** Notifications replayed after Last-Event-ID before `resync` is sent instead. */
export const REPLAY_LIMIT = 500;
/** Browsers wait this long before reconnecting. */
const RETRY_MS = 3000;
/** Streams ended for a reconnect get a retry between this and four times this. */
const RECONNECT_RETRY_MS = 500;
/** How long a new stream waits for the RealtimeBus to route its user's changes here. */
const BIND_TIMEOUT_MS = 2000;
/**
 * How long a notification waits for the one stored before it (on another instance, so it comes
 * over the bus) before the stream ends and the client replays both from storage.
 */
const GAP_MS = 5000;
/** The client's wait before it reconnects after such an end. */
const GAP_RETRY_MS = 250;
/** Why a stream ends when what storage held after the bus lost messages did not come. */
export const BUS_AWAY = 'realtime bus was away';
/** setTimeout's largest delay; longer-lived tokens are checked again then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export type Corkable = Pick<Socket, 'cork' | 'uncork'>;
type Created = Extract<StreamSignal, { kind: 'created' }>;

/** What every stream shares: Streams builds it once. */
export interface StreamContext {
  readonly inbox: Pick<Inbox, 'unreadState' | 'listAfter' | 'reached'>;
  readonly router: Pick<RealtimeRouter, 'attach'>;
  readonly counts: Pick<UnreadCounts, 'opened'>;
  readonly metrics: {
    delivered(event: string): void;
    latency: Pick<Histogram, 'observe'>;
    replayed: Pick<Counter, 'inc'>;
  };
  readonly logger: Pick<Logger, 'warn'>;
  /** SSE_HEARTBEAT_MS. */
  readonly heartbeatMs: number;
}

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
 * One open SSE stream. It goes through three phases:
 * - opening: it is registered (so it hears every change from now on) and buffers them, while it
 *   binds its user on the bus, reads the unread count and replays from storage what came after
 *   Last-Event-ID; then it sends what it buffered past the replay: no gap, no duplicate;
 * - live: each signal becomes a frame; a notification whose predecessor has not come yet (stored
 *   on another instance, so it comes over the bus) waits for it, at most GAP_MS;
 * - ended: by the client, the token's expiry, a gap, the bus losing messages, or shutdown.
 * Every frame's `id:` is the position: the newest notification sent. Notifications are sent in
 * stored order, so everything at or below the position was sent or came before the stream.
 */
export class Stream implements SignalReceiver {
  private position = '0';
  /** Signals heard while opening; undefined once live. */
  private buffered: StreamSignal[] | undefined = [];
  private ended = false;
  private corked = false;
  /** Notifications whose predecessor has not come yet, by the predecessor's id, oldest first. */
  private waiting?: Map<string, { signal: Created; since: number }>;
  private gapTimer?: NodeJS.Timeout;
  /** What storage held after the bus lost messages, while it is not sent (expectSent). */
  private awaited?: string;
  private storedTimer?: NodeJS.Timeout;
  private expiryTimer?: NodeJS.Timeout;
  /**
   * Each stream's own: one timer for all streams wrote 10,000 pings in one go, a stall of
   * hundreds of ms for every stream at once (p99 of the bench), where these spread over the period.
   */
  private readonly heartbeat: NodeJS.Timeout;

  /**
   * `connection`: the client's socket. The frames of one turn (a notification and its unread
   * count, a replay) are written while it is corked, so they leave in one write: Nest writes the
   * next frame of a stream only after the previous one went out, which is otherwise a write each.
   */
  constructor(
    private readonly context: StreamContext,
    readonly user: AuthenticatedUser,
    private readonly out: Subscriber<MessageEvent>,
    private readonly connection?: Corkable,
  ) {
    // Corked until the opening frames are out: the headers, Nest's first line and the first
    // events then leave in one write instead of three. Ending the response flushes it too.
    if (connection) {
      connection.cork();
      this.corked = true;
    }
    this.heartbeat = setInterval(() => this.ping(), context.heartbeatMs);
  }

  get live(): boolean {
    return this.buffered === undefined;
  }

  receive(signal: StreamSignal): void {
    if (this.buffered) this.buffered.push(signal);
    else this.forward(signal);
  }

  /** The opening phase; the stream is registered already. */
  async open(lastEventId: string | undefined): Promise<void> {
    const { inbox, router, counts, metrics } = this.context;
    this.expireAtTokenEnd();
    // Listen across instances before reading storage, as locally: no gap between the two.
    await router.attach(this.user, BIND_TIMEOUT_MS);
    const state = await inbox.unreadState(this.user);
    if (this.ended) return;
    counts.opened(this.user, state);
    // At or past the newest stored (a reconnect that missed nothing): nothing to read.
    const behind = lastEventId !== undefined && compareIds(lastEventId, state.position) < 0;
    const replay = behind ? await inbox.listAfter(this.user, lastEventId, REPLAY_LIMIT + 1) : [];
    // A position the user's notifications never reached (a restored database, another
    // environment's id) would hold back everything stored from now on.
    const ahead =
      lastEventId !== undefined &&
      replay.length === 0 &&
      compareIds(lastEventId, state.position) > 0 &&
      !(await inbox.reached(this.user, lastEventId));
    if (this.ended) return;
    const count = { count: state.count, unseen: state.unseen };
    if (replay.length > REPLAY_LIMIT || ahead) {
      this.position = state.position;
      this.send({ type: 'unread-count', id: this.position, data: count, retry: RETRY_MS });
      const reason = ahead ? 'ahead-of-storage' : 'replay-limit';
      this.send({ type: 'resync', id: this.position, data: { reason } });
    } else {
      this.position = lastEventId ?? state.position;
      this.send({ type: 'unread-count', id: this.position, data: count, retry: RETRY_MS });
      for (const notification of replay) this.forward({ kind: 'created', notification });
      metrics.replayed.inc(replay.length);
      // The rest up to what storage held at open is expired: nothing to wait for.
      if (compareIds(state.position, this.position) > 0) this.position = state.position;
    }
    const buffered = this.buffered ?? [];
    this.buffered = undefined;
    for (const signal of buffered) this.forward(signal);
    if (this.awaited) this.awaitStored(); // the bus came back while it opened
    this.uncorkSoon();
  }

  private ping(): void {
    this.out.next({ comment: 'ping' });
  }

  /**
   * Ends the stream for the client to reconnect (`why`: the SSE comment) and replay from its
   * position, spreading the reconnections over a couple of seconds instead of all at `retry`. A
   * stream still opening has no position to give yet: an `id:` now would reset the client's.
   */
  endForReconnect(why: string): void {
    if (this.live) {
      const retry = RECONNECT_RETRY_MS + Math.floor(Math.random() * RECONNECT_RETRY_MS * 3);
      this.out.next({ id: this.position, retry, comment: `${why}: reconnect` });
    }
    this.out.complete();
  }

  /**
   * Storage holds the user's notifications up to `stored` (read after the bus may have lost some
   * on their way here). One not sent within GAP_MS of going live, as for a predecessor, was lost:
   * the stream ends and the client replays. A second call raises what is awaited, not the time
   * given. Answers whether the stream had not sent all of it yet.
   */
  expectSent(stored: string): boolean {
    if (this.ended || compareIds(stored, this.position) <= 0) return false;
    if (this.awaited === undefined || compareIds(stored, this.awaited) > 0) this.awaited = stored;
    if (this.live) this.awaitStored();
    return true;
  }

  private awaitStored(): void {
    this.storedTimer ??= setTimeout(() => {
      const awaited = this.awaited;
      this.awaited = undefined;
      this.storedTimer = undefined;
      if (awaited && compareIds(awaited, this.position) > 0) this.endForReconnect(BUS_AWAY);
    }, GAP_MS);
  }

  /** The client left or the stream completed: stops its timers. */
  close(): void {
    this.ended = true;
    clearInterval(this.heartbeat);
    clearTimeout(this.gapTimer);
    clearTimeout(this.storedTimer);
    clearTimeout(this.expiryTimer);
  }

  private forward(signal: StreamSignal): void {
    switch (signal.kind) {
      case 'created':
        return this.forwardCreated(signal);
      case 'updated': {
        // What is undefined (unknown to an older instance, not deleted) is left out of the JSON.
        const data = {
          id: signal.id,
          readAt: signal.readAt,
          archivedAt: signal.archivedAt,
          seenAt: signal.seenAt,
          interactedAt: signal.interactedAt,
          interaction: signal.interaction,
          snoozedUntil: signal.snoozedUntil,
          deleted: signal.deleted,
          replacedBy: signal.replacedBy,
        };
        return this.send({ type: 'notification.updated', id: this.position, data }, signal);
      }
      case 'bulk-updated': {
        const { upTo, filter, set, at } = signal;
        const data = { upTo, filter, set, at };
        return this.send({ type: 'notification.bulk-updated', id: this.position, data }, signal);
      }
      case 'live': {
        const { type, data, topic } = signal;
        const payload = { type, data, ...(topic && { topic }) };
        return this.send({ type: 'live', id: this.position, data: payload }, signal);
      }
      case 'unread-count': {
        const data = { count: signal.count, unseen: signal.unseen };
        return this.send({ type: 'unread-count', id: this.position, data }, signal);
      }
    }
  }

  /**
   * In the order they were stored: each one after its predecessor. They arrive out of order when
   * another instance stored the predecessor, and only then wait. So the position never passes
   * one not sent yet, and a reconnect misses nothing.
   */
  private forwardCreated(signal: Created): void {
    const { previousId } = signal;
    if (previousId && compareIds(previousId, this.position) > 0) {
      this.waiting ??= new Map();
      // The same one twice (delivered again) keeps its first wait.
      if (!this.waiting.has(previousId)) {
        this.waiting.set(previousId, { signal, since: Date.now() });
      }
      this.gapTimer ??= setTimeout(() => this.endAtGap(), GAP_MS);
      return;
    }
    for (let next: Created | undefined = signal; next;) {
      this.sendCreated(next);
      const id: string = next.notification.id;
      next = this.waiting?.get(id)?.signal;
      this.waiting?.delete(id);
    }
    if (this.waiting?.size === 0) {
      this.waiting = undefined;
      clearTimeout(this.gapTimer);
      this.gapTimer = undefined;
    }
  }

  private sendCreated(signal: Created): void {
    const { notification, sentAt } = signal;
    if (compareIds(notification.id, this.position) <= 0) return; // replayed or sent already
    this.position = notification.id;
    this.send({ type: 'notification', id: this.position, data: notification }, signal);
    if (sentAt) this.context.metrics.latency.observe((Date.now() - sentAt) / 1000);
  }

  /** Lost between instances: everything not sent is above the position, so a reconnect replays it. */
  private endAtGap(): void {
    const [oldest] = this.waiting?.values() ?? [];
    const left = oldest ? oldest.since + GAP_MS - Date.now() : 0;
    if (left > 0) {
      this.gapTimer = setTimeout(() => this.endAtGap(), left);
      return;
    }
    this.context.logger.warn(
      `A stream ends: the notification before ${oldest?.signal.notification.id} did not arrive within ${GAP_MS} ms`,
    );
    this.out.next({ id: this.position, retry: GAP_RETRY_MS, comment: 'gap: reconnect' });
    this.out.complete();
  }

  private expireAtTokenEnd(): void {
    const left = this.user.expiresAt.getTime() - Date.now();
    if (left > 0) {
      this.expiryTimer = setTimeout(() => this.expireAtTokenEnd(), Math.min(left, MAX_TIMER_MS));
      return;
    }
    this.send({ type: 'auth-expired', id: this.position, data: {} });
    this.out.complete();
  }

  /** At the end of this turn: Nest writes a frame only once the one before it has gone out. */
  private uncorkSoon(): void {
    setImmediate(() => {
      this.corked = false;
      this.connection?.uncork();
    });
  }

  /** `signal`: what the frame was made from, so its JSON is made once for all its streams. */
  private send<K extends SseEventName>(frame: SseFrame<K>, signal?: StreamSignal): void {
    if (this.connection && !this.corked) {
      this.corked = true;
      this.connection.cork();
      this.uncorkSoon();
    }
    this.context.metrics.delivered(frame.type);
    this.out.next(signal ? { ...frame, data: serializedOnce(signal, frame.data) } : frame);
  }
}
