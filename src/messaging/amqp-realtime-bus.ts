import { randomUUID } from 'node:crypto';
import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { Channel, ConsumeMessage } from 'amqplib';
import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import { Observable, Subject } from 'rxjs';
import { ThrottledWarning } from '../common/throttled-warning';
import { HeraldConfig } from '../config/herald-config';
import { HeraldMetrics } from '../metrics/herald-metrics';
import { parseBusMessage } from '../realtime/bus-message';
import { BusMessage, EVERYONE_KEY, RealtimeBus } from '../realtime/realtime-bus';
import { closeBroker, connectBroker, watchChannel } from './amqp-connection';
import { amqpTopology } from './amqp-topology';

const INSTANCE_HEADER = 'x-herald-instance';
/**
 * Marks the message an instance sends to all when its bus is back: what it published as its
 * connection went may be lost too, so every instance checks its streams (RealtimeBus.lost$).
 */
const CHECK_HEADER = 'x-herald-check';
/** Changes held while the broker is away; past this they are dropped (clients replay). */
const MAX_BUFFERED = 10_000;
/**
 * Channels that bindings go through. A channel takes one binding at a time (each waits for the
 * broker's answer), which after a restart made 5,000 users' streams wait for 5,000 round trips in
 * a row; a key always goes through the same channel, so its bind and unbind keep their order.
 */
const BINDING_CHANNELS = 8;

/** Which binding channel a key goes through (FNV-1a of the key). */
function channelOf(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i += 1) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % BINDING_CHANNELS;
}

/**
 * The RealtimeBus over RabbitMQ. Each instance
 * has its own exclusive queue on the `<exchange>.realtime` direct exchange and binds it to the
 * routing key of every user with a stream open here, and of every topic they follow, so an
 * instance receives what concerns its own users only, however many instances and users there
 * are. A live event goes out once, with one routing key per target (AMQP `CC`): the broker puts
 * it in each instance's queue at most once. A burst of changes goes out as one message to
 * every instance. Messages are fire-and-forget: a client that misses a
 * change live replays it from storage when it reconnects (live events are not replayed). The
 * queue goes with its connection, and what was routed to it with it, and what the instance
 * published as it went may be lost too: each new queue after the first is announced on lost$,
 * here and (CHECK_HEADER) on every other instance.
 */
@Injectable()
export class AmqpRealtimeBus extends RealtimeBus implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(AmqpRealtimeBus.name);
  private readonly dropped = new ThrottledWarning(this.logger);
  private readonly instanceId = randomUUID();
  private readonly exchange: string;
  private readonly remote = new Subject<BusMessage>();
  /** What other instances published, for the users with a stream here. */
  readonly remote$: Observable<BusMessage> = this.remote.asObservable();
  private readonly lost = new Subject<void>();
  readonly lost$: Observable<void> = this.lost.asObservable();
  /** Whether a queue of this instance consumed before: a new one means the old one is gone. */
  private consumedBefore = false;
  private readonly wanted = new Set<string>([EVERYONE_KEY]);
  private connection?: AmqpConnectionManager;
  private channel?: ChannelWrapper;
  private readonly bindings: ChannelWrapper[] = [];
  private queue?: string;

  constructor(
    private readonly config: HeraldConfig,
    private readonly metrics: HeraldMetrics,
  ) {
    super();
    this.exchange = amqpTopology(config.amqp).realtimeExchange;
  }

  onModuleInit(): void {
    this.connection = connectBroker(this.config.amqp.urls, 'herald-realtime', this.logger);
    this.channel = watchChannel(
      this.connection.createChannel({ setup: (channel: Channel) => this.setup(channel) }),
      'herald-realtime',
      this.logger,
    );
    for (let i = 0; i < BINDING_CHANNELS; i += 1) {
      const channel = this.connection.createChannel({ name: `herald-realtime-bindings-${i}` });
      this.bindings.push(watchChannel(channel, 'herald-realtime-bindings', this.logger));
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.bindings.map((channel) => channel.close().catch(() => undefined)));
    await closeBroker(this.channel, this.connection);
  }

  /** Starts receiving what is routed by `key`; resolves once the broker has the binding. */
  async bind(key: string): Promise<void> {
    this.wanted.add(key);
    await this.onBindingChannel(key, (channel, queue) =>
      channel.bindQueue(queue, this.exchange, key),
    );
  }

  async unbind(key: string): Promise<void> {
    this.wanted.delete(key);
    await this.onBindingChannel(key, (channel, queue) =>
      channel.unbindQueue(queue, this.exchange, key),
    );
  }

  /**
   * While disconnected, or when the connection was replaced meanwhile, there is nothing to do:
   * setup() binds everything wanted on the next connect (the queue is the connection's own).
   */
  private async onBindingChannel(
    key: string,
    work: (channel: ChannelWrapper, queue: string) => Promise<unknown>,
  ): Promise<void> {
    const queue = this.queue;
    if (!queue) return;
    const channel = this.bindings[channelOf(key)] ?? this.channel!;
    await channel.waitForConnect();
    if (this.queue === queue) await work(channel, queue);
  }

  /** Sends one message to every instance bound to any of `keys`. */
  publish(keys: string[], message: BusMessage): void {
    const channel = this.channel;
    if (keys.length === 0 || !channel || channel.queueLength() >= MAX_BUFFERED) return;
    const [first, ...rest] = keys;
    channel
      .publish(this.exchange, first, Buffer.from(JSON.stringify(message)), {
        contentType: 'application/json',
        headers: { [INSTANCE_HEADER]: this.instanceId },
        ...(rest.length > 0 && { CC: rest }),
      })
      .catch((error: unknown) => this.logger.debug(`Not forwarded: ${String(error)}`));
  }

  private async setup(channel: Channel): Promise<void> {
    this.queue = undefined;
    await channel.assertExchange(this.exchange, 'direct', { durable: true });
    const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
    this.queue = queue; // from here on bind() binds too; binding twice is harmless
    // On this channel, robust to the binding channels not being back yet. A key unbound while
    // this runs may stay bound: its messages are then dropped here as nobody wants them.
    for (const key of this.wanted) await channel.bindQueue(queue, this.exchange, key);
    await channel.consume(queue, (message) => message && this.receive(message), { noAck: true });
    if (this.consumedBefore) {
      this.lost.next();
      channel.publish(this.exchange, EVERYONE_KEY, Buffer.from('{}'), {
        contentType: 'application/json',
        headers: { [INSTANCE_HEADER]: this.instanceId, [CHECK_HEADER]: true },
      });
    }
    this.consumedBefore = true;
  }

  private receive(message: ConsumeMessage): void {
    const headers = message.properties.headers;
    if (headers?.[INSTANCE_HEADER] === this.instanceId) return; // delivered here already
    if (headers?.[CHECK_HEADER] !== undefined) {
      this.lost.next();
      return;
    }
    let parsed: BusMessage;
    try {
      parsed = parseBusMessage(message.content);
    } catch (error) {
      this.metrics.busDropped.inc({ reason: 'unreadable' });
      this.dropped.warn(
        `Dropped a realtime message from ${JSON.stringify(message.fields.routingKey.slice(0, 64))}: ${(error as Error).message}`,
      );
      return;
    }
    this.remote.next(parsed);
  }
}
