import { BeforeApplicationShutdown, Injectable, Logger, MessageEvent } from '@nestjs/common';
import { Observable } from 'rxjs';
import type { AuthenticatedUser } from '../auth/authenticated-user';
import { HeraldConfig } from '../config/herald-config';
import { HeraldMetrics } from '../metrics/herald-metrics';
import { Inbox } from '../notifications/inbox/inbox';
import { RealtimeRouter } from './realtime-router';
import { Corkable, Stream, StreamContext } from './stream';
import { StreamRegistry } from './stream-registry';
import { UnreadCounts } from './unread-counts';

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

  constructor(
    private readonly registry: StreamRegistry,
    private readonly router: RealtimeRouter,
    counts: UnreadCounts,
    inbox: Inbox,
    config: HeraldConfig,
    metrics: HeraldMetrics,
  ) {
    const logger = new Logger(Streams.name);
    const { heartbeatMs } = config.sse;
    this.context = { inbox, router, counts, metrics, logger, heartbeatMs };
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
    for (const stream of this.open) stream.endForReconnect('shutting down');
    // The server drops its connections next: give the last frames a moment to leave.
    await new Promise((resolve) => setTimeout(resolve, SHUTDOWN_FLUSH_MS));
  }

  /** The streams open here now. */
  all(): Stream[] {
    return [...this.open];
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
