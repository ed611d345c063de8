import { randomUUID } from 'node:crypto';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { GetMessage, Options } from 'amqplib';
import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import { UnavailableError } from '../common/domain-error';
import { Periodic } from '../common/periodic';
import { HeraldConfig } from '../config/herald-config';
import { HeraldMetrics } from '../metrics/herald-metrics';
import { closeBroker, openTopologyChannel } from './amqp-connection';
import { AmqpTopology, amqpTopology } from './amqp-topology';

/** Characters of a dead letter's body shown by `list`; the message itself is untouched. */
const BODY_PREVIEW = 10_000;
/** How long an admin request waits for a broker that is away before it is answered 503. */
const CONNECT_TIMEOUT_MS = 5_000;
/** How often the dead-letter depth metric is refreshed (a scrape never waits for the broker). */
const DEPTH_REFRESH_MS = 15_000;
const REPLAYS_HEADER = 'x-herald-replays';
/** Marks the copies one replay published, so that it does not take them again. */
const PASS_HEADER = 'x-herald-replay-pass';

export interface DeadLetter {
  messageId: string | null;
  /** Where it was first published, and so where a replay sends it. */
  exchange: string | null;
  routingKey: string | null;
  /** `x-herald-error-code` and `x-herald-error` (see docs/MESSAGING.md). */
  code: string | null;
  reason: string | null;
  failedAt: string | null;
  /** How often it was replayed before. */
  replays: number;
  contentType: string | null;
  bytes: number;
  /** The body as text, cut at 10,000 characters (`truncated`). */
  body: string;
  truncated: boolean;
}

export interface ReplayResult {
  /** Published back to where they came from, and removed from the dead-letter queue. */
  replayed: number;
  /** Kept, moved to the end of the queue: no original exchange to send them to. */
  kept: number;
}

/**
 * Operations on the dead-letter queue for admins: look (messages are taken and put back, never
 * lost), replay (publish each to its original exchange and routing key with a confirm, then
 * remove it), purge.
 */
