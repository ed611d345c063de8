import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import { CustomTransportStrategy, MessageHandler, Server } from '@nestjs/microservices';
import { Redis } from 'ioredis';
import { lastValueFrom } from 'rxjs';
import { ThrottledWarning } from '../common/throttled-warning';
import { HeraldConfig } from '../config/herald-config';
import { HeraldMetrics } from '../metrics/herald-metrics';
import { BatcherStoppedError } from '../notifications/intake/notification-batcher';
import { LIVE_EVENT_BINDING, NOTIFICATION_BINDING } from './amqp-topology';
import { RedisContext } from './ingest-context';
import { DeadLetterReason, deadLetterReasonOf, decodeJson } from './message-decoding';

type RedisServerStatus = 'connecting' | 'consuming' | 'disconnected' | 'closed';

/** The consumer group every Herald instance reads the notification stream in (CONTRACT.md). */
export const REDIS_GROUP = 'herald';
/** How long one read waits for new entries before it looks for abandoned ones again. */
const BLOCK_MS = 2000;
/** At shutdown, how long entries being stored may take to settle; the rest stay pending. */
const IN_FLIGHT_WAIT_MS = 3000;
/** Characters of a reason kept on a dead entry. */
const REASON_LIMIT = 1000;

/** The keys and channels of CONTRACT.md v1.1 "Redis as a second way in", under REDIS_PREFIX. */
export function redisKeys(prefix: string) {
  return {
    stream: `${prefix}notifications`,
    deadStream: `${prefix}notifications.dead`,
    events: `${prefix}event.*`,
  };
}

/** A stream entry as ioredis answers it with Buffers: its id, then field, value, field, value… */
type RawEntry = [Buffer, Buffer[]];

/**
 * The second way in (CONTRACT.md v1.1): a NestJS transport strategy that feeds the same
 * @EventPattern handlers as RabbitMQ from Redis. Notifications come from a stream, read in
 * consumer group `herald` (created when missing, from the stream's first entry): an entry is
 * acknowledged (XACK) only after its handler's promise resolved (after the commit), or after it
 * was copied to the dead-letter stream with the reason. An entry left pending by an instance that
 * stopped is claimed by another once idle for REDIS_CLAIM_IDLE_MS. Live events come from pub/sub
 * channels `event.<name>`, pushed and never stored. ioredis reconnects by itself.
 */
