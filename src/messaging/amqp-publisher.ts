import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import { UnavailableError } from '../common/domain-error';
import { HeraldConfig } from '../config/herald-config';
import { closeBroker, openTopologyChannel } from './amqp-connection';
import { AmqpTopology, amqpTopology } from './amqp-topology';

export class BrokerUnavailableError extends UnavailableError {}

interface PublishOptions {
  messageId?: string;
  headers?: Record<string, string>;
  /** Defaults to the notifications exchange. */
  exchange?: string;
}

/**
 * Publishes JSON to RabbitMQ with publisher confirms: `publish` resolves once the broker has the
 * message. While the broker is unreachable, messages wait in a buffer of AMQP_PUBLISH_BUFFER;
 * past that, callers get BrokerUnavailableError at once instead of memory growing without bound.
 */
@Injectable()
export class AmqpPublisher implements OnApplicationShutdown {
  private readonly logger = new Logger(AmqpPublisher.name);
  readonly topology: AmqpTopology;
  private connection?: AmqpConnectionManager;
  private channel?: ChannelWrapper;

  constructor(private readonly config: HeraldConfig) {
    this.topology = amqpTopology(config.amqp);
  }

  async publish(routingKey: string, body: unknown, options: PublishOptions = {}): Promise<void> {
    const channel = this.open();
    if (channel.queueLength() >= this.config.amqp.publishBuffer) {
      throw new BrokerUnavailableError(
        `RabbitMQ is unreachable and ${channel.queueLength()} messages are waiting; try again later`,
      );
    }
    try {
      await channel.publish(
        options.exchange ?? this.topology.exchange,
        routingKey,
        Buffer.from(JSON.stringify(body)),
        {
          persistent: true,
          contentType: 'application/json',
          messageId: options.messageId,
          timestamp: Math.floor(Date.now() / 1000),
          headers: { 'x-herald-sent-at': Date.now(), ...options.headers },
        },
      );
    } catch (error) {
      throw new BrokerUnavailableError(`publish not confirmed: ${(error as Error).message}`);
    }
  }

  /** Resolves when connected (for scripts that want to fail fast rather than buffer). */
  async waitForConnect(timeoutMs: number): Promise<void> {
    const channel = this.open();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new BrokerUnavailableError(`RabbitMQ not reachable within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([channel.waitForConnect(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await closeBroker(this.channel, this.connection);
  }

  /** Connects on first use, so an app that never publishes opens no connection. */
  private open(): ChannelWrapper {
    if (this.channel) return this.channel;
    ({ connection: this.connection, channel: this.channel } = openTopologyChannel(
      this.config.amqp.urls,
      'herald-publisher',
      this.logger,
      this.topology,
    ));
    return this.channel;
  }
}
