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
/**
 * Deliveries after which an entry never settled is dead-lettered rather than taken over again:
 * one that ends the process each time would otherwise take every instance down in turn.
 */
const MAX_DELIVERIES = 5;
/** A consumer with nothing pending, silent this long, is removed from the group. */
const GONE_CONSUMER_IDLE_MS = 60 * 60 * 1000;

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
/** An entry that can never be stored, and why. */
type Refused = { reason: DeadLetterReason; content?: Buffer };
/** Stored; refused; or left pending (Herald is stopping). */
type Outcome = 'stored' | 'pending' | Refused;

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
    metrics.gauge(
      'herald_redis_reading',
      'Whether this instance reads the Redis notification stream (1) or not (0)',
      () => (this.consuming ? 1 : 0),
    );
  }

  /** Starts reading and returns at once: Herald serves HTTP while Redis is away. */
  listen(callback: () => void): void {
    const options = { maxRetriesPerRequest: null };
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

  /** Reading the stream in its group, over connections that are up: what readiness checks. */
  get consuming(): boolean {
    return (
      this.current === 'consuming' &&
      this.reader?.status === 'ready' &&
      this.commands?.status === 'ready'
    );
  }

  /**
   * Before the batcher stops (Nest calls this before any transport's close()): no more reads, so
   * that a stopping instance does not take entries it can no longer store.
   */
  beforeApplicationShutdown(): void {
    this.stopReading();
  }

  /**
   * Stops reading, lets entries being stored settle (bounded), makes what this consumer still
   * holds pending claimable by the others at once, then closes the connections.
   */
  async close(): Promise<void> {
    this.stopReading();
    await Promise.race([this.loop, delay(IN_FLIGHT_WAIT_MS, undefined, { ref: false })]);
    await this.handBack().catch((error: Error) =>
      this.logger.warn(`Could not hand back pending Redis entries: ${error.message}`),
    );
    this.commands?.disconnect();
    this.setStatus('closed');
  }

  private stopReading(): void {
    if (!this.running) return;
    this.running = false;
    this.setStatus('disconnected');
    this.subscriber?.disconnect();
    this.reader?.disconnect(); // ends a read that is waiting
  }

  /**
   * What this consumer leaves pending (its storing was cut short) is marked idle for
   * REDIS_CLAIM_IDLE_MS, so the next instance to look takes it over without waiting; a consumer
   * left with nothing pending is removed from the group.
   */
  private async handBack(): Promise<void> {
    const commands = this.commands;
    if (!commands || commands.status !== 'ready') return;
    const pending = (await commands.xpending(
      this.keys.stream,
      REDIS_GROUP,
      '-',
      '+',
      100_000,
      this.consumer,
    )) as [string, string, number, number][];
    if (pending.length > 0) {
      await commands.xclaim(
        this.keys.stream,
        REDIS_GROUP,
        this.consumer,
        0,
        ...pending.map(([id]) => id),
        'IDLE',
        this.config.claimIdleMs,
        'JUSTID',
      );
      this.logger.log(`Left ${pending.length} Redis entries for another instance to take over`);
    } else {
      await commands.xgroup('DELCONSUMER', this.keys.stream, REDIS_GROUP, this.consumer);
    }
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
        let lastLook = 0;
        while (this.running) {
          if (Date.now() - lastLook >= Math.min(this.config.claimIdleMs / 2, 5000)) {
            lastLook = Date.now();
            await this.takeOverAbandoned();
            await this.tidy();
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

  /**
   * Entries pending with any consumer for longer than REDIS_CLAIM_IDLE_MS become this one's, a
   * read's worth at a time until none is left: stored like new ones, or dead-lettered when they
   * were delivered MAX_DELIVERIES times without ever settling.
   */
  private async takeOverAbandoned(): Promise<void> {
    while (this.running) {
      const idle = (await this.commands!.xpending(
        this.keys.stream,
        REDIS_GROUP,
        'IDLE',
        this.config.claimIdleMs,
        '-',
        '+',
        this.limits.prefetch,
      )) as [string, string, number, number][];
      if (idle.length === 0) return;
      const claimed = (await this.commands!.callBuffer(
        'XCLAIM',
        this.keys.stream,
        REDIS_GROUP,
        this.consumer,
        this.config.claimIdleMs,
        ...idle.map(([id]) => id),
      )) as (RawEntry | null)[];
      // Entries deleted from the stream meanwhile come back empty; another instance may have
      // claimed some first (they are not in the answer).
      const entries = claimed.filter((entry): entry is RawEntry => entry !== null);
      const deliveries = new Map(idle.map(([id, , , count]) => [id, count]));
      const poisoned = (entry: RawEntry) =>
        (deliveries.get(entry[0].toString()) ?? 0) >= MAX_DELIVERIES;
      this.logger.warn(`Took over ${entries.length} Redis entries a stopped consumer left pending`);
      await this.handleAll(entries.filter((entry) => !poisoned(entry)));
      await this.settle(
        entries.filter(poisoned).map((entry) => ({
          entry,
          outcome: {
            reason: new DeadLetterReason(
              'internal',
              `delivered ${deliveries.get(entry[0].toString())} times without being stored or refused (did it stop Herald each time?)`,
            ),
            content: fieldOf(entry[1], 'message'),
          },
        })),
      );
      if (idle.length < this.limits.prefetch) return;
    }
  }

  /**
   * What no consumer needs any more leaves Redis: entries before the oldest pending one (or all
   * those delivered, when none is pending), and consumers with nothing pending that have been
   * silent for an hour (each instance start adds one).
   */
  private async tidy(): Promise<void> {
    const commands = this.commands!;
    const [count, oldest] = (await commands.xpending(this.keys.stream, REDIS_GROUP)) as [
      number,
      string | null,
    ];
    const groups = (await commands.xinfo('GROUPS', this.keys.stream)) as unknown[][];
    const group = groups.map(fieldsToObject).find((each) => each.name === REDIS_GROUP);
    const delivered = group?.['last-delivered-id'] as string | undefined;
    const keepFrom = Number(count) > 0 ? oldest : delivered && nextId(delivered);
    if (keepFrom) await commands.xtrim(this.keys.stream, 'MINID', '~', keepFrom);
    const consumers = (await commands.xinfo(
      'CONSUMERS',
      this.keys.stream,
      REDIS_GROUP,
    )) as unknown[][];
    for (const consumer of consumers.map(fieldsToObject)) {
      const gone = Number(consumer.pending) === 0 && Number(consumer.idle) > GONE_CONSUMER_IDLE_MS;
      if (gone && consumer.name !== this.consumer) {
        await commands.xgroup('DELCONSUMER', this.keys.stream, REDIS_GROUP, String(consumer.name));
      }
    }
  }

  /**
   * Hands every entry to the notification handler in entry order, and settles them once all
   * are done. One whose storing was cut short by shutdown stays pending, and reading stops.
   */
  private async handleAll(entries: RawEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const handler = this.messageHandlers.get(NOTIFICATION_BINDING);
    const outcomes = await Promise.all(entries.map((entry) => this.handleEntry(entry, handler)));
    if (outcomes.includes('pending')) this.stopReading();
    await this.settle(entries.map((entry, index) => ({ entry, outcome: outcomes[index] })));
  }

  /**
   * Copies those that can never be stored to the dead-letter stream (in entry order), then
   * acknowledges those stored and those whose copy Redis took. One whose copy failed stays
   * pending, to be tried again when it is taken over.
   */
  private async settle(settled: { entry: RawEntry; outcome: Outcome }[]): Promise<void> {
    const dead = settled.filter(
      (each): each is { entry: RawEntry; outcome: Refused } => typeof each.outcome === 'object',
    );
    const copied = new Set<RawEntry>();
    if (dead.length > 0) {
      const pipeline = this.commands!.pipeline();
      for (const { entry, outcome } of dead) {
        const id = entry[0].toString();
        this.logger.warn(`Dead-lettering Redis entry ${id}: ${outcome.reason.message}`);
        pipeline.xadd(
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
      // exec() answers each command's error beside its result rather than rejecting.
      const results = (await pipeline.exec()) ?? [];
      for (const [index, { entry }] of dead.entries()) {
        if (results[index] && !results[index][0]) copied.add(entry);
      }
      this.metrics.ingested.inc({ outcome: 'dead_lettered' }, copied.size);
      if (copied.size < dead.length) {
        this.trouble.warn(
          `Redis refused ${dead.length - copied.size} dead-letter copies; kept pending`,
        );
      }
    }
    const acknowledged = settled
      .filter(({ entry, outcome }) => outcome === 'stored' || copied.has(entry))
      .map(({ entry }) => entry[0].toString());
    if (acknowledged.length > 0) {
      await this.commands!.xack(this.keys.stream, REDIS_GROUP, ...acknowledged);
    }
  }

  /** Stored; to the dead letters with why; or left pending (Herald is stopping). */
  private async handleEntry(
    [rawId, fields]: RawEntry,
    handler: MessageHandler | undefined,
  ): Promise<Outcome> {
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
      // Validation errors come back as an observable that fails, not as a throw.
      await lastValueFrom(
        this.transformToObservable(await handler(data, new RedisContext([undefined, pattern]))),
        { defaultValue: undefined },
      );
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

/** XINFO's answer, `[name, value, name, value…]`, as an object. */
function fieldsToObject(fields: unknown[]): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) object[String(fields[i])] = fields[i + 1];
  return object;
}

/** The smallest entry id after `id` (`<ms>-<seq>`). */
function nextId(id: string): string {
  const [ms, seq] = id.split('-');
  return `${ms}-${BigInt(seq) + 1n}`;
}
