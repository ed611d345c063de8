import { Logger } from '@nestjs/common';
import { CustomTransportStrategy, MessageHandler, Server } from '@nestjs/microservices';
import type { ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import { filter, firstValueFrom, lastValueFrom } from 'rxjs';
import type { HeraldConfig } from '../config/herald-config';
import type { HeraldMetrics } from '../metrics/herald-metrics';
import { BatcherStoppedError } from '../notifications/intake/notification-batcher';
import { AmqpContext } from './amqp-context';
import { closeBroker, connectBroker, delay, watchChannel } from './amqp-connection';
import { AmqpTopology, amqpTopology, assertTopology } from './amqp-topology';
import {
  DeadLetterReason,
  deadLetterReasonOf,
  decodeMessage,
  topicMatches,
} from './message-decoding';

type AmqpServerStatus = 'connecting' | 'consuming' | 'disconnected' | 'closed';

const HEADER_LIMIT = 1000;
/** At shutdown, how long messages being stored may take to settle; the rest are redelivered. */
const IN_FLIGHT_WAIT_MS = 3000;

/**
 * A NestJS transport strategy for RabbitMQ that dispatches on the routing key (AMQP topic
 * matching against @EventPattern patterns), so producers in any language publish plain JSON.
 *
 * Every message is settled exactly one way: acknowledged after its handler's promise resolves
 * (after the commit); or published to the dead-letter exchange with `x-herald-error` and, once the
 * broker confirmed that copy, acknowledged; or left unacknowledged when Herald stops or the
 * channel drops, so the broker redelivers it. Topology is declared on every (re)connect;
 * amqp-connection-manager reconnects by itself.
 */
export class AmqpServer
  extends Server<Record<string, never>, AmqpServerStatus>
  implements CustomTransportStrategy
{
  protected override readonly logger = new Logger('AmqpServer');
  private readonly topology: AmqpTopology;
  private connection?: AmqpConnectionManager;
  private channel?: ChannelWrapper;
  private consumers: { channel: ConfirmChannel; tag: string }[] = [];
  /** Per channel (delivery tags are numbered per channel): its acknowledgements, coalesced. */
  private readonly acks = new WeakMap<ConfirmChannel, Acknowledgements>();
  private readonly inFlight = new Set<Promise<void>>();
  private current: AmqpServerStatus = 'connecting';

  constructor(
    private readonly config: HeraldConfig['amqp'],
    private readonly metrics: HeraldMetrics,
  ) {
    super();
    this.topology = amqpTopology(config);
    this.setStatus('connecting');
  }

  /** Starts connecting and returns at once: Herald serves HTTP while the broker is away. */
  listen(callback: () => void): void {
    this.connection = connectBroker(
      this.config.urls,
      `herald-ingest ${this.topology.ingestQueue}`,
      this.logger,
    );
    this.connection.on('disconnect', () => this.setStatus('disconnected'));
    this.channel = watchChannel(
      this.connection.createChannel({
        confirm: true,
        setup: (channel: ConfirmChannel) => this.setup(channel),
      }),
      'herald-ingest',
      this.logger,
    );
    callback();
  }

  /** Connected, with its consumers registered: what readiness checks. */
  get consuming(): boolean {
    return this.current === 'consuming';
  }

  /** Resolves once the consumer is registered (after the first connect, or a reconnect). */
  async whenConsuming(): Promise<void> {
    await firstValueFrom(this.status.pipe(filter((status) => status === 'consuming')));
  }

  /** Stops consuming, lets in-flight messages settle (bounded), then closes the connection. */
  async close(): Promise<void> {
    for (const { channel, tag } of this.consumers) {
      await channel.cancel(tag).catch(() => undefined);
    }
    this.setStatus('disconnected'); // not ready any more: out of the load balancer while draining
    await Promise.race([Promise.allSettled(this.inFlight), delay(IN_FLIGHT_WAIT_MS)]);
    await closeBroker(this.channel, this.connection);
    this.setStatus('closed');
  }

  private setStatus(status: AmqpServerStatus): void {
    this.current = status;
    this._status$.next(status);
  }

  on(): never {
    throw new Error('AmqpServer has no events to listen to; use `status`');
  }

  unwrap<T>(): T {
    return this.connection as T;
  }

  private async setup(channel: ConfirmChannel): Promise<void> {
    await assertTopology(channel, this.topology);
    // Per consumer: live events never wait for stored notifications' acknowledgements.
    await channel.prefetch(this.config.prefetch);
    this.consumers = [];
    const acks = new Acknowledgements(channel);
    this.acks.set(channel, acks);
    for (const queue of [this.topology.ingestQueue, this.topology.liveQueue]) {
      const { consumerTag } = await channel.consume(
        queue,
        (message) => {
          if (!message) return;
          acks.delivered(message);
          this.track(this.handleMessage(message, channel));
        },
        { noAck: false },
      );
      this.consumers.push({ channel, tag: consumerTag });
    }
    this.setStatus('consuming');
    this.logger.log(
      `Consuming ${this.topology.ingestQueue} and ${this.topology.liveQueue} (prefetch ${this.config.prefetch}, ${this.config.queueType} queues)`,
    );
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  private async handleMessage(message: ConsumeMessage, channel: ConfirmChannel): Promise<void> {
    let outcome: { ok: true; result: unknown } | { ok: false; reason: DeadLetterReason };
    try {
      const { pattern, data } = decodeMessage(message, this.config.maxMessageBytes);
      const handler = this.findHandler(pattern);
      const context = new AmqpContext([message, pattern]);
      const result: unknown = await lastValueFrom(
        this.transformToObservable(await handler(data, context)),
        { defaultValue: undefined },
      );
      outcome = { ok: true, result };
    } catch (error) {
      if (error instanceof BatcherStoppedError) return; // redelivered after restart
      outcome = { ok: false, reason: deadLetterReasonOf(error, this.logger) };
    }

    try {
      if (!outcome.ok) await this.deadLetter(channel, message, outcome.reason);
      await this.acks.get(channel)!.ack(message);
    } catch (error) {
      // The channel is gone: the broker redelivers the message, and idempotency absorbs it.
      this.logger.warn(
        `Could not settle message: ${(error as Error).message}; it will be redelivered`,
      );
      return;
    }
    // After the acknowledgement, so that a reply that fails (a reply queue that refuses it, a
    // publish that throws) never holds the message unacknowledged nor gets it dead-lettered twice.
    await this.reply(
      channel,
      message,
      outcome.ok
        ? { ok: true, ...(outcome.result as object) }
        : { ok: false, error: outcome.reason.message },
    );
  }

  private findHandler(pattern: string): MessageHandler {
    const exact = this.messageHandlers.get(pattern);
    if (exact) return exact;
    for (const [binding, handler] of this.messageHandlers) {
      if (topicMatches(binding, pattern)) return handler;
    }
    throw new DeadLetterReason(
      'no-handler',
      `nothing handles ${JSON.stringify(pattern.slice(0, 100))}`,
    );
  }

  /** Publishes a copy to the dead-letter exchange and waits for the broker's confirm. */
  private async deadLetter(
    channel: ConfirmChannel,
    message: ConsumeMessage,
    reason: DeadLetterReason,
  ): Promise<void> {
    const { fields, properties } = message;
    this.metrics.ingested.inc({ outcome: 'dead_lettered' });
    this.logger.warn(
      `Dead-lettering message ${properties.messageId ?? '(no message_id)'} from ${JSON.stringify(fields.routingKey)}: ${reason.message}`,
    );
    const headers: Record<string, unknown> = {
      ...properties.headers,
      'x-herald-error': reason.message.slice(0, HEADER_LIMIT),
      'x-herald-error-code': reason.code,
      'x-herald-failed-at': new Date().toISOString(),
      'x-herald-original-exchange': fields.exchange,
      'x-herald-original-routing-key': fields.routingKey,
    };
    await confirmed((callback) =>
      channel.publish(
        this.topology.deadLetterExchange,
        fields.routingKey,
        message.content,
        { ...(properties as Options.Publish), headers, persistent: true },
        callback,
      ),
    );
  }

  /**
   * Answers a request that asked for one (`reply_to` + `correlation_id`); best effort: a failure
   * is logged in one bounded line, never thrown.
   */
  private async reply(
    channel: ConfirmChannel,
    message: ConsumeMessage,
    body: object,
  ): Promise<void> {
    const { replyTo, correlationId, messageId } = message.properties as {
      replyTo?: string;
      correlationId?: string;
      messageId?: string;
    };
    if (!replyTo || !correlationId) return;
    try {
      await confirmed((callback) =>
        channel.sendToQueue(
          replyTo,
          Buffer.from(JSON.stringify(body)),
          { correlationId, contentType: 'application/json' },
          callback,
        ),
      );
    } catch (error) {
      this.logger.warn(
        `Could not reply to message ${bounded(messageId ?? '(no message_id)')} at ` +
          `${bounded(JSON.stringify(replyTo))}: ${bounded((error as Error)?.message ?? String(error))}; ` +
          'it is acknowledged all the same',
      );
    }
  }
}

/**
 * A channel's acknowledgements, sent once per turn of the event loop: every message settled in a
 * turn is acknowledged then, with one `multiple` acknowledgement for the run of delivery tags
 * below the oldest message still unsettled, and one each for those above it. A message is never
 * acknowledged before it is settled: a `multiple` acknowledgement covers only tags all settled.
 * A message left unacknowledged (Herald stopping) stays unsettled, so none ever covers it.
 */
class Acknowledgements {
  /** Delivered and not yet acknowledged, by delivery tag. */
  private readonly unsettled = new Set<number>();
  private due: number[] = [];
  private sent?: { promise: Promise<void>; resolve: () => void; reject: (error: unknown) => void };

  constructor(private readonly channel: ConfirmChannel) {}

  delivered(message: ConsumeMessage): void {
    this.unsettled.add(message.fields.deliveryTag);
  }

  /** Resolves once the acknowledgement went to the channel; rejects when the channel is gone. */
  ack(message: ConsumeMessage): Promise<void> {
    this.due.push(message.fields.deliveryTag);
    if (!this.sent) {
      let resolve!: () => void;
      let reject!: (error: unknown) => void;
      const promise = new Promise<void>((yes, no) => ((resolve = yes), (reject = no)));
      this.sent = { promise, resolve, reject };
      setImmediate(() => this.flush());
    }
    return this.sent.promise;
  }

  private flush(): void {
    const sent = this.sent!;
    const due = this.due.sort((a, b) => a - b);
    this.sent = undefined;
    this.due = [];
    for (const tag of due) this.unsettled.delete(tag);
    let oldest = Infinity;
    for (const tag of this.unsettled) if (tag < oldest) oldest = tag;
    try {
      let covered = 0;
      while (covered < due.length && due[covered] < oldest) covered += 1;
      if (covered > 0) this.send(due[covered - 1], true);
      for (const tag of due.slice(covered)) this.send(tag, false);
      sent.resolve();
    } catch (error) {
      sent.reject(error);
    }
  }

  private send(deliveryTag: number, allUpTo: boolean): void {
    this.channel.ack({ fields: { deliveryTag } } as ConsumeMessage, allUpTo);
  }
}

/** At most 200 characters of something a producer chose, on one line, for a log. */
function bounded(text: string): string {
  const line = text.replace(/[\r\n]+/g, ' ');
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

/** A publish on a confirm channel, resolved when the broker confirms it. */
function confirmed(publish: (callback: (error: unknown) => void) => void): Promise<void> {
  return new Promise((resolve, reject) =>
    publish((error) =>
      error
        ? reject(error instanceof Error ? error : new Error('the broker refused it'))
        : resolve(),
    ),
  );
}