@Injectable()
export class DeadLetters implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(DeadLetters.name);
  private readonly topology: AmqpTopology;
  private connection?: AmqpConnectionManager;
  private channel?: ChannelWrapper;
  private lastDepth = 0;
  private readonly refresh = new Periodic(
    () => this.depth().catch(() => this.lastDepth),
    DEPTH_REFRESH_MS,
  );

  constructor(
    private readonly config: HeraldConfig,
    metrics: HeraldMetrics,
  ) {
    this.topology = amqpTopology(config.amqp);
    metrics.gauge(
      'herald_dead_letters',
      'Messages in the dead-letter queue (refreshed every 15 s)',
      () => this.lastDepth,
    );
  }

  onApplicationBootstrap(): void {
    void this.refresh.run();
    this.refresh.start();
  }

  async onApplicationShutdown(): Promise<void> {
    void this.refresh.stop(); // a refresh under way ends with the connection: no need to wait
    await closeBroker(this.channel, this.connection);
  }

  /** The depth last seen (every 15 s, and on every `depth()`), for when the broker is away. */
  get lastKnownDepth(): number {
    return this.lastDepth;
  }

  /** Messages waiting in the dead-letter queue (not counting any being looked at right now). */
  async depth(): Promise<number> {
    const { messageCount } = await this.call((channel) =>
      channel.checkQueue(this.topology.deadLetterQueue),
    );
    this.lastDepth = messageCount;
    return messageCount;
  }

  /**
   * The first `limit` dead letters, oldest first. They are taken unacknowledged and put back in
   * place at once; meanwhile another `list` or a replay does not see them.
   */
  async list(limit: number): Promise<DeadLetter[]> {
    return this.call(async (channel) => {
      const taken: GetMessage[] = [];
      try {
        while (taken.length < limit) {
          const message = await channel.get(this.topology.deadLetterQueue, { noAck: false });
          if (!message) break;
          taken.push(message);
        }
        return taken.map(describe);
      } finally {
        for (const message of taken) channel.nack(message, false, true);
      }
    });
  }

  /**
   * Replays up to `limit` dead letters, oldest first. Every copy it publishes carries this
   * replay's pass id, and so does a replayed one that fails again and comes back: meeting one
   * means the queue went round once, and the replay stops there.
   */
  async replay(limit: number): Promise<ReplayResult> {
    return this.call(async (channel) => {
      const pass = randomUUID();
      const result: ReplayResult = { replayed: 0, kept: 0 };
      for (let i = 0; i < limit; i += 1) {
        const message = await channel.get(this.topology.deadLetterQueue, { noAck: false });
        if (!message) break;
        if (message.properties.headers?.[PASS_HEADER] === pass) {
          channel.nack(message, false, true);
          break;
        }
        const target = replayTarget(message);
        // One with nowhere to go (dead-lettered by the broker itself, without Herald's headers)
        // moves to the end of the queue, so that it does not block the ones behind it.
        const copied = await this.publishCopy(
          channel,
          message,
          target ?? {
            exchange: this.topology.deadLetterExchange,
            routingKey: message.fields.routingKey,
          },
          target !== null,
          pass,
        );
        if (!copied) {
          channel.nack(message, false, true); // the broker is in trouble: stop here
          break;
        }
        channel.ack(message);
        if (target) result.replayed += 1;
        else result.kept += 1;
      }
      if (result.replayed + result.kept > 0) {
        this.logger.log(`Replayed ${result.replayed} dead letters (${result.kept} kept)`);
      }
      return result;
    });
  }

  /** Deletes every dead letter; answers how many. */
  async purge(): Promise<number> {
    const { messageCount } = await this.call((channel) =>
      channel.purgeQueue(this.topology.deadLetterQueue),
    );
    this.logger.warn(`Purged ${messageCount} dead letters`);
    return messageCount;
  }

  /** Publishes a copy (as a replay, or unchanged) and answers whether the broker confirmed it. */
  private async publishCopy(
    channel: ChannelWrapper,
    message: GetMessage,
    to: { exchange: string; routingKey: string },
    asReplay: boolean,
    pass: string,
  ): Promise<boolean> {
    const { headers = {}, ...properties } = message.properties;
    const replayHeaders = () => ({
      ...Object.fromEntries(
        Object.entries(headers as Record<string, unknown>).filter(
          ([name]) => !name.startsWith('x-herald-') && !name.startsWith('x-death'),
        ),
      ),
      [REPLAYS_HEADER]: replaysOf(headers) + 1,
    });
    try {
      await channel.publish(to.exchange, to.routingKey, message.content, {
        ...(properties as Options.Publish),
        // A reply queue of long ago is gone; a replay is answered by nobody.
        replyTo: asReplay ? undefined : (properties.replyTo as string | undefined),
        headers: { ...(asReplay ? replayHeaders() : headers), [PASS_HEADER]: pass },
        persistent: true,
      });
      return true;
    } catch (error) {
      this.logger.warn(`Copy of ${message.properties.messageId} not confirmed: ${String(error)}`);
      return false;
    }
  }

  /** Runs `work` on the channel, connecting on first use; a broker that is away is a 503. */
  private async call<T>(work: (channel: ChannelWrapper) => Promise<T>): Promise<T> {
    const channel = this.open();
    let timer: NodeJS.Timeout | undefined;
    const away = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('not connected')), CONNECT_TIMEOUT_MS);
    });
    try {
      await Promise.race([channel.waitForConnect(), away]);
      return await work(channel);
    } catch (error) {
      this.logger.warn(`Dead-letter operation failed: ${String(error)}`);
      throw new UnavailableError(`RabbitMQ: ${(error as Error).message}; try again later`);
    } finally {
      clearTimeout(timer);
    }
  }

  private open(): ChannelWrapper {
    if (this.channel) return this.channel;
    ({ connection: this.connection, channel: this.channel } = openTopologyChannel(
      this.config.amqp.urls,
      'herald-dead-letters',
      this.logger,
      this.topology,
    ));
    return this.channel;
  }
}

/** Where a dead letter was first published, from Herald's headers; null when it has none. */
function replayTarget(message: GetMessage): { exchange: string; routingKey: string } | null {
  const headers = message.properties.headers ?? {};
  const exchange = headerText(headers, 'x-herald-original-exchange');
  const routingKey = headerText(headers, 'x-herald-original-routing-key');
  return exchange === null || routingKey === null ? null : { exchange, routingKey };
}

function describe(message: GetMessage): DeadLetter {
  const headers = message.properties.headers ?? {};
  const text = message.content.toString('utf8');
  return {
    messageId: (message.properties.messageId as string | undefined) ?? null,
    exchange: headerText(headers, 'x-herald-original-exchange'),
    routingKey: headerText(headers, 'x-herald-original-routing-key'),
    code: headerText(headers, 'x-herald-error-code'),
    reason: headerText(headers, 'x-herald-error'),
    failedAt: headerText(headers, 'x-herald-failed-at'),
    replays: replaysOf(headers),
    contentType: (message.properties.contentType as string | undefined) ?? null,
    bytes: message.content.length,
    body: text.slice(0, BODY_PREVIEW),
    truncated: text.length > BODY_PREVIEW,
  };
}

function headerText(headers: Record<string, unknown>, name: string): string | null {
  const value = headers[name];
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return typeof value === 'string' || typeof value === 'number' ? String(value) : null;
}

function replaysOf(headers: Record<string, unknown>): number {
  const value = Number(headers[REPLAYS_HEADER] ?? 0);
  return Number.isFinite(value) ? value : 0;
}
