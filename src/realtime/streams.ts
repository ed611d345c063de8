import { BeforeApplicationShutdown, Injectable, Logger, MessageEvent } from '@nestjs/common';
import { Observable, Subscription } from 'rxjs';
import type { AuthenticatedUser } from '../auth/authenticated-user';
import { HeraldConfig } from '../config/herald-config';
import { HeraldMetrics } from '../metrics/herald-metrics';
import { Inbox } from '../notifications/inbox/inbox';
import { RealtimeBus } from './realtime-bus';
import { RealtimeRouter } from './realtime-router';
import { Corkable, Stream, StreamContext } from './stream';
import { StreamRegistry } from './stream-registry';
import { UnreadCounts } from './unread-counts';

/** Why streams end after the bus lost messages (their SSE comment). */
const BUS_AWAY = 'realtime bus was away';

/** At shutdown, how long the last frames get to leave before connections are dropped. */
const SHUTDOWN_FLUSH_MS = 200;

/**
 * The open SSE streams here: each one a Stream, registered in the StreamRegistry under its user,
 * so what the RealtimeRouter routes to that user reaches their tabs without looking at anyone
 * else's.
 */
@Injectable()
export class Streams implements BeforeApplicationShutdown {
  private readonly open = new Set<Stream>();
  private readonly context: StreamContext;
  private readonly logger = new Logger(Streams.name);
  private readonly busLost: Subscription;

  constructor(
    private readonly registry: StreamRegistry,
    private readonly router: RealtimeRouter,
    counts: UnreadCounts,
    inbox: Inbox,
    config: HeraldConfig,
    metrics: HeraldMetrics,
    bus: RealtimeBus,
  ) {
    const { logger } = this;
    const { heartbeatMs } = config.sse;
    this.context = { inbox, router, counts, metrics, logger, heartbeatMs };
    this.busLost = bus.lost$.subscribe(() => {
      this.checkAfterBusLoss().catch((error: unknown) =>
        logger.warn(
          `Could not check the streams after the realtime bus was away: ${String(error)}`,
        ),
      );
    });
    const count = () => registry.count();
    metrics.gauge('herald_streams_open', 'SSE streams open here', () => count().connections);
    metrics.gauge('herald_users_online', 'Users with a stream open here', () => count().users);
  }

  /**
   * Ends every stream before the HTTP server closes (which waits for open responses); browsers
   * reconnect after `retry`, to another instance, and replay from their position.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.busLost.unsubscribe();
    if (this.open.size === 0) return;
    for (const stream of this.open) stream.endForReconnect('shutting down');
    // The server drops its connections next: give the last frames a moment to leave.
    await new Promise((resolve) => setTimeout(resolve, SHUTDOWN_FLUSH_MS));
  }

  /**
   * What other instances published for the users here while the bus was away is gone. A stream
   * that lost a notification learns it from the next one (a gap), but the last of a burst has
   * none: each stream is told what storage holds for its user now (one query per turn for all of
   * them), and one that does not get there ends and its client replays. Where nothing was lost
   * (one instance, or nothing stored elsewhere meanwhile), no stream ends.
   */
  private async checkAfterBusLoss(): Promise<void> {
    const streams = [...this.open];
    const states = await Promise.all(
      streams.map((stream) => this.context.inbox.unreadState(stream.user).catch(() => undefined)),
    );
    let behind = 0;
    streams.forEach((stream, i) => {
      const stored = states[i]?.position;
      if (stored === undefined) stream.endForReconnect(BUS_AWAY); // storage is away too
      if (stored === undefined || stream.expectSent(stored, BUS_AWAY)) behind += 1;
    });
    if (behind === 0) return;
    this.logger.warn(
      `The realtime bus was away: of ${streams.length} streams, ${behind} had not sent all their user's notifications (those that do not get them within seconds end, and their clients replay)`,
    );
  }

  get connections(): number {
    return this.open.size;
  }

  /**
   * The user's stream from `lastEventId` (see Stream). `connection`: the client's socket, corked
   * while a turn's frames are written. `reserved`: gives back the place StreamRegistry.reserve
   * held for it, once it is added.
   */
  stream(
    user: AuthenticatedUser,
    lastEventId: string | undefined,
    connection?: Corkable,
    reserved?: () => void,
  ): Observable<MessageEvent> {
    return new Observable<MessageEvent>((subscriber) => {
      const stream = new Stream(this.context, user, subscriber, connection);
      this.registry.add(user, stream);
      reserved?.();
      this.open.add(stream);
      stream.open(lastEventId).catch((error: unknown) => subscriber.error(error));
      return () => {
        stream.close();
        this.open.delete(stream);
        if (this.registry.remove(user, stream)) this.router.detach(user);
      };
    });
  }
}
