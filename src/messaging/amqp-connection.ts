import type { Logger } from '@nestjs/common';
import type { ConfirmChannel } from 'amqplib';
import { AmqpConnectionManager, ChannelWrapper, connect } from 'amqp-connection-manager';
import { AmqpTopology, assertTopology } from './amqp-topology';

/** How long a publish may wait for the broker's confirm before the caller gets an error. */
const CONFIRM_TIMEOUT_MS = 10_000;

/** How long closing may wait for a broker that does not answer (a dead or half-open one). */
const CLOSE_TIMEOUT_MS = 2000;

/**
 * A self-healing connection to the first reachable of `urls` (a cluster's nodes): it reconnects
 * every second while the broker is away and logs both ways. `name` shows in the management UI.
 */
export function connectBroker(urls: string[], name: string, logger: Logger): AmqpConnectionManager {
  const connection = connect(urls, {
    heartbeatIntervalInSeconds: 10,
    reconnectTimeInSeconds: 1,
    connectionOptions: { clientProperties: { connection_name: name } },
  });
  connection.on('connect', ({ url }) => logger.log(`${name} connected to ${redact(url)}`));
  connection.on('disconnect', ({ err }) => logger.warn(`${name} lost RabbitMQ: ${err?.message}`));
  return connection;
}

/**
 * A connection with one confirm channel that declares Herald's topology on every (re)connect:
 * for the services that publish (the publisher, dead-letter replay).
 */
export function openTopologyChannel(
  urls: string[],
  name: string,
  logger: Logger,
  topology: AmqpTopology,
): { connection: AmqpConnectionManager; channel: ChannelWrapper } {
  const connection = connectBroker(urls, name, logger);
  const channel = connection.createChannel({
    confirm: true,
    publishTimeout: CONFIRM_TIMEOUT_MS,
    setup: (confirmChannel: ConfirmChannel) => assertTopology(confirmChannel, topology),
  });
  watchChannel(channel, name, logger);
  return { connection, channel };
}

/**
 * A channel's setup that fails (the channel closed while it declared or consumed) is retried on
 * the next connect; amqp-connection-manager reports it as an `error` event, which with no
 * listener would be thrown where nothing catches it. Logged in one line instead.
 */
export function watchChannel(
  channel: ChannelWrapper,
  name: string,
  logger: Logger,
): ChannelWrapper {
  channel.on('error', (error: unknown) =>
    logger.warn(
      `${name}: channel setup failed (${(error as Error)?.message ?? String(error)}); retried on the next connect`,
    ),
  );
  return channel;
}

/** Closes the channel and the connection, giving up on each after a bounded wait. */
export async function closeBroker(
  channel: ChannelWrapper | undefined,
  connection: AmqpConnectionManager | undefined,
): Promise<void> {
  await Promise.race([channel?.close().catch(() => undefined), delay(CLOSE_TIMEOUT_MS)]);
  await Promise.race([connection?.close().catch(() => undefined), delay(CLOSE_TIMEOUT_MS)]);
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** amqp://user:secret@host → amqp://user:***@host, for logs. */
export function redact(url: unknown): string {
  const text = typeof url === 'object' && url !== null ? (url as { url?: string }).url : url;
  return String(text).replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}
