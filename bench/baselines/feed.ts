import { connect } from 'amqplib';

export interface BenchMessage {
  /** SSE event name: `notification` or `live`. */
  event: string;
  userIds: string[];
  broadcast: boolean;
  /** What goes in `data:`, as Herald would send it (it carries `data.sentAt`). */
  body: unknown;
}

/**
 * Feeds a baseline server the messages the benchmark publishes: its own queue on the same topic
 * exchange as Herald's (`<AMQP_PREFIX>notifications`), no storage, acknowledged at once.
 */
export async function consumeBenchMessages(
  env: NodeJS.ProcessEnv,
  deliver: (message: BenchMessage) => void,
): Promise<void> {
  const connection = await connect(env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672');
  const channel = await connection.createChannel();
  const exchange = `${env.AMQP_PREFIX ?? ''}notifications`;
  await channel.assertExchange(exchange, 'topic', { durable: true });
  // Named, so that the benchmark can purge a backlog between phases (see QUEUE in bench.ts).
  const queue = `${exchange}.baseline`;
  await channel.assertQueue(queue, { durable: false, autoDelete: true });
  await channel.bindQueue(queue, exchange, 'notification.#');
  await channel.bindQueue(queue, exchange, 'event.#');
  await channel.prefetch(300);
  await channel.consume(queue, (raw) => {
    if (!raw) return;
    const body = JSON.parse(raw.content.toString()) as {
      recipients: { userIds?: string[]; broadcast?: boolean };
      type?: string;
      title?: string;
      data?: unknown;
    };
    const live = raw.fields.routingKey.startsWith('event.');
    deliver({
      event: live ? 'live' : 'notification',
      userIds: body.recipients.userIds ?? [],
      broadcast: body.recipients.broadcast === true,
      body: live ? { type: body.type, data: body.data } : body,
    });
    channel.ack(raw);
  });
}
