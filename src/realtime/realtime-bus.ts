import { createHash, randomUUID } from 'node:crypto';
import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { Channel, ConsumeMessage } from 'amqplib';
import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import { Observable, Subject } from 'rxjs';
import { HeraldConfig } from '../config/herald-config';
import { closeBroker, connectBroker } from '../messaging/amqp-connection';
import { amqpTopology } from '../messaging/amqp-topology';
import type { InboxEvent } from '../notifications/inbox-events';
import { Recipient, recipientKey } from '../notifications/notification';

const INSTANCE_HEADER = 'x-herald-instance';
/** Changes held while the broker is away; past this they are dropped (clients replay). */
const MAX_BUFFERED = 10_000;

/** Routing key of a recipient: a hash, so any user id is a valid key. */
function routingKey(recipient: Recipient): string {
  return createHash('sha1').update(recipientKey(recipient)).digest('hex');
}

/**
 * Carries inbox changes between Herald instances through RabbitMQ. Each instance has its own
 * exclusive queue on the `<exchange>.realtime` direct exchange and binds it to the routing key of
 * every user with a stream open here, so an instance receives the changes of its own users only,
 * however many instances and users there are. Changes are fire-and-forget: a client that misses
 * one live replays it from storage when it reconnects.
 */
@Injectable()
export class RealtimeBus implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(RealtimeBus.name);
  private readonly instanceId = randomUUID();
  private readonly exchange: string;
  private readonly remote = new Subject<InboxEvent>();
  /** Changes made on other instances, for users with a stream here. */
  readonly remote$: Observable<InboxEvent> = this.remote.asObservable();
  private readonly wanted = new Set<string>();
  private connection?: AmqpConnectionManager;
  private channel?: ChannelWrapper;
  private queue?: string;

  constructor(private readonly config: HeraldConfig) {
    this.exchange = amqpTopology(config.amqp).realtimeExchange;
  }

  onModuleInit(): void {
    this.connection = connectBroker(this.config.amqp.urls, 'herald-realtime', this.logger);
    this.channel = this.connection.createChannel({
      setup: (channel: Channel) => this.setup(channel),
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await closeBroker(this.channel, this.connection);
  }

  /** Starts receiving the recipient's changes here; resolves once the broker has the binding. */
  async bind(recipient: Recipient): Promise<void> {
    const key = routingKey(recipient);
    this.wanted.add(key);
    // While disconnected, setup() binds everything wanted on the next connect.
    if (this.queue) await this.channel?.bindQueue(this.queue, this.exchange, key);
  }

  async unbind(recipient: Recipient): Promise<void> {
    const key = routingKey(recipient);
    this.wanted.delete(key);
    if (this.queue) await this.channel?.unbindQueue(this.queue, this.exchange, key);
  }

  publish(recipient: Recipient, event: InboxEvent): void {
    const channel = this.channel;
    if (!channel || channel.queueLength() >= MAX_BUFFERED) return;
    channel
      .publish(this.exchange, routingKey(recipient), Buffer.from(JSON.stringify(event)), {
        contentType: 'application/json',
        headers: { [INSTANCE_HEADER]: this.instanceId },
      })
      .catch((error: unknown) => this.logger.debug(`Change not forwarded: ${String(error)}`));
  }

  private async setup(channel: Channel): Promise<void> {
    this.queue = undefined;
    await channel.assertExchange(this.exchange, 'direct', { durable: true });
    const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
    this.queue = queue; // from here on bind() binds too; binding twice is harmless
    for (const key of this.wanted) await channel.bindQueue(queue, this.exchange, key);
    await channel.consume(queue, (message) => message && this.receive(message), { noAck: true });
  }

  private receive(message: ConsumeMessage): void {
    const headers = message.properties.headers;
    if (headers?.[INSTANCE_HEADER] === this.instanceId) return; // delivered here already
    try {
      this.remote.next(JSON.parse(message.content.toString()) as InboxEvent);
    } catch (error) {
      this.logger.warn(`Unreadable realtime message: ${String(error)}`);
    }
  }
}
