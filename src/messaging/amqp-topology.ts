import type { Channel } from 'amqplib';
import type { HeraldConfig } from '../config/herald-config';

/** The broker objects Herald uses, named from AMQP_EXCHANGE and prefixed with AMQP_PREFIX. */
export interface AmqpTopology {
  /** Topic exchange producers publish to (`notifications`). */
  exchange: string;
  /** Durable queue Herald consumes from (`notifications.ingest`). */
  ingestQueue: string;
  /** Queue of live events (`notifications.live`): short-lived, bounded, never dead-lettered by age. */
  liveQueue: string;
  /** Exchange for messages that can never be accepted (`notifications.dlx`). */
  deadLetterExchange: string;
  /** Where they rest until an operator replays or purges them (`notifications.dead`). */
  deadLetterQueue: string;
  /** Direct exchange that carries inbox changes to the instances holding the user's streams. */
  realtimeExchange: string;
  queueType: HeraldConfig['amqp']['queueType'];
  singleActiveConsumer: boolean;
}

/** Routing keys of stored notifications. */
export const NOTIFICATION_BINDING = 'notification.#';
/** Routing keys of live events. */
export const LIVE_EVENT_BINDING = 'event.#';
/** A live event nobody took within this long is stale: the broker drops it. */
const LIVE_EVENT_TTL_MS = 30_000;
/** Live events held while no instance consumes; past this the oldest are dropped. */
const LIVE_EVENT_BACKLOG = 100_000;

export function amqpTopology(amqp: HeraldConfig['amqp']): AmqpTopology {
  const base = amqp.prefix + amqp.exchange;
  return {
    exchange: base,
    ingestQueue: `${base}.ingest`,
    liveQueue: `${base}.live`,
    deadLetterExchange: `${base}.dlx`,
    deadLetterQueue: `${base}.dead`,
    realtimeExchange: `${base}.realtime`,
    queueType: amqp.queueType,
    singleActiveConsumer: amqp.singleActiveConsumer,
  };
}

/**
 * Declares everything, idempotently; run on every (re)connect, so a broker that lost its
 * definitions gets them back. A queue that exists with another type or arguments makes the broker
 * close the channel (PRECONDITION_FAILED): change AMQP_QUEUE_TYPE or
 * AMQP_SINGLE_ACTIVE_CONSUMER only with a new queue.
 */
export async function assertTopology(channel: Channel, topology: AmqpTopology): Promise<void> {
  const queueArguments = { 'x-queue-type': topology.queueType };
  await channel.assertExchange(topology.exchange, 'topic', { durable: true });
  await channel.assertExchange(topology.deadLetterExchange, 'topic', { durable: true });
  await channel.assertQueue(topology.deadLetterQueue, {
    durable: true,
    arguments: queueArguments,
  });
  await channel.bindQueue(topology.deadLetterQueue, topology.deadLetterExchange, '#');
  await channel.assertQueue(topology.ingestQueue, {
    durable: true,
    // A backstop: Herald dead-letters by publishing (to add x-herald-error); anything the broker
    // itself drops from the queue (rejected, over a delivery limit) lands in the same place.
    arguments: {
      ...queueArguments,
      'x-dead-letter-exchange': topology.deadLetterExchange,
      ...(topology.singleActiveConsumer && { 'x-single-active-consumer': true }),
    },
  });
  await channel.bindQueue(topology.ingestQueue, topology.exchange, NOTIFICATION_BINDING);
  // Live events do not wait behind stored notifications (nor behind a storage outage), and a
  // stale one is worth nothing: bounded by age and length, and no dead-lettering of those.
  await channel.assertQueue(topology.liveQueue, {
    durable: true,
    arguments: {
      ...queueArguments,
      'x-message-ttl': LIVE_EVENT_TTL_MS,
      'x-max-length': LIVE_EVENT_BACKLOG,
    },
  });
  await channel.bindQueue(topology.liveQueue, topology.exchange, LIVE_EVENT_BINDING);
}