export class RedisServer
  extends Server<Record<string, never>, RedisServerStatus>
  implements CustomTransportStrategy
{
  protected override readonly logger = new Logger('RedisServer');
  private readonly keys: ReturnType<typeof redisKeys>;
  /** Unique per process: what it holds pending is its own until another instance claims it. */
  private readonly consumer = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private commands?: Redis;
  private reader?: Redis;
  private subscriber?: Redis;
  private running = false;
  private loop?: Promise<void>;
  private current: RedisServerStatus = 'connecting';
  private readonly trouble = new ThrottledWarning(this.logger, 60_000);
  private readonly dropped = new ThrottledWarning(this.logger);

  constructor(
    private readonly config: HeraldConfig['redis'] & { url: string },
    private readonly limits: { maxMessageBytes: number; prefetch: number },
    private readonly metrics: HeraldMetrics,
  ) {
    super();
    this.keys = redisKeys(config.prefix);
    this.setStatus('connecting');
  }

  /** Starts reading and returns at once: Herald serves HTTP while Redis is away. */
  listen(callback: () => void): void {
    const options = { maxRetriesPerRequest: null, lazyConnect: false };
    this.commands = new Redis(this.config.url, { ...options, connectionName: 'herald-commands' });
    this.reader = new Redis(this.config.url, { ...options, connectionName: 'herald-reader' });
    this.subscriber = new Redis(this.config.url, { ...options, connectionName: 'herald-events' });
    for (const connection of [this.commands, this.reader, this.subscriber]) {
      connection.on('error', (error: Error) => this.trouble.warn(`Redis: ${error.message}`));
    }
    this.running = true;
    this.loop = this.consume();
    void this.subscribe();
    callback();
  }

  /** Reading the stream in its group: what readiness checks. */
  get consuming(): boolean {
    return this.current === 'consuming';
  }

  /** Stops reading, lets entries being stored settle (bounded), then closes the connections. */
  async close(): Promise<void> {
    this.running = false;
    this.setStatus('disconnected');
    this.subscriber?.disconnect();
    this.reader?.disconnect(); // ends a read that is waiting
    await Promise.race([this.loop, delay(IN_FLIGHT_WAIT_MS, undefined, { ref: false })]);
    this.commands?.disconnect();
    this.setStatus('closed');
  }

  on(): never {
    throw new Error('RedisServer has no events to listen to; use `status`');
  }

  unwrap<T>(): T {
    return this.commands as T;
  }

  private setStatus(status: RedisServerStatus): void {
    this.current = status;
    this._status$.next(status);
  }

  /**
   * Until close(): entries abandoned by a stopped instance first, then new ones, a read of at
   * most AMQP_PREFETCH at a time, each read stored before the next (the batcher stores a read's
   * entries in few transactions, in entry order per user).
   */
  private async consume(): Promise<void> {
    while (this.running) {
      try {
        await this.ensureGroup();
        this.setStatus('consuming');
        this.logger.log(
          `Consuming Redis stream ${this.keys.stream} as ${this.consumer} in group ${REDIS_GROUP}`,
        );
        let lastClaim = 0;
        while (this.running) {
          if (Date.now() - lastClaim >= Math.min(this.config.claimIdleMs / 2, 5000)) {
            lastClaim = Date.now();
            await this.handleAll(await this.claimAbandoned());
          }
          await this.handleAll(await this.readNew());
        }
      } catch (error) {
        if (!this.running) return;
        this.setStatus('disconnected');
        this.trouble.warn(`Redis stream ${this.keys.stream}: ${(error as Error).message}`);
        await delay(1000);
      }
    }
  }

  /** XGROUP CREATE … 0 MKSTREAM: from the stream's first entry, so nothing sent before is lost. */
  private async ensureGroup(): Promise<void> {
    try {
      await this.commands!.xgroup('CREATE', this.keys.stream, REDIS_GROUP, '0', 'MKSTREAM');
    } catch (error) {
      if (!String((error as Error).message).startsWith('BUSYGROUP')) throw error;
    }
  }

  private async readNew(): Promise<RawEntry[]> {
    const answer = (await this.reader!.xreadgroupBuffer(
      'GROUP',
      REDIS_GROUP,
      this.consumer,
      'COUNT',
      this.limits.prefetch,
      'BLOCK',
      BLOCK_MS,
      'STREAMS',
      this.keys.stream,
      '>',
    )) as [Buffer, RawEntry[]][] | null;
    return answer?.[0]?.[1] ?? [];
  }

  /** Entries pending with any consumer for longer than REDIS_CLAIM_IDLE_MS, now this one's. */
  private async claimAbandoned(): Promise<RawEntry[]> {
    const claimed: RawEntry[] = [];
    let cursor = '0-0';
    do {
      const [next, entries] = (await this.commands!.callBuffer(
        'XAUTOCLAIM',
        this.keys.stream,
        REDIS_GROUP,
        this.consumer,
        this.config.claimIdleMs,
        cursor,
        'COUNT',
        this.limits.prefetch,
      )) as [Buffer, (RawEntry | null)[]];
      cursor = next.toString();
      // Entries deleted from the stream meanwhile come back empty.
      claimed.push(...entries.filter((entry): entry is RawEntry => entry !== null));
    } while (cursor !== '0-0' && claimed.length < this.limits.prefetch && this.running);
    if (claimed.length > 0) {
      this.logger.warn(`Claimed ${claimed.length} entries abandoned by a stopped consumer`);
    }
    return claimed;
  }

  /**
   * Hands every entry to the notification handler in entry order and, once all settled, copies
   * those that can never be stored to the dead-letter stream (in entry order), then acknowledges
   * those stored or copied. One whose storing was cut short by shutdown stays pending, for this
   * or another instance to take again.
   */
  private async handleAll(entries: RawEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const handler = this.messageHandlers.get(NOTIFICATION_BINDING);
    const outcomes = await Promise.all(entries.map((entry) => this.handleEntry(entry, handler)));
    const settled: string[] = [];
    const dead = this.commands!.pipeline();
    for (const [index, outcome] of outcomes.entries()) {
      if (outcome === 'pending') continue;
      const id = entries[index][0].toString();
      settled.push(id);
      if (outcome === 'stored') continue;
      this.metrics.ingested.inc({ outcome: 'dead_lettered' });
      this.logger.warn(`Dead-lettering Redis entry ${id}: ${outcome.reason.message}`);
      dead.xadd(
        this.keys.deadStream,
        '*',
        'message',
        outcome.content ?? Buffer.alloc(0),
        'error',
        outcome.reason.message.slice(0, REASON_LIMIT),
        'entry',
        id,
      );
    }
    if (dead.length > 0) await dead.exec();
    if (settled.length > 0) await this.commands!.xack(this.keys.stream, REDIS_GROUP, ...settled);
  }

  /** Stored; to the dead letters with why; or left pending (Herald is stopping). */
  private async handleEntry(
    [rawId, fields]: RawEntry,
    handler: MessageHandler | undefined,
  ): Promise<'stored' | 'pending' | { reason: DeadLetterReason; content?: Buffer }> {
    const content = fieldOf(fields, 'message');
    try {
      if (content === undefined) {
        throw new DeadLetterReason('invalid', 'the entry has no `message` field');
      }
      if (!handler) throw new DeadLetterReason('no-handler', 'nothing handles notifications');
      const data = decodeJson(content, this.limits.maxMessageBytes);
      const context = new RedisContext([rawId.toString(), 'notification']);
      await lastValueFrom(this.transformToObservable(await handler(data, context)), {
        defaultValue: undefined,
      });
      return 'stored';
    } catch (error) {
      if (error instanceof BatcherStoppedError) return 'pending';
      return { reason: deadLetterReasonOf(error, this.logger), content };
    }
  }

  /** Live events from `<prefix>event.<name>`: pushed to the recipients connected now. */
  private async subscribe(): Promise<void> {
    const subscriber = this.subscriber!;
    subscriber.on('pmessageBuffer', (_: Buffer, channel: Buffer, message: Buffer) => {
      const pattern = channel.toString().slice(this.config.prefix.length);
      void this.pushLive(pattern, message);
    });
    try {
      await subscriber.psubscribe(this.keys.events);
    } catch (error) {
      if (this.running) this.logger.error(`Redis: cannot subscribe: ${(error as Error).message}`);
    }
  }

  private async pushLive(pattern: string, message: Buffer): Promise<void> {
    try {
      const handler = this.messageHandlers.get(LIVE_EVENT_BINDING);
      if (!handler) return;
      const data = decodeJson(message, this.limits.maxMessageBytes);
      await handler(data, new RedisContext([undefined, pattern]));
    } catch (error) {
      const reason = deadLetterReasonOf(error, this.logger);
      this.dropped.warn(`Dropped Redis live event on ${pattern.slice(0, 100)}: ${reason.message}`);
    }
  }
}

/** The value of `name` among a stream entry's fields and values. */
function fieldOf(fields: Buffer[], name: string): Buffer | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i].toString() === name) return fields[i + 1];
  }
  return undefined;
}
